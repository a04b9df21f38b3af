//! Parallel and Map states: their branches and iterations run to completion inside the
//! parent's step (on a restart the whole state runs again; tasks must be idempotent).

use crate::definition::{Block, MapSpec};
use crate::engine::{
    Cursor, Env, Failure, Flow, Frame, MAX_HISTORY_EVENTS, Outcome, Scope, history_limit,
    step_frame,
};
use crate::error::names;
use crate::history::{Recorder, text};
use crate::path::JsonPath;
use serde_json::{Map, Value, json};
use std::future::Future;
use std::pin::Pin;

type BlockRun<'a> = Pin<Box<dyn Future<Output = Result<Value, Failure>> + Send + 'a>>;

/// Steps a block from its StartAt to the end, sleeping through Wait states and retry delays.
pub(crate) fn run_block<'a, 'b>(
    block: &'a Block,
    input: Value,
    variables: Map<String, Value>,
    env: &'a mut Env<'b>,
) -> BlockRun<'a> {
    Box::pin(async move {
        let mut frame = Frame {
            cursor: Some(Cursor::at(&block.start_at, input, env.now)),
            variables,
        };
        loop {
            if env.rec.next_id > MAX_HISTORY_EVENTS {
                return Err(history_limit());
            }
            match step_frame(block, &mut frame, env).await {
                Outcome::Continue => {
                    if let Some(wake) = frame.cursor.as_ref().and_then(|c| c.wake_at) {
                        env.clock.sleep_until(wake).await;
                        env.now = env.now.max(env.clock.now());
                    }
                }
                Outcome::Succeeded(v) => return Ok(v),
                Outcome::Failed(f) => return Err(f),
            }
        }
    })
}

fn effective_input(scope: &Scope) -> Result<Value, Failure> {
    if scope.state.jsonata {
        return scope.arguments();
    }
    let effective = scope.input_path()?;
    Ok(scope
        .template(&scope.state.parameters, &effective)?
        .unwrap_or(effective))
}

pub(crate) async fn parallel(list: &[Block], scope: &Scope<'_>, env: &mut Env<'_>) -> Flow {
    let input = match effective_input(scope) {
        Ok(v) => v,
        Err(f) => return Flow::Error(branch_state_failed(f)),
    };
    env.rec
        .push(env.now, "ParallelStateStarted", None, Value::Null);
    let mut results = Vec::with_capacity(list.len());
    for b in list {
        match run_block(b, input.clone(), scope.variables.clone(), env).await {
            Ok(v) => results.push(v),
            Err(f) => {
                return Flow::Error(Failure {
                    from_branches: true,
                    ..f
                });
            }
        }
    }
    scope.finish(Value::Array(results))
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => text(other),
    }
}

/// Reads an integer setting from a `...Path` field.
fn int_setting(scope: &Scope, input: &Value, path: &JsonPath, field: &str) -> Result<i64, Failure> {
    let v = path.evaluate(&scope.roots(input)).map_err(|_| {
        scope.runtime(&format!(
            "The {field} field refers to a value that does not exist: {}",
            path.text
        ))
    })?;
    let parsed = match &v {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        other => other.as_i64().or_else(|| {
            other
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        }),
    };
    parsed.ok_or_else(|| {
        scope.runtime(&format!(
            "The {field} field refers to value \"{}\" which is not a valid integer: {}",
            shown(&v),
            path.text
        ))
    })
}

struct Tolerance {
    count: Option<u64>,
    percentage: Option<f64>,
}

