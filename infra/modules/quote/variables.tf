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

variable "quote_ttl_secs" {
  description = "Lifetime of a quote in seconds (EVENTPAY_QUOTE_TTL_SECS)."
  type        = number
  default     = 300

  validation {
    condition     = var.quote_ttl_secs >= 1 && var.quote_ttl_secs <= 86400 && floor(var.quote_ttl_secs) == var.quote_ttl_secs
    error_message = "quote_ttl_secs must be a whole number of seconds from 1 to 86400."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
