# The state storage with a mocked provider: bucket hardening, the lock table, the backend
# settings for each locking choice, the teardown guard, the GitHub OIDC roles and their policies,
# and the variables' validation. The last run applies teardown = true, so that the test's own
# clean-up destroy passes the guard (scripts/test-infra shows the guard refusing against moto).

mock_provider "aws" {
  source = "../tests/mocks"
}

override_resource {
  target = aws_s3_bucket.state
  values = {
    arn = "arn:aws:s3:::eventpay-tfstate-123456789012-us-east-1"
  }
}

override_resource {
  target = aws_dynamodb_table.lock
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/eventpay-tfstate-lock"
  }
}

run "state_storage" {
  command = apply

  assert {
    condition     = aws_s3_bucket.state.bucket == "eventpay-tfstate-123456789012-us-east-1"
    error_message = "The bucket name carries the account and the region."
  }

  assert {
    condition     = aws_s3_bucket_versioning.state.versioning_configuration[0].status == "Enabled"
    error_message = "The state bucket is versioned."
  }

  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
      && one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == module.key.arn
    )
    error_message = "The state bucket is encrypted with the state key."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.state.block_public_acls
      && aws_s3_bucket_public_access_block.state.block_public_policy
      && aws_s3_bucket_public_access_block.state.ignore_public_acls
      && aws_s3_bucket_public_access_block.state.restrict_public_buckets
    )
    error_message = "All public access to the state bucket is blocked."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_s3_bucket_policy.state.policy).Statement :
      s.Effect == "Deny" && s.Condition == { Bool = { "aws:SecureTransport" = "false" } } && contains(s.Resource, "${aws_s3_bucket.state.arn}/*")
    ])
    error_message = "The bucket policy denies requests without TLS."
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.state.rule[0].noncurrent_version_expiration[0].noncurrent_days == 90
    error_message = "Old state versions expire."
  }

  assert {
    condition = (
      aws_dynamodb_table.lock.hash_key == "LockID"
      && aws_dynamodb_table.lock.billing_mode == "PAY_PER_REQUEST"
      && aws_dynamodb_table.lock.point_in_time_recovery[0].enabled
      && aws_dynamodb_table.lock.server_side_encryption[0].enabled
      && aws_dynamodb_table.lock.server_side_encryption[0].kms_key_arn == module.key.arn
    )
    error_message = "The lock table: LockID, on-demand, PITR, KMS encryption."
  }

  assert {
    condition     = strcontains(output.backend_config, "use_lockfile = true") && !strcontains(output.backend_config, "dynamodb_table")
    error_message = "The default backend settings lock with the S3 lock file only."
  }

  assert {
    condition     = !aws_s3_bucket.state.force_destroy && terraform_data.teardown_guard.output == false
    error_message = "By default the bucket keeps its state on destroy and the guard refuses a destroy."
  }

  assert {
    condition     = length(aws_iam_role.github) == 0 && output.github_oidc_provider_arn == null
    error_message = "No GitHub roles without github_repository."
  }
}

