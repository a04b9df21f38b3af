# The event platform: the payments table's stream is forwarded to the payments queue (with a
# dead-letter queue), the processor publishes each change as an event on the custom bus, and the
# bus's rules from spec/rules/*.json deliver to the audit log and the notifications topic. Rules
# whose target is the settlement workflow are created here and targeted by the settlement module.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The rules as the spec states them; only the patterns' JSON text is passed on, never restated.
  rule_kinds = ["audit-log", "notifications", "settlement-workflow"]
  rule_docs  = [for f in sort(fileset(var.rules_dir, "*.json")) : jsondecode(file("${var.rules_dir}/${f}"))]
  rules = { for r in local.rule_docs : r.name => {
    description       = try(r.description, "")
    event_pattern     = jsonencode(r.event_pattern)
    kind              = r.target.kind
    input_path        = try(r.target.input_path, null)
    input_transformer = try(jsonencode(r.target.input_transformer), null)
  } }
}

module "key" {
  source = "../kms-key"

  alias                   = "${var.name_prefix}-platform"
  description             = "eventpay ${var.name_prefix}: queues, notifications topic, platform functions and logs"
  deletion_window_in_days = var.kms_deletion_window_days
  tags                    = var.tags
  # Each service may use the key only on behalf of this deployment's rules and alarms.
  service_grants = [
    {
      # EventBridge rules publish to the encrypted topic.
      sid     = "EventBridgePublishesToTopic"
      service = "events.amazonaws.com"
      actions = ["kms:Decrypt", "kms:GenerateDataKey"]
      condition = {
        StringEquals = { "aws:SourceAccount" = [local.account_id] }
        ArnLike      = { "aws:SourceArn" = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name_prefix}-payments/${var.name_prefix}-*"] }
      }
    },
    {
      # CloudWatch alarms publish to the encrypted topic.
      sid     = "AlarmsPublishToTopic"
      service = "cloudwatch.amazonaws.com"
      actions = ["kms:Decrypt", "kms:GenerateDataKey"]
      condition = {
        StringEquals = { "aws:SourceAccount" = [local.account_id] }
        ArnLike      = { "aws:SourceArn" = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name_prefix}-*"] }
      }
    },
  ]
}

# ---------------------------------------------------------------------------------------------
# Queues

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name_prefix}-payments-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = module.key.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

resource "aws_sqs_queue" "payments" {
  name                              = "${var.name_prefix}-payments"
  visibility_timeout_seconds        = 6 * var.processor_timeout_secs
  message_retention_seconds         = 345600
  kms_master_key_id                 = module.key.arn
  kms_data_key_reuse_period_seconds = 300
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = var.tags
}

# Where the stream mapping sends the description of a batch it gave up on.
resource "aws_sqs_queue" "stream_failures" {
  name                              = "${var.name_prefix}-stream-failures"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = module.key.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

# ---------------------------------------------------------------------------------------------
# Functions and their event source mappings

module "forwarder" {
  source = "../lambda-function"

  name               = "${var.name_prefix}-stream-forwarder"
  description        = "Payments table stream -> payments queue."
  artifact_path      = "${var.lambda_artifacts_dir}/stream-forwarder/bootstrap.zip"
  architecture       = var.lambda_architecture
  kms_key_arn        = module.key.arn
  log_retention_days = var.log_retention_days
  tags               = var.tags
  timeout            = 30
  environment = {
    EVENTPAY_QUEUE_URL = aws_sqs_queue.payments.url
  }
  policy_statements = [
    {
      sid       = "ReadTableStream"
      actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
      resources = [var.table_stream_arn]
    },
    {
      sid       = "ListTableStreams"
      actions   = ["dynamodb:ListStreams"]
      resources = ["${var.table_arn}/stream/*"]
    },
    {
      sid       = "DecryptTableStream"
      actions   = ["kms:Decrypt"]
      resources = [var.data_key_arn]
    },
    {
      # The payments queue, and the failure destination (the mapping sends with this role).
      sid       = "SendToQueues"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.payments.arn, aws_sqs_queue.stream_failures.arn]
    },
    {
      sid       = "EncryptMessages"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [module.key.arn]
    },
  ]
}

