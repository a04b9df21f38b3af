# Who may write the state machine's log group: the log delivery service, for this account's
# Step Functions state machine only (instead of letting the state machine's role put a resource
# policy of its own on the account's log groups).

locals {
  state_machine_log_policy = {
    Version = "2012-10-17"
    Statement = [{
      Sid       = "StepFunctionsDeliversLogs"
      Effect    = "Allow"
      Principal = { Service = "delivery.logs.amazonaws.com" }
      Action    = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource  = "${aws_cloudwatch_log_group.state_machine.arn}:*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:*" }
      }
    }]
  }
}

resource "aws_cloudwatch_log_resource_policy" "state_machine" {
  policy_name     = "${var.name_prefix}-settlement-log-delivery"
  policy_document = jsonencode(local.state_machine_log_policy)
}
