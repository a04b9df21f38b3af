# Remote state storage of the eventpay root configuration: a versioned, KMS-encrypted, private,
# TLS-only S3 bucket, and a DynamoDB lock table for the backend's (deprecated) DynamoDB locking.
# A teardown guard refuses any destroy until `teardown = true` has been applied (guard.tf); the
# GitHub Actions deployment roles are in github.tf.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  bucket_name = "${var.name_prefix}-tfstate-${local.account_id}-${var.region}"
  table_name  = "${var.name_prefix}-tfstate-lock"
}

module "key" {
  source = "../modules/kms-key"

  alias                   = "${var.name_prefix}-tfstate"
  description             = "Terraform state of eventpay: bucket objects and lock table"
  deletion_window_in_days = var.kms_deletion_window_days
  allow_cloudwatch_logs   = false
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Server access logs need a second bucket that would itself be unlogged; use CloudTrail S3 data events for an audit trail of state access.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles the setup (second region, key, role); state versions are kept by versioning, and the state can be re-imported.
  #checkov:skip=CKV2_AWS_62:No consumer of object events exists for state files.
  bucket = local.bucket_name
  # Only a teardown empties the bucket on destroy; the guard refuses a destroy before that.
  force_destroy = var.teardown
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.key.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

locals {
  bucket_policy = {
    Version = "2012-10-17"
    Statement = [{
      # A Deny over every S3 action is the point here: nothing reaches the state without TLS.
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = jsonencode(local.bucket_policy)

  # S3 rejects a bucket policy while the public access block is being applied.
  depends_on = [aws_s3_bucket_public_access_block.state]
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-old-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

resource "aws_dynamodb_table" "lock" {
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "LockID"
  deletion_protection_enabled = var.deletion_protection && !var.teardown

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.key.arn
  }
}
