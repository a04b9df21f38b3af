//! JSONata expressions of Step Functions: the `{% ... %}` form, evaluation with the `$states`
//! variable and workflow variables, and AWS's `States.QueryEvaluationError` causes.

use crate::error::EvalError;
use crate::jsonata::{Expression, UNSUPPORTED_RESULT};
use crate::path::Roots;
use serde_json::Value;

/// The expression inside `{% ... %}`, when the whole string is one.
pub(crate) fn expression_text(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}

pub(crate) fn prefix(e: &Expression, field: &str) -> String {
    format!(
        "The JSONata expression '{}' specified for the field '{}'",
        e.text,
        field.trim_start_matches('/')
    )
}

/// Evaluates one expression; *undefined* and functions are errors, as on AWS.
pub(crate) fn evaluate(e: &Expression, roots: &Roots, field: &str) -> Result<Value, EvalError> {
    let lookup = |name: &str| match name {
        "states" => roots.states.cloned(),
        other => roots.variables.get(other).cloned(),
    };
    match e.evaluate(&lookup) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(EvalError::query(format!(
            "{} returned nothing (undefined).",
            prefix(e, field)
        ))),
        Err(err) if err.code == UNSUPPORTED_RESULT => Err(EvalError::query(format!(
            "{} returned an unsupported result type.",
            prefix(e, field)
        ))),
        Err(err) => Err(EvalError::query(format!(
            "{} threw an error during evaluation. {err}",
            prefix(e, field)
        ))),
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
