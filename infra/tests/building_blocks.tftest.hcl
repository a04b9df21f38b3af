# The shared building blocks refuse wildcard actions: what keeps "no * action" true for every
# function role and key policy that uses them.

mock_provider "aws" {
  source = "./tests/mocks"
}

run "function_refuses_wildcard_actions" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name          = "eventpay-test-wildcard"
    description   = "test"
    artifact_path = "missing.zip"
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/test"
    policy_statements = [
      { sid = "Everything", actions = ["*"], resources = ["*"] },
      { sid = "AllOfS3", actions = ["s3:*"], resources = ["arn:aws:s3:::bucket"] },
    ]
  }

  expect_failures = [var.policy_statements]
}

run "function_role_names_its_resources" {
  command = apply

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name        = "eventpay-test-fn"
    description = "test"
    # Any existing file will do: the mocked provider never reads it.
    artifact_path = "tests/building_blocks.tftest.hcl"
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/test"
    policy_statements = [
      { sid = "Read", actions = ["dynamodb:GetItem"], resources = ["arn:aws:dynamodb:us-east-1:123456789012:table/t"] },
    ]
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement :
      s.Sid == "WriteTraces" || alltrue([for r in s.Resource : r != "*"])
    ])
    error_message = "Only the X-Ray statement may use Resource \"*\"."
  }

  assert {
    condition = (
      aws_lambda_function.this.runtime == "provided.al2023"
      && one(aws_lambda_function.this.architectures) == "arm64"
      && aws_lambda_function.this.tracing_config[0].mode == "Active"
      && aws_lambda_function.this.logging_config[0].log_format == "JSON"
      && aws_lambda_function.this.logging_config[0].log_group == aws_cloudwatch_log_group.this.name
      && aws_lambda_function.this.source_code_hash == filebase64sha256("tests/building_blocks.tftest.hcl")
    )
    error_message = "Functions: provided.al2023 on arm64, X-Ray, JSON logs into their own group, code pinned by hash."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 30 && aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn
    error_message = "Function log groups have a retention and are encrypted."
  }
}

run "function_refuses_a_missing_artifact" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name              = "eventpay-test-fn"
    description       = "test"
    artifact_path     = "no/such/bootstrap.zip"
    kms_key_arn       = "arn:aws:kms:us-east-1:123456789012:key/test"
    policy_statements = []
  }

  expect_failures = [aws_lambda_function.this]
}

run "key_refuses_wildcard_grants" {
  command = plan

  module {
    source = "./modules/kms-key"
  }

  variables {
    alias       = "eventpay-test"
    description = "test"
    service_grants = [
      { sid = "All", service = "events.amazonaws.com", actions = ["kms:*"] },
    ]
  }

  expect_failures = [var.service_grants]
}
