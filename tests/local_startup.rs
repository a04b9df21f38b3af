//! Start-up refuses a broken spec file with a message naming the file and the path inside it;
//! the data dir is the runtime's own; the OpenAPI document loaded is served.

mod support;

use std::path::Path;
use std::process::Command;

/// Runs `up` with a spec changed by `edit`; returns (exit code, stderr).
fn start_with(edit: impl FnOnce(&Path)) -> (Option<i32>, String) {
    let spec = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    support::copy_spec(spec.path());
    edit(spec.path());
    let out = Command::new(support::binary())
        .args(["up", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--spec-dir")
        .arg(spec.path())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn replace(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{from} not in {}", file.display());
    std::fs::write(file, text.replace(from, to)).unwrap();
}

#[test]
fn broken_rule_pattern_names_file_and_path() {
    let (code, err) = start_with(|s| replace(&s.join("rules/high-value.json"), "\">=\"", "\"=>\""));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("high-value.json"), "{err}");
    assert!(err.contains("event_pattern"), "{err}");
}

#[test]
fn invalid_json_in_rule_names_the_file() {
    let (code, err) = start_with(|s| std::fs::write(s.join("rules/audit.json"), "{ nope").unwrap());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("audit.json"), "{err}");
}

#[test]
fn state_machine_with_unknown_next_names_the_state() {
    let (code, err) = start_with(|s| {
        replace(
            &s.join("settlement.asl.json"),
            "\"Next\": \"IsApproved\"",
            "\"Next\": \"Nowhere\"",
        )
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("settlement.asl.json"), "{err}");
    assert!(err.contains("Validate"), "{err}");
}

#[test]
fn unknown_placeholder_in_state_machine_is_refused() {
    let (code, err) = start_with(|s| {
        replace(
            &s.join("settlement.asl.json"),
            "${validate_function_arn}",
            "${nope_arn}",
        )
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nope_arn"), "{err}");
}

#[test]
fn bad_rates_file_is_refused() {
    let (code, err) = start_with(|s| replace(&s.join("rates.json"), "\"0.9215\"", "\"-1\""));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("rates.json"), "{err}");
}

#[test]
fn openapi_operation_not_served_is_refused() {
    let (code, err) = start_with(|s| {
        replace(
            &s.join("openapi.yaml"),
            "  /quotes:\n    post:",
            "  /quotes:\n    delete:\n      responses: {}\n    post:",
        )
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("openapi.yaml") && err.contains("/quotes"),
        "{err}"
    );
}

#[test]
fn a_second_runtime_on_a_data_dir_in_use_refuses_naming_the_holder() {
    let data = tempfile::tempdir().unwrap();
    let first = support::Server::start(data.path(), &[]);
    let out = Command::new(support::binary())
        .args(["up", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--spec-dir")
        .arg(support::spec_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the second instance must not run");
    assert!(
        stderr.contains(&format!("pid {}", first.child.id())),
        "names the holder: {stderr}"
    );
}

#[test]
fn a_removed_database_stops_accepting_payments() {
    let data = tempfile::tempdir().unwrap();
    let s = support::Server::start(data.path(), &[]);
    let id = s.pay("10.00", "ACC-B");
    s.wait_final(&id, std::time::Duration::from_secs(10));
    for f in [
        "eventpay.sqlite3",
        "eventpay.sqlite3-wal",
        "eventpay.sqlite3-shm",
    ] {
        let _ = std::fs::remove_file(data.path().join(f));
    }
    let q = s.quote("USD", "EUR", "10.00");
    let (status, body) = s.post(
        "/payments",
        &support::Server::payment_body(q["token"].as_str().unwrap(), "ACC-B"),
    );
    assert_eq!(
        status, 503,
        "no 2xx once the database is gone: {status} {body}"
    );
    assert_eq!(body["error"]["code"], "unavailable", "a JSON error: {body}");
}

#[test]
fn the_loaded_openapi_document_is_served() {
    let (data, spec) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    support::copy_spec(spec.path());
    // A document of the spec dir given (not one built in): what start-up checked is served.
    let file = spec.path().join("openapi.yaml");
    let text = std::fs::read_to_string(&file).unwrap() + "# served as loaded\n";
    std::fs::write(&file, &text).unwrap();
    let s = support::Server::start_with_spec(data.path(), spec.path(), &[]);
    let resp = support::client()
        .get(s.url("/openapi.yaml"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/yaml");
    assert_eq!(resp.text().unwrap(), text);
}
