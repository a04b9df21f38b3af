//! `eventpay up --watch` against the built binary: a good edit of `spec/` applies to new work, a
//! broken one is refused while the running configuration keeps serving, and an execution in
//! flight finishes on the state machine version it started with.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::{Server, eventually};

const SETTLEMENT: &str = "settlement.asl.json";

fn edit_json(file: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(file, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// The spec status in the console's overview.
fn spec_status(s: &Server) -> Value {
    let (status, o) = s.get("/console/api/overview");
    assert_eq!(status, 200, "{o}");
    o["spec"].clone()
}

fn wait_generation(s: &Server, generation: u64) -> Value {
    eventually("the reload is applied", Duration::from_secs(30), || {
        let st = spec_status(s);
        (st["generation"].as_u64() == Some(generation)).then_some(st)
    })
}

/// The state names an execution entered, from its history.
fn states_entered(s: &Server, payment_id: &str) -> (String, Vec<String>) {
    let (_, t) = s.get(&format!("/console/api/payments/{payment_id}/timeline"));
    let name = t["execution"].as_str().unwrap_or_default().to_owned();
    let (_, x) = s.get(&format!("/console/api/executions/{name}"));
    let entered = x["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["stateEnteredEventDetails"]["name"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    (
        x["execution"]["status"].as_str().unwrap_or("").to_owned(),
        entered,
    )
}

#[test]
fn good_and_broken_edits_of_rates_and_rules() {
    let spec = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    support::copy_spec(spec.path());
    let s = Server::start_with_spec(data.path(), spec.path(), &["--watch"]);
    let before = spec_status(&s);
    assert_eq!(before["watching"], true, "{before}");
    assert_eq!(before["generation"], 0);
    let old_rate = s.quote("USD", "EUR", "100.00")["rate"].clone();

    // A good edit: the next quote is priced by the new table.
    edit_json(&spec.path().join("rates.json"), |v| {
        v["rates"]["EUR"] = "0.95".into();
    });
    let after = wait_generation(&s, 1);
    assert_ne!(
        after["files"], before["files"],
        "the live file versions changed"
    );
    let new_rate = s.quote("USD", "EUR", "100.00")["rate"].clone();
    assert_ne!(new_rate, old_rate, "priced at the new mid-market rate");

    // A broken edit: refused with file and path, the running configuration keeps serving.
    let rule = spec.path().join("rules/high-value.json");
    let good_rule = std::fs::read_to_string(&rule).unwrap();
    std::fs::write(&rule, good_rule.replace("\">=\"", "\"=>\"")).unwrap();
    let refused = eventually("the edit is refused", Duration::from_secs(30), || {
        let st = spec_status(&s);
        st["error"].as_str().map(str::to_owned)
    });
    assert!(refused.contains("high-value.json"), "{refused}");
    assert!(refused.contains("event_pattern"), "{refused}");
    assert_eq!(spec_status(&s)["generation"], 1, "nothing applied");
    let id = s.pay("100.00", "GB29NWBK60161331926819");
    assert_eq!(
        s.wait_final(&id, Duration::from_secs(30))["status"],
        "SETTLED"
    );

    // Fixed again: applied, the error cleared.
    std::fs::write(&rule, good_rule).unwrap();
    let fixed = wait_generation(&s, 2);
    assert!(fixed["error"].is_null(), "{fixed}");
}

#[test]
fn an_execution_in_flight_finishes_on_its_version() {
    let spec = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    support::copy_spec(spec.path());
    let asl = spec.path().join(SETTLEMENT);
    let original = std::fs::read_to_string(&asl).unwrap();
    // Version 1 holds each execution in a Wait state after MarkProcessing.
    edit_json(&asl, |v| {
        let next = v["States"]["MarkProcessing"]["Next"].clone();
        v["States"]["Hold"] = serde_json::json!({"Type": "Wait", "Seconds": 8, "Next": next});
        v["States"]["MarkProcessing"]["Next"] = "Hold".into();
    });
    let s = Server::start_with_spec(data.path(), spec.path(), &["--watch"]);
    let v1 = spec_status(&s)["state_machine_version"].clone();
    let held = s.pay("100.00", "GB29NWBK60161331926819");
    eventually(
        "the first execution waits in Hold",
        Duration::from_secs(30),
        || {
            let (_, entered) = states_entered(&s, &held);
            entered.iter().any(|n| n == "Hold").then_some(())
        },
    );

    // Version 2 has no Hold state: were the held execution moved onto it, it could not go on.
    std::fs::write(&asl, original).unwrap();
    let v2 = wait_generation(&s, 1)["state_machine_version"].clone();
    assert_ne!(v1, v2);
    let fresh = s.pay("100.00", "GB29NWBK60161331926819");
    assert_eq!(
        s.wait_final(&fresh, Duration::from_secs(30))["status"],
        "SETTLED"
    );
    let (_, entered) = states_entered(&s, &fresh);
    assert!(!entered.iter().any(|n| n == "Hold"), "{entered:?}");

    // The console draws each execution's own version: the held one (still in flight) the
    // definition with Hold, the fresh one the live definition without it.
    let graph_of = |payment: &str| {
        let (_, t) = s.get(&format!("/console/api/payments/{payment}/timeline"));
        let (status, x) = s.get(&format!(
            "/console/api/executions/{}",
            t["execution"].as_str().unwrap()
        ));
        assert_eq!(status, 200, "{x}");
        x
    };
    let x = graph_of(&held);
    assert_eq!(x["execution"]["status"], "RUNNING", "still in flight");
    assert!(x["definition"]["States"].get("Hold").is_some(), "{x}");
    assert_eq!(x["definition"]["States"]["MarkProcessing"]["Next"], "Hold");
    assert_eq!(
        (&x["definition_version"], &x["definition_current"]),
        (&v1, &Value::Bool(false))
    );
    let x = graph_of(&fresh);
    assert!(x["definition"]["States"].get("Hold").is_none(), "{x}");
    assert_eq!(
        (&x["definition_version"], &x["definition_current"]),
        (&v2, &Value::Bool(true))
    );

    // Killed while the held execution waits: the restarted runtime (spec/ is now version 2)
    // resumes it on version 1, read back from the database.
    s.kill9();
    let s = Server::start_with_spec(data.path(), spec.path(), &["--watch"]);
    assert_eq!(spec_status(&s)["state_machine_version"], v2);

    let done = s.wait_final(&held, Duration::from_secs(60));
    assert_eq!(done["status"], "SETTLED", "{done}");
    support::assert_balanced(&done);
    let (status, entered) = eventually("the held execution ends", Duration::from_secs(30), || {
        let (status, entered) = states_entered(&s, &held);
        (status != "RUNNING").then_some((status, entered))
    });
    assert_eq!(status, "SUCCEEDED");
    assert!(entered.iter().any(|n| n == "Hold"), "{entered:?}");
    let (_, t) = s.get(&format!("/console/api/payments/{held}/timeline"));
    let name = t["execution"].as_str().unwrap();
    let (_, x) = s.get(&format!("/_local/executions/{name}"));
    assert_eq!(x["definition"], v1, "described with the version it ran on");
}