fn tolerance(spec: &MapSpec, scope: &Scope, input: &Value) -> Result<Tolerance, Failure> {
    let mut t = Tolerance {
        count: spec.tolerated_count,
        percentage: spec.tolerated_percentage,
    };
    if let Some(p) = &spec.tolerated_count_path {
        let n = int_setting(scope, input, p, "ToleratedFailureCountPath")?;
        if n < 0 {
            return Err(scope.runtime("ToleratedFailureCount cannot be negative."));
        }
        t.count = Some(n as u64);
    }
    if let Some(p) = &spec.tolerated_percentage_path {
        let v = p.evaluate(&scope.roots(input)).map_err(|_| {
            scope.runtime(&format!("The ToleratedFailurePercentagePath field refers to a value that does not exist: {}", p.text))
        })?;
        let number = match &v {
            Value::String(s) => s.trim().parse::<f64>().ok(),
            other => other.as_f64(),
        };
        let pct = number.ok_or_else(|| {
            scope.runtime(&format!(
                "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                shown(&v),
                p.text
            ))
        })?;
        if !(0.0..=100.0).contains(&pct) {
            return Err(scope.runtime("ToleratedFailurePercentage must be between 0 and 100."));
        }
        t.percentage = Some(pct);
    }
    Ok(t)
}

impl Tolerance {
    fn configured(&self) -> bool {
        self.count.is_some() || self.percentage.is_some()
    }

    fn exceeded(&self, failures: u64, total: usize) -> bool {
        let by_count = self.count.is_none_or(|c| failures > c);
        let by_pct = self
            .percentage
            .is_none_or(|p| total == 0 || failures as f64 * 100.0 / total as f64 > p);
        if !self.configured() {
            failures > 0
        } else {
            by_count && by_pct
        }
    }
}

/// AWS records `MapStateFailed`/`ParallelStateFailed` after a JSONata evaluation failure of
/// the state itself.
fn branch_state_failed(f: Failure) -> Failure {
    Failure {
        from_branches: f.from_branches || f.evaluation,
        ..f
    }
}

pub(crate) async fn map(spec: &MapSpec, scope: &Scope<'_>, env: &mut Env<'_>) -> Flow {
    match map_inner(spec, scope, env).await {
        Ok(results) => scope.finish(Value::Array(results)),
        Err(f) => Flow::Error(branch_state_failed(f)),
    }
}

/// A JSONata Map's numeric setting (`{% ... %}` or a number); None when not set that way.
fn query_number(
    scope: &Scope,
    states: &Value,
    t: &Option<crate::template::Template>,
    field: &str,
) -> Result<Option<f64>, Failure> {
    match t {
        None => Ok(None),
        Some(t) => {
            let v = scope.query_typed(t, states, field, "number")?;
            Ok(v.as_f64())
        }
    }
}

/// Items (JSONata) or ItemsPath (JSONPath): the array the Map iterates over.
fn map_items(spec: &MapSpec, scope: &Scope, effective: &Value) -> Result<Vec<Value>, Failure> {
    let jsonata = scope.state.jsonata;
    let items = match (&spec.items, &spec.items_path) {
        (Some(t), _) if jsonata => {
            let states = scope.states(effective, &[]);
            scope.query_typed(t, &states, "Items", "array")?
        }
        (_, Some(p)) if !jsonata => p.evaluate(&scope.roots(effective)).map_err(|_| {
            scope.runtime(&format!(
                "Invalid path '{}' : No results for path: {}",
                p.text,
                p.normalized()
            ))
        })?,
        _ => effective.clone(),
    };
    match items {
        Value::Array(items) => Ok(items),
        other => {
            let message = format!("Map state input must be an array but was: {}", text(&other));
            Err(if jsonata {
                scope.query_failure(&message)
            } else {
                scope.runtime(&message)
            })
        }
    }
}

