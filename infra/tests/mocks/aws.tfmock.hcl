# Values the mocked AWS provider returns, shaped as AWS would: random strings fail the provider's
# own validation (ARNs, policy JSON). One account and region for every test.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/test"
    user_id    = "AIDATEST"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "us-east-1"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/mock"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:mock"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:mock/invocations"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/mock"
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mock/stream/2026-01-01T00:00:00.000"
  }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:us-east-1:123456789012:mock"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/mock"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:us-east-1:123456789012:mock"
  }
}

mock_resource "aws_cloudwatch_event_bus" {
  defaults = {
    arn = "arn:aws:events:us-east-1:123456789012:event-bus/mock"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/mock/mock"
  }
}

mock_resource "aws_sfn_state_machine" {
  defaults = {
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:mock"
  }
}

mock_resource "aws_api_gateway_rest_api" {
  defaults = {
    id               = "abc123"
    execution_arn    = "arn:aws:execute-api:us-east-1:123456789012:abc123"
    root_resource_id = "root123"
  }
}

mock_resource "aws_api_gateway_stage" {
  defaults = {
    invoke_url    = "https://abc123.execute-api.us-east-1.amazonaws.com/v1"
    execution_arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1"
    arn           = "arn:aws:apigateway:us-east-1::/restapis/abc123/stages/v1"
  }
}

mock_resource "aws_wafv2_web_acl" {
  defaults = {
    arn = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mock/11111111-2222-3333-4444-555555555555"
  }
}

mock_resource "aws_iam_openid_connect_provider" {
  defaults = {
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }
}

mock_resource "aws_cloudwatch_dashboard" {
  defaults = {
    dashboard_arn = "arn:aws:cloudwatch::123456789012:dashboard/mock"
  }
}
