# Settlement: the state machine of spec/settlement.asl.json, with the ARNs of its task functions
# and of the outcomes topic injected by templatefile(), started by the platform's settlement
# rules through a role that may only start executions of this state machine.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
}

module "key" {
  source = "../kms-key"

  alias                   = "${var.name_prefix}-settlement"
  description             = "eventpay ${var.name_prefix}: settlement functions and state machine logs"
  deletion_window_in_days = var.kms_deletion_window_days
  tags                    = var.tags
}

locals {
  read_payments = {
    sid       = "ReadPayments"
    actions   = ["dynamodb:GetItem"]
    resources = [var.table_arn]
  }
  update_payments = {
    sid       = "UpdatePayments"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [var.table_arn]
  }
  # post-ledger settles in one TransactWriteItems (crates/aws/src/store.rs): the payment as a
  # conditional Put, and on the ledger table a conditional Put per transfer and its account
  # copies and an ADD Update per balance. A transaction needs the item actions, nothing more.
  settle_payments = {
    sid       = "SettlePayments"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [var.table_arn]
  }
  post_ledger = {
    sid       = "PostLedger"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [var.ledger_table_arn]
  }
  table_key = {
    sid       = "UseTableKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.data_key_arn]
  }
  functions = {
    "update-status" = {
      description = "Settlement task: conditional status change of a payment."
      statements  = [local.update_payments, local.table_key]
      ledger      = false
    }
    "validate" = {
      description = "Settlement task: business rules (per-payment limit, blocked beneficiaries)."
      statements  = [local.read_payments, local.table_key]
      ledger      = false
    }
    "post-ledger" = {
      description = "Settlement task: post the payment's transfers and balances with SETTLED, once."
      statements  = [local.settle_payments, local.post_ledger, local.table_key]
      ledger      = true
    }
  }
}

module "function" {
  source   = "../lambda-function"
  for_each = local.functions

  name               = "${var.name_prefix}-${each.key}"
  description        = each.value.description
  artifact_path      = "${var.lambda_artifacts_dir}/${each.key}/bootstrap.zip"
  architecture       = var.lambda_architecture
  kms_key_arn        = module.key.arn
  log_retention_days = var.log_retention_days
  tags               = var.tags
  environment = merge(
    {
      EVENTPAY_TABLE            = var.table_name
      EVENTPAY_PAYMENT_LIMIT    = var.payment_limit
      EVENTPAY_BLOCKED_ACCOUNTS = join(",", var.blocked_accounts)
      EVENTPAY_LIST_SHARDS      = tostring(var.list_shards)
    },
    # Only post-ledger settles, so only it is told where the ledger is.
    each.value.ledger ? { EVENTPAY_LEDGER_TABLE = var.ledger_table_name } : {},
  )
  policy_statements = each.value.statements
}

# ---------------------------------------------------------------------------------------------
# State machine

resource "aws_cloudwatch_log_group" "state_machine" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment choice (log_retention_days: 7 in dev, 365 in envs/prod.tfvars).
  name              = "/aws/vendedlogs/states/${var.name_prefix}-settlement"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.arn
  tags              = var.tags
}

resource "aws_iam_role" "state_machine" {
  name        = "${var.name_prefix}-settlement"
  description = "Role of the ${var.name_prefix}-settlement state machine."
  tags        = var.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

locals {
  task_function_arns = [for f in module.function : f.arn]

  state_machine_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeTaskFunctions"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = concat(local.task_function_arns, [for a in local.task_function_arns : "${a}:*"])
      },
      {
        Sid      = "PublishOutcomes"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = [var.outcomes_topic_arn]
      },
      {
        Sid      = "EncryptNotifications"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [var.messaging_key_arn]
      },
      {
        # Step Functions log delivery: these actions have no resource-level permissions. The log
        # group's resource policy is this module's (logs.tf), so the role needs no
        # logs:PutResourcePolicy.
        Sid    = "DeliverLogs"
        Effect = "Allow"
        Action = [
          "logs:CreateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:DescribeLogGroups",
          "logs:GetLogDelivery",
          "logs:ListLogDeliveries",
          "logs:UpdateLogDelivery",
        ]
        Resource = ["*"]
      },
      {
        # X-Ray has no resource-level permissions.
        Sid      = "WriteTraces"
        Effect   = "Allow"
        Action   = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
        Resource = ["*"]
      },
    ]
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "${var.name_prefix}-settlement"
  role   = aws_iam_role.state_machine.id
  policy = jsonencode(local.state_machine_policy)
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_285:Execution data holds payment details: it is logged only with log_execution_data (dev), the execution log itself always.
  name     = "${var.name_prefix}-settlement"
  role_arn = aws_iam_role.state_machine.arn
  type     = var.state_machine_type
  definition = templatefile(var.definition_path, {
    update_status_function_arn = module.function["update-status"].arn
    validate_function_arn      = module.function["validate"].arn
    post_ledger_function_arn   = module.function["post-ledger"].arn
    outcomes_topic_arn         = var.outcomes_topic_arn
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = var.log_execution_data
    level                  = var.state_machine_log_level
  }

  tracing_configuration {
    enabled = true
  }

  lifecycle {
    # Express keeps no execution history: its log group is the only record of an execution.
    precondition {
      condition     = var.state_machine_type != "EXPRESS" || var.state_machine_log_level != "OFF"
      error_message = "An EXPRESS state machine needs logging: state_machine_log_level must be ALL, ERROR or FATAL."
    }
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.state_machine, aws_cloudwatch_log_resource_policy.state_machine]
}

# ---------------------------------------------------------------------------------------------
# The platform's settlement rules start executions.

resource "aws_iam_role" "events" {
  name        = "${var.name_prefix}-settlement-start"
  description = "EventBridge starts executions of the ${var.name_prefix}-settlement state machine."
  tags        = var.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

locals {
  events_policy = {
    Version = "2012-10-17"
    Statement = [{
      Sid      = "StartSettlement"
      Effect   = "Allow"
      Action   = ["states:StartExecution"]
      Resource = [aws_sfn_state_machine.this.arn]
    }]
  }
}

resource "aws_iam_role_policy" "events" {
  name   = "${var.name_prefix}-settlement-start"
  role   = aws_iam_role.events.id
  policy = jsonencode(local.events_policy)
}

resource "aws_cloudwatch_event_target" "settlement" {
  for_each = var.settlement_rules

  rule           = each.value.rule_name
  event_bus_name = each.value.event_bus_name
  target_id      = "settlement-workflow"
  arn            = aws_sfn_state_machine.this.arn
  role_arn       = aws_iam_role.events.arn
  input_path     = each.value.input_path

  dynamic "input_transformer" {
    for_each = each.value.input_transformer == null ? [] : [jsondecode(each.value.input_transformer)]
    content {
      input_paths    = try(input_transformer.value.input_paths, null)
      input_template = input_transformer.value.input_template
    }
  }

  depends_on = [aws_iam_role_policy.events]
}

# ---------------------------------------------------------------------------------------------
# Alarms to the notifications topic

resource "aws_cloudwatch_metric_alarm" "executions_failed" {
  alarm_name          = "${var.name_prefix}-settlement-executions-failed"
  alarm_description   = "Settlement executions failed: their payments are FAILED."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.notifications_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = local.functions

  alarm_name          = "${var.name_prefix}-${each.key}-errors"
  alarm_description   = "The ${var.name_prefix}-${each.key} function reported errors."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = module.function[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.notifications_topic_arn]
  tags                = var.tags
}
