//! The settlement workflow's task contract, written once: which tasks exist, what each takes and
//! returns (JSON, as `spec/settlement.asl.json` passes it), and how a failure is named for the
//! state machine's `Retry`/`Catch` — with whether it is worth retrying. The local runtime's task
//! handlers and the AWS Lambda task functions both call [`run_task`]; neither maps errors itself.
//!
//! Error names (`Error` in Step Functions terms):
//!
//! | name | retryable | when |
//! | --- | --- | --- |
//! | `Payment.NotFound` | no | no payment with that id |
//! | `Payment.IllegalTransition` | no | the status machine refuses the move |
//! | `Payment.Invalid` | no | any other business-rule failure (e.g. unbalanced ledger) |
//! | `Task.InvalidInput` | no | the input is not the task's input shape |
//! | `Task.Internal` | no | a result could not be produced (a bug, not a condition) |
//! | `Store.Conflict` | yes | a conditional write kept losing races |
//! | `Store.Unavailable` | yes | the store (or another dependency) failed or timed out |
//!
//! Every task's input may also carry the payment's `trace_id` (the workflow passes
//! `$.trace_id` to each task): it changes nothing in what the task does, and the handlers name
//! it in a span around the call ([`task_trace_id`]) so each of the task's log lines carries it.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::DomainError;
use crate::ids::PaymentId;
use crate::payment::PaymentStatus;
use crate::ports::{PaymentStore, StoreError};
use crate::settlement::SettlementPolicy;
use crate::trace::TraceId;
use crate::usecases::{StatusUpdate, post_ledger, update_status, validate_payment};

/// A task of the settlement workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Task {
    /// `{"payment_id", "status", "reason"?, "trace_id"?}` → `{"payment_id", "status", "applied"}`.
    UpdateStatus,
    /// `{"payment_id", "trace_id"?}` → `{"decision": "APPROVED"}` or
    /// `{"decision": "REJECTED", "reason"}`.
    Validate,
    /// `{"payment_id", "trace_id"?}` → `{"payment_id", "transfers", "status", "applied"}`.
    PostLedger,
}

impl Task {
    pub const ALL: [Task; 3] = [Task::UpdateStatus, Task::Validate, Task::PostLedger];

