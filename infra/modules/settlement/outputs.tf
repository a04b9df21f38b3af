output "state_machine_arn" {
  description = "ARN of the settlement state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the settlement state machine."
  value       = aws_sfn_state_machine.this.name
}

output "function_names" {
  description = "Names of the settlement task functions."
  value       = { for k, f in module.function : k => f.function_name }
}

output "iam_policies" {
  description = "Every IAM and key policy of the module (name => JSON), for review and the tests."
  value = merge(
    { for k, f in module.function : k => f.policy_json },
    {
      "settlement-key"           = module.key.policy_json
      "settlement-state-machine" = jsonencode(local.state_machine_policy)
      "settlement-start"         = jsonencode(local.events_policy)
      "settlement-log-delivery"  = jsonencode(local.state_machine_log_policy)
    },
  )
}

output "alarm_names" {
  description = "Every alarm of the module."
  value = concat(
    [aws_cloudwatch_metric_alarm.executions_failed.alarm_name, aws_cloudwatch_metric_alarm.executions_timed_out.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.function_errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.function_throttles : a.alarm_name],
  )
}

output "state_machine_logs_execution_data" {
  description = "Whether the execution log holds the states' inputs and outputs."
  value       = var.log_execution_data
}
