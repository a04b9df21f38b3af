# The settlement module with a mocked provider: the state machine is spec/settlement.asl.json with
# the ARNs filled in, the rule's target role may only start it, and the variables' validation.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name_prefix             = "eventpay-test"
  definition_path         = "../spec/settlement.asl.json"
  table_name              = "eventpay-test-payments"
  table_arn               = "arn:aws:dynamodb:us-east-1:123456789012:table/eventpay-test-payments"
  ledger_table_name       = "eventpay-test-ledger"
  ledger_table_arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/eventpay-test-ledger"
  data_key_arn            = "arn:aws:kms:us-east-1:123456789012:key/data"
  notifications_topic_arn = "arn:aws:sns:us-east-1:123456789012:eventpay-test-notifications"
  outcomes_topic_arn      = "arn:aws:sns:us-east-1:123456789012:eventpay-test-outcomes"
  messaging_key_arn       = "arn:aws:kms:us-east-1:123456789012:key/messaging"
  settlement_rules = {
    settlement = {
      rule_name      = "eventpay-test-settlement"
      event_bus_name = "eventpay-test-payments"
      input_path     = "$.detail"
    }
  }
}

override_resource {
  target = aws_sfn_state_machine.this
  values = {
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:eventpay-test-settlement"
  }
}

override_resource {
  target = aws_iam_role.events
  values = {
    arn = "arn:aws:iam::123456789012:role/eventpay-test-settlement-start"
  }
}

