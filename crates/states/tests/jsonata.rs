//! JSONata states end to end where the AWS-recorded cases have no coverage: Task `Arguments`,
//! `Output` and `$states.result`, Catcher `Output`/`Assign` with `$states.errorOutput`, Parallel
//! `Arguments`, and variables flowing between JSONata and JSONPath states.

use eventpay_states::{
    ExecutionStatus, StateMachine, TaskError, TaskInvoker, VirtualClock, run_to_completion_with,
};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;

/// `fail` fails with the input as cause; anything else doubles `n`.
struct Tasks;

impl TaskInvoker for Tasks {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        let r = if resource.ends_with(":fail") {
            Err(TaskError {
                error: "Boom".into(),
                cause: input.to_string(),
            })
        } else {
            Ok(json!({"doubled": input["n"].as_i64().unwrap_or(0) * 2}))
        };
        Box::pin(std::future::ready(r))
    }
}

const DOUBLE: &str = "arn:aws:lambda:us-east-1:000000000000:function:double";
const FAIL: &str = "arn:aws:lambda:us-east-1:000000000000:function:fail";

async fn run(definition: Value, input: Value) -> (ExecutionStatus, Option<Value>, Option<String>) {
    let m = StateMachine::from_value(&definition).unwrap();
    let clock = VirtualClock::new(chrono::Utc::now());
    let (e, _) = run_to_completion_with(&m, input, &Tasks, &clock).await;
    (
        e.status(),
        e.output().cloned(),
        e.cause().map(str::to_string),
    )
}

#[tokio::test]
async fn task_arguments_output_and_assign() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": DOUBLE,
              "Arguments": {"n": "{% $states.input.value + 1 %}"},
              "Assign": {"seen": "{% $states.result.doubled %}"},
              "Output": {"result": "{% $states.result.doubled %}", "was": "{% $states.input.value %}"},
              "Next": "P"},
        "P": {"Type": "Pass", "Output": "{% $seen & '/' & $string($states.input.result) %}", "End": true}}});
    let (status, output, _) = run(def, json!({"value": 4})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(output, Some(json!("10/10")));
}

#[tokio::test]
async fn catcher_sees_error_output() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": FAIL, "Arguments": {"why": "test"},
              "Catch": [{"ErrorEquals": ["Boom"], "Next": "Handled",
                         "Assign": {"error": "{% $states.errorOutput.Error %}"},
                         "Output": {"cause": "{% $parse($states.errorOutput.Cause) %}", "in": "{% $states.input %}"}}],
              "End": true},
        "Handled": {"Type": "Pass", "Output": {"error": "{% $error %}", "was": "{% $states.input %}"}, "End": true}}});
    let (status, output, _) = run(def, json!({"k": 1})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(
        output,
        Some(json!({"error": "Boom", "was": {"cause": {"why": "test"}, "in": {"k": 1}}}))
    );
}

#[tokio::test]
async fn parallel_arguments_and_mixed_languages() {
    let def = json!({"StartAt": "Par", "States": {
        "Par": {"Type": "Parallel", "QueryLanguage": "JSONata",
                "Arguments": {"n": "{% $count($states.input.items) %}"},
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": DOUBLE, "End": true}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}],
                "Output": "{% $states.result %}",
                "Next": "Path"},
        "Path": {"Type": "Pass", "Parameters": {"first.$": "$[0].doubled", "second.$": "$[1].n"}, "End": true}}});
    let (status, output, _) = run(def, json!({"items": [1, 2, 3]})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(output, Some(json!({"first": 6, "second": 3})));
}

#[tokio::test]
async fn choice_condition_must_be_boolean() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.v %}", "Next": "Done"}], "Default": "Done"},
        "Done": {"Type": "Succeed"}}});
    let (status, _, cause) = run(def, json!({"v": "yes"})).await;
    assert_eq!(status, ExecutionStatus::Failed);
    assert!(
        cause
            .unwrap_or_default()
            .ends_with("The JSONata expression '$states.input.v' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was 'string' for value: \"yes\""),
    );
}
