# More alarms to the notifications topic: executions that ran out of time, throttled functions.

resource "aws_cloudwatch_metric_alarm" "executions_timed_out" {
  alarm_name          = "${var.name_prefix}-settlement-executions-timed-out"
  alarm_description   = "Settlement executions timed out: their payments may be left PROCESSING."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsTimedOut"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.notifications_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  for_each = local.functions

  alarm_name          = "${var.name_prefix}-${each.key}-throttles"
  alarm_description   = "The ${var.name_prefix}-${each.key} function was throttled (concurrency limit reached)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = module.function[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.notifications_topic_arn]
  tags                = var.tags
}
