# The teardown guard. It depends on every resource of this configuration, so a destroy reaches it
# first; its destroy-time command fails unless the teardown was applied before (the value stored
# in the state, not the one on the command line). A `terraform destroy` from the default
# settings therefore stops before anything is deleted, instead of removing the key, the lock table
# and the bucket's protections and then failing on the non-empty bucket.
#
# Teardown (docs/deploy.md, `eventpay destroy --bootstrap`):
#   terraform apply   -var teardown=true   # force_destroy on, deletion protection off, guard open
#   terraform destroy -var teardown=true
resource "terraform_data" "teardown_guard" {
  input = var.teardown

  provisioner "local-exec" {
    when = destroy
    # Only self is visible here: the teardown flag as last applied.
    command = self.input ? "echo 'teardown guard: teardown applied, destroying the state storage'" : "echo 'teardown guard: refusing to destroy the state storage; apply -var teardown=true first (docs/deploy.md)' >&2; exit 1"
  }

  depends_on = [
    aws_s3_bucket.state,
    aws_s3_bucket_ownership_controls.state,
    aws_s3_bucket_versioning.state,
    aws_s3_bucket_server_side_encryption_configuration.state,
    aws_s3_bucket_public_access_block.state,
    aws_s3_bucket_policy.state,
    aws_s3_bucket_lifecycle_configuration.state,
    aws_dynamodb_table.lock,
    module.key,
    aws_iam_openid_connect_provider.github,
    aws_iam_role.github,
    aws_iam_role_policy.github,
  ]
}
