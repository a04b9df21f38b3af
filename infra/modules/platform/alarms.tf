# Alarms to the notifications topic, and the settled-payments metric of the dashboard.

locals {
  dead_letter_queues = {
    "payments-dlq"    = aws_sqs_queue.dlq.name
    "stream-failures" = aws_sqs_queue.stream_failures.name
  }
  alarm_functions = merge(var.alarm_function_names, {
    "stream-forwarder" = module.forwarder.function_name
    "processor"        = module.processor.function_name
  })
  # Function metric => what the alarm says; every function gets one alarm of each.
  function_alarms = {
    errors    = { metric = "Errors", says = "reported errors" }
    throttles = { metric = "Throttles", says = "was throttled (concurrency limit reached)" }
  }
  function_alarm_pairs = { for p in setproduct(keys(local.alarm_functions), keys(local.function_alarms)) : "${p[0]}-${p[1]}" => {
    function = local.alarm_functions[p[0]]
    metric   = local.function_alarms[p[1]].metric
    says     = local.function_alarms[p[1]].says
  } }
  settled_metric = {
    namespace = "eventpay/${var.name_prefix}"
    name      = "PaymentsSettled"
  }
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.dead_letter_queues

  alarm_name          = "${var.name_prefix}-${each.key}-not-empty"
  alarm_description   = "Messages are waiting in ${each.value}: inspect and redrive them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function" {
  for_each = local.function_alarm_pairs

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = "The ${each.value.function} function ${each.value.says}."
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = each.value.function }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
  tags                = var.tags
}

# The forwarder falls behind the table's stream (records expire after 24 hours).
resource "aws_cloudwatch_metric_alarm" "stream_iterator_age" {
  alarm_name          = "${var.name_prefix}-stream-iterator-age"
  alarm_description   = "The stream forwarder is behind the payments table's stream by more than ${var.iterator_age_alarm_secs} s."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = module.forwarder.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_alarm_secs * 1000
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "queue_oldest_message" {
  alarm_name          = "${var.name_prefix}-payments-queue-oldest-message"
  alarm_description   = "A message has waited in ${aws_sqs_queue.payments.name} for more than ${var.queue_age_alarm_secs} s: the processor is failing or behind."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.payments.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.queue_age_alarm_secs
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
  tags                = var.tags
}

# The REST API (payment module): server errors and slow answers.
resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  count = var.api == null ? 0 : 1

  alarm_name          = "${var.name_prefix}-api-5xx"
  alarm_description   = "The API ${var.api.name} (${var.api.stage}) answered with 5XX errors."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = { ApiName = var.api.name, Stage = var.api.stage }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "api_latency" {
  count = var.api == null ? 0 : 1

  alarm_name          = "${var.name_prefix}-api-latency-p99"
  alarm_description   = "The API ${var.api.name} (${var.api.stage}) took over ${var.api_latency_alarm_ms} ms at the 99th percentile."
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  dimensions          = { ApiName = var.api.name, Stage = var.api.stage }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_latency_alarm_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
  tags                = var.tags
}

# Settled payments per minute: the PaymentSettled events (status PROCESSING -> SETTLED) the
# settlement's post-ledger step causes, counted from the audit log.
resource "aws_cloudwatch_log_metric_filter" "settled" {
  name           = "${var.name_prefix}-payments-settled"
  log_group_name = aws_cloudwatch_log_group.audit.name
  pattern        = "{ ($.detail.status = \"SETTLED\") && ($.detail.previous_status = \"PROCESSING\") }"

  metric_transformation {
    namespace     = local.settled_metric.namespace
    name          = local.settled_metric.name
    value         = "1"
    default_value = "0"
  }
}

# Before the throttle alarms, the error alarms were aws_cloudwatch_metric_alarm.function_errors[<function>].
moved {
  from = aws_cloudwatch_metric_alarm.function_errors["quote"]
  to   = aws_cloudwatch_metric_alarm.function["quote-errors"]
}
moved {
  from = aws_cloudwatch_metric_alarm.function_errors["create-payment"]
  to   = aws_cloudwatch_metric_alarm.function["create-payment-errors"]
}
moved {
  from = aws_cloudwatch_metric_alarm.function_errors["get-payment"]
  to   = aws_cloudwatch_metric_alarm.function["get-payment-errors"]
}
moved {
  from = aws_cloudwatch_metric_alarm.function_errors["list-payments"]
  to   = aws_cloudwatch_metric_alarm.function["list-payments-errors"]
}
moved {
  from = aws_cloudwatch_metric_alarm.function_errors["stream-forwarder"]
  to   = aws_cloudwatch_metric_alarm.function["stream-forwarder-errors"]
}
moved {
  from = aws_cloudwatch_metric_alarm.function_errors["processor"]
  to   = aws_cloudwatch_metric_alarm.function["processor-errors"]
}
