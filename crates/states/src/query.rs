//! JSONata data flow of Step Functions: `{% ... %}` templates (`Output`, `Arguments`, `Assign`,
//! `Items`, `ItemSelector`, `Condition`, Wait and Fail fields), the `$states` variable, and
//! AWS's `States.QueryEvaluationError` causes.

use crate::jsonata::{Expression, UNSUPPORTED_RESULT};
use crate::path::Roots;
use crate::template::{EvalError, Template};
use serde_json::Value;

/// The expression inside `{% ... %}`, when the whole string is one.
pub(crate) fn expression_text(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}

/// Compiles a JSONata state's field: `{% ... %}` strings are expressions, everything else is
/// literal (keys ending in `.$` included). `Err((relative path, message))`.
pub(crate) fn compile(v: &Value) -> Result<Template, (String, String)> {
    match v {
        Value::String(s) => match expression_text(s) {
            None => Ok(Template::Literal(v.clone())),
            Some(text) => Expression::parse(text).map(Template::Query).map_err(|e| {
                (
                    String::new(),
                    format!("invalid JSONata expression '{text}': {e}"),
                )
            }),
        },
        Value::Object(o) => o
            .iter()
            .map(|(k, val)| {
                compile(val)
                    .map(|t| (k.clone(), t))
                    .map_err(|(p, m)| (format!("/{k}{p}"), m))
            })
            .collect::<Result<_, _>>()
            .map(Template::Object),
        Value::Array(a) => crate::template::compile_array(a, compile),
        other => Ok(Template::Literal(other.clone())),
    }
}

fn prefix(e: &Expression, field: &str) -> String {
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

/// Evaluates a field whose value must have one JSON type (`expected`, per `type_name`).
pub(crate) fn evaluate_typed(
    t: &Template,
    roots: &Roots,
    field: &str,
    expected: &str,
) -> Result<Value, EvalError> {
    let v = t.evaluate_named(roots, field)?;
    if type_name(&v) == expected {
        return Ok(v);
    }
    let what = match t {
        Template::Query(e) => prefix(e, field),
        _ => format!("The field '{field}'"),
    };
    Err(EvalError::query(format!(
        "{what} returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
        type_name(&v),
        serde_json::to_string(&v).unwrap_or_default()
    )))
}
