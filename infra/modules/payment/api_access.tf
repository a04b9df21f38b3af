# Who may call the API and what reaches the functions: the security scheme of the authorization
# mode, the errors API Gateway answers itself (in the spec's {"error": {"code", "message"}}
# shape), and the IAM policy callers need in iam mode.

locals {
  security_scheme = var.authorization
  security_schemes = {
    api_key = { type = "apiKey", name = "x-api-key", in = "header" }
    # SigV4: the caller's IAM identity must be allowed execute-api:Invoke (invoke_policy_json).
    iam = { type = "apiKey", name = "Authorization", in = "header", "x-amazon-apigateway-authtype" = "awsSigv4" }
    cognito = {
      type                           = "apiKey"
      name                           = "Authorization"
      in                             = "header"
      "x-amazon-apigateway-authtype" = "cognito_user_pools"
      "x-amazon-apigateway-authorizer" = {
        type         = "cognito_user_pools"
        providerARNs = var.cognito_user_pool_arns
      }
    }
  }

  # Answers API Gateway gives before (or instead of) a function: the spec's error shape, with a
  # stable code. $context.error.messageString is the message as a quoted JSON string.
  gateway_errors = {
    BAD_REQUEST_BODY             = { status = 400, code = "invalid_request_body" }
    BAD_REQUEST_PARAMETERS       = { status = 400, code = "invalid_request_parameters" }
    REQUEST_TOO_LARGE            = { status = 413, code = "payload_too_large" }
    MISSING_AUTHENTICATION_TOKEN = { status = 403, code = "missing_authentication" }
    INVALID_API_KEY              = { status = 403, code = "invalid_api_key" }
    INVALID_SIGNATURE            = { status = 403, code = "invalid_signature" }
    EXPIRED_TOKEN                = { status = 403, code = "expired_token" }
    UNAUTHORIZED                 = { status = 401, code = "unauthorized" }
    ACCESS_DENIED                = { status = 403, code = "access_denied" }
    WAF_FILTERED                 = { status = 403, code = "request_blocked" }
    THROTTLED                    = { status = 429, code = "throttled" }
    QUOTA_EXCEEDED               = { status = 429, code = "quota_exceeded" }
    DEFAULT_4XX                  = { status = null, code = "client_error" }
    DEFAULT_5XX                  = { status = null, code = "internal_error" }
  }
  gateway_responses = { for type, e in local.gateway_errors : type => merge(
    { responseTemplates = { "application/json" = "{\"error\":{\"code\":\"${e.code}\",\"message\":$context.error.messageString}}" } },
    e.status == null ? {} : { statusCode = tostring(e.status) },
  ) }

  invoke_policy = {
    Version = "2012-10-17"
    Statement = [{
      Sid      = "InvokeEventpayApi"
      Effect   = "Allow"
      Action   = ["execute-api:Invoke"]
      Resource = [for op in local.operations : "${aws_api_gateway_rest_api.this.execution_arn}/${var.stage_name}/${op.method}${replace(op.path, "/\\{[^}]+\\}/", "*")}"]
    }]
  }
}
