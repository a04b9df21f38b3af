output "arn" {
  description = "ARN of the key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Id of the key."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "The key's alias (alias/...)."
  value       = aws_kms_alias.this.name
}

output "policy_json" {
  description = "The key policy, for review and the tests."
  value       = jsonencode(local.policy)
}
