//! Crash and restart: payments accepted before a kill -9 or a Ctrl-C all settle after a restart
//! on the same data dir, exactly once.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;

use support::{Server, assert_balanced, eventually, statuses};

/// A message received but not yet deleted at the kill reappears after its visibility timeout, as
/// on SQS; a short one keeps the test quick.
const FLAGS: [&str; 2] = ["--visibility-timeout-secs", "1"];

fn settle_all_after_restart(hold_in_retry: bool, stop: impl FnOnce(Server)) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &FLAGS);
    if hold_in_retry {
        let (status, _) = s.post(
            "/_local/faults",
            &json!({"function": "eventpay-post-ledger", "failures": 1000}),
        );
        assert_eq!(status, 200);
    }
    let ids: Vec<String> = (0..20)
        .map(|i| s.pay(&format!("{}.00", 100 + i), "ACC-R"))
        .collect();
    if hold_in_retry {
        wait_all_running(&s, &ids);
    }
    stop(s);
    let s = Server::start(dir.path(), &FLAGS);
    for id in &ids {
        let p = s.wait_final(id, Duration::from_secs(20));
        assert_eq!(p["status"], "SETTLED", "{p}");
        assert_eq!(
            statuses(&p),
            ["PENDING", "PROCESSING", "SETTLED"],
            "settled once: {p}"
        );
        assert_eq!(
            p["settlement"]["transfers"].as_array().unwrap().len(),
            3,
            "{p}"
        );
        assert_balanced(&p);
    }
    // The executions end with their notification step, just after the payment settles.
    let execs = eventually("every execution SUCCEEDED", Duration::from_secs(10), || {
        let (_, execs) = s.get("/_local/executions");
        let all = execs["executions"].as_array().unwrap().clone();
        all.iter()
            .all(|e| e["status"] == "SUCCEEDED")
            .then_some(all)
    });
    assert_eq!(execs.len(), ids.len(), "one execution per payment");
    let (_, list) = s.get("/payments?limit=100");
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        ids.len(),
        "nothing lost, nothing twice"
    );
    // The whole book reconciles too: transfers, balances and payments agree.
    support::assert_book_reconciles(dir.path());
}

#[test]
fn kill_9_right_after_accepting_loses_nothing_and_settles_once() {
    // Most payments are still in the change stream or on the queue at the kill.
    settle_all_after_restart(false, Server::kill9);
}

/// Injected ledger faults (in memory, gone after the restart) hold every execution in a retry
/// wait; the kill lands there, and the restarted engine resumes each execution from its last step.
fn wait_all_running(s: &Server, ids: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, execs) = s.get("/_local/executions");
        let running = execs["executions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["status"] == "RUNNING")
            .count();
        if running == ids.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "executions did not all start: {execs}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for id in ids {
        let (_, p) = s.get(&format!("/payments/{id}"));
        assert_ne!(p["status"], "SETTLED", "{p}");
    }
}

#[test]
fn kill_9_with_executions_mid_workflow_resumes_them() {
    settle_all_after_restart(true, Server::kill9);
}

#[test]
fn ctrl_c_stops_cleanly_and_a_restart_resumes() {
    settle_all_after_restart(true, |s| {
        let status = s.interrupt();
        assert!(status.success(), "clean exit on SIGINT: {status:?}");
    });
}

/// A bench run at a steady rate keeps going while the runtime is killed with -9 and restarted on
/// the same port: every payment it was told was accepted settles exactly once with a balanced
/// ledger, and so does every payment in the database (including any accepted just before the
/// kill whose answer was lost).
#[test]
fn kill_9_during_a_bench_run_loses_nothing_and_settles_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let spec = support::spec_dir();
    let s = Server::start_on(&addr, dir.path(), &spec, &FLAGS);
    let bench = std::process::Command::new(support::binary())
        .args([
            "bench",
            "--url",
            &s.base,
            "--rate",
            "150",
            "--duration",
            "6",
        ])
        .args([
            "--concurrency",
            "32",
            "--settle-timeout",
            "90",
            "--probe-secs",
            "0",
        ])
        .args(["--json", "--check"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start bench");
    std::thread::sleep(Duration::from_millis(2500));
    s.kill9();
    let s = Server::start_on(&addr, dir.path(), &spec, &FLAGS);
    let out = bench.wait_with_output().expect("bench ends");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bench report: {e}"));
    assert!(out.status.success(), "bench checks: {}", report["checks"]);
    assert!(report["checks"]["passed"] == true, "{}", report["checks"]);
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/payments?limit=100&cursor={c}"),
            None => "/payments?limit=100".to_owned(),
        };
        let (_, page) = s.get(&path);
        for p in page["items"].as_array().unwrap() {
            let p = s.wait_final(p["payment_id"].as_str().unwrap(), Duration::from_secs(30));
            assert_eq!(p["status"], "SETTLED", "{p}");
            assert_eq!(
                statuses(&p),
                ["PENDING", "PROCESSING", "SETTLED"],
                "once: {p}"
            );
            assert_balanced(&p);
            seen += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let accepted = report["load"]["accepted"].as_u64().unwrap_or(0) as usize;
    assert!(
        seen >= accepted && accepted > 0,
        "{seen} stored, {accepted} accepted"
    );
    support::assert_book_reconciles(dir.path());
}
