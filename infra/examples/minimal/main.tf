# The smallest eventpay deployment: the four modules with only their required inputs (API key
# access, no WAF, default alarms), wired output to input as infra/main.tf does.

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
  default     = "us-east-1"
}

variable "lambda_artifacts_dir" {
  description = "Directory of <function>/bootstrap.zip (scripts/package-lambdas: target/lambda/arm64)."
  type        = string
}

variable "subscription_email" {
  description = "Receives alarms and notifications."
  type        = string
}

locals {
  name_prefix = "eventpay-min"
  spec_dir    = "${path.module}/../../../spec"
}

module "quote" {
  source = "../../modules/quote"

  name_prefix          = local.name_prefix
  lambda_artifacts_dir = var.lambda_artifacts_dir
}

module "payment" {
  source = "../../modules/payment"

  name_prefix           = local.name_prefix
  lambda_artifacts_dir  = var.lambda_artifacts_dir
  openapi_path          = "${local.spec_dir}/openapi.yaml"
  api_integrations      = module.quote.api_integrations
  quote_signing_key_arn = module.quote.signing_key_arn
}

module "platform" {
  source = "../../modules/platform"

  name_prefix          = local.name_prefix
  lambda_artifacts_dir = var.lambda_artifacts_dir
  rules_dir            = "${local.spec_dir}/rules"
  table_arn            = module.payment.table_arn
  table_stream_arn     = module.payment.table_stream_arn
  data_key_arn         = module.payment.data_key_arn
  subscription_email   = var.subscription_email
}

module "settlement" {
  source = "../../modules/settlement"

  name_prefix             = local.name_prefix
  lambda_artifacts_dir    = var.lambda_artifacts_dir
  definition_path         = "${local.spec_dir}/settlement.asl.json"
  table_name              = module.payment.table_name
  table_arn               = module.payment.table_arn
  ledger_table_name       = module.payment.ledger_table_name
  ledger_table_arn        = module.payment.ledger_table_arn
  data_key_arn            = module.payment.data_key_arn
  notifications_topic_arn = module.platform.notifications_topic_arn
  outcomes_topic_arn      = module.platform.outcomes_topic_arn
  messaging_key_arn       = module.platform.messaging_key_arn
  settlement_rules        = module.platform.settlement_rules
}

output "api_url" {
  description = "Base URL of the API."
  value       = module.payment.api_url
}

output "api_key" {
  description = "The API key (x-api-key)."
  value       = module.payment.api_key
  sensitive   = true
}
