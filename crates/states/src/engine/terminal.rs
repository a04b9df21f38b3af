//! Succeed and Fail states (JSONPath), and the `Error`/`Cause` evaluation both query
//! languages' Fail states share.

use super::flow::{Failure, Flow};
use super::scope::Scope;
use crate::history::shown;
use crate::path::Roots;
use crate::template::{Source, evaluate_source};

pub(crate) fn succeed(scope: &Scope) -> Flow {
    match scope.input_path().and_then(|v| scope.output_path(&v)) {
        Ok(output) => Flow::Done {
            output,
            next: None,
            assign: None,
        },
        Err(f) => Flow::Error(f),
    }
}

pub(crate) fn fail(scope: &Scope, error: &Option<Source>, cause: &Option<Source>) -> Flow {
    let roots = scope.roots(&scope.cursor.input);
    fail_with(scope, &roots, (error, "ErrorPath"), (cause, "CausePath"))
}

/// Fails the state with its `Error` and `Cause`, each evaluated against `roots` (a string as
/// itself, anything else as JSON text); the names are the fields for error messages.
pub(crate) fn fail_with(
    scope: &Scope,
    roots: &Roots,
    error: (&Option<Source>, &str),
    cause: (&Option<Source>, &str),
) -> Flow {
    let field = |(src, name): (&Option<Source>, &str)| -> Result<Option<String>, Failure> {
        let Some(src) = src else { return Ok(None) };
        let v = evaluate_source(src, name, roots).map_err(|e| scope.eval_error(e))?;
        Ok(Some(shown(&v)))
    };
    match (field(error), field(cause)) {
        (Ok(error), Ok(cause)) => Flow::Error(Failure {
            error,
            cause,
            from_branches: false,
            evaluation: false,
        }),
        (Err(f), _) | (_, Err(f)) => Flow::Error(f),
    }
}
