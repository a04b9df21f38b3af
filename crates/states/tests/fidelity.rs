//! AWS fidelity of serialized JSON: objects keep their own key order (as Step Functions does)
//! through every path that builds or serializes JSON — Pass (`Result`, pass-through),
//! `Parameters`, `ResultSelector`, `ResultPath`, the intrinsics, JSONata (`$string`, object
//! constructors, `Output`, `Arguments`), Map `ItemSelector`, Parallel, variables, the
//! history's `input`/`output` texts — and intrinsic strings' escapes (`\'`, `\{`, `\}`,
//! `\\`) end to end from a definition's JSON text.

use eventpay_states::{
    ExecutionStatus, HistoryEvent, StateMachine, TaskError, TaskInvoker, VirtualClock,
    run_to_completion_with,
};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// Answers every task with the same object, its keys deliberately out of alphabetical order.
struct Tasks;

const TASK_RESULT: &str =
    r#"{"zeta": 1, "alpha": {"mid": 2, "beta": 3}, "kilo": [{"y": 1, "x": 2}]}"#;
const LAMBDA: &str = "arn:aws:lambda:us-east-1:000000000000:function:f";

impl TaskInvoker for Tasks {
    fn invoke<'a>(
        &'a self,
        _resource: &'a str,
        _input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        let r = serde_json::from_str(TASK_RESULT).map_err(|e| TaskError {
            error: "Bad".into(),
            cause: e.to_string(),
        });
        Box::pin(std::future::ready(r))
    }
}

/// Runs a definition given as JSON text on an input given as JSON text (so that nothing but
/// the texts decides the key order); returns the output as compact JSON text and the history.
async fn run(definition: &str, input: &str) -> (String, Vec<HistoryEvent>) {
    let m = StateMachine::parse(definition).unwrap();
    let input: Value = serde_json::from_str(input).unwrap();
    let clock = VirtualClock::new(chrono::Utc::now());
    let (e, events) = run_to_completion_with(&m, input, &Tasks, &clock).await;
    assert_eq!(e.status(), ExecutionStatus::Succeeded, "{:?}", e.cause());
    let output = serde_json::to_string(e.output().unwrap()).unwrap();
    (output, events)
}

/// The `details` text field `key` of the last event of type `ty`.
fn event_text(events: &[HistoryEvent], ty: &str, details: &str, key: &str) -> String {
    let e = events.iter().rev().find(|e| e.event_type == ty).unwrap();
    e.details[details][key].as_str().unwrap().to_string()
}

/// The task input text the history shows (`LambdaFunctionScheduled`).
fn scheduled_input(events: &[HistoryEvent]) -> String {
    event_text(
        events,
        "LambdaFunctionScheduled",
        "lambdaFunctionScheduledEventDetails",
        "input",
    )
}

const INPUT: &str = r#"{"zebra": 1, "apple": {"y": 2, "x": 3}, "mango": "m"}"#;

#[tokio::test]
async fn pass_keeps_the_order_of_its_result_and_its_input() {
    let def = r#"{"StartAt": "R", "States": {
        "R": {"Type": "Pass", "Result": {"zulu": 1, "alpha": {"b": 2, "a": 3}}, "ResultPath": "$.r", "Next": "T"},
        "T": {"Type": "Pass", "End": true}}}"#;
    let (output, events) = run(def, INPUT).await;
    let want =
        r#"{"zebra":1,"apple":{"y":2,"x":3},"mango":"m","r":{"zulu":1,"alpha":{"b":2,"a":3}}}"#;
    assert_eq!(output, want);
    // What the runtime stores and shows: the history's texts.
    assert_eq!(
        event_text(
            &events,
            "ExecutionSucceeded",
            "executionSucceededEventDetails",
            "output"
        ),
        want
    );
    assert_eq!(
        event_text(
            &events,
            "ExecutionStarted",
            "executionStartedEventDetails",
            "input"
        ),
        r#"{"zebra":1,"apple":{"y":2,"x":3},"mango":"m"}"#
    );
}

#[tokio::test]
async fn result_path_replaces_in_place_and_appends_new_keys() {
    let def = r#"{"StartAt": "R", "States": {
        "R": {"Type": "Pass", "Result": "new", "ResultPath": "$.zebra", "Next": "S"},
        "S": {"Type": "Pass", "Result": 0, "ResultPath": "$.apple.w", "End": true}}}"#;
    let (output, _) = run(def, INPUT).await;
    assert_eq!(
        output,
        r#"{"zebra":"new","apple":{"y":2,"x":3,"w":0},"mango":"m"}"#
    );
}

