# eventpay on AWS: four modules, each depending on the ones before it through outputs -> inputs.
# `terraform apply -target module.quote`, then module.payment, module.platform,
# module.settlement deploy step by step (destroy in the reverse order); a plain apply does all.

locals {
  name_prefix   = "eventpay-${var.environment}"
  spec_dir      = "${path.module}/../spec"
  artifacts_dir = coalesce(var.lambda_artifacts_dir, "${path.module}/../target/lambda/${var.lambda_architecture}")
}

module "quote" {
  source = "./modules/quote"

  name_prefix              = local.name_prefix
  lambda_artifacts_dir     = local.artifacts_dir
  lambda_architecture      = var.lambda_architecture
  log_retention_days       = var.log_retention_days
  kms_deletion_window_days = var.kms_deletion_window_days
  quote_ttl_secs           = var.quote_ttl_secs
}

module "payment" {
  source = "./modules/payment"

  name_prefix              = local.name_prefix
  lambda_artifacts_dir     = local.artifacts_dir
  lambda_architecture      = var.lambda_architecture
  log_retention_days       = var.log_retention_days
  kms_deletion_window_days = var.kms_deletion_window_days

  openapi_path               = "${local.spec_dir}/openapi.yaml"
  api_integrations           = module.quote.api_integrations
  quote_signing_key_arn      = module.quote.signing_key_arn
  table_deletion_protection  = var.table_deletion_protection
  throttling_rate_limit      = var.api_throttling_rate_limit
  throttling_burst_limit     = var.api_throttling_burst_limit
  quota_per_day              = var.api_quota_per_day
  api_logging_level          = var.api_logging_level
  manage_api_gateway_account = var.manage_api_gateway_account
  authorization              = var.api_authorization
  cognito_user_pool_arns     = var.api_cognito_user_pool_arns
  request_validation         = var.api_request_validation
  waf_rate_limit             = var.api_waf_rate_limit
  list_shards                = var.list_shards
}

module "platform" {
  source = "./modules/platform"

  name_prefix              = local.name_prefix
  lambda_artifacts_dir     = local.artifacts_dir
  lambda_architecture      = var.lambda_architecture
  log_retention_days       = var.log_retention_days
  kms_deletion_window_days = var.kms_deletion_window_days

  rules_dir                 = "${local.spec_dir}/rules"
  table_arn                 = module.payment.table_arn
  table_stream_arn          = module.payment.table_stream_arn
  data_key_arn              = module.payment.data_key_arn
  subscription_email        = var.subscription_email
  email_outcomes            = var.email_outcomes
  stream_batch_size         = var.stream_batch_size
  stream_max_retry_attempts = var.stream_max_retry_attempts
  queue_batch_size          = var.queue_batch_size
  max_receive_count         = var.max_receive_count
  api                       = { name = module.payment.api_name, stage = module.payment.stage_name }
  api_latency_alarm_ms      = var.api_latency_alarm_ms
  alarm_function_names = merge(
    { quote = module.quote.function_name },
    module.payment.function_names,
  )
}

module "settlement" {
  source = "./modules/settlement"

  name_prefix              = local.name_prefix
  lambda_artifacts_dir     = local.artifacts_dir
  lambda_architecture      = var.lambda_architecture
  log_retention_days       = var.log_retention_days
  kms_deletion_window_days = var.kms_deletion_window_days

  definition_path         = "${local.spec_dir}/settlement.asl.json"
  state_machine_type      = var.state_machine_type
  state_machine_log_level = var.state_machine_log_level
  log_execution_data      = var.state_machine_log_execution_data
  table_name              = module.payment.table_name
  table_arn               = module.payment.table_arn
  ledger_table_name       = module.payment.ledger_table_name
  ledger_table_arn        = module.payment.ledger_table_arn
  data_key_arn            = module.payment.data_key_arn
  notifications_topic_arn = module.platform.notifications_topic_arn
  outcomes_topic_arn      = module.platform.outcomes_topic_arn
  messaging_key_arn       = module.platform.messaging_key_arn
  settlement_rules        = module.platform.settlement_rules
  payment_limit           = var.payment_limit
  blocked_accounts        = var.blocked_accounts
  list_shards             = module.payment.list_shards
}

# Pre-warming the payments table (docs/capacity.md, 100 -> 1,000 payments/s): a new on-demand
# table serves 4,000 write units/s at once. The AWS provider used here cannot set warm
# throughput, so it is an operator step: `terraform output -raw prewarm_command` prints it.
# Write units per payment at 2 KB items (docs/cost.md): table 12 (the settlement's transaction
# bills the payment twice), by_created 6, by_status 10; the ledger table 28 (3 transfers, 2 copies
# each, 5 balances, 2 units each in the transaction).
locals {
  prewarm_writes = {
    table      = 12 * var.prewarm_payments_per_second
    by_created = 6 * var.prewarm_payments_per_second
    by_status  = 10 * var.prewarm_payments_per_second
    ledger     = 28 * var.prewarm_payments_per_second
  }
  # Reads: 4 per payment on the table; the on-demand starting point (12,000) if higher, since
  # warm throughput can only be raised.
  prewarm_reads = max(12000, 4 * var.prewarm_payments_per_second)
  prewarm_index_updates = jsonencode([for index in ["by_created", "by_status"] : {
    Update = {
      IndexName      = index
      WarmThroughput = { ReadUnitsPerSecond = local.prewarm_reads, WriteUnitsPerSecond = max(4000, local.prewarm_writes[index]) }
    }
  }])
  prewarm_command = join(" ", [
    "aws dynamodb update-table --region ${var.region} --table-name ${module.payment.table_name}",
    "--warm-throughput ReadUnitsPerSecond=${local.prewarm_reads},WriteUnitsPerSecond=${max(4000, local.prewarm_writes.table)}",
    "--global-secondary-index-updates '${local.prewarm_index_updates}'",
    "&& aws dynamodb update-table --region ${var.region} --table-name ${module.payment.ledger_table_name}",
    "--warm-throughput ReadUnitsPerSecond=${local.prewarm_reads},WriteUnitsPerSecond=${max(4000, local.prewarm_writes.ledger)}",
  ])
}
