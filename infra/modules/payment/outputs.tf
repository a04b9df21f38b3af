output "api_url" {
  description = "Base URL of the API stage (eventpay smoke --url)."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "api_key" {
  description = "The API key clients send as x-api-key (null unless authorization = api_key)."
  value       = try(aws_api_gateway_api_key.this[0].value, null)
  sensitive   = true
}

output "authorization" {
  description = "How clients authenticate: api_key (x-api-key), iam (SigV4-signed requests) or cognito (a user pool's ID token)."
  value       = var.authorization
}

output "api_name" {
  description = "Name of the REST API (the ApiName dimension of its metrics)."
  value       = aws_api_gateway_rest_api.this.name
}

output "stage_name" {
  description = "Name of the API stage (the Stage dimension of its metrics)."
  value       = aws_api_gateway_stage.this.stage_name
}

output "invoke_policy_json" {
  description = "An IAM policy allowing every operation of the API (execute-api:Invoke), for the callers' roles when authorization = iam."
  value       = jsonencode(local.invoke_policy)
}

output "web_acl_arn" {
  description = "ARN of the WAF web ACL in front of the stage (null without waf_rate_limit)."
  value       = try(aws_wafv2_web_acl.this[0].arn, null)
}

output "rest_api_id" {
  description = "Id of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "table_name" {
  description = "Name of the payments table."
  value       = aws_dynamodb_table.payments.name
}

output "table_arn" {
  description = "ARN of the payments table."
  value       = aws_dynamodb_table.payments.arn
}

output "table_stream_arn" {
  description = "ARN of the payments table's stream (NEW_AND_OLD_IMAGES)."
  value       = aws_dynamodb_table.payments.stream_arn
}

output "ledger_table_name" {
  description = "Name of the ledger table (transfers and balances; crates/aws/src/ledger_items.rs)."
  value       = aws_dynamodb_table.ledger.name
}

output "ledger_table_arn" {
  description = "ARN of the ledger table: the settlement's post-ledger function writes it."
  value       = aws_dynamodb_table.ledger.arn
}

output "ledger_check_policy_json" {
  description = "An IAM policy to attach to the operator's role that runs eventpay-ledger-check-aws: Scan of the payments and ledger tables, Decrypt with their key."
  value       = jsonencode(local.ledger_check_policy)
}

output "data_key_arn" {
  description = "KMS key encrypting the payments table, its stream and the ledger table; readers and writers of the tables need it."
  value       = module.key.arn
}

output "function_names" {
  description = "Names of the payment functions (function => name), for alarms."
  value       = { for k, f in module.function : k => f.function_name }
}

output "iam_policies" {
  description = "Every IAM and key policy of the module (name => JSON), for review and the tests."
  value = merge(
    { for k, f in module.function : k => f.policy_json },
    { "payment-key" = module.key.policy_json, "ledger-check" = jsonencode(local.ledger_check_policy) },
    var.manage_api_gateway_account ? { "apigateway-logs" = jsonencode(local.api_gateway_logs_policy) } : {},
  )
}

output "list_shards" {
  description = "Partitions of the listing indexes: every function writing the table needs the same EVENTPAY_LIST_SHARDS."
  value       = var.list_shards
}
