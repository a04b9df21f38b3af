//! Runs the real spec/settlement.asl.json (placeholders filled with ARNs) through approve,
//! reject and a persistently failing task (retries, then Catch -> MarkFailed -> Fail).

use eventpay_states::{
    Execution, ExecutionStatus, HistoryEvent, StateMachine, TaskError, TaskInvoker, VirtualClock,
    run_to_completion_with,
};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

const UPDATE: &str = "arn:aws:lambda:eu-west-1:123456789012:function:update-status";
const VALIDATE: &str = "arn:aws:lambda:eu-west-1:123456789012:function:validate";
const LEDGER: &str = "arn:aws:lambda:eu-west-1:123456789012:function:post-ledger";
const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:outcomes";
/// The input is the PaymentCreated event's detail, which always has the payment's trace id.
const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

fn machine() -> StateMachine {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/settlement.asl.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("${update_status_function_arn}", UPDATE)
        .replace("${validate_function_arn}", VALIDATE)
        .replace("${post_ledger_function_arn}", LEDGER)
        .replace("${outcomes_topic_arn}", TOPIC);
    StateMachine::parse(&text).unwrap()
}

/// Records every call; `decision` drives Validate; `broken` names a resource that always fails.
struct Fake {
    decision: &'static str,
    broken: Option<&'static str>,
    calls: Mutex<Vec<(String, Value)>>,
}

impl Fake {
    fn new(decision: &'static str, broken: Option<&'static str>) -> Fake {
        Fake {
            decision,
            broken,
            calls: Mutex::new(Vec::new()),
        }
    }
    fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

impl TaskInvoker for Fake {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        self.calls
            .lock()
            .unwrap()
            .push((resource.to_string(), input.clone()));
        let out = if Some(resource) == self.broken {
            Err(TaskError {
                error: "Lambda.ServiceException".into(),
                cause: "ledger database unavailable".into(),
            })
        } else {
            Ok(match resource {
                UPDATE => json!({"payment_id": input["payment_id"], "status": input["status"]}),
                VALIDATE => {
                    json!({"decision": self.decision, "reason": "over the per-payment limit"})
                }
                LEDGER => {
                    json!({"payment_id": input["payment_id"], "entries": 2, "status": "SETTLED", "applied": true})
                }
                _ => json!({"MessageId": "m-1"}),
            })
        };
        Box::pin(std::future::ready(out))
    }
}

fn types(h: &[HistoryEvent]) -> Vec<&str> {
    h.iter().map(|e| e.event_type.as_str()).collect()
}

async fn run(fake: &Fake) -> (Execution, Vec<HistoryEvent>) {
    let clock = VirtualClock::new(chrono::Utc::now());
    run_to_completion_with(
        &machine(),
        json!({"payment_id": "p-1", "amount": "10.00", "trace_id": TRACE}),
        fake,
        &clock,
    )
    .await
}

#[test]
fn resources_are_listed() {
    let r = machine().task_resources();
    assert_eq!(r.len(), 4, "{r:?}");
    for x in [UPDATE, VALIDATE, LEDGER, "arn:aws:states:::sns:publish"] {
        assert!(r.contains(&x.to_string()));
    }
}

#[tokio::test]
async fn approved_payment_settles() {
    let fake = Fake::new("APPROVED", None);
    let (exec, history) = run(&fake).await;
    assert_eq!(exec.status(), ExecutionStatus::Succeeded);
    let out = exec.output().unwrap();
    assert_eq!(out["update"]["status"], "SETTLED");
    assert_eq!(
        out["update"]["entries"], 2,
        "the ledger task settles the payment"
    );
    let calls = fake.calls();
    let statuses: Vec<_> = calls
        .iter()
        .filter(|c| c.0 == UPDATE)
        .map(|c| c.1["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("PROCESSING")]);
    let sns = calls.last().unwrap();
    assert_eq!(
        sns.1,
        json!({"TopicArn": TOPIC, "Subject": "Payment SETTLED", "Message": "Payment p-1 is SETTLED.",
               "MessageAttributes": {"status": {"DataType": "String", "StringValue": "SETTLED"},
                                     "trace_id": {"DataType": "String", "StringValue": TRACE}}})
    );
    // Every task gets the trace id beside its own fields.
    for (resource, input) in &calls {
        if resource != "arn:aws:states:::sns:publish" {
            assert_eq!(input["trace_id"], TRACE, "{resource}: {input}");
        }
    }
    let t = types(&history);
    assert_eq!(
        &t[..7],
        &[
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ChoiceStateEntered"
        ]
    );
    assert!(t.contains(&"TaskScheduled"));
    assert_eq!(*t.last().unwrap(), "ExecutionSucceeded");
    for (i, e) in history.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1);
    }
    let entered = serde_json::to_value(&history[1]).unwrap();
    assert_eq!(
        entered["stateEnteredEventDetails"]["name"],
        "MarkProcessing"
    );
    assert_eq!(entered["previousEventId"], 1);
}

