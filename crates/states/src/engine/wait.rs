//! Wait states (JSONPath): the first step sets the timer (`Seconds`, `SecondsPath`,
//! `Timestamp` or `TimestampPath`), the step after it fires leaves the state.

use super::flow::{Failure, Flow};
use super::scope::Scope;
use crate::definition::WaitFor;
use crate::history::shown;
use crate::path::JsonPath;
use crate::time::parse_timestamp;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

pub(crate) fn run(scope: &Scope, w: &WaitFor, now: DateTime<Utc>) -> Flow {
    let state = scope.state;
    let effective = match scope.input_path() {
        Ok(v) => v,
        Err(f) => return Flow::Error(f),
    };
    if scope.cursor.waiting {
        return match scope.output_path(&effective) {
            Ok(output) => Flow::Done {
                output,
                next: state.next.clone(),
                assign: Some((effective, state.assign.clone())),
            },
            Err(f) => Flow::Error(f),
        };
    }
    match until(w, scope, &effective, now) {
        Ok(until) => Flow::Pending {
            wake_at: until,
            waiting: true,
        },
        Err(f) => Flow::Error(f),
    }
}

pub(crate) fn until(
    w: &WaitFor,
    scope: &Scope,
    effective: &Value,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Failure> {
    let lookup = |p: &JsonPath, field: &str| {
        p.evaluate(&scope.roots(effective)).map_err(|_| {
            scope.runtime(&format!(
                "The {field} parameter does not reference an input value: {}",
                p.text
            ))
        })
    };
    match w {
        WaitFor::Seconds(s) => Ok(later(now, *s)),
        // JSONata states evaluate these in `engine::jsonata`.
        WaitFor::SecondsQuery(_) | WaitFor::TimestampQuery(_) => {
            Err(scope.runtime("a JSONata Wait field reached the JSONPath evaluator"))
        }
        WaitFor::Timestamp(t) => Ok(*t),
        WaitFor::SecondsPath(p) => {
            let v = lookup(p, "SecondsPath")?;
            let described = || format!("{} == {}", p.text, shown(&v));
            match v.as_i64() {
                Some(s) if s < 0 => Err(scope.runtime(&format!(
                    "The SecondsPath parameter references a negative value: {}",
                    described()
                ))),
                Some(s) => Ok(later(now, s as u64)),
                None => Err(scope.runtime(&format!(
                    "The SecondsPath parameter cannot be parsed as a long value: {}",
                    described()
                ))),
            }
        }
        WaitFor::TimestampPath(p) => {
            let v = lookup(p, "TimestampPath")?;
            v.as_str().and_then(parse_timestamp).ok_or_else(|| {
                scope.runtime(&format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                    p.text,
                    shown(&v)
                ))
            })
        }
    }
}

/// `now + s` seconds, saturating instead of overflowing on absurd waits.
pub(crate) fn later(now: DateTime<Utc>, s: u64) -> DateTime<Utc> {
    let d = Duration::try_seconds(s.min(i64::MAX as u64 / 1000) as i64).unwrap_or(Duration::MAX);
    now.checked_add_signed(d)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
