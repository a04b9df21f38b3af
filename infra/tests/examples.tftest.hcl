# The examples (infra/examples/minimal, complete) plan and apply with a mocked provider: every
# module takes the inputs they pass, and the complete one's options take effect.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  subscription_email = "ops@example.com"
}

run "minimal" {
  command = apply

  module {
    source = "./examples/minimal"
  }

  assert {
    condition     = output.api_url != ""
    error_message = "The minimal example deploys the API."
  }
}

run "complete" {
  command = apply

  module {
    source = "./examples/complete"
  }

  assert {
    condition     = output.web_acl_arn != null && jsondecode(output.api_invoke_policy).Statement[0].Action == ["execute-api:Invoke"]
    error_message = "The complete example has the WAF and SigV4 access."
  }

  assert {
    condition     = module.payment.authorization == "iam" && module.payment.api_key == null
    error_message = "The complete example's API takes SigV4 signatures, not keys."
  }
}
