//! The settlement workflow's task functions (`update-status`, `validate`, `post-ledger`): JSON in
//! and out exactly as the local runtime's task handlers (crates/local/src/tasks.rs), over the same
//! core use cases. A failure's error name is the core's error code (what the state machine's
//! Retry/Catch see), its cause the message.

use chrono::Utc;
use eventpay_core::{PaymentStore, SettlementPolicy, StatusUpdate, StoreError};
use lambda_runtime::Diagnostic;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A task failure as Step Functions sees it: `Error` and `Cause`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

impl From<StoreError> for TaskError {
    fn from(e: StoreError) -> Self {
        TaskError {
            error: e.code().to_owned(),
            cause: e.to_string(),
        }
    }
}

impl From<TaskError> for Diagnostic {
    fn from(e: TaskError) -> Self {
        Diagnostic {
            error_type: e.error,
            error_message: e.cause,
        }
    }
}

#[derive(Deserialize)]
struct PaymentRef {
    payment_id: String,
}

fn input<T: DeserializeOwned>(value: Value) -> Result<T, TaskError> {
    serde_json::from_value(value).map_err(|e| TaskError {
        error: "InvalidInput".into(),
        cause: e.to_string(),
    })
}

fn output<T: serde::Serialize>(value: &T) -> Result<Value, TaskError> {
    serde_json::to_value(value).map_err(|e| TaskError {
        error: "InvalidOutput".into(),
        cause: e.to_string(),
    })
}

/// `{"payment_id", "status", "reason"?}` → `{"payment_id", "status", "applied"}`.
pub async fn update_status<S: PaymentStore>(store: &S, event: Value) -> Result<Value, TaskError> {
    let update: StatusUpdate = input(event)?;
    output(&eventpay_core::update_status(store, &update, Utc::now()).await?)
}

/// `{"payment_id"}` → `{"decision": "APPROVED"}` or `{"decision": "REJECTED", "reason"}`.
pub async fn validate<S: PaymentStore>(
    store: &S,
    policy: &SettlementPolicy,
    event: Value,
) -> Result<Value, TaskError> {
    let r: PaymentRef = input(event)?;
    output(&eventpay_core::validate_payment(store, &r.payment_id, policy).await?)
}

/// `{"payment_id"}` → `{"payment_id", "entries", "applied"}`.
pub async fn post_ledger<S: PaymentStore>(store: &S, event: Value) -> Result<Value, TaskError> {
    let r: PaymentRef = input(event)?;
    output(&eventpay_core::post_ledger(store, &r.payment_id, Utc::now()).await?)
}
