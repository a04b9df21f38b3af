# Payments: the payments table, the ledger table (transfers and balances, written by the
# settlement's post-ledger task in the transaction that marks a payment SETTLED), the payment and
# ledger-read functions, and the one REST API of the deployment,
# built from spec/openapi.yaml with the integrations of this module's operations and of the
# operations other modules pass in (the quote module's createQuote).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
}

module "key" {
  source = "../kms-key"

  alias                   = "${var.name_prefix}-payment"
  description             = "eventpay ${var.name_prefix}: payments and ledger tables, the payments stream, payment functions and API logs"
  deletion_window_in_days = var.kms_deletion_window_days
  tags                    = var.tags
}

# ---------------------------------------------------------------------------------------------
# Table: keys and indexes as crates/aws/src/schema.rs and items.rs define them.

resource "aws_dynamodb_table" "payments" {
  name                        = "${var.name_prefix}-payments"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"
  deletion_protection_enabled = var.table_deletion_protection
  tags                        = var.tags

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "list_pk"
    type = "S"
  }
  attribute {
    name = "list_sk"
    type = "S"
  }
  attribute {
    name = "status_pk"
    type = "S"
  }

  # Every payment, newest first, in var.list_shards partitions (list_pk = "ALL#<shard>") that
  # the listing merges: one partition takes at most 1,000 writes a second (docs/capacity.md).
  global_secondary_index {
    name            = "by_created"
    hash_key        = "list_pk"
    range_key       = "list_sk"
    projection_type = "ALL"
  }

  # Payments of one status, newest first, sharded alike (status_pk = "<STATUS>#<shard>").
  global_secondary_index {
    name            = "by_status"
    hash_key        = "status_pk"
    range_key       = "list_sk"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.key.arn
  }
}

# The ledger: transfers, their copies under each account and balances, as
# crates/aws/src/ledger_items.rs lays them out (pk ACCOUNT#<account> / TRANSFER#<id>, sk
# T#<posted_at>#<id> / BALANCE#<CCY> / TRANSFER). Its own table: no stream (its changes are not
# events) and no index (an account's page is one Query on pk).
resource "aws_dynamodb_table" "ledger" {
  name                        = "${var.name_prefix}-ledger"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.table_deletion_protection
  tags                        = var.tags

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
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

# What an operator's role needs to run eventpay-ledger-check-aws (crates/lambdas/src/tools): a
# consistent Scan of both tables and their key. Not attached to anything: an output to attach.
locals {
  ledger_check_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ScanTheBook"
        Effect   = "Allow"
        Action   = ["dynamodb:Scan"]
        Resource = [aws_dynamodb_table.payments.arn, aws_dynamodb_table.ledger.arn]
      },
      {
        Sid      = "DecryptTheBook"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:DescribeKey"]
        Resource = [module.key.arn]
      },
    ]
  }
}

locals {
  table_key = {
    sid       = "UseTableKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.key.arn]
  }
  functions = {
    "create-payment" = {
      description = "POST /payments: turn a quote into a PENDING payment (idempotent)."
      verifies    = true
      ledger      = false
      statements = [
        {
          sid       = "WritePayments"
          actions   = ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem"]
          resources = [aws_dynamodb_table.payments.arn]
        },
        {
          sid       = "VerifyQuotes"
          actions   = ["kms:VerifyMac"]
          resources = [var.quote_signing_key_arn]
        },
        local.table_key,
      ]
    }
    "get-payment" = {
      description = "GET /payments/{payment_id}: read one payment."
      verifies    = false
      ledger      = false
      statements = [
        {
          sid       = "ReadPayments"
          actions   = ["dynamodb:GetItem"]
          resources = [aws_dynamodb_table.payments.arn]
        },
        local.table_key,
      ]
    }
    "list-payments" = {
      description = "GET /payments: list payments newest first, paginated."
      verifies    = false
      ledger      = false
      statements = [
        {
          sid       = "QueryPaymentIndexes"
          actions   = ["dynamodb:Query"]
          resources = ["${aws_dynamodb_table.payments.arn}/index/by_created", "${aws_dynamodb_table.payments.arn}/index/by_status"]
        },
        local.table_key,
      ]
    }
    "get-ledger-account" = {
      description = "GET /ledger/accounts/{account}: an account's balances and transfers, paginated."
      verifies    = false
      ledger      = true
      statements = [
        # An account page is Queries only (its balances, its transfer copies).
        {
          sid       = "ReadLedger"
          actions   = ["dynamodb:Query"]
          resources = [aws_dynamodb_table.ledger.arn]
        },
        local.table_key,
      ]
    }
  }
}

