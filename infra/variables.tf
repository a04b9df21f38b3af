variable "environment" {
  description = "Name of the environment (dev, prod ...): part of every resource name (eventpay-<environment>-...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.environment))
    error_message = "environment must be 2 to 12 lowercase letters or digits, starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "tags" {
  description = "Tags added to every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = {}
}

variable "lambda_architecture" {
  description = "Instruction set of the functions: arm64 (default, Graviton) or x86_64; the zips must be built for it."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_artifacts_dir" {
  description = "Directory holding <function>/bootstrap.zip (scripts/package-lambdas writes target/lambda/<arch>/); null means that default for lambda_architecture."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of every log group, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before a destroyed KMS key is deleted (7 to 30 days)."
  type        = number
  default     = 7

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "quote_ttl_secs" {
  description = "Lifetime of a quote, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.quote_ttl_secs >= 1 && var.quote_ttl_secs <= 86400
    error_message = "quote_ttl_secs must be from 1 to 86400."
  }
}

variable "table_deletion_protection" {
  description = "Protect the payments and ledger tables against deletion."
  type        = bool
  default     = false
}

variable "api_throttling_rate_limit" {
  description = "Requests per second the API stage and usage plan allow."
  type        = number
  default     = 50
}

variable "api_throttling_burst_limit" {
  description = "Burst of requests the API stage and usage plan allow."
  type        = number
  default     = 100
}

variable "api_quota_per_day" {
  description = "Requests per day the API key may make (null: no quota)."
  type        = number
  default     = null
}

variable "api_logging_level" {
  description = "Execution logging of the API stage: OFF, ERROR or INFO."
  type        = string
  default     = "ERROR"
}

variable "manage_api_gateway_account" {
  description = "Manage the region's API Gateway CloudWatch Logs role, one setting per account and region shared by all environments: true in exactly one environment of the account (envs/dev.tfvars), false elsewhere."
  type        = bool
  default     = false
}

variable "api_authorization" {
  description = "How API clients authenticate: api_key (x-api-key), iam (SigV4; grant callers the api_invoke_policy output) or cognito (ID tokens of api_cognito_user_pool_arns)."
  type        = string
  default     = "api_key"
}

variable "api_cognito_user_pool_arns" {
  description = "User pools whose ID tokens the API accepts when api_authorization = cognito."
  type        = list(string)
  default     = []
}

variable "api_request_validation" {
  description = "API Gateway validates request bodies and parameters against spec/openapi.yaml."
  type        = bool
  default     = true
}

variable "api_waf_rate_limit" {
  description = "Requests per 5 minutes per client IP before the WAF web ACL blocks it; null: no web ACL."
  type        = number
  default     = null
}

variable "api_latency_alarm_ms" {
  description = "99th-percentile API latency (ms) above which the latency alarm fires."
  type        = number
  default     = 3000
}

variable "subscription_email" {
  description = "E-mail address subscribed to the notifications topic (alarms, high-value payments) and to the outcomes topic (the outcomes in email_outcomes)."
  type        = string
}

variable "email_outcomes" {
  description = "Settlement outcomes e-mailed to subscription_email (filter policy on the outcomes topic's status attribute): any of SETTLED, REJECTED, FAILED; [] for none."
  type        = list(string)
  default     = ["FAILED", "REJECTED"]
  nullable    = false

  validation {
    condition     = alltrue([for o in var.email_outcomes : contains(["SETTLED", "REJECTED", "FAILED"], o)]) && length(distinct(var.email_outcomes)) == length(var.email_outcomes)
    error_message = "email_outcomes must list distinct values of SETTLED, REJECTED and FAILED."
  }
}

variable "prewarm_payments_per_second" {
  description = "Peak payments a second the prewarm_command output pre-warms the payments table, its indexes and the ledger table for (1 to 1400: the ledger table takes 28 write units a payment, and 40,000 a second is the default per-table quota)."
  type        = number
  default     = 1000

  validation {
    condition     = var.prewarm_payments_per_second >= 1 && var.prewarm_payments_per_second <= 1400 && floor(var.prewarm_payments_per_second) == var.prewarm_payments_per_second
    error_message = "prewarm_payments_per_second must be a whole number from 1 to 1400."
  }
}

variable "stream_batch_size" {
  description = "Stream records per forwarder invocation."
  type        = number
  default     = 100
}

variable "stream_max_retry_attempts" {
  description = "Retries of a failing stream batch before it goes to the failure queue."
  type        = number
  default     = 5
}

variable "queue_batch_size" {
  description = "Messages per processor invocation (1 to 10)."
  type        = number
  default     = 10
}

variable "max_receive_count" {
  description = "Receives of a message before it moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "state_machine_type" {
  description = "Settlement state machine type: STANDARD or EXPRESS (about $150 less per million payments, and needed beyond 300 payments/s: docs/cost.md, docs/capacity.md)."
  type        = string
  default     = "STANDARD"
}

variable "state_machine_log_execution_data" {
  description = "Log the settlement's state inputs and outputs (payment data): dev only."
  type        = bool
  default     = false
}

variable "state_machine_log_level" {
  description = "Settlement state machine logging: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"
}

variable "list_shards" {
  description = "Partitions of each listing index of the payments table (1 to 64; 16 carries 1,000 payments/s). Only ever raise it."
  type        = number
  default     = 16
}

variable "payment_limit" {
  description = "Per-payment limit in base-currency units (the base of spec/rates.json, USD by default), as a decimal string."
  type        = string
  default     = "50000.00"
}

variable "blocked_accounts" {
  description = "Beneficiary accounts whose payments are rejected."
  type        = list(string)
  default     = []
}
