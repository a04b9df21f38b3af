output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "arn" {
  description = "ARN of the function (the Task resource of a state machine)."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "ARN API Gateway integrations invoke."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_name" {
  description = "Name of the execution role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "policy_json" {
  description = "The role's inline policy, for review and the tests."
  value       = jsonencode(local.policy)
}
