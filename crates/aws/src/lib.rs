//! eventpay's AWS adapters, on the official AWS SDK for Rust: the core's ports implemented over
//! DynamoDB (`DynamoStore`, and `DynamoLedger` for the ledger's reads), SNS (`SnsNotifier`) and KMS (`KmsSigner`), plus the EventBridge
//! publisher and SQS sender the stream forwarder and the processor use.
//!
//! Endpoints, region and credentials come from the standard AWS configuration chain
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_REGION`, ...), so the same code runs
//! against AWS or an emulator such as moto.

pub mod batch;
pub mod error;
pub mod events;
/// Test support (tables, sample data, emulator configuration): only with the `test-support`
/// feature, which the test builds of this crate and of `eventpay-lambdas` turn on.
#[cfg(feature = "test-support")]
pub mod fixtures;
pub mod items;
pub mod ledger;
pub mod ledger_items;
pub mod notify;
pub mod queue;
pub mod reconcile;
#[cfg(feature = "test-support")]
pub mod schema;
pub mod signer;
pub mod store;

pub use error::AwsError;
pub use events::{EventPublisher, OutgoingEvent};
pub use ledger::DynamoLedger;
pub use notify::SnsNotifier;
pub use queue::{OutgoingMessage, QueueSender};
pub use signer::KmsSigner;
pub use store::DynamoStore;

/// The shared SDK configuration from the environment (region, credentials, endpoints).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

// The SDK crates, so callers build clients with the exact versions the adapters use.
pub use {
    aws_config, aws_sdk_dynamodb, aws_sdk_eventbridge, aws_sdk_kms, aws_sdk_sns, aws_sdk_sqs,
};
