//! Map states: every iteration runs to completion inside the state's step, one after another
//! (on a restart the whole state runs again; tasks must be idempotent).

use super::env::Env;
use super::flow::{Failure, Flow, branch_state_failed};
use super::map_settings::{Tolerance, check_concurrency, tolerance};
use super::scope::Scope;
use crate::definition::MapSpec;
use crate::error::names;
use crate::history::{Recorder, text};
use crate::path::Roots;
use crate::template::Template;
use serde_json::{Value, json};

pub(crate) async fn run(spec: &MapSpec, scope: &Scope<'_>, env: &mut Env<'_>) -> Flow {
    match map_inner(spec, scope, env).await {
        Ok(results) => scope.finish(Value::Array(results)),
        Err(f) => Flow::Error(branch_state_failed(f)),
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
    check_concurrency(spec, scope, &effective, &states)?;
    let items = map_items(spec, scope, &effective)?;
    env.rec.push(
        env.now,
        "MapStateStarted",
        Some("mapStateStartedEventDetails"),
        json!({"length": items.len()}),
    );
    let tol = tolerance(spec, scope, &effective, &states)?;
    // A distributed Map runs its iterations as child executions: their events are not in
    // this execution's history.
    let saved = spec.distributed.then(|| {
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
        std::mem::replace(&mut env.rec, Recorder::new(1))
    });
    let (results, failed) = iterate(spec, scope, &effective, &items, &tol, env).await?;
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

/// Runs the iterations until they end or the tolerated failures are exceeded: the results
/// (a failed iteration's is its error output) and the failure that stopped the Map.
async fn iterate(
    spec: &MapSpec,
    scope: &Scope<'_>,
    effective: &Value,
    items: &[Value],
    tol: &Tolerance,
    env: &mut Env<'_>,
) -> Result<(Vec<Value>, Option<Failure>), Failure> {
    let selector = spec
        .item_selector
        .as_ref()
        .or(scope.state.parameters.as_ref());
    let run_block = env.run_block;
    let mut results = Vec::with_capacity(items.len());
    let mut failures = 0u64;
    for (index, item) in items.iter().enumerate() {
        let input = match selector {
            None => item.clone(),
            Some(t) => select_item(t, scope, effective, index, item)?,
        };
        let details = json!({"name": scope.state.name, "index": index});
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
                    let failed = if tol.configured() || spec.distributed {
                        Failure::new(
                            names::EXCEEDED_TOLERATED_FAILURE_THRESHOLD,
                            "The specified tolerated failure threshold was exceeded",
                        )
                    } else {
                        f
                    };
                    return Ok((results, Some(failed)));
                }
            }
        }
    }
    Ok((results, None))
}

/// One iteration's input: `ItemSelector` (or legacy `Parameters`) with `$$.Map.Item`.
fn select_item(
    t: &Template,
    scope: &Scope,
    effective: &Value,
    index: usize,
    item: &Value,
) -> Result<Value, Failure> {
    let mut ctx = scope.context.clone();
    ctx["Map"] = json!({"Item": {"Index": index, "Value": item}});
    if scope.state.jsonata {
        let states = scope.states_with_context(effective, &ctx, &[]);
        let roots = Roots {
            context: &ctx,
            ..scope.jsonata_roots(&states)
        };
        t.evaluate_named(&roots, "ItemSelector")
            .map_err(|e| scope.eval_error(e))
    } else {
        let roots = Roots {
            input: effective,
            context: &ctx,
            variables: scope.variables,
            states: None,
        };
        t.evaluate(&roots).map_err(|e| scope.eval_error(e))
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