#[tokio::test]
async fn rejected_payment_is_marked_rejected() {
    let fake = Fake::new("REJECTED", None);
    let (exec, _) = run(&fake).await;
    assert_eq!(exec.status(), ExecutionStatus::Succeeded);
    let calls = fake.calls();
    assert!(calls.iter().all(|c| c.0 != LEDGER));
    let rejected = calls.iter().find(|c| c.1["status"] == "REJECTED").unwrap();
    assert_eq!(rejected.1["reason"], "over the per-payment limit");
    let sns = &calls.last().unwrap().1;
    assert_eq!(sns["Subject"], "Payment REJECTED");
    // The e-mail subscription's filter policy matches on this attribute.
    assert_eq!(
        sns["MessageAttributes"]["status"]["StringValue"],
        "REJECTED"
    );
}

#[tokio::test]
async fn failing_task_retries_then_marks_failed() {
    let fake = Fake::new("APPROVED", Some(LEDGER));
    let (exec, history) = run(&fake).await;
    assert_eq!(exec.status(), ExecutionStatus::Failed);
    assert_eq!(exec.error(), Some("SettlementFailed"));
    let calls = fake.calls();
    // A Lambda service error is transient and retried: first attempt + 2 retries.
    let ledger_calls = calls.iter().filter(|c| c.0 == LEDGER).count();
    assert_eq!(ledger_calls, 3);
    let failed = calls.iter().find(|c| c.1["status"] == "FAILED").unwrap();
    assert_eq!(
        failed.1["reason"],
        "Lambda.ServiceException: ledger database unavailable"
    );
    let sns = &calls.last().unwrap().1;
    assert_eq!(sns["TopicArn"], TOPIC);
    assert_eq!(sns["MessageAttributes"]["status"]["StringValue"], "FAILED");
    assert_eq!(types(&history).last(), Some(&"ExecutionFailed"));
}

/// Validate fails with `error` every time; everything else succeeds.
struct TaskFailed(Mutex<u32>, &'static str);

impl TaskInvoker for TaskFailed {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        let out = if resource == VALIDATE {
            *self.0.lock().unwrap() += 1;
            Err(TaskError {
                error: self.1.into(),
                cause: "boom".into(),
            })
        } else {
            Ok(json!({"status": input["status"]}))
        };
        Box::pin(std::future::ready(out))
    }
}

#[tokio::test]
async fn retries_follow_the_backoff_then_catch() {
    let m = machine();
    let tasks = TaskFailed(Mutex::new(0), "Store.Unavailable");
    let t0 = chrono::Utc::now();
    let (mut exec, _) = Execution::start(
        &m,
        "arn:aws:states:eu-west-1:123456789012:execution:settlement:e1",
        "e1",
        "arn:aws:states:eu-west-1:123456789012:stateMachine:settlement",
        json!({"payment_id": "p-9", "trace_id": TRACE}),
        t0,
    );
    let mut now = t0;
    let mut waits = Vec::new();
    while exec.status() == ExecutionStatus::Running {
        if let Some(w) = exec.wake_at() {
            waits.push((w - now).num_seconds());
            now = w;
        }
        // The execution survives a serialize/deserialize between every step (crash + resume).
        exec = serde_json::from_str(&serde_json::to_string(&exec).unwrap()).unwrap();
        exec.step(&m, &tasks, now).await;
    }
    assert_eq!(*tasks.0.lock().unwrap(), 3, "first attempt + MaxAttempts 2");
    assert_eq!(waits, vec![1, 2]);
    assert_eq!(exec.status(), ExecutionStatus::Failed);
    assert_eq!(exec.error(), Some("SettlementFailed"));
}

