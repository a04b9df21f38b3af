# Development: short log retention, no deletion protection, EXPRESS would do but STANDARD keeps
# the execution history for debugging.
environment        = "dev"
region             = "us-east-1"
subscription_email = "eventpay-dev@example.com"

lambda_architecture      = "arm64"
log_retention_days       = 7
kms_deletion_window_days = 7

table_deletion_protection  = false
api_throttling_rate_limit  = 20
api_throttling_burst_limit = 40
api_quota_per_day          = 10000
api_logging_level          = "INFO"

# The account's API Gateway logging role: managed by exactly one environment of the account.
manage_api_gateway_account = true
api_authorization          = "api_key"

state_machine_type               = "STANDARD"
state_machine_log_execution_data = true
state_machine_log_level          = "ALL"

payment_limit    = "50000.00"
blocked_accounts = ["blocked-test-account"]

tags = {
  CostCenter = "eventpay-dev"
}
