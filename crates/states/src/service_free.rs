//! Running a service-free machine to its end and reporting it as DescribeExecution and
//! GetExecutionHistory would: what `eventpay states run` prints and the console's
//! "run a state machine" form shows.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Value, json};

use crate::{Execution, ExecutionStatus, HistoryEvent, StateMachine, TaskError, TaskInvoker};

/// No Task resources are registered: a Task fails with a clear error that names its resource,
/// as a missing function would on AWS.
pub struct NoTasks;

impl TaskInvoker for NoTasks {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        _input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        Box::pin(async move {
            Err(TaskError {
                error: "States.TaskFailed".into(),
                cause: format!(
                    "resource {resource:?} is not in the registry of `eventpay states run` (it runs service-free machines)"
                ),
            })
        })
    }
}

/// `{status, output, error, cause, history}` of a finished execution.
pub fn report(execution: &Execution, history: &[HistoryEvent]) -> Value {
    let status = match execution.status() {
        ExecutionStatus::Running => "RUNNING",
        ExecutionStatus::Succeeded => "SUCCEEDED",
        ExecutionStatus::Failed => "FAILED",
        ExecutionStatus::TimedOut => "TIMED_OUT",
        ExecutionStatus::Aborted => "ABORTED",
    };
    json!({
        "status": status,
        "output": execution.output(),
        "error": execution.error(),
        "cause": execution.cause(),
        "history": history,
    })
}

/// Runs `machine` on `input` with no Task resources (Wait states really wait) and reports it.
pub async fn run_service_free(machine: &StateMachine, input: Value) -> Value {
    let (execution, history) = crate::run_to_completion(machine, input, &NoTasks).await;
    report(&execution, &history)
}
