//! The settlement workflow's task functions (`update-status`, `validate`, `post-ledger`): thin
//! over the core's task contract (`eventpay_core::run_task`), which the local runtime's task
//! handlers (crates/local/src/tasks.rs) call as well. A failure reaches Step Functions with the
//! contract's error name (`Payment.NotFound`, `Store.Unavailable`, ...) as `Error` and its
//! cause as `Cause`, so `spec/settlement.asl.json` retries and catches the same names on AWS and
//! on one machine.

use chrono::Utc;
use eventpay_core::{PaymentStore, SettlementPolicy, Task, TaskFailure, run_task, task_trace_id};
use lambda_runtime::Diagnostic;
use serde_json::Value;

/// A task failure as the Lambda runtime reports it (`errorType`, `errorMessage`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(transparent)]
pub struct TaskError(pub TaskFailure);

impl From<TaskError> for Diagnostic {
    fn from(e: TaskError) -> Self {
        Diagnostic {
            error_type: e.0.name().to_owned(),
            error_message: e.0.cause,
        }
    }
}

async fn run<S: PaymentStore>(
    task: Task,
    store: &S,
    policy: &SettlementPolicy,
    event: Value,
) -> Result<Value, TaskError> {
    // The workflow passes the payment's trace id to every task: the call's log lines and its
    // X-Ray segment name it.
    let trace = task_trace_id(&event);
    crate::xray::traced(task.name(), trace, async {
        let result = run_task(task, store, policy, event, Utc::now()).await;
        match &result {
            Ok(_) => tracing::info!(task = task.name(), "task done"),
            Err(f) => {
                tracing::warn!(task = task.name(), error = f.name(), cause = %f.cause, "task failed")
            }
        }
        result
    })
    .await
    .map_err(TaskError)
}

/// `{"payment_id", "status", "reason"?, "trace_id"?}` → `{"payment_id", "status", "applied"}`.
pub async fn update_status<S: PaymentStore>(store: &S, event: Value) -> Result<Value, TaskError> {
    run(
        Task::UpdateStatus,
        store,
        &SettlementPolicy::default(),
        event,
    )
    .await
}

/// `{"payment_id", "trace_id"?}` → `{"decision": "APPROVED"}` or `{"decision": "REJECTED", "reason"}`.
pub async fn validate<S: PaymentStore>(
    store: &S,
    policy: &SettlementPolicy,
    event: Value,
) -> Result<Value, TaskError> {
    run(Task::Validate, store, policy, event).await
}

/// `{"payment_id", "trace_id"?}` → `{"payment_id", "transfers", "status", "applied"}`.
pub async fn post_ledger<S: PaymentStore>(store: &S, event: Value) -> Result<Value, TaskError> {
    run(Task::PostLedger, store, &SettlementPolicy::default(), event).await
}
