output "function_name" {
  description = "Name of the quote function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the quote function."
  value       = module.function.arn
}

output "signing_key_arn" {
  description = "ARN of the HMAC key that signs quotes; the create-payment function verifies with it."
  value       = module.signing_key.arn
}

output "api_integrations" {
  description = "The OpenAPI operations this module serves (operationId => function), for the REST API of the payment module."
  value = {
    createQuote = {
      function_name = module.function.function_name
      invoke_arn    = module.function.invoke_arn
    }
  }
}

output "iam_policies" {
  description = "Every IAM and key policy of the module (name => JSON), for review and the tests."
  value = {
    "quote-function"    = module.function.policy_json
    "quote-key"         = module.key.policy_json
    "quote-signing-key" = module.signing_key.policy_json
  }
}