/// Deterministic failures are not retried: they go straight to MarkFailed; a missing payment
/// ends the execution without trying to mark it.
#[tokio::test]
async fn deterministic_failures_are_caught_without_retries() {
    let m = machine();
    for (error, final_error, marks_failed) in [
        ("Payment.IllegalTransition", "SettlementFailed", true),
        ("Task.InvalidInput", "SettlementFailed", true),
        ("Payment.NotFound", "Payment.NotFound", false),
    ] {
        let tasks = TaskFailed(Mutex::new(0), error);
        let clock = VirtualClock::new(chrono::Utc::now());
        let (exec, history) = run_to_completion_with(
            &m,
            json!({"payment_id": "p-9", "trace_id": TRACE}),
            &tasks,
            &clock,
        )
        .await;
        assert_eq!(*tasks.0.lock().unwrap(), 1, "{error} is not retried");
        assert_eq!(exec.status(), ExecutionStatus::Failed, "{error}");
        assert_eq!(exec.error(), Some(final_error), "{error}");
        let entered: Vec<_> = history
            .iter()
            .filter_map(|e| e.details.get("stateEnteredEventDetails"))
            .filter_map(|d| d["name"].as_str())
            .collect();
        assert_eq!(
            entered.contains(&"MarkFailed"),
            marks_failed,
            "{error}: {entered:?}"
        );
    }
}

#[test]
fn definition_errors_name_state_and_field() {
    let bad = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nope"}}});
    let e = StateMachine::from_value(&bad).unwrap_err();
    assert_eq!(e.path, "/States/A/Next");
    assert_eq!(e.to_string(), "/States/A/Next: 'Nope' is not a state here");
    let e =
        StateMachine::from_value(&json!({"StartAt": "X", "States": {"A": {"Type": "Succeed"}}}))
            .unwrap_err();
    assert_eq!(e.path, "/StartAt");
    let e = StateMachine::from_value(
        &json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}),
    )
    .unwrap_err();
    assert_eq!(e.path, "/States/B");
    let e = StateMachine::from_value(
        &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Foo": 1}}}),
    )
    .unwrap_err();
    assert_eq!(e.path, "/States/A/Foo");
    let e = StateMachine::from_value(
        &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "InputPath": "x"}}}),
    )
    .unwrap_err();
    assert_eq!(e.path, "/States/A/InputPath");
    // JSONata states take Arguments/Output, not JSONPath fields, and bad expressions fail early.
    StateMachine::from_value(
        &json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
    )
    .unwrap();
    let e = StateMachine::from_value(&json!({"QueryLanguage": "JSONata", "StartAt": "A",
        "States": {"A": {"Type": "Pass", "End": true, "Parameters": {}}}}))
    .unwrap_err();
    assert_eq!(e.path, "/States/A/Parameters");
    assert!(e.message.contains("JSONPath field"), "{e}");
    let e = StateMachine::from_value(&json!({"QueryLanguage": "JSONata", "StartAt": "A",
        "States": {"A": {"Type": "Pass", "End": true, "Output": {"x": "{% $states.input. %}"}}}}))
    .unwrap_err();
    assert_eq!(e.path, "/States/A/Output/x");
    let e = StateMachine::from_value(&json!({"QueryLanguage": "JSONata", "StartAt": "A",
        "States": {"A": {"Type": "Pass", "End": true, "Output": "{% $formatNumber(1, '#') %}"}}}))
    .unwrap_err();
    assert!(e.message.contains("$formatNumber is not supported"), "{e}");
    let e = StateMachine::from_value(&json!({"StartAt": "A",
        "States": {"A": {"Type": "Pass", "End": true, "Output": {}}}}))
    .unwrap_err();
    assert!(e.message.contains("JSONata field"), "{e}");
}