module "function" {
  source   = "../lambda-function"
  for_each = local.functions

  name               = "${var.name_prefix}-${each.key}"
  description        = each.value.description
  artifact_path      = "${var.lambda_artifacts_dir}/${each.key}/bootstrap.zip"
  architecture       = var.lambda_architecture
  kms_key_arn        = module.key.arn
  log_retention_days = var.log_retention_days
  tags               = var.tags
  # create-payment verifies quote tokens with the quote module's key; get-ledger-account reads
  # the ledger table only.
  environment = merge(
    { EVENTPAY_TABLE = aws_dynamodb_table.payments.name, EVENTPAY_LIST_SHARDS = tostring(var.list_shards) },
    each.value.verifies ? { EVENTPAY_QUOTE_KEY_ID = var.quote_signing_key_arn } : {},
    each.value.ledger ? { EVENTPAY_LEDGER_TABLE = aws_dynamodb_table.ledger.name } : {},
  )
  policy_statements = each.value.statements
}

# ---------------------------------------------------------------------------------------------
# REST API: spec/openapi.yaml with an x-amazon-apigateway-integration (Lambda proxy) and the
# security requirement of the authorization mode merged into every operation; request validation
# and error answers in the spec's error shape (api_access.tf).

locals {
  spec         = yamldecode(file(var.openapi_path))
  http_methods = ["get", "put", "post", "delete", "patch", "head", "options"]

  integrations = merge(var.api_integrations, {
    createPayment = { function_name = module.function["create-payment"].function_name, invoke_arn = module.function["create-payment"].invoke_arn }
    getPayment    = { function_name = module.function["get-payment"].function_name, invoke_arn = module.function["get-payment"].invoke_arn }
    listPayments  = { function_name = module.function["list-payments"].function_name, invoke_arn = module.function["list-payments"].invoke_arn }
    getLedgerAccount = {
      function_name = module.function["get-ledger-account"].function_name
      invoke_arn    = module.function["get-ledger-account"].invoke_arn
    }
  })

  # operationId => method and path, e.g. getPayment => GET /payments/{payment_id}.
  operations = merge([for path, methods in local.spec.paths : {
    for method, op in methods : op.operationId => { method = upper(method), path = path } if contains(local.http_methods, method)
  }]...)

  paths = { for path, methods in local.spec.paths : path => {
    for method, op in methods : method => merge(op, {
      security = [{ (local.security_scheme) = [] }]
      "x-amazon-apigateway-integration" = {
        type                = "aws_proxy"
        httpMethod          = "POST"
        uri                 = try(local.integrations[op.operationId].invoke_arn, "missing")
        passthroughBehavior = "when_no_match"
        timeoutInMillis     = 29000
      }
    }) if contains(local.http_methods, method)
  } }

  api_body = merge(local.spec, {
    paths = local.paths
    components = merge(local.spec.components, {
      securitySchemes = { (local.security_scheme) = local.security_schemes[var.authorization] }
    })
    "x-amazon-apigateway-api-key-source"    = "HEADER"
    "x-amazon-apigateway-gateway-responses" = local.gateway_responses
    # Bodies against the operation's schema, required parameters present: before any function runs.
    "x-amazon-apigateway-request-validators" = {
      all  = { validateRequestBody = true, validateRequestParameters = true }
      none = { validateRequestBody = false, validateRequestParameters = false }
    }
    "x-amazon-apigateway-request-validator" = var.request_validation ? "all" : "none"
  })
}

resource "aws_api_gateway_rest_api" "this" {
  name        = "${var.name_prefix}-api"
  description = "eventpay ${var.name_prefix}: quotes and payments (spec/openapi.yaml)"
  body        = jsonencode(local.api_body)

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = var.authorization != "cognito" || length(var.cognito_user_pool_arns) > 0
      error_message = "authorization = cognito needs cognito_user_pool_arns."
    }

    precondition {
      condition     = toset(keys(local.operations)) == toset(keys(local.integrations))
      error_message = "Every operation of ${var.openapi_path} needs a function and every function an operation: operations ${join(", ", sort(keys(local.operations)))}; integrations ${join(", ", sort(keys(local.integrations)))}."
    }
  }
}

