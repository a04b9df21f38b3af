# The state storage with a mocked provider: bucket hardening, the lock table, the backend
# settings for each locking choice, and the variables' validation.

mock_provider "aws" {
  source = "../tests/mocks"
}

override_resource {
  target = aws_s3_bucket.state
  values = {
    arn = "arn:aws:s3:::eventpay-tfstate-123456789012-us-east-1"
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
