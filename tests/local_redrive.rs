//! RedriveExecution end to end (issue 9 point 8): an execution that FAILED in a task state is
//! redriven through the CLI and over HTTP and continues from that state, not from the start;
//! a SUCCEEDED one is refused; `eventpay queues peek` shows the dead-letter queue.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Server, assert_balanced, assert_error, binary, eventually, statuses};

fn server(extra: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), extra);
    (dir, s)
}

/// Runs `eventpay <args> --url <server>`; returns (exit success, stdout JSON or Null, stderr).
fn cli(s: &Server, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(binary())
        .args(args)
        .args(["--url", &s.base])
        .output()
        .expect("run eventpay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        value,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn only_execution(s: &Server, status: &str) -> Value {
    eventually(
        &format!("the execution {status}"),
        Duration::from_secs(20),
        || {
            let (_, list) = s.get("/_local/executions");
            let e = list["executions"][0].clone();
            (e["status"] == status).then_some(e)
        },
    )
}

fn types(history: &Value) -> Vec<String> {
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

fn entered(history: &Value, state: &str) -> usize {
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stateEnteredEventDetails"]["name"] == state)
        .count()
}

#[test]
fn a_failed_execution_is_redriven_from_the_failed_state() {
    let (_d, s) = server(&["--stuck-after-secs", "3600"]);
    // Two non-retryable failures of the status function: MarkProcessing's (caught, on to
    // MarkFailed) and MarkFailed's, which nothing catches: the execution FAILS in MarkFailed
    // and the payment is not final yet.
    let (status, _) = s.post(
        "/_local/faults",
        &json!({"function": "eventpay-update-status", "failures": 2, "error": "Payment.IllegalTransition"}),
    );
    assert_eq!(status, 200);
    let id = s.pay("100.00", "ACC-RD");
    let exec = only_execution(&s, "FAILED");
    let name = exec["name"].as_str().unwrap().to_owned();
    let (_, d) = s.get(&format!("/_local/executions/{name}"));
    assert_eq!(d["error"], "Payment.IllegalTransition", "{d}");
    assert_eq!(
        (d["redriveCount"].clone(), d["redriveStatus"].clone()),
        (json!(0), json!("REDRIVABLE")),
        "{d}"
    );
    let (_, p) = s.get(&format!("/payments/{id}"));
    assert_eq!(p["status"], "PENDING", "{p}");

    // Through the CLI: MarkFailed runs again (the fault is used up), then NotifyFailure and the
    // Fail state end the execution FAILED again, with the payment FAILED.
    let (ok, out, err) = cli(&s, &["executions", "redrive", &name]);
    assert!(ok, "{err}");
    assert!(out["redriveDate"].is_string(), "{out}");
    eventually(
        "the redriven execution ends",
        Duration::from_secs(20),
        || {
            let (_, d) = s.get(&format!("/_local/executions/{name}"));
            let failures = types(&d).iter().filter(|t| *t == "ExecutionFailed").count();
            (d["status"] == "FAILED" && failures == 2).then_some(())
        },
    );
    let (ok, h, err) = cli(&s, &["executions", "history", &name]);
    assert!(ok, "{err}");
    let t = types(&h);
    let redriven = t
        .iter()
        .position(|t| t == "ExecutionRedriven")
        .expect("ExecutionRedriven");
    assert_eq!(t[redriven - 1], "ExecutionFailed");
    assert_eq!(
        h["events"][redriven]["executionRedrivenEventDetails"]["redriveCount"],
        1
    );
    assert_eq!(
        h["events"][redriven + 1]["stateEnteredEventDetails"]["name"],
        "MarkFailed",
        "it continues at the failed state"
    );
    assert_eq!(
        entered(&h, "MarkProcessing"),
        1,
        "states before are not run again"
    );
    assert_eq!(entered(&h, "MarkFailed"), 2);
    let p = s.wait_final(&id, Duration::from_secs(10));
    assert_eq!(p["status"], "FAILED", "{p}");
    assert_eq!(
        statuses(&p).iter().filter(|s| *s == "FAILED").count(),
        1,
        "final exactly once: {p}"
    );
    assert!(p["settlement"].is_null(), "no ledger for a FAILED payment");

    // Over HTTP: it stopped in the Fail state now, which fails again; the count goes on.
    let (status, r) = s.post(&format!("/_local/executions/{name}/redrive"), &json!({}));
    assert_eq!(status, 200, "{r}");
    let d = eventually("the second redrive ends", Duration::from_secs(20), || {
        let (_, d) = s.get(&format!("/_local/executions/{name}"));
        (d["status"] == "FAILED"
            && types(&d)
                .iter()
                .filter(|t| *t == "ExecutionRedriven")
                .count()
                == 2)
            .then_some(d)
    });
    assert_eq!(d["redriveCount"], 2, "{d}");
    assert_eq!(entered(&d, "MarkFailed"), 2, "the Fail state only: {d}");
    let (ok, described, _) = cli(&s, &["executions", "describe", &name]);
    assert!(ok);
    assert_eq!(described["redriveCount"], 2);
    assert!(described.get("events").is_none());
    let (ok, list, _) = cli(&s, &["executions", "list", "--status", "FAILED"]);
    assert!(ok);
    assert_eq!(list["executions"].as_array().unwrap().len(), 1, "{list}");
}

#[test]
fn a_succeeded_execution_is_not_redrivable_and_unknown_is_404() {
    let (_d, s) = server(&[]);
    let id = s.pay("10.00", "ACC-OK");
    let p = s.wait_final(&id, Duration::from_secs(10));
    assert_eq!(p["status"], "SETTLED", "{p}");
    assert_balanced(&p);
    let name = only_execution(&s, "SUCCEEDED")["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/_local/executions/{name}/redrive");
    let refused = s.post(&path, &json!({}));
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("SUCCEEDED"),
        "{}",
        refused.1
    );
    assert_error(refused, 409, "execution_not_redrivable");
    let (_, d) = s.get(&format!("/_local/executions/{name}"));
    assert_eq!(d["redriveStatus"], "NOT_REDRIVABLE", "{d}");
    assert_eq!(
        d["redriveStatusReason"],
        "Execution is SUCCEEDED and cannot be redriven."
    );
    let (ok, _, err) = cli(&s, &["executions", "redrive", &name]);
    assert!(!ok);
    assert!(err.contains("execution_not_redrivable"), "{err}");
    assert_error(
        s.post("/_local/executions/nope/redrive", &json!({})),
        404,
        "not_found",
    );
}

#[test]
fn queues_peek_shows_a_dead_letter_message() {
    let (_d, s) = server(&["--max-receive-count", "2", "--visibility-timeout-secs", "1"]);
    let (status, _) = s.post_raw(
        "/_local/queues/eventpay-payments/messages",
        b"not a change record".to_vec(),
        None,
    );
    assert_eq!(status, 200);
    let peeked = eventually(
        "the poison message in the DLQ",
        Duration::from_secs(20),
        || {
            let (ok, out, _) = cli(
                &s,
                &["queues", "peek", "eventpay-payments-dlq", "--max", "5"],
            );
            (ok && out["messages"].as_array().is_some_and(|m| m.len() == 1)).then_some(out)
        },
    );
    let m = &peeked["messages"][0];
    assert_eq!(m["body"], "not a change record", "{peeked}");
    // Refused at once as not a change record, so it was never counted as received.
    assert!(m["receive_count"].is_u64(), "{m}");
    assert!(m["sent_at_ms"].is_i64(), "{m}");
    let (ok, list, _) = cli(&s, &["queues", "list"]);
    assert!(ok);
    assert_eq!(list["queues"][0]["dead_letter_depth"], 1, "{list}");
    let (ok, moved, _) = cli(&s, &["queues", "redrive", "eventpay-payments"]);
    assert!(ok);
    assert_eq!(moved["moved"], 1);
    assert_error(s.get("/_local/queues/nope/messages"), 404, "not_found");
    assert_error(
        s.get("/_local/queues/eventpay-payments/messages?max=x"),
        400,
        "invalid_max",
    );
}
