# The flow on one CloudWatch dashboard, in the order a payment passes: API, functions, the
# table's stream, the queues, the settlement executions and the payments settled per minute.

locals {
  all_functions = merge(
    { quote = module.quote.function_name },
    module.payment.function_names,
    module.platform.function_names,
    module.settlement.function_names,
  )
  api_dims = ["ApiName", module.payment.api_name, "Stage", module.payment.stage_name]
  sm_arn   = module.settlement.state_machine_arn
  queues   = module.platform.queue_names

  widgets = [
    { title = "API requests and errors", stat = "Sum", metrics = [
      concat(["AWS/ApiGateway", "Count"], local.api_dims),
      concat(["AWS/ApiGateway", "4XXError"], local.api_dims),
      concat(["AWS/ApiGateway", "5XXError"], local.api_dims),
    ] },
    { title = "API latency p99 (ms)", stat = "p99", metrics = [concat(["AWS/ApiGateway", "Latency"], local.api_dims)] },
    { title = "Function invocations", stat = "Sum", metrics = [for f in values(local.all_functions) : ["AWS/Lambda", "Invocations", "FunctionName", f]] },
    { title = "Function errors and throttles", stat = "Sum", metrics = concat(
      [for f in values(local.all_functions) : ["AWS/Lambda", "Errors", "FunctionName", f]],
      [for f in values(local.all_functions) : ["AWS/Lambda", "Throttles", "FunctionName", f]],
    ) },
    { title = "Function duration p99 (ms)", stat = "p99", metrics = [for f in values(local.all_functions) : ["AWS/Lambda", "Duration", "FunctionName", f]] },
    { title = "Stream: forwarder iterator age (ms)", stat = "Maximum", metrics = [["AWS/Lambda", "IteratorAge", "FunctionName", module.platform.function_names["stream-forwarder"]]] },
    { title = "Queue depths", stat = "Maximum", metrics = [for q in values(local.queues) : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]] },
    { title = "Payments queue: oldest message (s)", stat = "Maximum", metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.queues["payments"]]] },
    { title = "Settlement executions", stat = "Sum", metrics = [for m in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"] : ["AWS/States", m, "StateMachineArn", local.sm_arn]] },
    { title = "Payments settled per minute", stat = "Sum", period = 60, metrics = [[module.platform.settled_metric.namespace, module.platform.settled_metric.name]] },
  ]
}

resource "aws_cloudwatch_dashboard" "flow" {
  dashboard_name = "${local.name_prefix}-flow"
  dashboard_body = jsonencode({
    widgets = [for i, w in local.widgets : {
      type   = "metric"
      x      = (i % 2) * 12
      y      = floor(i / 2) * 6
      width  = 12
      height = 6
      properties = {
        title   = w.title
        region  = var.region
        stat    = w.stat
        period  = try(w.period, 300)
        view    = "timeSeries"
        metrics = w.metrics
      }
    }]
  })
}
