output "api_url" {
  description = "Base URL of the API: eventpay smoke --url <api_url> --api-key <api_key>."
  value       = module.payment.api_url
}

output "api_authorization" {
  description = "How API clients authenticate: api_key, iam or cognito (eventpay smoke --api-key or --sigv4)."
  value       = module.payment.authorization
}

output "api_invoke_policy" {
  description = "IAM policy allowing every API operation (execute-api:Invoke): attach it to the callers when api_authorization = iam."
  value       = module.payment.invoke_policy_json
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the flow."
  value       = aws_cloudwatch_dashboard.flow.dashboard_name
}

output "alarm_names" {
  description = "Every alarm of the deployment (each notifies the topic)."
  value       = concat(module.platform.alarm_names, module.settlement.alarm_names)
}

output "api_key" {
  description = "API key clients send as x-api-key (terraform output -raw api_key; null unless api_authorization = api_key)."
  value       = module.payment.api_key
  sensitive   = true
}

output "table_name" {
  description = "Name of the payments table."
  value       = module.payment.table_name
}

output "ledger_table_name" {
  description = "Name of the ledger table (eventpay-ledger-check-aws --ledger-table)."
  value       = module.payment.ledger_table_name
}

output "ledger_check_policy_json" {
  description = "The IAM policy an operator's role needs to run eventpay-ledger-check-aws (Scan of both tables, Decrypt with their key)."
  value       = module.payment.ledger_check_policy_json
}

output "queue_url" {
  description = "URL of the payments queue."
  value       = module.platform.queue_url
}

output "event_bus_name" {
  description = "Name of the event bus."
  value       = module.platform.event_bus_name
}

output "notifications_topic_arn" {
  description = "ARN of the notifications topic."
  value       = module.platform.notifications_topic_arn
}

output "outcomes_topic_arn" {
  description = "ARN of the settlement outcomes topic (attribute status: SETTLED, REJECTED, FAILED): subscribe systems here."
  value       = module.platform.outcomes_topic_arn
}

output "prewarm_command" {
  description = "The AWS CLI commands that pre-warm the payments table, its indexes and the ledger table for prewarm_payments_per_second (run it once before a launch or a peak; terraform output -raw prewarm_command)."
  value       = local.prewarm_command
}

output "state_machine_arn" {
  description = "ARN of the settlement state machine."
  value       = module.settlement.state_machine_arn
}

output "function_names" {
  description = "Every function of the deployment (function => name)."
  value = merge(
    { quote = module.quote.function_name },
    module.payment.function_names,
    module.platform.function_names,
    module.settlement.function_names,
  )
}

output "iam_policies" {
  description = "Every IAM, key and resource policy of the deployment (name => JSON), for review and the tests."
  value = merge(
    module.quote.iam_policies,
    module.payment.iam_policies,
    module.platform.iam_policies,
    module.settlement.iam_policies,
  )
}
