# The platform module with a mocked provider: rules are the spec's, the stream and queue mappings,
# the dead-letter redrive, encryption, and the variables' validation.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name_prefix        = "eventpay-test"
  rules_dir          = "../spec/rules"
  table_arn          = "arn:aws:dynamodb:us-east-1:123456789012:table/eventpay-test-payments"
  table_stream_arn   = "arn:aws:dynamodb:us-east-1:123456789012:table/eventpay-test-payments/stream/2026-01-01T00:00:00.000"
  data_key_arn       = "arn:aws:kms:us-east-1:123456789012:key/data"
  subscription_email = "ops@example.com"
}

override_resource {
  target = aws_sqs_queue.payments
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:eventpay-test-payments"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/eventpay-test-payments"
  }
}

override_resource {
  target = aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:eventpay-test-payments-dlq"
  }
}

override_resource {
  target = aws_sqs_queue.stream_failures
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:eventpay-test-stream-failures"
  }
}

override_resource {
  target = aws_sns_topic.notifications
  values = {
    arn = "arn:aws:sns:us-east-1:123456789012:eventpay-test-notifications"
  }
}

override_resource {
  target = aws_sns_topic.outcomes
  values = {
    arn = "arn:aws:sns:us-east-1:123456789012:eventpay-test-outcomes"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.audit
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/events/eventpay-test-audit"
  }
}