    /// The task's name; deployed functions are called `eventpay-<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Task::UpdateStatus => "update-status",
            Task::Validate => "validate",
            Task::PostLedger => "post-ledger",
        }
    }

    pub fn from_name(name: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The name of a task failure, as the state machine sees it in `Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskErrorName {
    PaymentNotFound,
    IllegalTransition,
    InvalidPayment,
    InvalidInput,
    Internal,
    StoreConflict,
    StoreUnavailable,
}

impl TaskErrorName {
    pub const ALL: [TaskErrorName; 7] = [
        TaskErrorName::PaymentNotFound,
        TaskErrorName::IllegalTransition,
        TaskErrorName::InvalidPayment,
        TaskErrorName::InvalidInput,
        TaskErrorName::Internal,
        TaskErrorName::StoreConflict,
        TaskErrorName::StoreUnavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskErrorName::PaymentNotFound => "Payment.NotFound",
            TaskErrorName::IllegalTransition => "Payment.IllegalTransition",
            TaskErrorName::InvalidPayment => "Payment.Invalid",
            TaskErrorName::InvalidInput => "Task.InvalidInput",
            TaskErrorName::Internal => "Task.Internal",
            TaskErrorName::StoreConflict => "Store.Conflict",
            TaskErrorName::StoreUnavailable => "Store.Unavailable",
        }
    }

    /// Whether trying again can succeed: only transient conditions are; a deterministic failure
    /// fails the same way every time and must go straight to its `Catch`.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            TaskErrorName::StoreConflict | TaskErrorName::StoreUnavailable
        )
    }

    pub fn parse(name: &str) -> Option<TaskErrorName> {
        TaskErrorName::ALL.into_iter().find(|n| n.as_str() == name)
    }
}

/// The names `Retry` may list: exactly the retryable ones.
pub fn retryable_error_names() -> Vec<&'static str> {
    TaskErrorName::ALL
        .into_iter()
        .filter(|n| n.retryable())
        .map(TaskErrorName::as_str)
        .collect()
}

/// A failed task: its error name and a human cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {cause}", error.as_str())]
pub struct TaskFailure {
    pub error: TaskErrorName,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: TaskErrorName, cause: impl Into<String>) -> Self {
        TaskFailure {
            error,
            cause: cause.into(),
        }
    }

    /// `Error` as the state machine sees it, e.g. `"Payment.NotFound"`.
    pub fn name(&self) -> &'static str {
        self.error.as_str()
    }

    pub fn retryable(&self) -> bool {
        self.error.retryable()
    }
}

impl From<StoreError> for TaskFailure {
    fn from(e: StoreError) -> Self {
        let name = match &e {
            StoreError::NotFound(_) => TaskErrorName::PaymentNotFound,
            StoreError::Conflict(_) => TaskErrorName::StoreConflict,
            StoreError::Backend(_) | StoreError::Unavailable(_) => TaskErrorName::StoreUnavailable,
            StoreError::Domain(DomainError::IllegalTransition { .. }) => {
                TaskErrorName::IllegalTransition
            }
            StoreError::Domain(_) => TaskErrorName::InvalidPayment,
            // Creating payments is not a task's business: reaching these is a bug.
            StoreError::IdempotencyConflict { .. }
            | StoreError::IdempotencyKeyInUse(_)
            | StoreError::QuoteAlreadyUsed { .. } => TaskErrorName::Internal,
        };
        TaskFailure::new(name, e.to_string())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentRef {
    payment_id: PaymentId,
    /// Only for the handlers' span ([`task_trace_id`]); optional so that an execution started
    /// before the workflow passed it still runs.
    #[serde(default, rename = "trace_id")]
    _trace_id: Option<TraceId>,
}

/// The update-status task's input: a [`StatusUpdate`] and the optional trace id. Not
/// `deny_unknown_fields`, as `StatusUpdate` never was.
#[derive(Deserialize)]
struct StatusInput {
    payment_id: PaymentId,
    status: PaymentStatus,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default, rename = "trace_id")]
    _trace_id: Option<TraceId>,
}

/// The trace id a task's input carries, if any and well formed: what a task handler names in
/// the span it runs the task in. An input without one (an execution started before the
/// workflow passed it) simply has none.
pub fn task_trace_id(input: &Value) -> Option<TraceId> {
    input
        .get("trace_id")
        .and_then(Value::as_str)
        .and_then(TraceId::parse)
}

fn input<T: DeserializeOwned>(task: Task, value: Value) -> Result<T, TaskFailure> {
    serde_json::from_value(value).map_err(|e| {
        TaskFailure::new(
            TaskErrorName::InvalidInput,
            format!("{} input: {e}", task.name()),
        )
    })
}

fn output<T: Serialize>(value: &T) -> Result<Value, TaskFailure> {
    serde_json::to_value(value)
        .map_err(|e| TaskFailure::new(TaskErrorName::Internal, e.to_string()))
}

/// Runs `task` on `input` (the JSON the state machine passes) against `store`.
pub async fn run_task<S: PaymentStore>(
    task: Task,
    store: &S,
    policy: &SettlementPolicy,
    input_json: Value,
    now: DateTime<Utc>,
) -> Result<Value, TaskFailure> {
    match task {
        Task::UpdateStatus => {
            let i: StatusInput = input(task, input_json)?;
            let update = StatusUpdate {
                payment_id: i.payment_id,
                status: i.status,
                reason: i.reason,
            };
            output(&update_status(store, &update, now).await?)
        }
        Task::Validate => {
            let r: PaymentRef = input(task, input_json)?;
            output(&validate_payment(store, &r.payment_id, policy).await?)
        }
        Task::PostLedger => {
            let r: PaymentRef = input(task, input_json)?;
            output(&post_ledger(store, &r.payment_id, now).await?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_task_input_names_its_trace_id() {
        let id = "0af7651916cd43dd8448eb211c80319c";
        assert_eq!(
            task_trace_id(&json!({"payment_id": "p", "trace_id": id})).map(|t| t.to_string()),
            Some(id.to_owned())
        );
        assert_eq!(task_trace_id(&json!({"payment_id": "p"})), None);
        assert_eq!(
            task_trace_id(&json!({"payment_id": "p", "trace_id": 7})),
            None
        );
        assert_eq!(
            task_trace_id(&json!({"payment_id": "p", "trace_id": "x"})),
            None
        );
    }

    /// Every task state passes `$.trace_id` (the event detail always has it), and each publish
    /// names it as a message attribute.
    #[test]
    fn the_state_machine_passes_the_trace_id_to_every_task() {
        let asl: Value =
            serde_json::from_str(include_str!("../../../spec/settlement.asl.json")).unwrap();
        let mut publishes = 0;
        for (name, state) in asl["States"].as_object().unwrap() {
            if state["Type"] != "Task" {
                continue;
            }
            let params = &state["Parameters"];
            if state["Resource"] == "arn:aws:states:::sns:publish" {
                publishes += 1;
                assert_eq!(
                    params["MessageAttributes"]["trace_id"],
                    json!({"DataType": "String", "StringValue.$": "$.trace_id"}),
                    "{name}"
                );
            } else {
                assert_eq!(params["trace_id.$"], "$.trace_id", "{name}");
            }
        }
        assert_eq!(publishes, 2);
    }

    #[test]
    fn names_round_trip_and_only_transient_errors_retry() {
        for t in Task::ALL {
            assert_eq!(Task::from_name(t.name()), Some(t));
        }
        assert_eq!(Task::from_name("eventpay-validate"), None);
        for n in TaskErrorName::ALL {
            assert_eq!(TaskErrorName::parse(n.as_str()), Some(n));
        }
        assert_eq!(
            retryable_error_names(),
            ["Store.Conflict", "Store.Unavailable"]
        );
    }

    #[test]
    fn store_errors_map_to_task_errors() {
        let cases = [
            (StoreError::NotFound("p".into()), "Payment.NotFound", false),
            (StoreError::Conflict("c".into()), "Store.Conflict", true),
            (
                StoreError::Backend("down".into()),
                "Store.Unavailable",
                true,
            ),
            (
                StoreError::Domain(DomainError::IllegalTransition {
                    from: PaymentStatus::Settled,
                    to: PaymentStatus::Pending,
                }),
                "Payment.IllegalTransition",
                false,
            ),
            (
                StoreError::Domain(DomainError::Unbalanced("x".into())),
                "Payment.Invalid",
                false,
            ),
            (
                StoreError::IdempotencyKeyInUse("k".into()),
                "Task.Internal",
                false,
            ),
        ];
        for (e, name, retryable) in cases {
            let cause = e.to_string();
            let f = TaskFailure::from(e);
            assert_eq!((f.name(), f.retryable()), (name, retryable), "{cause}");
            assert_eq!(f.cause, cause);
            assert_eq!(f.to_string(), format!("{name}: {cause}"));
        }
    }

    /// The state machine retries exactly what the contract calls retryable, and catches the rest.
    #[test]
    fn the_state_machine_retries_only_retryable_errors() {
        let asl: Value =
            serde_json::from_str(include_str!("../../../spec/settlement.asl.json")).unwrap();
        let retryable = retryable_error_names();
        let states = asl["States"].as_object().unwrap();
        let mut lambda_tasks = 0;
        for (name, state) in states {
            let resource = state["Resource"].as_str().unwrap_or_default();
            if state["Type"] != "Task" || !resource.ends_with("_function_arn}") {
                continue;
            }
            lambda_tasks += 1;
            let retries = state["Retry"].as_array().unwrap();
            assert!(!retries.is_empty(), "{name} retries transient failures");
            for retry in retries {
                for error in retry["ErrorEquals"].as_array().unwrap() {
                    let error = error.as_str().unwrap();
                    let ok = retryable.contains(&error)
                        || error == "States.Timeout"
                        || error.starts_with("Lambda.");
                    assert!(ok, "{name} retries {error}, which is not retryable");
                    if let Some(n) = TaskErrorName::parse(error) {
                        assert!(n.retryable(), "{name}: {error}");
                    }
                }
            }
            for catch in state["Catch"].as_array().into_iter().flatten() {
                let next = catch["Next"].as_str().unwrap();
                assert!(states.contains_key(next), "{name} catches to {next}");
            }
        }
        assert_eq!(lambda_tasks, 5);
        // A payment that does not exist cannot be marked FAILED: that catch ends the execution.
        let catch = &asl["States"]["MarkProcessing"]["Catch"][0];
        assert_eq!(catch["ErrorEquals"][0], "Payment.NotFound");
        assert_eq!(
            asl["States"][catch["Next"].as_str().unwrap()]["Type"],
            "Fail"
        );
    }
}
