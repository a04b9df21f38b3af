//! `Retry` and `Catch`: retriers and catchers with their error lists.

use super::fields::{check_fields, err, nullable_path, required_string, string, template_in, uint};
use super::model::{Catcher, Retrier};
use crate::error::DefinitionError;
use serde_json::{Map, Value};

fn error_list(obj: &Map<String, Value>, at: &str) -> Result<Vec<String>, DefinitionError> {
    let list = obj
        .get("ErrorEquals")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            err(
                format!("{at}/ErrorEquals"),
                "a non-empty array of error names is required",
            )
        })?;
    let names: Vec<String> = list
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if names.is_empty() || names.len() != list.len() {
        return Err(err(
            format!("{at}/ErrorEquals"),
            "must be a non-empty array of strings",
        ));
    }
    if let Some(i) = names.iter().position(|n| n == "States.ALL")
        && (names.len() != 1 || i != 0)
    {
        return Err(err(
            format!("{at}/ErrorEquals"),
            "States.ALL must appear alone",
        ));
    }
    Ok(names)
}

/// A `States.ALL` entry must be the last Retrier or Catcher.
fn all_is_last(errors: &[Vec<String>], at: &str, field: &str) -> Result<(), DefinitionError> {
    let n = errors.len();
    match errors
        .iter()
        .position(|e| e.iter().any(|x| x == "States.ALL"))
    {
        Some(i) if i + 1 != n => Err(err(
            format!("{at}/{field}/{i}/ErrorEquals"),
            format!("States.ALL must be in the last {field} entry"),
        )),
        _ => Ok(()),
    }
}

pub(super) fn retriers(
    obj: &Map<String, Value>,
    at: &str,
) -> Result<Vec<Retrier>, DefinitionError> {
    let Some(v) = obj.get("Retry") else {
        return Ok(vec![]);
    };
    let list = v
        .as_array()
        .ok_or_else(|| err(format!("{at}/Retry"), "must be an array"))?;
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let at = format!("{at}/Retry/{i}");
        let r = r.as_object().ok_or_else(|| err(&at, "must be an object"))?;
        check_fields(
            r,
            &at,
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
            "a Retrier",
        )?;
        let interval_seconds = uint(r, &at, "IntervalSeconds")?.unwrap_or(1);
        if interval_seconds == 0 {
            return Err(err(format!("{at}/IntervalSeconds"), "must be at least 1"));
        }
        let backoff_rate = match r.get("BackoffRate") {
            None => 2.0,
            Some(v) => v
                .as_f64()
                .filter(|b| *b >= 1.0)
                .ok_or_else(|| err(format!("{at}/BackoffRate"), "must be a number >= 1.0"))?,
        };
        let full_jitter = match string(r, &at, "JitterStrategy")?.as_deref() {
            None | Some("NONE") => false,
            Some("FULL") => true,
            Some(other) => {
                return Err(err(
                    format!("{at}/JitterStrategy"),
                    format!("must be FULL or NONE, not '{other}'"),
                ));
            }
        };
        out.push(Retrier {
            errors: error_list(r, &at)?,
            interval_seconds,
            max_attempts: uint(r, &at, "MaxAttempts")?.unwrap_or(3),
            backoff_rate,
            max_delay_seconds: uint(r, &at, "MaxDelaySeconds")?,
            full_jitter,
        });
    }
    all_is_last(
        &out.iter().map(|r| r.errors.clone()).collect::<Vec<_>>(),
        at,
        "Retry",
    )?;
    Ok(out)
}

pub(super) fn catchers(
    obj: &Map<String, Value>,
    at: &str,
    jsonata: bool,
) -> Result<Vec<Catcher>, DefinitionError> {
    let Some(v) = obj.get("Catch") else {
        return Ok(vec![]);
    };
    let list = v
        .as_array()
        .ok_or_else(|| err(format!("{at}/Catch"), "must be an array"))?;
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let at = format!("{at}/Catch/{i}");
        let c = c.as_object().ok_or_else(|| err(&at, "must be an object"))?;
        let allowed: &[&str] = if jsonata {
            &["ErrorEquals", "Next", "Output", "Assign", "Comment"]
        } else {
            &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"]
        };
        check_fields(c, &at, allowed, "a Catcher")?;
        out.push(Catcher {
            errors: error_list(c, &at)?,
            next: required_string(c, &at, "Next")?,
            result_path: nullable_path(c, &at, "ResultPath", true)?,
            assign: template_in(c, &at, "Assign", jsonata)?,
            output: template_in(c, &at, "Output", jsonata)?,
        });
    }
    all_is_last(
        &out.iter().map(|c| c.errors.clone()).collect::<Vec<_>>(),
        at,
        "Catch",
    )?;
    Ok(out)
}