#[tokio::test]
async fn parameters_follow_the_template_order() {
    let def = r#"{"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {
            "zulu.$": "$.apple", "alpha": {"d": 1, "c": 2}, "mike.$": "$.zebra",
            "bravo.$": "States.JsonToString($.apple)"}, "End": true}}}"#;
    let (output, _) = run(def, INPUT).await;
    assert_eq!(
        output,
        r#"{"zulu":{"y":2,"x":3},"alpha":{"d":1,"c":2},"mike":1,"bravo":"{\"y\":2,\"x\":3}"}"#
    );
}

#[tokio::test]
async fn task_input_result_selector_and_history_keep_the_order() {
    let def = format!(
        r#"{{"StartAt": "T", "States": {{
        "T": {{"Type": "Task", "Resource": "{LAMBDA}",
              "Parameters": {{"yankee.$": "$.mango", "bravo.$": "$.apple"}},
              "ResultSelector": {{"second.$": "$.alpha", "first.$": "$.zeta", "whole.$": "$"}},
              "ResultPath": "$.out", "OutputPath": "$.out", "End": true}}}}}}"#
    );
    let (output, events) = run(&def, INPUT).await;
    assert_eq!(
        output,
        r#"{"second":{"mid":2,"beta":3},"first":1,"whole":{"zeta":1,"alpha":{"mid":2,"beta":3},"kilo":[{"y":1,"x":2}]}}"#
    );
    assert_eq!(
        scheduled_input(&events),
        r#"{"yankee":"m","bravo":{"y":2,"x":3}}"#
    );
    assert_eq!(
        event_text(
            &events,
            "LambdaFunctionSucceeded",
            "lambdaFunctionSucceededEventDetails",
            "output"
        ),
        r#"{"zeta":1,"alpha":{"mid":2,"beta":3},"kilo":[{"y":1,"x":2}]}"#
    );
}

#[tokio::test]
async fn intrinsics_keep_the_order() {
    let def = r#"{"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {
            "text.$": "States.JsonToString($)",
            "parsed.$": "States.StringToJson('\\{\"b\":1,\"a\":\\{\"d\":2,\"c\":3\\}\\}')",
            "merged.$": "States.JsonMerge($.apple, States.StringToJson('\\{\"z\":0,\"y\":9\\}'), false)",
            "formatted.$": "States.Format('{}', $.apple)",
            "array.$": "States.Array($.apple, $.zebra)"}, "End": true}}}"#;
    let (output, _) = run(def, INPUT).await;
    assert_eq!(
        output,
        concat!(
            r#"{"text":"{\"zebra\":1,\"apple\":{\"y\":2,\"x\":3},\"mango\":\"m\"}","#,
            r#""parsed":{"b":1,"a":{"d":2,"c":3}},"#,
            r#""merged":{"y":9,"x":3,"z":0},"#,
            r#""formatted":"{y=2, x=3}","#,
            r#""array":[{"y":2,"x":3},1]}"#
        )
    );
}

#[tokio::test]
async fn jsonata_string_and_objects_keep_the_order() {
    let def = r#"{"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": {
            "string": "{% $string($states.input) %}",
            "built": "{% {'zulu': 1, 'alpha': $states.input.apple} %}",
            "keys": "{% $keys($states.input) %}",
            "merged": "{% $string($merge([$states.input.apple, {'w': 0, 'y': 7}])) %}",
            "input": "{% $states.input %}"}, "End": true}}}"#;
    let (output, _) = run(def, INPUT).await;
    assert_eq!(
        output,
        concat!(
            r#"{"string":"{\"zebra\":1,\"apple\":{\"y\":2,\"x\":3},\"mango\":\"m\"}","#,
            r#""built":{"zulu":1,"alpha":{"y":2,"x":3}},"#,
            r#""keys":["zebra","apple","mango"],"#,
            r#""merged":"{\"y\":7,\"x\":3,\"w\":0}","#,
            r#""input":{"zebra":1,"apple":{"y":2,"x":3},"mango":"m"}}"#
        )
    );
}

