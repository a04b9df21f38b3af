variable "name_prefix" {
  description = "Prefix of every resource name, e.g. eventpay-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3 to 32 lowercase letters, digits or -, starting with a letter."
  }
}

variable "lambda_artifacts_dir" {
  description = "Directory holding <function>/bootstrap.zip for each function (scripts/package-lambdas output for one architecture)."
  type        = string
}

variable "lambda_architecture" {
  description = "Instruction set of the functions: arm64 or x86_64 (the zips must match)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the module's KMS keys are deleted (7 to 30 days)."
  type        = number
  default     = 7

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "openapi_path" {
  description = "Path of the OpenAPI document the REST API is built from (spec/openapi.yaml)."
  type        = string
}

variable "api_integrations" {
  description = "Operations served by functions of other modules (operationId => function name and invoke ARN), e.g. the quote module's createQuote."
  type = map(object({
    function_name = string
    invoke_arn    = string
  }))
  default = {}
}

variable "quote_signing_key_arn" {
  description = "ARN of the quote module's HMAC key; create-payment verifies quote tokens with it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.quote_signing_key_arn))
    error_message = "quote_signing_key_arn must be a KMS key ARN."
  }
}

variable "table_deletion_protection" {
  description = "Protect the payments and ledger tables against deletion (turn on in production)."
  type        = bool
  default     = false
}

variable "list_shards" {
  description = "Partitions of each listing index (EVENTPAY_LIST_SHARDS, 1 to 64): 16 carries 1,000 payments/s. Only ever raise it on a live table."
  type        = number
  default     = 16

  validation {
    condition     = var.list_shards >= 1 && var.list_shards <= 64 && floor(var.list_shards) == var.list_shards
    error_message = "list_shards must be a whole number from 1 to 64."
  }
}

variable "stage_name" {
  description = "Name of the API stage (the last part of the base URL)."
  type        = string
  default     = "v1"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.stage_name))
    error_message = "stage_name may hold 1 to 64 letters, digits, - or _."
  }
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second the stage and the usage plan allow."
  type        = number
  default     = 50

  validation {
    condition     = var.throttling_rate_limit > 0 && var.throttling_rate_limit <= 10000
    error_message = "throttling_rate_limit must be above 0 and at most 10000."
  }
}

variable "throttling_burst_limit" {
  description = "Burst of requests the stage and the usage plan allow."
  type        = number
  default     = 100

  validation {
    condition     = var.throttling_burst_limit >= 1 && var.throttling_burst_limit <= 5000 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a whole number from 1 to 5000."
  }
}

variable "quota_per_day" {
  description = "Requests per day the API key may make (null: no quota)."
  type        = number
  default     = null

  validation {
    condition     = var.quota_per_day == null || try(var.quota_per_day >= 1, false)
    error_message = "quota_per_day must be null or at least 1."
  }
}

variable "api_logging_level" {
  description = "Execution logging of the stage: OFF, ERROR or INFO (access logs are always on)."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.api_logging_level)
    error_message = "api_logging_level must be OFF, ERROR or INFO."
  }
}

variable "manage_api_gateway_account" {
  description = <<-EOT
    Set the region's API Gateway account setting (the CloudWatch Logs role that access and
    execution logging need). It is one setting per account and region, shared by every
    environment there: turn it on in exactly one (envs/dev.tfvars does), since destroying that
    environment removes it. The stage's logging fails until the account has such a role.
  EOT
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every taggable resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "authorization" {
  description = "How clients authenticate: api_key (x-api-key header and usage plan), iam (SigV4-signed requests, callers need execute-api:Invoke: see the invoke_policy_json output) or cognito (an ID token of cognito_user_pool_arns in Authorization)."
  type        = string
  default     = "api_key"

  validation {
    condition     = contains(["api_key", "iam", "cognito"], var.authorization)
    error_message = "authorization must be api_key, iam or cognito."
  }
}

variable "cognito_user_pool_arns" {
  description = "User pools whose ID tokens the cognito authorizer accepts (authorization = cognito)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cognito_user_pool_arns : can(regex("^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:[0-9]{12}:userpool/", a))])
    error_message = "cognito_user_pool_arns must be Cognito user pool ARNs."
  }
}

variable "request_validation" {
  description = "API Gateway validates request bodies and required parameters against spec/openapi.yaml before a function runs (answers 400 in the spec's error shape)."
  type        = bool
  default     = true
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes one IP address may make before the WAF web ACL blocks it (100 to 2000000000); null: no web ACL."
  type        = number
  default     = null

  validation {
    condition     = var.waf_rate_limit == null || try(var.waf_rate_limit >= 100 && var.waf_rate_limit <= 2000000000, false)
    error_message = "waf_rate_limit must be null or from 100 to 2000000000."
  }
}
