# The quote module with a mocked provider: its operation for the shared REST API, its signing key
# for create-payment, and the variables' validation.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name_prefix = "eventpay-test"
}

run "wiring" {
  command = apply

  module {
    source = "./modules/quote"
  }

  assert {
    condition     = keys(output.api_integrations) == ["createQuote"] && output.api_integrations.createQuote.function_name == "eventpay-test-quote"
    error_message = "The quote module serves createQuote with its function."
  }

  assert {
    condition     = startswith(output.signing_key_arn, "arn:aws:kms:")
    error_message = "The signing key's ARN is passed on to the payment module."
  }

  assert {
    condition     = jsondecode(output.iam_policies["quote-function"]).Statement[3].Action == ["kms:GenerateMac"]
    error_message = "The quote function may only generate MACs with its key (besides logs and traces)."
  }
}

run "rejects_bad_values" {
  command = plan

  module {
    source = "./modules/quote"
  }

  variables {
    name_prefix         = "Eventpay_Test"
    quote_ttl_secs      = 0
    lambda_architecture = "ppc64"
  }

  expect_failures = [
    var.name_prefix,
    var.quote_ttl_secs,
    var.lambda_architecture,
  ]
}