/// Each escape, written in a definition's JSON text (so `\\` there is one backslash in the
/// intrinsic): `\'` → `'`, `\{` → `{`, `\}` → `}`, `\\` → `\`.
#[tokio::test]
async fn intrinsic_escapes_from_a_definition() {
    let def = r#"{"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {
            "quote.$": "States.Format('it\\'s {}', $.mango)",
            "braces.$": "States.Format('\\{{}\\}', $.mango)",
            "backslash.$": "States.Format('a\\\\b')",
            "backslash_then_placeholder.$": "States.Format('C:\\\\{}', $.mango)",
            "backslash_then_brace.$": "States.Format('\\\\\\{')",
            "plain.$": "States.Array('it\\'s', '\\{\\}', 'a\\\\b')"}, "End": true}}}"#;
    let (output, _) = run(def, INPUT).await;
    assert_eq!(
        output,
        concat!(
            r#"{"quote":"it's m","braces":"{m}","backslash":"a\\b","#,
            r#""backslash_then_placeholder":"C:\\m","backslash_then_brace":"\\{","#,
            r#""plain":["it's","{}","a\\b"]}"#
        )
    );
}

#[test]
fn an_open_escape_is_refused_naming_the_field() {
    let def = r#"{"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"x.$": "States.Format('a\\nb')"}, "End": true}}}"#;
    let e = StateMachine::parse(def).unwrap_err();
    assert_eq!(e.path, "/States/P/Parameters/x.$");
    assert!(e.message.contains("open escape"), "{}", e.message);
}

/// A Fail state's literal Error and Cause are text, braces and backslashes included.
#[tokio::test]
async fn fail_literals_are_not_templates() {
    let def = r#"{"StartAt": "F", "States": {
        "F": {"Type": "Fail", "Error": "E{}", "Cause": "a {} \\ b \\{"}}}"#;
    let m = StateMachine::parse(def).unwrap();
    let clock = VirtualClock::new(chrono::Utc::now());
    let (e, _) = run_to_completion_with(&m, Value::Null, &Tasks, &clock).await;
    assert_eq!(e.status(), ExecutionStatus::Failed);
    assert_eq!(e.error(), Some("E{}"));
    assert_eq!(e.cause(), Some("a {} \\ b \\{"));
}

#[tokio::test]
async fn map_parallel_and_variables_keep_the_order() {
    let def = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"kept.$": "$.apple", "zz": {"q": 1, "p": 2}}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.list",
              "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "var.$": "$kept"},
              "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
              "ResultPath": "$.mapped", "Next": "P"},
        "P": {"Type": "Parallel", "Branches": [
                {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Parameters": {"y.$": "$zz", "x": 1}, "End": true}}},
                {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "OutputPath": "$.mapped[0]", "End": true}}}],
              "OutputPath": "$", "End": true}}}"#;
    let input = r#"{"list": [{"n": 1, "m": 2}], "apple": {"y": 2, "x": 3}}"#;
    let (output, _) = run(def, input).await;
    assert_eq!(
        output,
        r#"[{"y":{"q":1,"p":2},"x":1},{"value":{"n":1,"m":2},"index":0,"var":{"y":2,"x":3}}]"#
    );
    let def = r#"{"StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemsPath": "$.list",
              "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
              "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
              "End": true}}}"#;
    let (output, _) = run(def, input).await;
    assert_eq!(output, r#"[{"value":{"n":1,"m":2},"index":0}]"#);
}

#[tokio::test]
async fn jsonata_task_arguments_keep_the_order() {
    let def = format!(
        r#"{{"QueryLanguage": "JSONata", "StartAt": "T", "States": {{
        "T": {{"Type": "Task", "Resource": "{LAMBDA}",
              "Arguments": {{"yankee": "{{% $states.input.mango %}}", "bravo": "{{% $states.input.apple %}}"}},
              "Output": "{{% $string($states.result) %}}", "End": true}}}}}}"#
    );
    let (output, events) = run(&def, INPUT).await;
    assert_eq!(
        output,
        r#""{\"zeta\":1,\"alpha\":{\"mid\":2,\"beta\":3},\"kilo\":[{\"y\":1,\"x\":2}]}""#
    );
    assert_eq!(
        scheduled_input(&events),
        r#"{"yankee":"m","bravo":{"y":2,"x":3}}"#
    );
}
