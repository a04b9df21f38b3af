terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7"
    }
  }

  # Local state on purpose: this configuration creates the remote state storage of the others.
  # Keep terraform.tfstate safe (or migrate it into the bucket it made, see README.md).
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project   = "eventpay"
      Component = "terraform-state"
      ManagedBy = "terraform"
    })
  }
}