run "wiring" {
  command = apply

  module {
    source = "./modules/platform"
  }

  variables {
    stream_batch_size         = 50
    stream_max_retry_attempts = 3
    max_receive_count         = 4
  }

  # Rules: one per spec/rules file, with the file's event pattern, never restated.
  assert {
    condition     = length(aws_cloudwatch_event_rule.this) == length(fileset("../spec/rules", "*.json"))
    error_message = "Not one rule per spec/rules file."
  }

  assert {
    condition = alltrue([
      for f in fileset("../spec/rules", "*.json") :
      jsondecode(aws_cloudwatch_event_rule.this[jsondecode(file("../spec/rules/${f}")).name].event_pattern) == jsondecode(file("../spec/rules/${f}")).event_pattern
    ])
    error_message = "A rule's event pattern differs from its spec/rules file."
  }

  assert {
    condition     = alltrue([for k, r in aws_cloudwatch_event_rule.this : r.event_bus_name == "eventpay-test-payments"])
    error_message = "Rules must be on the custom bus."
  }

  # Targets by target.kind; the settlement rule is left to the settlement module.
  assert {
    condition     = aws_cloudwatch_event_target.this["audit"].arn == aws_cloudwatch_log_group.audit.arn
    error_message = "The audit rule must target the audit log group."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this["high-value"].arn == aws_sns_topic.notifications.arn
    error_message = "The high-value rule must target the notifications topic."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this["high-value"].input_transformer[0].input_template == jsondecode(file("../spec/rules/high-value.json")).target.input_transformer.input_template
    error_message = "The high-value target's input transformer is not the spec's."
  }

  assert {
    condition     = !contains(keys(aws_cloudwatch_event_target.this), "settlement")
    error_message = "The settlement rule's target belongs to the settlement module."
  }

  assert {
    condition     = output.settlement_rules["settlement"].input_path == "$.detail" && output.settlement_rules["settlement"].rule_name == "eventpay-test-settlement"
    error_message = "settlement_rules must carry the settlement rule and its input path."
  }

  assert {
    condition     = contains(jsondecode(aws_cloudwatch_log_resource_policy.audit.policy_document).Statement[0].Principal.Service, "events.amazonaws.com")
    error_message = "The audit log group needs a resource policy for EventBridge."
  }

  # Stream -> forwarder.
  assert {
    condition     = aws_lambda_event_source_mapping.stream.event_source_arn == var.table_stream_arn && aws_lambda_event_source_mapping.stream.batch_size == 50
    error_message = "The stream mapping must read the table stream with the configured batch size."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream.bisect_batch_on_function_error && aws_lambda_event_source_mapping.stream.maximum_retry_attempts == 3
    error_message = "The stream mapping must bisect failing batches and limit retries."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream.destination_config[0].on_failure[0].destination_arn == aws_sqs_queue.stream_failures.arn
    error_message = "The stream mapping's failure destination must be the stream failures queue."
  }

  assert {
    condition     = contains(aws_lambda_event_source_mapping.stream.function_response_types, "ReportBatchItemFailures")
    error_message = "The forwarder reports batch item failures."
  }

  # Queue -> processor, with partial batch responses; queue -> DLQ.
  assert {
    condition     = aws_lambda_event_source_mapping.queue.event_source_arn == aws_sqs_queue.payments.arn && contains(aws_lambda_event_source_mapping.queue.function_response_types, "ReportBatchItemFailures")
    error_message = "The processor mapping must read the payments queue and report batch item failures."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.payments.redrive_policy).maxReceiveCount == 4 && jsondecode(aws_sqs_queue.payments.redrive_policy).deadLetterTargetArn == aws_sqs_queue.dlq.arn
    error_message = "The payments queue must redrive to the DLQ after max_receive_count receives."
  }

  assert {
    condition     = aws_sqs_queue.payments.visibility_timeout_seconds >= 6 * var.processor_timeout_secs
    error_message = "The visibility timeout must be at least six times the processor timeout."
  }

  # Encryption at rest.
  assert {
    condition = alltrue([
      for q in [aws_sqs_queue.payments, aws_sqs_queue.dlq, aws_sqs_queue.stream_failures] : q.kms_master_key_id == module.key.arn
    ])
    error_message = "Every queue is encrypted with the platform key."
  }

  assert {
    condition     = aws_sns_topic.notifications.kms_master_key_id == module.key.arn && aws_cloudwatch_log_group.audit.kms_key_id == module.key.arn
    error_message = "The topic and the audit log group are encrypted with the platform key."
  }

  # Notifications and alarms.
  assert {
    condition     = aws_sns_topic_subscription.email.protocol == "email" && aws_sns_topic_subscription.email.endpoint == "ops@example.com"
    error_message = "The topic needs the e-mail subscription."
  }

  # The outcomes: every one is published to their topic; e-mail only for failures by default.
  # The notifications topic's subscription stays unfiltered: alarms carry no attributes, and a
  # filtered subscription drops a message without attributes.
  assert {
    condition = (
      aws_sns_topic_subscription.outcomes_email[0].topic_arn == aws_sns_topic.outcomes.arn
      && aws_sns_topic_subscription.outcomes_email[0].endpoint == "ops@example.com"
      && aws_sns_topic_subscription.outcomes_email[0].filter_policy_scope == "MessageAttributes"
      && jsondecode(aws_sns_topic_subscription.outcomes_email[0].filter_policy) == { status = ["FAILED", "REJECTED"] }
      && output.email_filter_policy == aws_sns_topic_subscription.outcomes_email[0].filter_policy
    )
    error_message = "The outcomes topic's e-mail subscription must be filtered to FAILED and REJECTED on the status attribute."
  }

  assert {
    condition     = aws_sns_topic_subscription.email.filter_policy == null || aws_sns_topic_subscription.email.filter_policy == ""
    error_message = "The notifications topic's e-mail subscription must not be filtered (alarms have no attributes)."
  }

  assert {
    condition     = aws_sns_topic.outcomes.kms_master_key_id == module.key.arn && jsondecode(output.iam_policies["outcomes-topic"]).Statement[0].Resource == aws_sns_topic.outcomes.arn
    error_message = "The outcomes topic is encrypted with the platform key and managed by the account only."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.dead_letters["payments-dlq"].dimensions.QueueName == aws_sqs_queue.dlq.name && contains(aws_cloudwatch_metric_alarm.dead_letters["payments-dlq"].alarm_actions, aws_sns_topic.notifications.arn)
    error_message = "A non-empty DLQ must alarm to the topic."
  }

  assert {
    condition     = alltrue([for k in ["stream-forwarder", "processor"] : contains(aws_cloudwatch_metric_alarm.function["${k}-errors"].alarm_actions, aws_sns_topic.notifications.arn)])
    error_message = "Function errors must alarm to the topic."
  }
}

run "email_outcomes_are_configurable" {
  command = plan

  module {
    source = "./modules/platform"
  }

  variables {
    email_outcomes = ["SETTLED", "FAILED", "REJECTED"]
  }

  assert {
    condition     = jsondecode(aws_sns_topic_subscription.outcomes_email[0].filter_policy) == { status = ["FAILED", "REJECTED", "SETTLED"] }
    error_message = "Every listed outcome is in the filter policy."
  }
}

run "no_email_outcomes_no_subscription" {
  command = plan

  module {
    source = "./modules/platform"
  }

  variables {
    email_outcomes = []
  }

  assert {
    condition     = length(aws_sns_topic_subscription.outcomes_email) == 0 && output.email_filter_policy == null
    error_message = "With no e-mailed outcomes the outcomes topic has no e-mail subscription."
  }
}

run "rejects_bad_values" {
  command = plan

  module {
    source = "./modules/platform"
  }

  variables {
    max_receive_count  = 0
    queue_batch_size   = 11
    stream_batch_size  = 0
    subscription_email = "not-an-address"
    email_outcomes     = ["FAILED", "FAILED", "PENDING"]
  }

  expect_failures = [
    var.email_outcomes,
    var.max_receive_count,
    var.queue_batch_size,
    var.stream_batch_size,
    var.subscription_email,
  ]
}
