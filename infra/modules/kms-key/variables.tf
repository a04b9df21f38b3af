variable "alias" {
  description = "Alias of the key, without the alias/ prefix (e.g. eventpay-dev-payment)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.alias)) && !startswith(var.alias, "aws/")
    error_message = "The alias may hold letters, digits, /, _ and -, and must not start with aws/."
  }
}

variable "description" {
  description = "What the key protects."
  type        = string
}

variable "key_spec" {
  description = "SYMMETRIC_DEFAULT for encryption, HMAC_256 for a MAC key (quote signing)."
  type        = string
  default     = "SYMMETRIC_DEFAULT"

  validation {
    condition     = contains(["SYMMETRIC_DEFAULT", "HMAC_256"], var.key_spec)
    error_message = "key_spec must be SYMMETRIC_DEFAULT or HMAC_256."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled deletion (7 to 30 days)."
  type        = number
  default     = 7

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "service_grants" {
  description = <<-EOT
    Statements of the key policy for AWS services that use the key on their own behalf (CloudWatch
    Logs, EventBridge, CloudWatch alarms ...): a statement id, the service principal, the actions
    and an optional condition in IAM JSON shape ({ operator = { key = [values] } }). Roles of this
    account are granted use through their IAM policies, which the key policy allows.
  EOT
  type = list(object({
    sid       = string
    service   = string
    actions   = list(string)
    condition = optional(map(map(list(string))), {})
  }))
  default = []

  validation {
    condition     = alltrue([for g in var.service_grants : alltrue([for a in g.actions : startswith(a, "kms:") && !strcontains(a, "*")])])
    error_message = "Service grants name kms: actions one by one, without wildcards."
  }
}

variable "allow_cloudwatch_logs" {
  description = "Let CloudWatch Logs of this region encrypt log groups of this account with the key."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every taggable resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
