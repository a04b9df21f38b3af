# API access of the payment module with a mocked provider: request validation from the OpenAPI
# schemas, error answers in the spec's shape, the three authorization modes, the optional WAF.
# checkov cannot see these (the API is built from the OpenAPI body), so they are asserted here.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name_prefix           = "eventpay-test"
  openapi_path          = "../spec/openapi.yaml"
  quote_signing_key_arn = "arn:aws:kms:us-east-1:123456789012:key/signing"
  api_integrations = {
    createQuote = {
      function_name = "eventpay-test-quote"
      invoke_arn    = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:eventpay-test-quote/invocations"
    }
  }
}

run "api_key_and_validation" {
  command = apply

  module {
    source = "./modules/payment"
  }

  assert {
    condition = (
      jsondecode(aws_api_gateway_rest_api.this.body)["x-amazon-apigateway-request-validator"] == "all"
      && jsondecode(aws_api_gateway_rest_api.this.body)["x-amazon-apigateway-request-validators"].all == { validateRequestBody = true, validateRequestParameters = true }
    )
    error_message = "Bodies and parameters are validated by default."
  }

  assert {
    condition = (
      jsondecode(aws_api_gateway_rest_api.this.body).paths["/quotes"].post.requestBody.content["application/json"].schema["$ref"] == "#/components/schemas/QuoteRequest"
      && jsondecode(aws_api_gateway_rest_api.this.body).components.schemas.PaymentRequest.additionalProperties == false
    )
    error_message = "The request schemas validated are spec/openapi.yaml's."
  }

  assert {
    condition = alltrue([for t in ["BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS", "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "ACCESS_DENIED"] :
    can(regex("^\\{\"error\":\\{\"code\":\"[a-z_]+\",\"message\":\\$context.error.messageString\\}\\}$", jsondecode(aws_api_gateway_rest_api.this.body)["x-amazon-apigateway-gateway-responses"][t].responseTemplates["application/json"]))])
    error_message = "API Gateway's own errors answer in the spec's {\"error\": {\"code\", \"message\"}} shape."
  }

  assert {
    condition = (
      jsondecode(aws_api_gateway_rest_api.this.body).paths["/payments"].post.security == [{ api_key = [] }]
      && length(aws_api_gateway_api_key.this) == 1 && length(aws_api_gateway_usage_plan_key.this) == 1
      && length(aws_wafv2_web_acl.this) == 0
    )
    error_message = "Default: every operation needs the API key of the usage plan; no WAF."
  }
}

run "no_validation" {
  command = apply

  module {
    source = "./modules/payment"
  }

  variables {
    request_validation = false
  }

  assert {
    condition     = jsondecode(aws_api_gateway_rest_api.this.body)["x-amazon-apigateway-request-validator"] == "none"
    error_message = "request_validation = false validates nothing."
  }
}

run "iam" {
  command = apply

  module {
    source = "./modules/payment"
  }

  variables {
    authorization = "iam"
  }

  assert {
    condition = (
      jsondecode(aws_api_gateway_rest_api.this.body).components.securitySchemes.iam["x-amazon-apigateway-authtype"] == "awsSigv4"
      && alltrue(flatten([for p, ms in jsondecode(aws_api_gateway_rest_api.this.body).paths : [for m, op in ms : op.security == [{ iam = [] }]]]))
      && length(aws_api_gateway_api_key.this) == 0 && output.api_key == null
    )
    error_message = "iam: every operation needs a SigV4 signature, and there is no API key."
  }

  assert {
    condition = (
      jsondecode(output.invoke_policy_json).Statement[0].Action == ["execute-api:Invoke"]
      && contains(jsondecode(output.invoke_policy_json).Statement[0].Resource, "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/payments/*")
      && contains(jsondecode(output.invoke_policy_json).Statement[0].Resource, "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/ledger/accounts/*")
      && length(jsondecode(output.invoke_policy_json).Statement[0].Resource) == 5
    )
    error_message = "The callers' policy names each operation of the stage."
  }
}

run "cognito" {
  command = apply

  module {
    source = "./modules/payment"
  }

  variables {
    authorization          = "cognito"
    cognito_user_pool_arns = ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"]
  }

  assert {
    condition = (
      jsondecode(aws_api_gateway_rest_api.this.body).components.securitySchemes.cognito["x-amazon-apigateway-authorizer"] == { type = "cognito_user_pools", providerARNs = ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"] }
      && jsondecode(aws_api_gateway_rest_api.this.body).paths["/quotes"].post.security == [{ cognito = [] }]
    )
    error_message = "cognito: a user pool authorizer guards every operation."
  }
}

run "cognito_needs_a_pool" {
  command = plan

  module {
    source = "./modules/payment"
  }

  variables {
    authorization = "cognito"
  }

  expect_failures = [aws_api_gateway_rest_api.this]
}

run "waf" {
  command = apply

  module {
    source = "./modules/payment"
  }

  variables {
    waf_rate_limit = 500
  }

  assert {
    condition = (
      one(flatten([for r in aws_wafv2_web_acl.this[0].rule : [for s in r.statement : [for b in s.rate_based_statement : b.limit]]])) == 500
    )
    error_message = "The web ACL limits each IP to waf_rate_limit requests per 5 minutes."
  }

  assert {
    condition     = aws_wafv2_web_acl_association.this[0].resource_arn == aws_api_gateway_stage.this.arn && startswith(aws_cloudwatch_log_group.waf[0].name, "aws-waf-logs-")
    error_message = "The web ACL guards the stage and logs to its log group."
  }
}

run "rejects_bad_access_settings" {
  command = plan

  module {
    source = "./modules/payment"
  }

  variables {
    authorization          = "oauth"
    waf_rate_limit         = 10
    cognito_user_pool_arns = ["pool"]
  }

  expect_failures = [var.authorization, var.waf_rate_limit, var.cognito_user_pool_arns]
}
