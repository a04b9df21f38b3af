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

variable "teardown" {
  description = <<-EOT
    false (default): the guard refuses every destroy, so nothing (key, lock table, bucket policy,
    encryption ...) is removed while the bucket holds state. true: allow the teardown — apply it
    first (the bucket gets force_destroy, the lock table loses deletion protection, the guard lets
    go), then `terraform destroy -var teardown=true` deletes everything, state versions included.
  EOT
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

variable "github_repository" {
  description = "GitHub repository (owner/name) whose Actions workflows deploy eventpay; null makes no OIDC provider and no roles."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "github_environments" {
  description = "GitHub environments with a deploy role each (eventpay environment of the same name); protect prod with required reviewers in the repository's settings."
  type        = list(string)
  default     = ["dev", "prod"]

  validation {
    condition     = alltrue([for e in var.github_environments : can(regex("^[a-z][a-z0-9]{1,11}$", e))])
    error_message = "Each environment is 2 to 12 lowercase letters or digits, starting with a letter (as infra/'s environment)."
  }
}

variable "github_oidc_provider_arn" {
  description = "ARN of the account's existing token.actions.githubusercontent.com OIDC provider (one per account); null creates it."
  type        = string
  default     = null
}

variable "deployment_prefix" {
  description = "Name prefix of the deployments the roles manage: environment <env> is <deployment_prefix>-<env>-* (infra/ uses eventpay)."
  type        = string
  default     = "eventpay"
}
