variable "name" {
  description = "Function name (also the name of its role and log group)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.name))
    error_message = "A Lambda function name has 1 to 64 letters, digits, - or _."
  }
}

variable "description" {
  description = "What the function does."
  type        = string
}

variable "artifact_path" {
  description = "Path of the function's bootstrap.zip (from scripts/package-lambdas)."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the function: arm64 or x86_64 (must match the zip)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory in MB (128 to 10240)."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout in seconds (1 to 900)."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "KMS key encrypting the environment variables and the log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_level" {
  description = "Application log level of the JSON logs (TRACE, DEBUG, INFO, WARN, ERROR, FATAL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  }
}

variable "policy_statements" {
  description = "What the function may do besides writing its logs and traces: Allow statements with named actions and resources."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))

  validation {
    condition     = alltrue([for s in var.policy_statements : alltrue([for a in s.actions : a != "*" && !endswith(a, ":*")])])
    error_message = "Name the actions: \"*\" and \"service:*\" are not allowed."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
