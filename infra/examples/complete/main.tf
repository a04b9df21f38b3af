# eventpay with every option of the modules: SigV4 (IAM) access, a WAF web ACL with a rate
# limit, request validation, the account's API Gateway logging role, tags on every resource,
# x86_64 functions, production-like settlement and alarm settings.

terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "lambda_artifacts_dir" {
  description = "Directory of <function>/bootstrap.zip built for x86_64 (scripts/package-lambdas --arch x86_64)."
  type        = string
}

variable "subscription_email" {
  description = "Receives alarms and notifications."
  type        = string
}

locals {
  name_prefix = "eventpay-full"
  spec_dir    = "${path.module}/../../../spec"
  common = {
    lambda_artifacts_dir     = var.lambda_artifacts_dir
    lambda_architecture      = "x86_64"
    log_retention_days       = 90
    kms_deletion_window_days = 30
  }
  tags = {
    Project     = "eventpay"
    Environment = "full"
    Owner       = "payments-team"
  }
}

module "quote" {
  source = "../../modules/quote"

  name_prefix              = local.name_prefix
  lambda_artifacts_dir     = local.common.lambda_artifacts_dir
  lambda_architecture      = local.common.lambda_architecture
  log_retention_days       = local.common.log_retention_days
  kms_deletion_window_days = local.common.kms_deletion_window_days
  quote_ttl_secs           = 120
  tags                     = local.tags
}

module "payment" {
  source = "../../modules/payment"

  name_prefix              = local.name_prefix
  lambda_artifacts_dir     = local.common.lambda_artifacts_dir
  lambda_architecture      = local.common.lambda_architecture
  log_retention_days       = local.common.log_retention_days
  kms_deletion_window_days = local.common.kms_deletion_window_days
  tags                     = local.tags

  openapi_path               = "${local.spec_dir}/openapi.yaml"
  api_integrations           = module.quote.api_integrations
  quote_signing_key_arn      = module.quote.signing_key_arn
  table_deletion_protection  = true
  stage_name                 = "v1"
  throttling_rate_limit      = 100
  throttling_burst_limit     = 200
  quota_per_day              = 100000
  api_logging_level          = "ERROR"
  manage_api_gateway_account = true
  authorization              = "iam"
  request_validation         = true
  waf_rate_limit             = 1000
}

module "platform" {
  source = "../../modules/platform"

  name_prefix              = local.name_prefix
  lambda_artifacts_dir     = local.common.lambda_artifacts_dir
  lambda_architecture      = local.common.lambda_architecture
  log_retention_days       = local.common.log_retention_days
  kms_deletion_window_days = local.common.kms_deletion_window_days
  tags                     = local.tags

  rules_dir                  = "${local.spec_dir}/rules"
  table_arn                  = module.payment.table_arn
  table_stream_arn           = module.payment.table_stream_arn
  data_key_arn               = module.payment.data_key_arn
  subscription_email         = var.subscription_email
  stream_batch_size          = 50
  stream_max_retry_attempts  = 10
  stream_max_record_age_secs = 7200
  queue_batch_size           = 5
  max_receive_count          = 3
  processor_timeout_secs     = 20
  api                        = { name = module.payment.api_name, stage = module.payment.stage_name }
  api_latency_alarm_ms       = 2000
  iterator_age_alarm_secs    = 120
  queue_age_alarm_secs       = 300
  alarm_function_names       = merge({ quote = module.quote.function_name }, module.payment.function_names)
}

module "settlement" {
  source = "../../modules/settlement"

  name_prefix              = local.name_prefix
  lambda_artifacts_dir     = local.common.lambda_artifacts_dir
  lambda_architecture      = local.common.lambda_architecture
  log_retention_days       = local.common.log_retention_days
  kms_deletion_window_days = local.common.kms_deletion_window_days
  tags                     = local.tags

  definition_path         = "${local.spec_dir}/settlement.asl.json"
  state_machine_log_level = "ERROR"
  log_execution_data      = false
  table_name              = module.payment.table_name
  table_arn               = module.payment.table_arn
  ledger_table_name       = module.payment.ledger_table_name
  ledger_table_arn        = module.payment.ledger_table_arn
  data_key_arn            = module.payment.data_key_arn
  notifications_topic_arn = module.platform.notifications_topic_arn
  outcomes_topic_arn      = module.platform.outcomes_topic_arn
  messaging_key_arn       = module.platform.messaging_key_arn
  settlement_rules        = module.platform.settlement_rules
  payment_limit           = "25000.00"
  blocked_accounts        = ["sanctioned-1", "sanctioned-2"]
}

output "api_url" {
  description = "Base URL of the API (SigV4-signed requests: eventpay smoke --sigv4)."
  value       = module.payment.api_url
}

output "api_invoke_policy" {
  description = "Attach to the callers' roles."
  value       = module.payment.invoke_policy_json
}

output "web_acl_arn" {
  description = "The WAF web ACL in front of the stage."
  value       = module.payment.web_acl_arn
}