resource "aws_lambda_event_source_mapping" "stream" {
  event_source_arn               = var.table_stream_arn
  function_name                  = module.forwarder.arn
  starting_position              = "TRIM_HORIZON"
  batch_size                     = var.stream_batch_size
  bisect_batch_on_function_error = true
  maximum_retry_attempts         = var.stream_max_retry_attempts
  maximum_record_age_in_seconds  = var.stream_max_record_age_secs
  function_response_types        = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.stream_failures.arn
    }
  }
}

module "processor" {
  source = "../lambda-function"

  name               = "${var.name_prefix}-processor"
  description        = "Payments queue -> events on the bus (partial batch responses)."
  artifact_path      = "${var.lambda_artifacts_dir}/processor/bootstrap.zip"
  architecture       = var.lambda_architecture
  kms_key_arn        = module.key.arn
  log_retention_days = var.log_retention_days
  tags               = var.tags
  timeout            = var.processor_timeout_secs
  environment = {
    EVENTPAY_EVENT_BUS = aws_cloudwatch_event_bus.this.name
    # Each message is checked against the table its id derives from (refused if it is not a
    # change the table made): the table's name for GetItem, its ARN as the id's table.
    EVENTPAY_TABLE     = element(split("/", var.table_arn), 1)
    EVENTPAY_TABLE_ARN = var.table_arn
  }
  policy_statements = [
    {
      sid       = "ReadPayments"
      actions   = ["dynamodb:GetItem"]
      resources = [var.table_arn]
    },
    {
      sid       = "DecryptPayments"
      actions   = ["kms:Decrypt"]
      resources = [var.data_key_arn]
    },
    {
      sid       = "ConsumeQueue"
      actions   = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
      resources = [aws_sqs_queue.payments.arn]
    },
    {
      sid       = "DecryptMessages"
      actions   = ["kms:Decrypt"]
      resources = [module.key.arn]
    },
    {
      sid       = "PublishEvents"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.this.arn]
    },
  ]
}

resource "aws_lambda_event_source_mapping" "queue" {
  event_source_arn        = aws_sqs_queue.payments.arn
  function_name           = module.processor.arn
  batch_size              = var.queue_batch_size
  function_response_types = ["ReportBatchItemFailures"]
}

# ---------------------------------------------------------------------------------------------
# Event bus, rules and their targets

resource "aws_cloudwatch_event_bus" "this" {
  name = "${var.name_prefix}-payments"
  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.rules

  name           = "${var.name_prefix}-${each.key}"
  description    = each.value.description
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern  = each.value.event_pattern
  tags           = var.tags

  lifecycle {
    precondition {
      condition     = contains(local.rule_kinds, each.value.kind)
      error_message = "Rule ${each.key}: target.kind ${each.value.kind} is not one of ${join(", ", local.rule_kinds)}."
    }
  }
}

locals {
  # Targets made here; settlement-workflow rules are targeted by the settlement module.
  target_arns = {
    "audit-log"     = aws_cloudwatch_log_group.audit.arn
    "notifications" = aws_sns_topic.notifications.arn
  }
  local_targets = { for k, r in local.rules : k => r if contains(keys(local.target_arns), r.kind) }
  rules_of_kind = { for kind in local.rule_kinds : kind => [for k, r in local.rules : aws_cloudwatch_event_rule.this[k].arn if r.kind == kind] }
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.local_targets

  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = each.value.kind
  arn            = local.target_arns[each.value.kind]
  input_path     = each.value.input_path

  dynamic "input_transformer" {
    for_each = each.value.input_transformer == null ? [] : [jsondecode(each.value.input_transformer)]
    content {
      input_paths    = try(input_transformer.value.input_paths, null)
      input_template = input_transformer.value.input_template
    }
  }
}

