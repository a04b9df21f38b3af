//! Pass states (JSONPath): the result is `Parameters`, else `Result`, else the effective input.

use super::flow::{Failure, Flow};
use super::scope::Scope;
use serde_json::Value;

pub(crate) fn run(scope: &Scope, result: &Option<Value>) -> Flow {
    let state = scope.state;
    let run = || -> Result<Flow, Failure> {
        let effective = scope.input_path()?;
        let result = match (&state.parameters, result) {
            (Some(_), _) => scope
                .template(&state.parameters, &effective)?
                .unwrap_or_default(),
            (None, Some(r)) => r.clone(),
            (None, None) => effective,
        };
        Ok(scope.finish(result))
    };
    run().unwrap_or_else(Flow::Error)
}
