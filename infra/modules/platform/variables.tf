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


variable "rules_dir" {
  description = "Directory of the event rules (spec/rules/*.json: name, description, event_pattern, target)."
  type        = string
}

variable "table_arn" {
  description = "ARN of the payments table (payment module)."
  type        = string
}

variable "table_stream_arn" {
  description = "ARN of the payments table's stream (payment module)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:.*/stream/", var.table_stream_arn))
    error_message = "table_stream_arn must be the ARN of a DynamoDB stream."
  }
}

variable "data_key_arn" {
  description = "KMS key of the payments table and its stream (payment module)."
  type        = string
}

variable "subscription_email" {
  description = "E-mail address subscribed to the notifications topic (it must confirm the subscription)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.subscription_email))
    error_message = "subscription_email must be an e-mail address."
  }
}

variable "email_outcomes" {
  description = "Settlement outcomes e-mailed to subscription_email (a filter policy on the outcomes topic's `status` attribute): any of SETTLED, REJECTED, FAILED; [] for none. Every outcome is still published to the outcomes topic."
  type        = list(string)
  default     = ["FAILED", "REJECTED"]
  nullable    = false

  validation {
    condition     = alltrue([for o in var.email_outcomes : contains(["SETTLED", "REJECTED", "FAILED"], o)]) && length(distinct(var.email_outcomes)) == length(var.email_outcomes)
    error_message = "email_outcomes must list distinct values of SETTLED, REJECTED and FAILED."
  }
}

variable "stream_batch_size" {
  description = "Stream records per forwarder invocation (1 to 10000)."
  type        = number
  default     = 100

  validation {
    condition     = var.stream_batch_size >= 1 && var.stream_batch_size <= 10000
    error_message = "stream_batch_size must be from 1 to 10000."
  }
}

variable "stream_max_retry_attempts" {
  description = "Retries of a failing stream batch before its records go to the failure destination (0 to 10000)."
  type        = number
  default     = 5

  validation {
    condition     = var.stream_max_retry_attempts >= 0 && var.stream_max_retry_attempts <= 10000
    error_message = "stream_max_retry_attempts must be from 0 to 10000."
  }
}

variable "stream_max_record_age_secs" {
  description = "Oldest stream record the forwarder still takes, in seconds (60 to 604800, or -1 for no limit)."
  type        = number
  default     = 3600

  validation {
    condition     = var.stream_max_record_age_secs == -1 || (var.stream_max_record_age_secs >= 60 && var.stream_max_record_age_secs <= 604800)
    error_message = "stream_max_record_age_secs must be -1 or from 60 to 604800."
  }
}

variable "queue_batch_size" {
  description = "Messages per processor invocation (1 to 10)."
  type        = number
  default     = 10

  validation {
    condition     = var.queue_batch_size >= 1 && var.queue_batch_size <= 10
    error_message = "queue_batch_size must be from 1 to 10."
  }
}

variable "max_receive_count" {
  description = "Receives of a message before the queue moves it to the dead-letter queue (1 to 1000)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be from 1 to 1000."
  }
}

variable "processor_timeout_secs" {
  description = "Timeout of the processor function, in seconds; the queue's visibility timeout is six times it."
  type        = number
  default     = 30

  validation {
    condition     = var.processor_timeout_secs >= 1 && var.processor_timeout_secs <= 120
    error_message = "processor_timeout_secs must be from 1 to 120 (the visibility timeout is six times it)."
  }
}

variable "alarm_function_names" {
  description = "Functions of other modules whose errors alarm to the notifications topic (key => function name)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags added to every taggable resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "api" {
  description = "The REST API whose 5XX errors and latency alarm to the topic (payment module: name and stage); null for none."
  type = object({
    name  = string
    stage = string
  })
  default = null
}

variable "api_latency_alarm_ms" {
  description = "99th-percentile API latency, in milliseconds, above which the latency alarm fires."
  type        = number
  default     = 3000

  validation {
    condition     = var.api_latency_alarm_ms >= 50 && var.api_latency_alarm_ms <= 29000
    error_message = "api_latency_alarm_ms must be from 50 to 29000 (API Gateway's integration timeout)."
  }
}

variable "iterator_age_alarm_secs" {
  description = "Age of the newest stream record the forwarder has read, in seconds, above which the stream alarm fires."
  type        = number
  default     = 300

  validation {
    condition     = var.iterator_age_alarm_secs >= 1 && var.iterator_age_alarm_secs <= 86400
    error_message = "iterator_age_alarm_secs must be from 1 to 86400."
  }
}

variable "queue_age_alarm_secs" {
  description = "Age of the oldest message in the payments queue, in seconds, above which the queue alarm fires."
  type        = number
  default     = 600

  validation {
    condition     = var.queue_age_alarm_secs >= 1 && var.queue_age_alarm_secs <= 1209600
    error_message = "queue_age_alarm_secs must be from 1 to 1209600."
  }
}
