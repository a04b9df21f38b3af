# The whole root configuration with a mocked provider: the modules wire together and no policy
# of the deployment allows a "*" action. Needs TF_VAR_lambda_artifacts_dir pointing at a
# directory of <function>/bootstrap.zip (scripts/test-infra makes placeholder zips).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  environment        = "test"
  subscription_email = "ops@example.com"
}

run "whole_deployment" {
  command = apply

  assert {
    condition     = length(output.function_names) == 10
    error_message = "Expected the ten functions of crates/lambdas: ${jsonencode(output.function_names)}"
  }

  assert {
    condition = alltrue(flatten([
      for name, doc in output.iam_policies : [
        for s in jsondecode(doc).Statement : [
          for a in flatten([s.Action]) : a != "*" && !endswith(a, ":*")
        ] if s.Effect == "Allow"
      ]
    ]))
    error_message = "An Allow statement grants \"*\" or \"service:*\"."
  }

  assert {
    condition     = length(output.iam_policies) >= 16
    error_message = "Policies missing from the iam_policies outputs: ${join(", ", keys(output.iam_policies))}"
  }

  assert {
    condition     = output.api_url != ""
    error_message = "No API URL."
  }

  assert {
    condition = alltrue([for a in [
      "eventpay-test-api-5xx", "eventpay-test-api-latency-p99", "eventpay-test-stream-iterator-age",
      "eventpay-test-payments-queue-oldest-message", "eventpay-test-settlement-executions-failed",
      "eventpay-test-settlement-executions-timed-out", "eventpay-test-payments-dlq-not-empty",
      "eventpay-test-quote-throttles", "eventpay-test-post-ledger-throttles", "eventpay-test-processor-errors",
    ] : contains(output.alarm_names, a)]) && length(output.alarm_names) == 28
    error_message = "Alarms for API 5XX and latency, iterator age, queue age, executions failed and timed out, and errors and throttles of all ten functions: ${jsonencode(output.alarm_names)}"
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.flow.dashboard_body).widgets) == 10 && strcontains(aws_cloudwatch_dashboard.flow.dashboard_body, "PaymentsSettled") && strcontains(aws_cloudwatch_dashboard.flow.dashboard_body, "IteratorAge")
    error_message = "The dashboard shows the flow, settled payments included."
  }

  assert {
    condition     = !anytrue(flatten([for name, doc in output.iam_policies : [for s in jsondecode(doc).Statement : contains(flatten([s.Action]), "logs:PutResourcePolicy")]]))
    error_message = "No role may put log resource policies (the settlement's log group has its own)."
  }

  assert {
    condition = alltrue([for s in jsondecode(output.iam_policies["platform-key"]).Statement :
      try(s.Condition.StringEquals["aws:SourceAccount"], null) == ["123456789012"] && length(try(s.Condition.ArnLike["aws:SourceArn"], [])) == 1
    if contains(["EventBridgePublishesToTopic", "AlarmsPublishToTopic"], s.Sid)])
    error_message = "The EventBridge and CloudWatch grants of the platform key are tied to this account's rules and alarms."
  }

  # Pre-warming is an operator step (the provider cannot set warm throughput): the exact command,
  # for 1,000 payments/s by default (docs/capacity.md).
  assert {
    condition     = output.prewarm_command == "aws dynamodb update-table --region us-east-1 --table-name ${output.table_name} --warm-throughput ReadUnitsPerSecond=12000,WriteUnitsPerSecond=12000 --global-secondary-index-updates '[{\"Update\":{\"IndexName\":\"by_created\",\"WarmThroughput\":{\"ReadUnitsPerSecond\":12000,\"WriteUnitsPerSecond\":6000}}},{\"Update\":{\"IndexName\":\"by_status\",\"WarmThroughput\":{\"ReadUnitsPerSecond\":12000,\"WriteUnitsPerSecond\":10000}}}]' && aws dynamodb update-table --region us-east-1 --table-name ${output.ledger_table_name} --warm-throughput ReadUnitsPerSecond=12000,WriteUnitsPerSecond=28000"
    error_message = "prewarm_command: ${output.prewarm_command}"
  }

  assert {
    condition     = !contains(keys(output.iam_policies), "apigateway-logs")
    error_message = "Without manage_api_gateway_account (the default) no API Gateway account role is made."
  }
}

run "execution_data_not_logged_by_default" {
  command = plan

  assert {
    condition     = !module.settlement.state_machine_logs_execution_data
    error_message = "Execution data is not logged unless asked (envs/dev.tfvars)."
  }
}

run "the_settings_for_1000_payments_a_second_plan" {
  command = plan

  variables {
    state_machine_type         = "EXPRESS"
    list_shards                = 32
    api_throttling_rate_limit  = 2500
    api_throttling_burst_limit = 5000
  }

  assert {
    condition     = module.payment.list_shards == 32
    error_message = "list_shards must reach the payment module (and from it the settlement functions)."
  }
}

run "rejects_bad_environment" {
  command = plan

  variables {
    environment = "Prod_1"
  }

  expect_failures = [var.environment]
}

run "rejects_bad_notification_and_prewarm_settings" {
  command = plan

  variables {
    email_outcomes              = ["PENDING"]
    prewarm_payments_per_second = 0
  }

  expect_failures = [var.email_outcomes, var.prewarm_payments_per_second]
}

run "rejects_bad_architecture" {
  command = plan

  variables {
    lambda_architecture = "riscv"
  }

  expect_failures = [var.lambda_architecture]
}
