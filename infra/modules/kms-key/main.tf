# A customer managed KMS key with an explicit key policy: the account may administer the key and
# may let its IAM principals use it (no "kms:*"), and the named AWS services may use it for the
# actions they need.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  symmetric = var.key_spec == "SYMMETRIC_DEFAULT"

  # Administration, listed one by one so that no statement grants "kms:*".
  admin_actions = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
  ]

  # What IAM policies of the account may grant on top (the roles of the functions, the state
  # machine, the deployer).
  usage_actions = local.symmetric ? [
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
  ] : ["kms:GenerateMac", "kms:VerifyMac"]

  logs_grant = {
    sid     = "CloudWatchLogsEncryptsLogGroups"
    service = "logs.${data.aws_region.current.name}.amazonaws.com"
    actions = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
    condition = {
      ArnLike = {
        "kms:EncryptionContext:aws:logs:arn" = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"]
      }
    }
  }
  service_grants = concat(var.allow_cloudwatch_logs && local.symmetric ? [local.logs_grant] : [], var.service_grants)

  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"

  policy = {
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid       = "AccountAdministersAndDelegatesToIam"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = concat(local.admin_actions, local.usage_actions)
        Resource  = "*"
      }],
      [for g in local.service_grants : merge(
        {
          Sid       = g.sid
          Effect    = "Allow"
          Principal = { Service = g.service }
          Action    = g.actions
          Resource  = "*"
        },
        { for k, v in { Condition = try(g.condition, {}) } : k => v if length(v) > 0 },
      )],
    )
  }
}

resource "aws_kms_key" "this" {
  description              = var.description
  key_usage                = local.symmetric ? "ENCRYPT_DECRYPT" : "GENERATE_VERIFY_MAC"
  customer_master_key_spec = var.key_spec
  # KMS rotates symmetric keys only; HMAC keys cannot be rotated automatically.
  enable_key_rotation     = local.symmetric
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = jsonencode(local.policy)
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
