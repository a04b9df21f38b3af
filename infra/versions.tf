terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7"
    }
  }

  # Partial configuration: bucket, key, region, encryption and locking come from
  # `terraform init -backend-config=envs/<env>.backend.hcl` (written from infra/bootstrap's
  # backend_config output).
  backend "s3" {}
}
