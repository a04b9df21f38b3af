//! Retry and Catch: what happens when a state raised an error.

use super::env::Env;
use super::flow::{Failure, Flow};
use super::frame::{Cursor, context};
use super::scope::Scope;
use crate::definition::{Catcher, Retrier, State};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// Records `EvaluationFailed` for a JSONata failure raised by this state (once).
pub(super) fn record_evaluation_failure(env: &mut Env<'_>, state: &State, f: Failure) -> Failure {
    if !f.evaluation {
        return f;
    }
    env.rec.push(
        env.now,
        "EvaluationFailed",
        Some("evaluationFailedEventDetails"),
        json!({"error": f.error, "cause": f.cause, "state": state.name}),
    );
    Failure {
        evaluation: false,
        ..f
    }
}

fn matching<'a, T>(
    items: &'a [T],
    failure: &Failure,
    errors: impl Fn(&T) -> &[String],
) -> Option<(usize, &'a T)> {
    items
        .iter()
        .enumerate()
        .find(|(_, it)| failure.matches(errors(it)))
}

/// Retry (schedule another attempt) or Catch (move on to the handler), else fail the block.
pub(super) fn handle_error(
    state: &State,
    cur: &mut Cursor,
    variables: &mut Map<String, Value>,
    env: &mut Env<'_>,
    f: Failure,
) -> Flow {
    if let Some((i, r)) = matching(&state.retry, &f, |r: &Retrier| &r.errors) {
        let used = cur.retry_counts.get(i).copied().unwrap_or(0);
        if used < r.max_attempts {
            if let Some(c) = cur.retry_counts.get_mut(i) {
                *c += 1;
            }
            cur.retry_count += 1;
            return Flow::Pending {
                wake_at: env
                    .now
                    .checked_add_signed(retry_delay(r, used))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
                waiting: false,
            };
        }
    }
    if f.from_branches {
        env.rec.push(
            env.now,
            &format!("{}StateFailed", state.kind.event_prefix()),
            None,
            Value::Null,
        );
    }
    if let Some((_, c)) = matching(&state.catch, &f, |c: &Catcher| &c.errors) {
        let scope = Scope {
            state,
            cursor: cur,
            context: context(env.info, state, cur),
            variables,
        };
        let error_output = f.output();
        if state.jsonata {
            return scope.catch_jsonata(c, error_output);
        }
        return match scope.result_path(&c.result_path, error_output.clone()) {
            Ok(output) => Flow::Done {
                output,
                next: Some(c.next.clone()),
                assign: Some((error_output, c.assign.clone())),
            },
            Err(f) => Flow::Error(f),
        };
    }
    Flow::Error(f)
}

/// IntervalSeconds × BackoffRate^attempt, capped by MaxDelaySeconds, optionally full jitter.
fn retry_delay(r: &Retrier, attempt: u64) -> chrono::Duration {
    let mut secs = r.interval_seconds as f64 * r.backoff_rate.powi(attempt.min(64) as i32);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    secs = secs.min(31_536_000.0);
    if r.full_jitter {
        let bytes = uuid::Uuid::new_v4();
        let x = u32::from_le_bytes(bytes.as_bytes()[..4].try_into().unwrap_or([0; 4]));
        secs *= x as f64 / u32::MAX as f64;
    }
    chrono::Duration::milliseconds((secs * 1000.0) as i64)
}
