# The payment module with a mocked provider: the table as crates/aws/src/schema.rs defines it, the
# REST API built from spec/openapi.yaml with every operation integrated, the stage, the API key,
# and the variables' validation.

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

override_resource {
  target = aws_cloudwatch_log_group.access
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/eventpay-test-api/access"
  }
}

# The mock gives every table one ARN; the ledger's own tells the two tables' policies apart.
override_resource {
  target = aws_dynamodb_table.ledger
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/eventpay-test-ledger"
  }
}

run "wiring" {
  command = apply

  module {
    source = "./modules/payment"
  }

  assert {
    condition = (
      aws_dynamodb_table.payments.billing_mode == "PAY_PER_REQUEST"
      && aws_dynamodb_table.payments.hash_key == "pk"
      && aws_dynamodb_table.payments.stream_enabled
      && aws_dynamodb_table.payments.stream_view_type == "NEW_AND_OLD_IMAGES"
      && aws_dynamodb_table.payments.point_in_time_recovery[0].enabled
    )
    error_message = "The payments table: on-demand, key pk, stream NEW_AND_OLD_IMAGES, PITR."
  }

  assert {
    condition     = aws_dynamodb_table.payments.server_side_encryption[0].enabled && aws_dynamodb_table.payments.server_side_encryption[0].kms_key_arn == module.key.arn
    error_message = "The payments table is encrypted with the module's KMS key."
  }

  assert {
    condition = (
      aws_dynamodb_table.ledger.billing_mode == "PAY_PER_REQUEST"
      && aws_dynamodb_table.ledger.hash_key == "pk" && aws_dynamodb_table.ledger.range_key == "sk"
      && toset([for a in aws_dynamodb_table.ledger.attribute : a.name]) == toset(["pk", "sk"])
      && length(aws_dynamodb_table.ledger.global_secondary_index) == 0
      && aws_dynamodb_table.ledger.point_in_time_recovery[0].enabled
      && aws_dynamodb_table.ledger.server_side_encryption[0].kms_key_arn == module.key.arn
      && aws_dynamodb_table.ledger.deletion_protection_enabled == var.table_deletion_protection
    )
    error_message = "The ledger table: on-demand, keys pk and sk (crates/aws/src/ledger_items.rs), no index, PITR, the module's key, protected as the payments table."
  }

  assert {
    condition = jsonencode([for s in jsondecode(module.function["get-ledger-account"].policy_json).Statement : [sort(flatten([s.Action])), flatten([s.Resource])] if s.Sid == "ReadLedger"]) == jsonencode([
      [["dynamodb:Query"], [aws_dynamodb_table.ledger.arn]]
    ]) && !strcontains(module.function["get-ledger-account"].policy_json, aws_dynamodb_table.payments.arn)
    error_message = "get-ledger-account may only read the ledger table."
  }

  assert {
    condition = jsonencode([for s in jsondecode(output.ledger_check_policy_json).Statement : [s.Action, s.Resource]]) == jsonencode([
      [["dynamodb:Scan"], [aws_dynamodb_table.payments.arn, aws_dynamodb_table.ledger.arn]],
      [["kms:Decrypt", "kms:DescribeKey"], [module.key.arn]],
    ])
    error_message = "The ledger check's policy: Scan of the two tables and their key, nothing else."
  }

  assert {
    condition     = output.ledger_table_name == "eventpay-test-ledger" && output.ledger_table_arn == aws_dynamodb_table.ledger.arn
    error_message = "The ledger table's name and ARN are outputs (the settlement module writes it)."
  }

  assert {
    condition     = toset([for i in aws_dynamodb_table.payments.global_secondary_index : "${i.name}:${i.hash_key}:${i.range_key}"]) == toset(["by_created:list_pk:list_sk", "by_status:status_pk:list_sk"])
    error_message = "The listing indexes differ from crates/aws/src/items.rs."
  }

  assert {
    condition     = output.list_shards == 16 && toset([for a in aws_dynamodb_table.payments.attribute : a.name]) == toset(["pk", "list_pk", "list_sk", "status_pk"])
    error_message = "The listing indexes are sharded 16 ways by default (list_pk, status_pk: crates/aws/src/items.rs)."
  }

  assert {
    condition = toset(flatten([for p, ms in jsondecode(aws_api_gateway_rest_api.this.body).paths : [for m, op in ms : op.operationId]])) == toset(flatten([
      for p, ms in yamldecode(file("../spec/openapi.yaml")).paths : [for m, op in ms : op.operationId]
    ]))
    error_message = "The API's operations differ from spec/openapi.yaml."
  }

  assert {
    condition = alltrue(flatten([for p, ms in jsondecode(aws_api_gateway_rest_api.this.body).paths : [
      for m, op in ms : op["x-amazon-apigateway-integration"].type == "aws_proxy" && startswith(op["x-amazon-apigateway-integration"].uri, "arn:aws:apigateway:") && op.security == [{ api_key = [] }]
    ]]))
    error_message = "Every operation needs a Lambda proxy integration and the API key."
  }

  assert {
    condition     = jsondecode(aws_api_gateway_rest_api.this.body).paths["/quotes"].post["x-amazon-apigateway-integration"].uri == var.api_integrations.createQuote.invoke_arn
    error_message = "POST /quotes must invoke the quote module's function."
  }

  assert {
    condition     = length(aws_lambda_permission.api) == 5 && aws_lambda_permission.api["getPayment"].source_arn == "${aws_api_gateway_rest_api.this.execution_arn}/*/GET/payments/*" && aws_lambda_permission.api["getLedgerAccount"].source_arn == "${aws_api_gateway_rest_api.this.execution_arn}/*/GET/ledger/accounts/*"
    error_message = "Each operation's function may be invoked by that operation of the API only."
  }

  assert {
    condition     = aws_api_gateway_stage.this.access_log_settings[0].destination_arn == aws_cloudwatch_log_group.access.arn && aws_api_gateway_stage.this.xray_tracing_enabled
    error_message = "The stage writes access logs and traces."
  }

  assert {
    condition     = aws_api_gateway_method_settings.all.settings[0].throttling_rate_limit == var.throttling_rate_limit && aws_api_gateway_method_settings.all.settings[0].throttling_burst_limit == var.throttling_burst_limit
    error_message = "The stage is throttled."
  }

  assert {
    condition     = aws_api_gateway_usage_plan_key.this[0].key_id == aws_api_gateway_api_key.this[0].id && one(aws_api_gateway_usage_plan.this.api_stages).stage == var.stage_name
    error_message = "The API key belongs to a usage plan of the stage."
  }
}

run "rejects_bad_values" {
  command = plan

  module {
    source = "./modules/payment"
  }

  variables {
    quote_signing_key_arn  = "signing-key"
    throttling_burst_limit = 0
    api_logging_level      = "DEBUG"
    stage_name             = "v 1"
    log_retention_days     = 42
    list_shards            = 65
  }

  expect_failures = [
    var.quote_signing_key_arn,
    var.throttling_burst_limit,
    var.api_logging_level,
    var.stage_name,
    var.log_retention_days,
    var.list_shards,
  ]
}