async fn map_inner(
    spec: &MapSpec,
    scope: &Scope<'_>,
    env: &mut Env<'_>,
) -> Result<Vec<Value>, Failure> {
    let state = scope.state;
    let effective = if state.jsonata {
        scope.cursor.input.clone()
    } else {
        scope.input_path()?
    };
    let states = scope.states(&effective, &[]);
    if let Some(n) = query_number(
        scope,
        &states,
        &spec.max_concurrency_query,
        "MaxConcurrency",
    )? && (n < 0.0 || n.fract() != 0.0)
    {
        return Err(scope.query_failure("MaxConcurrency must be a non-negative integer."));
    }
    if let Some(p) = &spec.max_concurrency_path {
        let n = int_setting(scope, &effective, p, "MaxConcurrencyPath")?;
        if n < 0 {
            return Err(scope.runtime("MaxConcurrency cannot be negative."));
        }
    }
    let items = map_items(spec, scope, &effective)?;
    let selector = spec.item_selector.as_ref().or(state.parameters.as_ref());
    env.rec.push(
        env.now,
        "MapStateStarted",
        Some("mapStateStartedEventDetails"),
        json!({"length": items.len()}),
    );
    let mut tol = tolerance(spec, scope, &effective)?;
    if let Some(n) = query_number(
        scope,
        &states,
        &spec.tolerated_count_query,
        "ToleratedFailureCount",
    )? {
        if n < 0.0 || n.fract() != 0.0 {
            return Err(
                scope.query_failure("ToleratedFailureCount must be a non-negative integer.")
            );
        }
        tol.count = Some(n as u64);
    }
    if let Some(p) = query_number(
        scope,
        &states,
        &spec.tolerated_percentage_query,
        "ToleratedFailurePercentage",
    )? {
        if !(0.0..=100.0).contains(&p) {
            return Err(
                scope.query_failure("ToleratedFailurePercentage must be between 0 and 100.")
            );
        }
        tol.percentage = Some(p);
    }
    // A distributed Map runs its iterations as child executions: their events are not in
    // this execution's history.
    let saved = spec.distributed.then(|| {
        let next_id = env.rec.next_id;
        let run_arn = format!(
            "{}/{}",
            env.info.execution_arn.replace(":execution:", ":mapRun:"),
            state.name
        );
        env.rec.push(
            env.now,
            "MapRunStarted",
            Some("mapRunStartedEventDetails"),
            json!({"mapRunArn": run_arn}),
        );
        let _ = next_id;
        std::mem::replace(&mut env.rec, Recorder::new(1))
    });
    let mut results = Vec::with_capacity(items.len());
    let mut failures = 0u64;
    let mut failed: Option<Failure> = None;
    for (index, item) in items.iter().enumerate() {
        let input = match selector {
            None => item.clone(),
            Some(t) => {
                let mut ctx = scope.context.clone();
                ctx["Map"] = json!({"Item": {"Index": index, "Value": item}});
                if state.jsonata {
                    let states = scope.states_with_context(&effective, &ctx, &[]);
                    let roots = crate::path::Roots {
                        context: &ctx,
                        ..scope.jsonata_roots(&states)
                    };
                    t.evaluate_named(&roots, "ItemSelector")
                        .map_err(|e| scope.eval_error(e))?
                } else {
                    let roots = crate::path::Roots {
                        input: &effective,
                        context: &ctx,
                        variables: scope.variables,
                        states: None,
                    };
                    t.evaluate(&roots).map_err(|e| scope.eval_error(e))?
                }
            }
        };
        let details = json!({"name": state.name, "index": index});
        env.rec.push(
            env.now,
            "MapIterationStarted",
            Some("mapIterationStartedEventDetails"),
            details.clone(),
        );
        match run_block(&spec.processor, input, scope.variables.clone(), env).await {
            Ok(v) => {
                env.rec.push(
                    env.now,
                    "MapIterationSucceeded",
                    Some("mapIterationSucceededEventDetails"),
                    details,
                );
                results.push(v);
            }
            Err(f) => {
                env.rec.push(
                    env.now,
                    "MapIterationFailed",
                    Some("mapIterationFailedEventDetails"),
                    details,
                );
                failures += 1;
                results.push(f.output());
                if tol.exceeded(failures, items.len()) {
                    failed = Some(if tol.configured() || spec.distributed {
                        Failure::new(
                            names::EXCEEDED_TOLERATED_FAILURE_THRESHOLD,
                            "The specified tolerated failure threshold was exceeded",
                        )
                    } else {
                        f
                    });
                    break;
                }
            }
        }
    }
    if let Some(rec) = saved {
        env.rec = rec;
        let ev = if failed.is_some() {
            "MapRunFailed"
        } else {
            "MapRunSucceeded"
        };
        env.rec.push(env.now, ev, None, Value::Null);
    }
    if let Some(f) = failed {
        return Err(Failure {
            from_branches: true,
            ..f
        });
    }
    env.rec
        .push(env.now, "MapStateSucceeded", None, Value::Null);
    Ok(results)
}
