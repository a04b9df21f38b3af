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


variable "definition_path" {
  description = "Path of the state machine definition (spec/settlement.asl.json), a templatefile() with the task and topic ARN placeholders."
  type        = string
}

variable "state_machine_type" {
  description = "STANDARD (exactly-once starts, execution history; $25 per million transitions, 300 starts/s) or EXPRESS (about $1.30 per million executions, 6,000 starts/s, at-least-once, history only in the logs, which it requires). See docs/cost.md and docs/capacity.md."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "EXPRESS"], var.state_machine_type)
    error_message = "state_machine_type must be STANDARD or EXPRESS."
  }
}

variable "state_machine_log_level" {
  description = "What the state machine logs: ALL, ERROR, FATAL or OFF (not with EXPRESS)."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "list_shards" {
  description = "Partitions of the payments table's listing indexes (payment module output list_shards): the status updates write the payment's by_status shard."
  type        = number
  default     = 16

  validation {
    condition     = var.list_shards >= 1 && var.list_shards <= 64 && floor(var.list_shards) == var.list_shards
    error_message = "list_shards must be a whole number from 1 to 64."
  }
}

variable "table_name" {
  description = "Name of the payments table (payment module)."
  type        = string
}

variable "table_arn" {
  description = "ARN of the payments table (payment module)."
  type        = string
}

variable "ledger_table_name" {
  description = "Name of the ledger table (payment module): post-ledger writes the transfers and balances there."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.ledger_table_name))
    error_message = "ledger_table_name must be a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)."
  }
}

variable "ledger_table_arn" {
  description = "ARN of the ledger table (payment module)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.ledger_table_arn))
    error_message = "ledger_table_arn must be a DynamoDB table ARN."
  }
}

variable "data_key_arn" {
  description = "KMS key of the payments and ledger tables (payment module)."
  type        = string
}

variable "notifications_topic_arn" {
  description = "ARN of the notifications topic, where the module's alarms go (platform module)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:", var.notifications_topic_arn))
    error_message = "notifications_topic_arn must be an SNS topic ARN."
  }
}

variable "outcomes_topic_arn" {
  description = "ARN of the outcomes topic the workflow publishes each payment's outcome to, with the attribute `status` (platform module)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:", var.outcomes_topic_arn))
    error_message = "outcomes_topic_arn must be an SNS topic ARN."
  }
}

variable "messaging_key_arn" {
  description = "KMS key of the notifications and outcomes topics (platform module)."
  type        = string
}

variable "settlement_rules" {
  description = "The rules that start the workflow (platform module output settlement_rules)."
  type = map(object({
    rule_name         = string
    event_bus_name    = string
    input_path        = optional(string)
    input_transformer = optional(string)
  }))
}

variable "payment_limit" {
  description = "Per-payment limit in base-currency units (the base of spec/rates.json, USD by default; EVENTPAY_PAYMENT_LIMIT), as a decimal string."
  type        = string
  default     = "50000.00"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?$", var.payment_limit)) && try(tonumber(var.payment_limit) > 0, false)
    error_message = "payment_limit must be a positive decimal such as \"50000.00\"."
  }
}

variable "blocked_accounts" {
  description = "Beneficiary accounts whose payments are rejected (EVENTPAY_BLOCKED_ACCOUNTS)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.blocked_accounts : length(trimspace(a)) > 0 && !strcontains(a, ",")])
    error_message = "blocked_accounts must be non-empty account names without commas."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "log_execution_data" {
  description = "Log each state's input and output (payment data) with the execution log; keep false in production."
  type        = bool
  default     = false
}
