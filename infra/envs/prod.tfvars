# Production: longer retention, deletion protection, execution logs on errors only.
environment        = "prod"
region             = "us-east-1"
subscription_email = "payments-oncall@example.com"

lambda_architecture      = "arm64"
log_retention_days       = 365
kms_deletion_window_days = 30

table_deletion_protection  = true
api_throttling_rate_limit  = 200
api_throttling_burst_limit = 400
api_logging_level          = "ERROR"

stream_batch_size         = 100
stream_max_retry_attempts = 10
queue_batch_size          = 10
max_receive_count         = 5

# dev manages the account's API Gateway logging role (set true here if prod has its own account).
manage_api_gateway_account = false
api_authorization          = "iam"
api_waf_rate_limit         = 2000

state_machine_type               = "STANDARD"
state_machine_log_execution_data = false
state_machine_log_level          = "ERROR"

payment_limit    = "50000.00"
blocked_accounts = []

tags = {
  CostCenter = "eventpay-prod"
}
