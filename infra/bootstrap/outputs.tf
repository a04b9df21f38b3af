output "state_bucket" {
  description = "Name of the state bucket."
  value       = aws_s3_bucket.state.bucket
}

output "lock_table" {
  description = "Name of the DynamoDB lock table."
  value       = aws_dynamodb_table.lock.name
}

output "region" {
  description = "Region of the bucket and the table."
  value       = var.region
}

output "kms_key_arn" {
  description = "KMS key encrypting the state objects and the lock table."
  value       = module.key.arn
}

output "backend_config" {
  description = <<-EOT
    Backend settings for the root configuration, as a -backend-config file; replace ENV by the
    environment name (or let `eventpay deploy` / the README's sed line do it):
      terraform -chdir=infra/bootstrap output -raw backend_config | sed 's/ENV/dev/' > infra/envs/dev.backend.hcl
  EOT
  value = format("%s\n", join("\n", compact([
    "bucket       = \"${aws_s3_bucket.state.bucket}\"",
    "key          = \"${var.state_key_prefix}/ENV/terraform.tfstate\"",
    "region       = \"${var.region}\"",
    "encrypt      = true",
    "kms_key_id   = \"${module.key.arn}\"",
    var.locking != "dynamodb" ? "use_lockfile = true" : "",
    var.locking != "lockfile" ? "dynamodb_table = \"${aws_dynamodb_table.lock.name}\"" : "",
  ])))
}

output "github_role_arns" {
  description = "Roles for the GitHub Actions workflow (role => ARN): deploy-<env> for the apply jobs of each environment, plan for pull requests and main. Set them as the repository's AWS_DEPLOY_ROLE_<ENV> and AWS_PLAN_ROLE variables."
  value       = { for k, r in aws_iam_role.github : k => r.arn }
}

output "github_policies" {
  description = "The GitHub roles' policies (role => JSON), for review and the tests."
  value       = { for k, p in local.github_policies : k => jsonencode(p) }
}

output "github_oidc_provider_arn" {
  description = "The OIDC provider the GitHub roles trust (null without github_repository)."
  value       = local.oidc_provider
}
