# The quote function: prices a conversion from the rates built into it (spec/rates.json) and signs
# the quote with a KMS HMAC key. Its HTTP operation (createQuote) is served by the REST API of the
# payment module, which merges this module's `api_integrations` into spec/openapi.yaml.

module "key" {
  source = "../kms-key"

  alias                   = "${var.name_prefix}-quote"
  description             = "eventpay ${var.name_prefix}: quote function environment and logs"
  deletion_window_in_days = var.kms_deletion_window_days
  tags                    = var.tags
}

module "signing_key" {
  source = "../kms-key"

  alias                   = "${var.name_prefix}-quote-signing"
  description             = "eventpay ${var.name_prefix}: HMAC key signing quote tokens"
  key_spec                = "HMAC_256"
  deletion_window_in_days = var.kms_deletion_window_days
  tags                    = var.tags
}

module "function" {
  source = "../lambda-function"

  name               = "${var.name_prefix}-quote"
  description        = "POST /quotes: price a conversion and sign the quote."
  artifact_path      = "${var.lambda_artifacts_dir}/quote/bootstrap.zip"
  architecture       = var.lambda_architecture
  kms_key_arn        = module.key.arn
  log_retention_days = var.log_retention_days
  tags               = var.tags
  environment = {
    EVENTPAY_QUOTE_KEY_ID   = module.signing_key.arn
    EVENTPAY_QUOTE_TTL_SECS = tostring(var.quote_ttl_secs)
  }
  policy_statements = [{
    sid       = "SignQuotes"
    actions   = ["kms:GenerateMac"]
    resources = [module.signing_key.arn]
  }]
}
