//! The CLI mirrors of AWS tools: `events test-pattern`, `states run`, `states validate`.

mod support;

use std::process::{Command, Output};

use serde_json::Value;

fn eventpay(args: &[&str]) -> Output {
    Command::new(support::binary()).args(args).output().unwrap()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("stdout: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn test_pattern_prints_result_and_refuses_invalid_patterns() {
    let pattern =
        r#"{"source":["eventpay.payments"],"detail":{"amount_units":[{"numeric":[">=",10000]}]}}"#;
    let yes = eventpay(&[
        "events",
        "test-pattern",
        "--pattern",
        pattern,
        "--event",
        r#"{"source":"eventpay.payments","detail":{"amount_units":10000}}"#,
    ]);
    assert!(yes.status.success());
    assert_eq!(stdout_json(&yes), serde_json::json!({"Result": true}));
    let no = eventpay(&[
        "events",
        "test-pattern",
        "--pattern",
        pattern,
        "--event",
        r#"{"source":"eventpay.payments","detail":{"amount_units":9999}}"#,
    ]);
    assert_eq!(stdout_json(&no), serde_json::json!({"Result": false}));
    let bad = eventpay(&[
        "events",
        "test-pattern",
        "--pattern",
        r#"{"source":"x"}"#,
        "--event",
        "{}",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("source"));
}

#[test]
fn test_pattern_reads_files() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"source":"eventpay.payments","detail-type":"PaymentCreated","detail":{}}"#,
    )
    .unwrap();
    let rule = support::spec_dir().join("rules/settlement.json");
    let rule: Value = serde_json::from_str(&std::fs::read_to_string(rule).unwrap()).unwrap();
    let pattern = dir.path().join("pattern.json");
    std::fs::write(&pattern, rule["event_pattern"].to_string()).unwrap();
    let out = eventpay(&[
        "events",
        "test-pattern",
        "--pattern",
        pattern.to_str().unwrap(),
        "--event",
        event.to_str().unwrap(),
    ]);
    assert_eq!(stdout_json(&out), serde_json::json!({"Result": true}));
}

#[test]
fn states_run_prints_status_output_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("sm.json");
    std::fs::write(
        &def,
        r#"{"StartAt":"Greet","States":{"Greet":{"Type":"Pass","Parameters":{"greeting.$":"States.Format('hello {}', $.name)"},"Next":"Done"},"Done":{"Type":"Succeed"}}}"#,
    )
    .unwrap();
    let out = eventpay(&[
        "states",
        "run",
        "--definition",
        def.to_str().unwrap(),
        "--input",
        r#"{"name":"ada"}"#,
    ]);
    assert!(out.status.success());
    let report = stdout_json(&out);
    assert_eq!(report["status"], "SUCCEEDED");
    assert_eq!(
        report["output"],
        serde_json::json!({"greeting": "hello ada"})
    );
    let types: Vec<&str> = report["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn states_run_fails_unregistered_tasks_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("sm.json");
    std::fs::write(&def, r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","End":true}}}"#).unwrap();
    let out = eventpay(&["states", "run", "--definition", def.to_str().unwrap()]);
    assert!(out.status.success());
    let report = stdout_json(&out);
    assert_eq!(report["status"], "FAILED");
    assert!(report["cause"].as_str().unwrap().contains("function:f"));
}

#[test]
fn states_validate_names_the_state_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("sm.json");
    std::fs::write(
        &def,
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}"#,
    )
    .unwrap();
    let out = eventpay(&["states", "validate", "--definition", def.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/States/A/Next"), "{err}");
    let run = eventpay(&["states", "run", "--definition", def.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
}
