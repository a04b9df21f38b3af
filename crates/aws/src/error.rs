//! The adapters' error type, and how it maps onto the core's `StoreError`.

use std::error::Error as StdError;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use eventpay_core::StoreError;

/// A failure talking to AWS or reading what it returned.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// An SDK call failed (network, throttling after the SDK's own retries, a service error).
    #[error("{operation} failed: {message}")]
    Sdk {
        operation: &'static str,
        message: String,
    },
    /// Some entries of a batch call still failed after our retries.
    #[error("{operation}: {failed} of {total} entries failed after retries; first: {first}")]
    PartialFailure {
        operation: &'static str,
        failed: usize,
        total: usize,
        first: String,
    },
    /// An item or response did not have the shape this crate writes.
    #[error("unexpected data: {0}")]
    Corrupt(String),
    /// A required setting (environment variable) is missing or invalid.
    #[error("configuration: {0}")]
    Config(String),
}

impl AwsError {
    /// Wraps an SDK error with the full chain of causes (the SDK's `Display` alone says little).
    pub fn sdk(operation: &'static str, e: impl StdError) -> Self {
        AwsError::Sdk {
            operation,
            message: DisplayErrorContext(e).to_string(),
        }
    }
}

impl From<AwsError> for StoreError {
    fn from(e: AwsError) -> Self {
        StoreError::Backend(e.to_string())
    }
}
