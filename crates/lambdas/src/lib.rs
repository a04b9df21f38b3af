//! eventpay's AWS Lambda functions. Each `src/bin/*.rs` only reads its configuration and starts
//! the runtime; each one's work for a payment runs in the payment's trace ([`xray`]: log lines
//! name `trace_id`, the X-Ray segment is annotated with it); the handlers live here so tests
//! call them in-process with realistic events:
//!
//! | function | event | handler |
//! | --- | --- | --- |
//! | `quote`, `create-payment`, `get-payment`, `list-payments`, `get-ledger-account` | API Gateway REST proxy | [`http`] over `eventpay_core::api` |
//! | `stream-forwarder` | DynamoDB stream batch | [`stream::forward`] |
//! | `processor` | SQS batch (`ReportBatchItemFailures`) | [`processor::process`] |
//! | `update-status`, `validate`, `post-ledger` | Step Functions task input | [`tasks`] over the core's use cases |
//!
//! Beside them, `eventpay-ledger-check-aws` (src/tools, not a function) reconciles the book:
//! [`ledger_check`].

pub mod config;
pub mod http;
pub mod ledger_check;
pub mod logging;
pub mod processor;
pub mod runtime;
pub mod stream;
pub mod tasks;
pub mod xray;