resource "aws_cloudwatch_log_group" "audit" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment choice (log_retention_days: 7 in dev, 365 in envs/prod.tfvars).
  # EventBridge delivers only to log groups named /aws/events/...
  name              = "/aws/events/${var.name_prefix}-audit"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.arn
  tags              = var.tags
}

locals {
  audit_log_policy = {
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeWritesAuditLog"
      Effect    = "Allow"
      Principal = { Service = ["events.amazonaws.com", "delivery.logs.amazonaws.com"] }
      Action    = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource  = "${aws_cloudwatch_log_group.audit.arn}:*"
      Condition = { ArnEquals = { "aws:SourceArn" = local.rules_of_kind["audit-log"] } }
    }]
  }
}

resource "aws_cloudwatch_log_resource_policy" "audit" {
  policy_name     = "${var.name_prefix}-events-to-audit-log"
  policy_document = jsonencode(local.audit_log_policy)
}

resource "aws_sns_topic" "notifications" {
  name              = "${var.name_prefix}-notifications"
  kms_master_key_id = module.key.arn
  tags              = var.tags
}

locals {
  topic_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountManagesTopic"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action = [
          "sns:AddPermission",
          "sns:DeleteTopic",
          "sns:GetTopicAttributes",
          "sns:ListSubscriptionsByTopic",
          "sns:Publish",
          "sns:RemovePermission",
          "sns:SetTopicAttributes",
          "sns:Subscribe",
        ]
        Resource = aws_sns_topic.notifications.arn
      },
      {
        Sid       = "EventBridgeRulesPublish"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["sns:Publish"]
        Resource  = aws_sns_topic.notifications.arn
        Condition = { ArnEquals = { "aws:SourceArn" = local.rules_of_kind["notifications"] } }
      },
      {
        Sid       = "AlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["sns:Publish"]
        Resource  = aws_sns_topic.notifications.arn
        Condition = { ArnLike = { "aws:SourceArn" = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name_prefix}-*" } }
      },
    ]
  }
}

resource "aws_sns_topic_policy" "notifications" {
  arn    = aws_sns_topic.notifications.arn
  policy = jsonencode(local.topic_policy)
}

resource "aws_sns_topic_subscription" "email" {
  topic_arn = aws_sns_topic.notifications.arn
  protocol  = "email"
  endpoint  = var.subscription_email
}

# The settlement workflow's outcomes, one message per payment, each with the attribute `status`
# (SETTLED, REJECTED or FAILED). A topic of their own because SNS filters on message attributes
# and a filtered subscription drops every message without attributes: alarms and the high-value
# rule (which cannot set any) stay on the notifications topic, unfiltered. Systems subscribe a
# queue here for every outcome; people get e-mail for the outcomes in var.email_outcomes only.
resource "aws_sns_topic" "outcomes" {
  name              = "${var.name_prefix}-outcomes"
  kms_master_key_id = module.key.arn
  tags              = var.tags
}

locals {
  # Publishers are this account's principals allowed by their own IAM policy (the workflow's role).
  outcomes_topic_policy = {
    Version   = "2012-10-17"
    Statement = [merge(local.topic_policy.Statement[0], { Resource = aws_sns_topic.outcomes.arn })]
  }
  email_filter_policy = { status = sort(var.email_outcomes) }
}

resource "aws_sns_topic_policy" "outcomes" {
  arn    = aws_sns_topic.outcomes.arn
  policy = jsonencode(local.outcomes_topic_policy)
}

resource "aws_sns_topic_subscription" "outcomes_email" {
  count = length(var.email_outcomes) > 0 ? 1 : 0

  topic_arn           = aws_sns_topic.outcomes.arn
  protocol            = "email"
  endpoint            = var.subscription_email
  filter_policy_scope = "MessageAttributes"
  filter_policy       = jsonencode(local.email_filter_policy)
}
