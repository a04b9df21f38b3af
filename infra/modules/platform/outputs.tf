output "queue_url" {
  description = "URL of the payments queue."
  value       = aws_sqs_queue.payments.url
}

output "queue_arn" {
  description = "ARN of the payments queue."
  value       = aws_sqs_queue.payments.arn
}

output "dlq_arn" {
  description = "ARN of the payments dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "event_bus_name" {
  description = "Name of the custom event bus."
  value       = aws_cloudwatch_event_bus.this.name
}

output "event_bus_arn" {
  description = "ARN of the custom event bus."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "notifications_topic_arn" {
  description = "ARN of the notifications topic (encrypted with messaging_key_arn)."
  value       = aws_sns_topic.notifications.arn
}

output "outcomes_topic_arn" {
  description = "ARN of the settlement outcomes topic (encrypted with messaging_key_arn); each message has the attribute `status`."
  value       = aws_sns_topic.outcomes.arn
}

output "email_filter_policy" {
  description = "Filter policy of the outcomes topic's e-mail subscription (JSON); null when email_outcomes is empty."
  value       = length(var.email_outcomes) > 0 ? jsonencode(local.email_filter_policy) : null
}

output "messaging_key_arn" {
  description = "KMS key of the queues and the notifications topic; publishers to the topic need it."
  value       = module.key.arn
}

output "audit_log_group_name" {
  description = "Log group of the audit rule."
  value       = aws_cloudwatch_log_group.audit.name
}

output "rule_names" {
  description = "Every rule of spec/rules (rule name in the spec => EventBridge rule name)."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.name }
}

output "settlement_rules" {
  description = "Rules whose target is the settlement workflow (name => EventBridge rule, bus and input shaping); the settlement module targets them."
  value = { for k, r in local.rules : k => {
    rule_name         = aws_cloudwatch_event_rule.this[k].name
    event_bus_name    = aws_cloudwatch_event_bus.this.name
    input_path        = r.input_path
    input_transformer = r.input_transformer
  } if r.kind == "settlement-workflow" }
}

output "settled_metric" {
  description = "The settled-payments metric (namespace and name), counted from the audit log: one per payment settled."
  value       = local.settled_metric
}

output "alarm_names" {
  description = "Every alarm of the module."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.dead_letters : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.function : a.alarm_name],
    [aws_cloudwatch_metric_alarm.stream_iterator_age.alarm_name, aws_cloudwatch_metric_alarm.queue_oldest_message.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.api_5xx : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.api_latency : a.alarm_name],
  )
}

output "queue_names" {
  description = "Names of the queues (payments, payments-dlq, stream-failures)."
  value = {
    "payments"        = aws_sqs_queue.payments.name
    "payments-dlq"    = aws_sqs_queue.dlq.name
    "stream-failures" = aws_sqs_queue.stream_failures.name
  }
}

output "function_names" {
  description = "Names of the platform functions."
  value = {
    "stream-forwarder" = module.forwarder.function_name
    "processor"        = module.processor.function_name
  }
}

output "iam_policies" {
  description = "Every IAM, key and resource policy of the module (name => JSON), for review and the tests."
  value = {
    "stream-forwarder" = module.forwarder.policy_json
    "processor"        = module.processor.policy_json
    "platform-key"     = module.key.policy_json
    "audit-log"        = jsonencode(local.audit_log_policy)
    "topic"            = jsonencode(local.topic_policy)
    "outcomes-topic"   = jsonencode(local.outcomes_topic_policy)
  }
}
