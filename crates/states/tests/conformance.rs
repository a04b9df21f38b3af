//! Runs every execution recorded against AWS Step Functions (tests/aws/cases, see
//! tests/aws/README.md for provenance) and compares status and output, or error and cause, and
//! the history event types. Cases listed in tests/aws/known-gaps.txt must fail, all others must
//! pass. `UPDATE_KNOWN_GAPS=1 cargo test --test conformance` rewrites the list.

use eventpay_states::{
    ExecutionStatus, HistoryEvent, StateMachine, TaskError, TaskInvoker, VirtualClock,
    run_to_completion_with,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

/// The cases hold no Task states; any call is a bug.
struct NoTasks;

impl TaskInvoker for NoTasks {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        _input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        let e = TaskError {
            error: "NoTasks".into(),
            cause: format!("unexpected task {resource}"),
        };
        Box::pin(std::future::ready(Err(e)))
    }
}

/// Matches `actual` against `expected`, where the snapshot masked parts of expected strings.
fn matches(expected: &Value, actual: &Value, placeholders: &[String]) -> bool {
    match (expected, actual) {
        (Value::String(e), Value::String(a)) => string_matches(e, a, placeholders),
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av, placeholders)))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y, placeholders))
        }
        // A masked value may stand for a non-string (e.g. a date replaced in a number field).
        (Value::String(e), _) if placeholders.iter().any(|p| p == e) => true,
        (e, a) => e == a,
    }
}

fn string_matches(e: &str, a: &str, placeholders: &[String]) -> bool {
    if e == a {
        return true;
    }
    let relevant: Vec<&String> = placeholders
        .iter()
        .filter(|p| e.contains(p.as_str()))
        .collect();
    if relevant.is_empty() {
        return false;
    }
    let mut pattern = regex::escape(e);
    for p in relevant {
        pattern = pattern.replace(&regex::escape(p), "(?s:.*)");
    }
    regex::Regex::new(&format!("^{pattern}$")).is_ok_and(|r| r.is_match(a))
}

fn uses_branches(types: &[String]) -> bool {
    types
        .iter()
        .any(|t| t.starts_with("Parallel") || t.starts_with("Map"))
}

/// None when the case passes, else what differed.
async fn run_case(case: &Value) -> Option<String> {
    let def = &case["definition"];
    let machine = match StateMachine::from_value(def) {
        Ok(m) => m,
        Err(e) => return Some(format!("definition refused: {e}")),
    };
    let expected = &case["expected"];
    let placeholders: Vec<String> = case["placeholders"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let clock = VirtualClock::new(chrono::Utc::now());
    let (exec, history) =
        run_to_completion_with(&machine, case["input"].clone(), &NoTasks, &clock).await;
    let status = serde_json::to_value(exec.status()).unwrap_or_default();
    if status != expected["status"] {
        return Some(format!(
            "status {status} (error {:?}, cause {:?}), expected {}",
            exec.error(),
            exec.cause(),
            expected["status"]
        ));
    }
    match exec.status() {
        ExecutionStatus::Succeeded => {
            let out = exec.output().cloned().unwrap_or_default();
            if !matches(&expected["output"], &out, &placeholders) {
                return Some(format!("output {out}, expected {}", expected["output"]));
            }
        }
        ExecutionStatus::Failed => {
            for (key, got) in [("error", exec.error()), ("cause", exec.cause())] {
                let want = expected.get(key).and_then(Value::as_str);
                let ok = match (want, got) {
                    (None, None) => true,
                    (Some(w), Some(g)) => string_matches(w, g, &placeholders),
                    _ => false,
                };
                if !ok {
                    return Some(format!("{key} {got:?}, expected {want:?}"));
                }
            }
        }
        _ => {}
    }
    if let Some(want) = case["expected_history_event_types"].as_array() {
        let want: Vec<String> = want
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let got: Vec<String> = history
            .iter()
            .map(|e: &HistoryEvent| e.event_type.clone())
            .collect();
        // Inside Parallel/Map the interleaving depends on timing: compare as multisets.
        let same = if uses_branches(&want) {
            let (mut a, mut b) = (want.clone(), got.clone());
            a.sort();
            b.sort();
            a == b
        } else {
            want == got
        };
        if !same {
            return Some(format!("history {got:?}, expected {want:?}"));
        }
    }
    None
}

fn known_gaps(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((id, reason)) => (id.to_string(), reason.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

fn reason_for(case: &Value, failure: &str) -> String {
    let def = case["definition"].to_string();
    let mut s: String = failure.chars().take(150).collect();
    if def.contains("JSONata") {
        s = format!("JSONata: {s}");
    }
    s = s.replace('\n', " ");
    s
}

#[tokio::test]
async fn aws_recorded_executions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws");
    let mut files: Vec<_> = std::fs::read_dir(dir.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let gaps_path = dir.join("known-gaps.txt");
    let gaps = known_gaps(&gaps_path);
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    let mut cases = BTreeMap::new();
    for f in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let id = case["id"].as_str().unwrap().to_string();
        if let Some(why) = run_case(&case).await {
            failed.insert(id.clone(), why);
        }
        cases.insert(id, case);
    }
    let total = files.len();
    println!(
        "conformance: {} of {total} AWS-recorded executions pass ({} known gaps)",
        total - failed.len(),
        failed.len()
    );
    if std::env::var_os("UPDATE_KNOWN_GAPS").is_some() {
        let mut out = String::from(
            "# Conformance cases that do not pass yet: <case id> <reason>. Kept true by tests/conformance.rs.\n",
        );
        for (id, why) in &failed {
            let reason = gaps
                .get(id)
                .filter(|r| !r.is_empty())
                .cloned()
                .unwrap_or_else(|| reason_for(&cases[id], why));
            out.push_str(&format!("{id} {reason}\n"));
        }
        std::fs::write(&gaps_path, out).unwrap();
        return;
    }
    let unexpected: Vec<_> = failed
        .iter()
        .filter(|(id, _)| !gaps.contains_key(*id))
        .collect();
    let stale: BTreeSet<_> = gaps.keys().filter(|id| !failed.contains_key(*id)).collect();
    for (id, why) in &unexpected {
        println!("FAIL {id}: {why}");
    }
    for id in &stale {
        println!("PASSES BUT LISTED IN known-gaps.txt: {id}");
    }
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "{} unexpected failures, {} stale known gaps",
        unexpected.len(),
        stale.len()
    );
}
