//! Runs every EventBridge pattern case recorded against AWS (tests/aws, from LocalStack's suite)
//! and reports each case whose outcome differs from AWS's, by name.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use eventpay_patterns::Pattern;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Match,
    NoMatch,
    Invalid,
}

struct Case {
    name: String,
    event: Value,
    pattern: Value,
    expected: Expected,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws")
}

fn read_json5(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap();
    json5::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Some(name) = file.strip_suffix(".json5") else {
            continue;
        };
        let doc = read_json5(&path);
        let expected = if name.ends_with("_EXC") {
            Expected::Invalid
        } else if name.ends_with("_NEG") {
            Expected::NoMatch
        } else {
            Expected::Match
        };
        out.push(Case {
            name: name.to_string(),
            event: doc["Event"].clone(),
            pattern: doc["EventPattern"].clone(),
            expected,
        });
    }
    // The one pair kept as two plain JSON files.
    out.push(Case {
        name: "complex_multi_key_event".into(),
        event: read_json5(&dir().join("complex_multi_key_event.json")),
        pattern: read_json5(&dir().join("complex_multi_key_event_pattern.json")),
        expected: Expected::Match,
    });
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// AWS's error message per case, the text after "Reason: ".
fn recorded_reasons() -> BTreeMap<String, String> {
    let snapshot: Value = serde_json::from_str(
        &fs::read_to_string(dir().join("aws-recorded-results.snapshot.json")).unwrap(),
    )
    .unwrap();
    let mut out = BTreeMap::new();
    for (key, entry) in snapshot.as_object().unwrap() {
        let Some(stem) = key.rsplit_once('[').and_then(|(_, s)| s.strip_suffix(']')) else {
            continue;
        };
        let message = &entry["recorded-content"][stem]["exception_message"]["Error"]["Message"];
        if let Some(reason) = message
            .as_str()
            .and_then(|m| m.split_once("Reason: "))
            .map(|(_, r)| r.to_string())
        {
            out.insert(stem.to_string(), reason);
        }
    }
    out
}

fn outcome(case: &Case) -> Result<bool, String> {
    Pattern::from_value(&case.pattern)
        .map(|p| p.matches(&case.event))
        .map_err(|e| e.reason)
}

fn run(filter: Option<Expected>) -> usize {
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases()
        .iter()
        .filter(|c| filter.is_none_or(|f| f == c.expected))
    {
        ran += 1;
        let got = outcome(case);
        let ok = matches!(
            (case.expected, &got),
            (Expected::Match, Ok(true))
                | (Expected::NoMatch, Ok(false))
                | (Expected::Invalid, Err(_))
        );
        if !ok {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name, case.expected, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} AWS cases disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    ran
}

/// 155 `.json5` cases plus the pair kept as two `.json` files: 157 data files, 156 cases.
#[test]
fn all_aws_cases_agree() {
    assert_eq!(run(None), 156);
}

#[test]
fn matching_cases() {
    run(Some(Expected::Match));
}

#[test]
fn non_matching_cases() {
    run(Some(Expected::NoMatch));
}

#[test]
fn invalid_cases() {
    run(Some(Expected::Invalid));
}

/// Every invalid case must be refused with the very reason AWS gave.
#[test]
fn invalid_reasons_match_aws_wording() {
    let recorded = recorded_reasons();
    let mut compared = 0;
    let mut differing = Vec::new();
    for case in cases().iter().filter(|c| c.expected == Expected::Invalid) {
        let Some(aws) = recorded.get(&case.name) else {
            continue;
        };
        compared += 1;
        match outcome(case) {
            Err(ours) if ours == *aws => {}
            other => differing.push(format!("{}:\n  aws: {aws}\n  ours: {other:?}", case.name)),
        }
    }
    eprintln!(
        "{} of {compared} recorded AWS error messages reproduced",
        compared - differing.len()
    );
    assert!(
        differing.is_empty(),
        "{} of {compared} messages differ:\n{}",
        differing.len(),
        differing.join("\n")
    );
}
