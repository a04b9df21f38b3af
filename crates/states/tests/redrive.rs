//! RedriveExecution: an unsuccessful execution continues from the state where it stopped,
//! with that state's original input, keeping its history; other executions are refused with
//! Step Functions' reasons.

use eventpay_states::{Execution, ExecutionStatus, StateMachine, TaskError, TaskInvoker};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// Fails the first `fail` calls of resource "flaky", echoes everything else; records calls.
struct Flaky {
    fail: Mutex<u32>,
    calls: Mutex<Vec<(String, Value)>>,
}

impl Flaky {
    fn new(fail: u32) -> Flaky {
        Flaky {
            fail: Mutex::new(fail),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

impl TaskInvoker for Flaky {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        self.calls
            .lock()
            .unwrap()
            .push((resource.to_string(), input.clone()));
        let mut left = self.fail.lock().unwrap();
        let out = if resource == "flaky" && *left > 0 {
            *left -= 1;
            Err(TaskError {
                error: "Boom".into(),
                cause: "down".into(),
            })
        } else {
            Ok(json!({"from": resource, "in": input}))
        };
        Box::pin(std::future::ready(out))
    }
}

const EXEC: &str = "arn:aws:states:eu-west-1:123456789012:execution:sm:e1";
const SM: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:sm";

fn machine(v: Value) -> StateMachine {
    StateMachine::from_value(&v).unwrap()
}

async fn run(m: &StateMachine, e: &mut Execution, tasks: &Flaky) -> Vec<String> {
    let mut types = Vec::new();
    while e.status() == ExecutionStatus::Running {
        let events = e.step(m, tasks, chrono::Utc::now()).await;
        types.extend(events.into_iter().map(|e| e.event_type));
    }
    types
}

fn two_tasks() -> StateMachine {
    machine(json!({"StartAt": "First", "States": {
        "First": {"Type": "Task", "Resource": "first", "ResultPath": "$.first", "Next": "Second"},
        "Second": {"Type": "Task", "Resource": "flaky", "Parameters": {"ctx.$": "$$.Execution.RedriveCount", "a.$": "$.a"}, "End": true}}}))
}

#[tokio::test]
async fn a_failed_task_is_redriven_from_where_it_failed_with_its_input() {
    let m = two_tasks();
    let tasks = Flaky::new(1);
    let now = chrono::Utc::now();
    let (mut e, started) = Execution::start(&m, EXEC, "e1", SM, json!({"a": 1}), now);
    let first_run = run(&m, &mut e, &tasks).await;
    assert_eq!(
        first_run.last().map(String::as_str),
        Some("ExecutionFailed")
    );
    assert_eq!(e.status(), ExecutionStatus::Failed);
    assert_eq!(e.error(), Some("Boom"));
    assert!(e.redrivable(&m, chrono::Utc::now()).is_ok());
    let last_id = (started.len() + first_run.len()) as u64;

    let redriven = e.redrive(&m, chrono::Utc::now()).unwrap();
    assert_eq!(redriven.len(), 1);
    assert_eq!(redriven[0].event_type, "ExecutionRedriven");
    assert_eq!(
        redriven[0].id,
        last_id + 1,
        "history continues after the failure"
    );
    assert_eq!(
        redriven[0].details["executionRedrivenEventDetails"],
        json!({"redriveCount": 1})
    );
    assert_eq!(e.status(), ExecutionStatus::Running);
    assert_eq!(e.current_state(), Some("Second"));
    assert_eq!((e.error(), e.stop_time()), (None, None));
    assert_eq!(e.redrive_count(), 1);
    assert!(e.redrive_date().is_some());

    let types = run(&m, &mut e, &tasks).await;
    assert_eq!(
        types,
        [
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(e.status(), ExecutionStatus::Succeeded);
    let calls = tasks.calls();
    assert_eq!(
        calls.iter().filter(|(r, _)| r == "first").count(),
        1,
        "the state before the failed one is not run again"
    );
    let second: Vec<&Value> = calls
        .iter()
        .filter(|(r, _)| r == "flaky")
        .map(|(_, i)| i)
        .collect();
    assert_eq!(
        second,
        [&json!({"ctx": 0, "a": 1}), &json!({"ctx": 1, "a": 1})]
    );
}

#[tokio::test]
async fn the_redriven_execution_round_trips_through_serde() {
    let m = two_tasks();
    let tasks = Flaky::new(1);
    let (mut e, _) = Execution::start(&m, EXEC, "e1", SM, json!({"a": 1}), chrono::Utc::now());
    run(&m, &mut e, &tasks).await;
    let mut e: Execution = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
    e.redrive(&m, chrono::Utc::now()).unwrap();
    run(&m, &mut e, &tasks).await;
    assert_eq!(e.status(), ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn succeeded_and_running_executions_are_not_redrivable() {
    let m = two_tasks();
    let tasks = Flaky::new(0);
    let (mut e, _) = Execution::start(&m, EXEC, "e1", SM, json!({"a": 1}), chrono::Utc::now());
    assert_eq!(
        e.redrive(&m, chrono::Utc::now()).unwrap_err(),
        "Execution is RUNNING and cannot be redriven."
    );
    run(&m, &mut e, &tasks).await;
    assert_eq!(
        e.redrivable(&m, chrono::Utc::now()).unwrap_err(),
        "Execution is SUCCEEDED and cannot be redriven."
    );
    assert_eq!(e.status(), ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn a_failure_older_than_fourteen_days_is_not_redrivable() {
    let m = two_tasks();
    let tasks = Flaky::new(1);
    let (mut e, _) = Execution::start(&m, EXEC, "e1", SM, json!({"a": 1}), chrono::Utc::now());
    run(&m, &mut e, &tasks).await;
    let later = chrono::Utc::now() + chrono::Duration::days(15);
    assert_eq!(
        e.redrive(&m, later).unwrap_err(),
        "Execution redrivable period exceeded."
    );
    assert_eq!(e.status(), ExecutionStatus::Failed);
}

#[tokio::test]
async fn an_aborted_execution_is_redriven_at_its_current_state() {
    let m = two_tasks();
    let tasks = Flaky::new(0);
    let now = chrono::Utc::now();
    let (mut e, _) = Execution::start(&m, EXEC, "e1", SM, json!({"a": 1}), now);
    e.abort(Some("Stop"), None, now);
    assert_eq!(e.status(), ExecutionStatus::Aborted);
    e.redrive(&m, chrono::Utc::now()).unwrap();
    assert_eq!(e.current_state(), Some("First"));
    run(&m, &mut e, &tasks).await;
    assert_eq!(e.status(), ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn an_execution_persisted_before_redrive_existed_loads_and_is_not_redrivable() {
    let m = two_tasks();
    let tasks = Flaky::new(1);
    let (mut e, _) = Execution::start(&m, EXEC, "e1", SM, json!({"a": 1}), chrono::Utc::now());
    run(&m, &mut e, &tasks).await;
    let mut old = serde_json::to_value(&e).unwrap();
    for key in ["stopped_at", "redrive_date"] {
        old.as_object_mut().unwrap().remove(key);
    }
    old["info"].as_object_mut().unwrap().remove("redrive_count");
    let mut e: Execution = serde_json::from_value(old).unwrap();
    assert_eq!(e.redrive_count(), 0);
    assert_eq!(
        e.redrive(&m, chrono::Utc::now()).unwrap_err(),
        "Execution was started before the launch of RedriveExecution."
    );
}

#[tokio::test]
async fn a_failed_parallel_is_refused_with_a_reason() {
    let m = machine(json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "first", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "flaky", "End": true}}}]}}}));
    let tasks = Flaky::new(1);
    let (mut e, _) = Execution::start(&m, EXEC, "e1", SM, json!({}), chrono::Utc::now());
    run(&m, &mut e, &tasks).await;
    assert_eq!(e.status(), ExecutionStatus::Failed);
    let reason = e.redrive(&m, chrono::Utc::now()).unwrap_err();
    assert!(reason.contains("Parallel state 'P'"), "{reason}");
    assert_eq!(e.status(), ExecutionStatus::Failed);
}
