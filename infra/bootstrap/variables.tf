variable "region" {
  description = "AWS region of the state bucket and the lock table."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of the names: the bucket is <prefix>-tfstate-<account id>-<region>, the lock table <prefix>-tfstate-lock."
  type        = string
  default     = "eventpay"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3 to 22 lowercase letters, digits or -, starting with a letter."
  }
}

variable "state_key_prefix" {
  description = "Prefix of the state object keys: environment <env> keeps its state at <prefix>/<env>/terraform.tfstate."
  type        = string
  default     = "eventpay"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9/_.-]*[a-zA-Z0-9]$", var.state_key_prefix))
    error_message = "state_key_prefix must be a relative object key prefix without a leading or trailing /."
  }
}

variable "locking" {
  description = <<-EOT
    How the root configuration's S3 backend locks state, written into the backend_config output:
    "lockfile" (S3-native lock object, Terraform >= 1.10; the default), "dynamodb" (the lock table,
    deprecated by Terraform 1.11 but supported) or "both" (during a migration from one to the other).
    The lock table is created in every case, so switching needs no change here.
  EOT
  type        = string
  default     = "lockfile"

  validation {
    condition     = contains(["lockfile", "dynamodb", "both"], var.locking)
    error_message = "locking must be lockfile, dynamodb or both."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten state version is kept before it expires (1 to 3650)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 3650
    error_message = "noncurrent_version_retention_days must be from 1 to 3650."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the bucket with every state version in it (only for throw-away setups and tests)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Protect the lock table against deletion."
  type        = bool
  default     = false
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the state key is deleted after a destroy (7 to 30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