resource "aws_lambda_permission" "api" {
  for_each = local.operations

  statement_id  = "AllowApiGateway-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = local.integrations[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  # Only this operation of this API (any stage): execution-arn/stage/METHOD/path, {params} as *.
  source_arn = "${aws_api_gateway_rest_api.this.execution_arn}/*/${each.value.method}${replace(each.value.path, "/\\{[^}]+\\}/", "*")}"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  triggers = {
    redeployment = sha1(aws_api_gateway_rest_api.this.body)
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment choice (log_retention_days: 7 in dev, 365 in envs/prod.tfvars).
  name              = "/aws/apigateway/${var.name_prefix}-api/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.arn
  tags              = var.tags
}

# The account-level CloudWatch Logs role API Gateway logs with (one per account and region).
resource "aws_iam_role" "api_gateway_logs" {
  count = var.manage_api_gateway_account ? 1 : 0

  name        = "${var.name_prefix}-apigateway-logs"
  description = "API Gateway writes access and execution logs of this account and region."
  tags        = var.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

locals {
  api_gateway_logs_policy = {
    Version = "2012-10-17"
    Statement = [{
      # The account setting serves every REST API of the region, so the role covers the log
      # groups of this account and region (the actions of AmazonAPIGatewayPushToCloudWatchLogs).
      Sid    = "WriteApiGatewayLogs"
      Effect = "Allow"
      Action = [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:FilterLogEvents",
        "logs:GetLogEvents",
        "logs:PutLogEvents",
      ]
      Resource = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }]
  }
}

resource "aws_iam_role_policy" "api_gateway_logs" {
  count = var.manage_api_gateway_account ? 1 : 0

  name   = "${var.name_prefix}-apigateway-logs"
  role   = aws_iam_role.api_gateway_logs[0].id
  policy = jsonencode(local.api_gateway_logs_policy)
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.api_gateway_logs[0].arn
  depends_on          = [aws_iam_role_policy.api_gateway_logs]
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Responses are per-request (quotes expire, payments change status); a cache would serve stale data.
  #checkov:skip=CKV2_AWS_77:The optional web ACL (waf.tf) has AWSManagedRulesKnownBadInputsRuleSet, which blocks Log4j lookups; checkov does not follow the conditional association.
  #checkov:skip=CKV2_AWS_29:The WAF web ACL is optional (waf_rate_limit, waf.tf) because of its cost; throttling and the usage plan limit abuse without it.
  #checkov:skip=CKV2_AWS_51:Clients are not issued TLS client certificates; requests are authorised by API key, SigV4 or Cognito tokens (authorization).
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  xray_tracing_enabled = true
  tags                 = var.tags

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      requestTime    = "$context.requestTime"
      httpMethod     = "$context.httpMethod"
      resourcePath   = "$context.resourcePath"
      status         = "$context.status"
      responseLength = "$context.responseLength"
      latency        = "$context.responseLatency"
      apiKeyId       = "$context.identity.apiKeyId"
      error          = "$context.error.message"
    })
  }

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose (see the stage).
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = var.api_logging_level
    data_trace_enabled     = false
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
    caching_enabled        = false
  }
}

resource "aws_api_gateway_api_key" "this" {
  count = var.authorization == "api_key" ? 1 : 0

  name        = "${var.name_prefix}-client"
  description = "Key of the eventpay ${var.name_prefix} clients (x-api-key)."
  tags        = var.tags
}

moved {
  from = aws_api_gateway_api_key.this
  to   = aws_api_gateway_api_key.this[0]
}

resource "aws_api_gateway_usage_plan" "this" {
  name        = "${var.name_prefix}-clients"
  description = "Throttling and quota of the eventpay ${var.name_prefix} API key."
  tags        = var.tags

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = var.throttling_rate_limit
    burst_limit = var.throttling_burst_limit
  }

  dynamic "quota_settings" {
    for_each = var.quota_per_day == null ? [] : [var.quota_per_day]
    content {
      limit  = quota_settings.value
      period = "DAY"
    }
  }
}

resource "aws_api_gateway_usage_plan_key" "this" {
  count = var.authorization == "api_key" ? 1 : 0

  key_id        = aws_api_gateway_api_key.this[0].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this.id
}

moved {
  from = aws_api_gateway_usage_plan_key.this
  to   = aws_api_gateway_usage_plan_key.this[0]
}
