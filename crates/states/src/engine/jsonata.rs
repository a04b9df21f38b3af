//! The JSONata forms (`QueryLanguage: JSONata`) of Pass, Succeed, Fail, Choice and Wait: no
//! paths; `Output` (default: the input) and `Assign` see `$states`. Task, Parallel and Map
//! handle both query languages in their own modules.

use super::choice::no_choice_matched;
use super::flow::{Failure, Flow};
use super::scope::Scope;
use super::terminal::fail_with;
use super::wait;
use crate::definition::{Kind, Rule, WaitFor};
use crate::history::{shown, text};
use crate::time::parse_timestamp;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Runs the JSONata form of Pass, Succeed, Fail, Choice and Wait; None for the states whose
/// modules handle JSONata themselves (Task, Parallel, Map).
pub(crate) fn run(scope: &Scope, now: DateTime<Utc>) -> Option<Flow> {
    let state = scope.state;
    let input = &scope.cursor.input;
    let flow = match &state.kind {
        Kind::Pass { .. } => {
            let states = scope.states(input, &[]);
            let output = match &state.output {
                Some(t) => scope.query(t, &states, "Output"),
                None => Ok(input.clone()),
            };
            output.map(|output| Flow::Done {
                output,
                next: state.next.clone(),
                assign: Some((states, state.assign.clone())),
            })
        }
        Kind::Succeed => scope
            .leave(None, state.output.as_ref(), None)
            .map(|f| match f {
                Flow::Done { output, next, .. } => Flow::Done {
                    output,
                    next,
                    assign: None,
                },
                other => other,
            }),
        Kind::Fail { error, cause } => {
            let states = scope.states(input, &[]);
            let roots = scope.jsonata_roots(&states);
            Ok(fail_with(scope, &roots, (error, "Error"), (cause, "Cause")))
        }
        Kind::Choice { rules, default } => choose(scope, rules, default),
        Kind::Wait(w) => {
            if scope.cursor.waiting {
                scope.leave(
                    state.next.clone(),
                    state.output.as_ref(),
                    state.assign.clone(),
                )
            } else {
                wait_until(scope, w, now).map(|until| Flow::Pending {
                    wake_at: until,
                    waiting: true,
                })
            }
        }
        Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => return None,
    };
    Some(flow.unwrap_or_else(Flow::Error))
}

fn choose(scope: &Scope, rules: &[Rule], default: &Option<String>) -> Result<Flow, Failure> {
    let state = scope.state;
    let states = scope.states(&scope.cursor.input, &[]);
    for r in rules {
        let Some(cond) = &r.condition else { continue };
        let v = scope.query_typed(cond, &states, "Condition", "boolean")?;
        if v == Value::Bool(true) {
            return scope.leave(Some(r.next.clone()), r.output.as_ref(), r.assign.clone());
        }
    }
    match default {
        Some(d) => scope.leave(Some(d.clone()), state.output.as_ref(), state.assign.clone()),
        None => Err(no_choice_matched(scope)),
    }
}

fn wait_until(scope: &Scope, w: &WaitFor, now: DateTime<Utc>) -> Result<DateTime<Utc>, Failure> {
    let states = scope.states(&scope.cursor.input, &[]);
    match w {
        WaitFor::SecondsQuery(t) => {
            let v = scope.query_typed(t, &states, "Seconds", "number")?;
            match v.as_u64() {
                Some(s) => Ok(wait::later(now, s)),
                None => Err(scope.query_failure(&format!(
                    "The Seconds field must be a non-negative integer, but was: {}",
                    text(&v)
                ))),
            }
        }
        WaitFor::TimestampQuery(t) => {
            let v = scope.query(t, &states, "Timestamp")?;
            v.as_str().and_then(parse_timestamp).ok_or_else(|| {
                scope.query_failure(&format!(
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
                    shown(&v)
                ))
            })
        }
        other => wait::until(other, scope, &scope.cursor.input, now),
    }
}
