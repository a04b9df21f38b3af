//! `eventpay bench` end to end: the built binary starts its own runtime, drives it in a closed and
//! an open loop, and its `--check` must pass (every accepted payment final, none twice, ledgers
//! balanced, report well-formed). Correctness only: no timing is asserted, speed is BENCHMARKS.md's.

mod support;

use std::process::Command;

use serde_json::Value;

/// Runs `eventpay bench <args> --json --check` and returns its report.
fn bench(args: &[&str]) -> Value {
    let out = Command::new(support::binary())
        .arg("bench")
        .args(args)
        .args(["--json", "--check", "--probe-secs", "0.2", "--spec-dir"])
        .arg(support::spec_dir())
        .output()
        .expect("run eventpay bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not one JSON object ({e}): {stdout}"))
}

fn number(report: &Value, path: &str) -> f64 {
    report
        .pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{path} is not a number in {report:#}"))
}

/// The fields every report has, and what the checks say.
fn assert_correct(report: &Value, accepted: u64) {
    for check in [
        "accepted_any",
        "all_final",
        "no_duplicates",
        "ledgers_balanced",
        "histories_complete",
        "report_well_formed",
        "passed",
    ] {
        assert_eq!(report["checks"][check], true, "{check} in {report:#}");
    }
    assert_eq!(report["checks"]["failures"], serde_json::json!([]));
    assert_eq!(
        number(report, "/load/accepted") as u64,
        accepted,
        "{report:#}"
    );
    assert_eq!(number(report, "/settle/final") as u64, accepted);
    assert_eq!(number(report, "/settle/not_final"), 0.0);
    assert_eq!(report["settle"]["timed_out"], false);
    let by_status: u64 = report["settle"]["by_status"]
        .as_object()
        .expect("by_status")
        .values()
        .map(|n| n.as_u64().expect("count"))
        .sum();
    assert_eq!(by_status, accepted);
    // Nothing in the load is refused by the default settlement rules.
    assert_eq!(report["settle"]["by_status"]["SETTLED"], accepted);
    assert_eq!(report["errors"], serde_json::json!({}));
    for path in [
        "/load/elapsed_s",
        "/load/accepted_per_s",
        "/load/quote_requests_per_s",
        "/settle/settled_per_s",
        "/settle/final_per_s",
        "/post_to_final_ms/p50",
        "/post_to_final_ms/p95",
        "/post_to_final_ms/p99",
        "/post_to_final_ms/max",
        "/http_latency_ms/quote/p99",
        "/http_latency_ms/payment/p99",
        "/http_latency_ms/pair/max",
        "/resources/data_dir_bytes",
        "/resources/bytes_on_disk_per_payment",
        "/resources/runtime_peak_rss_bytes",
        "/resources/runtime_cpu_us_per_payment",
        "/resources/client_cpu_us_per_payment",
        "/disk_limit/commits_per_s_normal",
        "/disk_limit/commits_per_s_full",
        "/disk_limit/rows_per_s_batch_32",
        "/disk_limit/rows_per_s_batch_256",
        "/ratios/settled_per_s_to_commits_per_s",
        "/ratios/settled_per_s_to_batched_rows_per_s",
        "/ratios/accepted_per_s_to_commits_per_s",
    ] {
        let v = number(report, path);
        assert!(v.is_finite() && v >= 0.0, "{path} = {v}");
    }
    assert_eq!(
        number(report, "/post_to_final_ms/count") as u64,
        accepted,
        "every payment's latency comes from its own history"
    );
}

#[test]
fn closed_loop_run_settles_every_payment_once_with_balanced_ledgers() {
    let report = bench(&["--payments", "2000", "--concurrency", "32"]);
    assert_eq!(report["run"]["mode"], "closed");
    assert!(report["load"]["max_start_lag_ms"].is_null());
    assert_correct(&report, 2000);
    assert_eq!(number(&report, "/load/quote_requests"), 2000.0);
}

#[test]
fn open_loop_run_settles_every_payment_once_with_balanced_ledgers() {
    let report = bench(&["--rate", "100", "--duration", "2", "--durability", "full"]);
    assert_eq!(report["run"]["mode"], "open");
    assert_eq!(report["run"]["durability"], "full");
    assert!(number(&report, "/load/max_start_lag_ms") >= 0.0);
    assert_correct(&report, 200);
}

#[test]
fn quotes_only_run_sends_no_payments() {
    let report = bench(&["--quotes-only", "--payments", "500", "--concurrency", "16"]);
    assert_eq!(report["run"]["quotes_only"], true);
    assert_eq!(report["checks"]["passed"], true, "{report:#}");
    assert_eq!(number(&report, "/load/quote_requests"), 500.0);
    assert_eq!(number(&report, "/http_latency_ms/quote/count"), 500.0);
    assert_eq!(number(&report, "/load/payment_requests"), 0.0);
    assert_eq!(number(&report, "/load/accepted"), 0.0);
    assert!(number(&report, "/load/quote_requests_per_s") > 0.0);
}

#[test]
fn an_unreachable_url_fails_clearly() {
    let out = Command::new(support::binary())
        .args(["bench", "--url", "http://127.0.0.1:9", "--payments", "3"])
        .args(["--probe-secs", "0", "--settle-timeout", "1", "--check"])
        .output()
        .expect("run eventpay bench");
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("transport connect") && stdout.contains("FAILED"),
        "{stdout}"
    );
}