run "wiring" {
  command = apply

  module {
    source = "./modules/settlement"
  }

  variables {
    state_machine_type = "EXPRESS"
  }

  assert {
    condition = jsondecode(aws_sfn_state_machine.this.definition) == jsondecode(templatefile("../spec/settlement.asl.json", {
      update_status_function_arn = module.function["update-status"].arn
      validate_function_arn      = module.function["validate"].arn
      post_ledger_function_arn   = module.function["post-ledger"].arn
      outcomes_topic_arn         = var.outcomes_topic_arn
    }))
    error_message = "The definition is not spec/settlement.asl.json with the ARNs filled in."
  }

  assert {
    condition     = !strcontains(aws_sfn_state_machine.this.definition, "$${")
    error_message = "A placeholder was left in the definition."
  }

  assert {
    condition = alltrue([for s in ["NotifyOutcome", "NotifyFailure"] :
      jsondecode(aws_sfn_state_machine.this.definition).States[s].Parameters.TopicArn == var.outcomes_topic_arn
      && jsondecode(aws_sfn_state_machine.this.definition).States[s].Parameters.MessageAttributes.status == { DataType = "String", "StringValue.$" = "$.update.status" }
    ])
    error_message = "The notify states must publish to the outcomes topic with the status attribute the e-mail filter policy matches."
  }

  assert {
    # HCL does not short-circuit: only Task states are looked at, and `try` reads what a
    # state may not have.
    condition = alltrue([for name, s in jsondecode(aws_sfn_state_machine.this.definition).States :
      s.Resource == "arn:aws:states:::sns:publish"
      ? try(s.Parameters.MessageAttributes.trace_id, null) == { DataType = "String", "StringValue.$" = "$.trace_id" }
      : try(s.Parameters["trace_id.$"], null) == "$.trace_id"
      if s.Type == "Task"
    ])
    error_message = "Every task must get the payment's trace id, and every publish name it as the trace_id attribute."
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.state_machine.policy).Statement : s.Resource if s.Sid == "PublishOutcomes"] == [[var.outcomes_topic_arn]]
    error_message = "The workflow may publish to the outcomes topic only."
  }

  assert {
    condition     = aws_sfn_state_machine.this.type == "EXPRESS"
    error_message = "The type comes from state_machine_type."
  }

  assert {
    condition     = aws_sfn_state_machine.this.logging_configuration[0].level == "ERROR"
    error_message = "An EXPRESS state machine logs (its log group is the only record of an execution)."
  }

  assert {
    condition     = aws_sfn_state_machine.this.tracing_configuration[0].enabled && aws_sfn_state_machine.this.logging_configuration[0].log_destination == "${aws_cloudwatch_log_group.state_machine.arn}:*"
    error_message = "The state machine logs to its log group and is traced."
  }

  assert {
    condition = (
      aws_cloudwatch_event_target.settlement["settlement"].arn == aws_sfn_state_machine.this.arn
      && aws_cloudwatch_event_target.settlement["settlement"].rule == "eventpay-test-settlement"
      && aws_cloudwatch_event_target.settlement["settlement"].event_bus_name == "eventpay-test-payments"
      && aws_cloudwatch_event_target.settlement["settlement"].input_path == "$.detail"
      && aws_cloudwatch_event_target.settlement["settlement"].role_arn == aws_iam_role.events.arn
    )
    error_message = "The settlement rule must start the state machine with the detail as input, through the events role."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.events.policy).Statement == [{
      Sid      = "StartSettlement"
      Effect   = "Allow"
      Action   = ["states:StartExecution"]
      Resource = [aws_sfn_state_machine.this.arn]
    }]
    error_message = "The events role may only start executions of this state machine."
  }

  assert {
    condition     = aws_cloudwatch_log_group.state_machine.kms_key_id == module.key.arn
    error_message = "The state machine's log group is encrypted."
  }

  assert {
    condition     = contains(aws_cloudwatch_metric_alarm.executions_failed.alarm_actions, var.notifications_topic_arn)
    error_message = "Failed executions alarm to the topic."
  }

  # post-ledger settles in one TransactWriteItems: a conditional Put of the payment, Puts and ADD
  # Updates on the ledger; nothing else may touch the ledger.
  assert {
    # jsonencode on both sides: the statements' lists and the literal tuples compare equal.
    condition = jsonencode({
      for s in jsondecode(module.function["post-ledger"].policy_json).Statement : s.Sid => [sort(flatten([s.Action])), flatten([s.Resource])] if contains(["SettlePayments", "PostLedger"], s.Sid)
      }) == jsonencode({
      SettlePayments = [["dynamodb:GetItem", "dynamodb:PutItem"], [var.table_arn]]
      PostLedger     = [["dynamodb:PutItem", "dynamodb:UpdateItem"], [var.ledger_table_arn]]
    })
    error_message = "post-ledger may get and put payments and put and update ledger items, no more."
  }

  assert {
    condition = alltrue([for f in ["update-status", "validate"] :
      !strcontains(module.function[f].policy_json, var.ledger_table_arn)
    ])
    error_message = "Only post-ledger may write the ledger."
  }
}

run "express_needs_logging" {
  command = plan

  module {
    source = "./modules/settlement"
  }

  variables {
    state_machine_type      = "EXPRESS"
    state_machine_log_level = "OFF"
  }

  expect_failures = [aws_sfn_state_machine.this]
}

run "standard_may_turn_logging_off" {
  command = plan

  module {
    source = "./modules/settlement"
  }

  variables {
    state_machine_type      = "STANDARD"
    state_machine_log_level = "OFF"
  }

  assert {
    condition     = aws_sfn_state_machine.this.type == "STANDARD" && aws_sfn_state_machine.this.logging_configuration[0].level == "OFF"
    error_message = "STANDARD keeps its history in the service: logging may be off."
  }
}

run "rejects_bad_values" {
  command = plan

  module {
    source = "./modules/settlement"
  }

  variables {
    state_machine_type      = "SYNC"
    state_machine_log_level = "VERBOSE"
    payment_limit           = "fifty"
    notifications_topic_arn = "my-topic"
    outcomes_topic_arn      = "topic"
    list_shards             = 0
    ledger_table_name       = "l"
    ledger_table_arn        = "ledger"
  }

  expect_failures = [
    var.ledger_table_name,
    var.ledger_table_arn,
    var.state_machine_type,
    var.state_machine_log_level,
    var.payment_limit,
    var.notifications_topic_arn,
    var.outcomes_topic_arn,
    var.list_shards,
  ]
}
