# One Lambda function as the project builds it: the custom runtime on Amazon Linux 2023 running
# the cargo-lambda `bootstrap` binary, X-Ray tracing, JSON logs into its own encrypted log group
# with a retention, and a role that may do only what the caller lists.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment choice (log_retention_days: 7 in dev, 365 in envs/prod.tfvars).
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "this" {
  name        = var.name
  description = "Execution role of the ${var.name} function."
  tags        = var.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
}

locals {
  policy = {
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "WriteOwnLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
        },
        {
          # X-Ray has no resource-level permissions: these two actions only accept "*".
          Sid      = "WriteTraces"
          Effect   = "Allow"
          Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
          Resource = ["*"]
        },
        {
          Sid      = "DecryptEnvironment"
          Effect   = "Allow"
          Action   = ["kms:Decrypt"]
          Resource = [var.kms_key_arn]
        },
      ],
      [for s in var.policy_statements : {
        Sid      = s.sid
        Effect   = "Allow"
        Action   = s.actions
        Resource = s.resources
      }],
    )
  }
}

resource "aws_iam_role_policy" "this" {
  name   = var.name
  role   = aws_iam_role.this.id
  policy = jsonencode(local.policy)
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously (API Gateway, Step Functions) or by event source mappings with their own failure destinations; an async DLQ would never receive anything.
  #checkov:skip=CKV_AWS_117:The functions reach only AWS APIs and no VPC resources; a VPC would add NAT or endpoints for nothing.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is an account-wide budget the operator sets; reserving by default fails in accounts with the default low concurrency quota.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile and signed artifacts the cargo-lambda packaging does not produce; artifacts are pinned by source_code_hash.
  function_name = var.name
  description   = var.description
  role          = aws_iam_role.this.arn
  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.architecture]
  filename      = var.artifact_path
  # Guarded so that a destroy works without the build; the precondition stops a create or update.
  source_code_hash = fileexists(var.artifact_path) ? filebase64sha256(var.artifact_path) : null
  memory_size      = var.memory_size
  timeout          = var.timeout
  kms_key_arn      = var.kms_key_arn
  tags             = var.tags

  dynamic "environment" {
    for_each = length(var.environment) > 0 ? [1] : []
    content {
      variables = var.environment
    }
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = var.log_level
    system_log_level      = "INFO"
  }

  # The role may write logs before the first invocation.
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = fileexists(var.artifact_path)
      error_message = "No artifact at ${var.artifact_path}: run scripts/package-lambdas (or set lambda_artifacts_dir)."
    }
  }
}