run "github_roles" {
  command = apply

  variables {
    github_repository = "acme/eventpay"
  }

  assert {
    condition     = toset(keys(aws_iam_role.github)) == toset(["deploy-dev", "deploy-prod", "plan"])
    error_message = "A deploy role per environment and a plan role: ${jsonencode(keys(aws_iam_role.github))}"
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 1 && aws_iam_openid_connect_provider.github[0].url == "https://token.actions.githubusercontent.com" && aws_iam_openid_connect_provider.github[0].client_id_list == toset(["sts.amazonaws.com"])
    error_message = "The account's GitHub OIDC provider, for STS."
  }

  assert {
    condition     = alltrue([for k, r in aws_iam_role.github : jsondecode(r.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"])
    error_message = "Every role trusts only tokens meant for STS."
  }

  assert {
    condition = (
      jsondecode(aws_iam_role.github["deploy-prod"].assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:acme/eventpay:environment:prod"]
      && jsondecode(aws_iam_role.github["plan"].assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:acme/eventpay:pull_request", "repo:acme/eventpay:ref:refs/heads/main"]
      && jsondecode(aws_iam_role.github["deploy-prod"].assume_role_policy).Statement[0].Action == "sts:AssumeRoleWithWebIdentity"
    )
    error_message = "prod's role is assumed only by jobs in the prod environment (its approval), the plan role by pull requests and main."
  }

  assert {
    condition = alltrue(flatten([for k, doc in output.github_policies : [
      for s in jsondecode(doc).Statement : [for a in s.Action : a != "*" && !endswith(a, ":*") && !strcontains(a, "*")]
    ]]))
    error_message = "A GitHub role's policy names a wildcard action."
  }

  assert {
    condition = alltrue(flatten([for s in jsondecode(output.github_policies["deploy-dev"]).Statement : [
      for r in s.Resource : r == "*" ? contains(["CreateEventSourceMappings", "ValidateStateMachineDefinition", "CreateKeys", "LogPoliciesAndDeliveries"], s.Sid) : (
        strcontains(r, "eventpay-dev") || strcontains(r, ":apigateway:") || strcontains(r, ":key/") || strcontains(r, "tfstate") || strcontains(r, "managedruleset") || strcontains(r, ":event-source-mapping:")
      )
    ]]))
    error_message = "deploy-dev reaches resources outside eventpay-dev-* (or \"*\" where a resource could be named)."
  }

  assert {
    condition = alltrue([for s in jsondecode(output.github_policies["deploy-dev"]).Statement :
    try(s.Condition.StringLike["aws:ResourceTag/Environment"], null) == ["dev"] if s.Sid == "Keys"])
    error_message = "deploy-dev uses only the keys tagged Environment = dev."
  }

  assert {
    condition = alltrue(flatten([for s in jsondecode(output.github_policies["plan"]).Statement : [
      for a in s.Action : can(regex("^[a-z0-9]+:(Get|Describe|List|GET$)", a)) || (contains(["s3:PutObject", "s3:DeleteObject", "dynamodb:PutItem", "dynamodb:DeleteItem", "kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"], a) && contains(["LockState", "LockTable", "UseStateKey"], s.Sid))
    ]]))
    error_message = "The plan role may only read, and write nothing but the state lock."
  }

  assert {
    condition = anytrue([for s in jsondecode(output.github_policies["deploy-dev"]).Statement :
    s.Sid == "ReadWriteState" && s.Resource == ["arn:aws:s3:::eventpay-tfstate-123456789012-us-east-1/eventpay/dev/*"]])
    error_message = "deploy-dev writes only the dev state."
  }

  assert {
    condition = anytrue([for s in jsondecode(output.github_policies["deploy-dev"]).Statement :
    s.Sid == "PassRolesToServices" && s.Resource == ["arn:aws:iam::123456789012:role/eventpay-dev-*"] && length(try(s.Condition.StringEquals["iam:PassedToService"], [])) == 4])
    error_message = "deploy-dev passes only the deployment's roles, only to its services."
  }
}

run "existing_oidc_provider" {
  command = plan

  variables {
    github_repository        = "acme/eventpay"
    github_environments      = ["staging"]
    github_oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 0 && toset(keys(aws_iam_role.github)) == toset(["deploy-staging", "plan"])
    error_message = "An existing OIDC provider is used, not created."
  }
}

run "dynamodb_locking" {
  command = apply

  variables {
    locking = "dynamodb"
  }

  assert {
    condition     = strcontains(output.backend_config, "dynamodb_table = \"eventpay-tfstate-lock\"") && !strcontains(output.backend_config, "use_lockfile")
    error_message = "locking = dynamodb selects the lock table."
  }
}

run "rejects_bad_values" {
  command = plan

  variables {
    locking                           = "s3"
    noncurrent_version_retention_days = 0
  }

  expect_failures = [
    var.locking,
    var.noncurrent_version_retention_days,
  ]
}

run "rejects_bad_github_settings" {
  command = plan

  variables {
    github_repository   = "not a repo"
    github_environments = ["Prod"]
  }

  expect_failures = [
    var.github_repository,
    var.github_environments,
  ]
}

# Last: the teardown as applied before a destroy (and so the clean-up destroy of this test passes).
run "teardown" {
  command = apply

  variables {
    teardown            = true
    deletion_protection = true
  }

  assert {
    condition     = aws_s3_bucket.state.force_destroy && !aws_dynamodb_table.lock.deletion_protection_enabled && terraform_data.teardown_guard.output == true
    error_message = "teardown = true: the bucket is emptied on destroy, the lock table unprotected, the guard open."
  }
}
