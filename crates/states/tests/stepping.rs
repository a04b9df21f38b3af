//! Step-wise behaviour the durable runtime relies on: one state per step, timers exposed
//! through `wake_at`, early steps are no-ops, TimeoutSeconds, and the history event shape.

use eventpay_states::{Execution, ExecutionStatus, StateMachine, TaskError, TaskInvoker};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;

struct Echo;

impl TaskInvoker for Echo {
    fn invoke<'a>(
        &'a self,
        _resource: &'a str,
        input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        Box::pin(std::future::ready(Ok(input)))
    }
}

const EXEC: &str = "arn:aws:states:eu-west-1:123456789012:execution:sm:e1";
const SM: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:sm";

fn types(events: &[eventpay_states::HistoryEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

#[tokio::test]
async fn wait_is_two_steps_and_early_steps_do_nothing() {
    let m = StateMachine::from_value(&json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 30, "Next": "P"},
        "P": {"Type": "Pass", "Result": {"ok": true}, "End": true}}}))
    .unwrap();
    let t0 = chrono::Utc::now();
    let (mut e, started) = Execution::start(&m, EXEC, "e1", SM, json!({"a": 1}), t0);
    assert_eq!(types(&started), ["ExecutionStarted"]);
    assert_eq!(types(&e.step(&m, &Echo, t0).await), ["WaitStateEntered"]);
    assert_eq!(e.wake_at(), Some(t0 + chrono::Duration::seconds(30)));
    assert!(
        e.step(&m, &Echo, t0 + chrono::Duration::seconds(5))
            .await
            .is_empty()
    );
    let t1 = e.wake_at().unwrap();
    assert_eq!(types(&e.step(&m, &Echo, t1).await), ["WaitStateExited"]);
    let last = e.step(&m, &Echo, t1).await;
    assert_eq!(
        types(&last),
        ["PassStateEntered", "PassStateExited", "ExecutionSucceeded"]
    );
    assert_eq!(e.status(), ExecutionStatus::Succeeded);
    assert_eq!(e.output(), Some(&json!({"ok": true})));
    assert_eq!(last.last().unwrap().id, 6);
}

#[tokio::test]
async fn timeout_seconds_bounds_wake_at() {
    let m = StateMachine::from_value(&json!({"TimeoutSeconds": 5, "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 60, "End": true}}}))
    .unwrap();
    let t0 = chrono::Utc::now();
    let (mut e, _) = Execution::start(&m, EXEC, "e1", SM, json!({}), t0);
    e.step(&m, &Echo, t0).await;
    let wake = e.wake_at().unwrap();
    assert_eq!(wake, t0 + chrono::Duration::seconds(5));
    let ev = e.step(&m, &Echo, wake).await;
    assert_eq!(types(&ev), ["ExecutionTimedOut"]);
    assert_eq!(e.status(), ExecutionStatus::TimedOut);
}

#[tokio::test]
async fn history_events_serialize_in_aws_shape() {
    let m = StateMachine::from_value(&json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Parameters": {"Message.$": "$.m"}, "End": true}}}))
    .unwrap();
    let t0 = chrono::Utc::now();
    let (mut e, _) = Execution::start(&m, EXEC, "e1", SM, json!({"m": "hi"}), t0);
    let ev = e.step(&m, &Echo, t0).await;
    let v: Vec<Value> = ev
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(v[0]["type"], "TaskStateEntered");
    assert_eq!(v[0]["id"], 2);
    assert_eq!(v[0]["previousEventId"], 1);
    assert_eq!(
        v[0]["stateEnteredEventDetails"],
        json!({"name": "T", "input": "{\"m\":\"hi\"}", "inputDetails": {"truncated": false}})
    );
    assert_eq!(
        v[1]["taskScheduledEventDetails"],
        json!({"resourceType": "sns", "resource": "publish", "region": "eu-west-1", "parameters": "{\"Message\":\"hi\"}"})
    );
    assert_eq!(v[2]["type"], "TaskStarted");
    assert_eq!(
        v[3]["taskSucceededEventDetails"]["output"],
        "{\"Message\":\"hi\"}"
    );
    assert_eq!(v[5]["type"], "ExecutionSucceeded");
    let back: eventpay_states::HistoryEvent = serde_json::from_value(v[1].clone()).unwrap();
    assert_eq!(back.event_type, "TaskScheduled");
}

/// The runtime spawns steps on tokio: the futures must be Send.
#[test]
fn step_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let m = StateMachine::from_value(
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .unwrap();
    let (mut e, _) = Execution::start(&m, EXEC, "e1", SM, json!({}), chrono::Utc::now());
    let f = e.step(&m, &Echo, chrono::Utc::now());
    assert_send(&f);
    drop(f);
    let g = eventpay_states::run_to_completion(&m, json!({}), &Echo);
    assert_send(&g);
}

#[tokio::test]
async fn endless_loops_end_at_the_history_limit() {
    let m = StateMachine::from_value(&json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {
            "A": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}], "Default": "B"},
            "B": {"Type": "Pass", "Next": "A"},
            "Done": {"Type": "Succeed"}}}]}}}))
    .unwrap();
    let (e, _) = eventpay_states::run_to_completion(&m, json!({}), &Echo).await;
    assert_eq!(e.status(), ExecutionStatus::Failed);
    assert_eq!(e.error(), Some("States.Runtime"));
}
