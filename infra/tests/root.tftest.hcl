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
    condition     = length(output.function_names) == 9
    error_message = "Expected the nine functions of crates/lambdas: ${jsonencode(output.function_names)}"
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
}

run "rejects_bad_environment" {
  command = plan

  variables {
    environment = "Prod_1"
  }

  expect_failures = [var.environment]
}

run "rejects_bad_architecture" {
  command = plan

  variables {
    lambda_architecture = "riscv"
  }

  expect_failures = [var.lambda_architecture]
}
