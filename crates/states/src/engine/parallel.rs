//! Parallel states: every branch runs to completion inside the state's step, one after
//! another (on a restart the whole state runs again; tasks must be idempotent).

use super::env::Env;
use super::flow::{Failure, Flow, branch_state_failed};
use super::scope::Scope;
use crate::definition::Block;
use serde_json::Value;

pub(crate) async fn run(list: &[Block], scope: &Scope<'_>, env: &mut Env<'_>) -> Flow {
    let input = match effective_input(scope) {
        Ok(v) => v,
        Err(f) => return Flow::Error(branch_state_failed(f)),
    };
    env.rec
        .push(env.now, "ParallelStateStarted", None, Value::Null);
    let mut results = Vec::with_capacity(list.len());
    let run_block = env.run_block;
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

/// What every branch receives: `Arguments` (JSONata), else `Parameters` or the effective input.
fn effective_input(scope: &Scope) -> Result<Value, Failure> {
    if scope.state.jsonata {
        return scope.arguments();
    }
    let effective = scope.input_path()?;
    Ok(scope
        .template(&scope.state.parameters, &effective)?
        .unwrap_or(effective))
}
