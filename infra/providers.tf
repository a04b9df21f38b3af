provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = "eventpay"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}
