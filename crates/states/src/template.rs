//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector` and `Assign`. Keys ending in
//! `.$` take their value from a path or an intrinsic function; everything else is literal. In
//! JSONata states (`compile_jsonata`) `{% ... %}` strings are expressions and every key is
//! literal.

use crate::error::EvalError;
use crate::intrinsics::{self, Call};
use crate::jsonata::Expression;
use crate::path::{JsonPath, PathMiss, Roots};
use crate::query::{self, expression_text, type_name};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    /// A `.$` field: its key (with `.$`, for error messages) and its source.
    Dynamic(String, Source),
    /// A `{% ... %}` JSONata expression (JSONata states only).
    Query(Expression),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    Path(JsonPath),
    Call(Call),
    /// A JSONata state's `Error`/`Cause`: a literal or `{% ... %}` template.
    Query(Box<Template>),
}

impl Source {
    pub(crate) fn parse(text: &str) -> Result<Source, String> {
        if intrinsics::looks_like_call(text) {
            Call::parse(text).map(Source::Call)
        } else {
            JsonPath::parse(text).map(Source::Path)
        }
    }
}

/// Compiles a template; `Err((relative path, message))` names the offending key.
pub(crate) fn compile(v: &Value) -> Result<Template, (String, String)> {
    match v {
        Value::Object(o) => {
            let mut fields = Vec::with_capacity(o.len());
            for (k, val) in o {
                if let Some(stripped) = k.strip_suffix(".$") {
                    let Value::String(s) = val else {
                        return Err((
                            format!("/{k}"),
                            "the value of a field ending in '.$' must be a string (a path or an intrinsic function)".into(),
                        ));
                    };
                    let src = Source::parse(s).map_err(|e| (format!("/{k}"), e))?;
                    fields.push((stripped.to_string(), Template::Dynamic(k.clone(), src)));
                } else {
                    let t = compile(val).map_err(|(p, m)| (format!("/{k}{p}"), m))?;
                    fields.push((k.clone(), t));
                }
            }
            Ok(Template::Object(fields))
        }
        Value::Array(a) => compile_array(a, compile),
        other => Ok(Template::Literal(other.clone())),
    }
}

/// Compiles a JSONata state's field: `{% ... %}` strings are expressions, everything else is
/// literal (keys ending in `.$` included). `Err((relative path, message))`.
pub(crate) fn compile_jsonata(v: &Value) -> Result<Template, (String, String)> {
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
                compile_jsonata(val)
                    .map(|t| (k.clone(), t))
                    .map_err(|(p, m)| (format!("/{k}{p}"), m))
            })
            .collect::<Result<_, _>>()
            .map(Template::Object),
        Value::Array(a) => compile_array(a, compile_jsonata),
        other => Ok(Template::Literal(other.clone())),
    }
}

/// An array template whose items `compile_item` compiles (JSONPath or JSONata rules).
pub(crate) fn compile_array(
    a: &[Value],
    compile_item: fn(&Value) -> Result<Template, (String, String)>,
) -> Result<Template, (String, String)> {
    let mut items = Vec::with_capacity(a.len());
    for (i, val) in a.iter().enumerate() {
        items.push(compile_item(val).map_err(|(p, m)| (format!("/{i}{p}"), m))?);
    }
    Ok(Template::Array(items))
}

impl Template {
    pub(crate) fn evaluate(&self, roots: &Roots) -> Result<Value, EvalError> {
        self.evaluate_named(roots, "")
    }

    /// Evaluates the template of the field `field` (`Output`, `Assign` ...); JSONata errors name
    /// the field and the key inside it, as AWS does (`Output/result`).
    pub(crate) fn evaluate_named(&self, roots: &Roots, field: &str) -> Result<Value, EvalError> {
        match self {
            Template::Query(e) => query::evaluate(e, roots, field),
            Template::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, t)| t.evaluate_named(roots, &format!("{field}/{i}")))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Template::Object(fields) => {
                let mut out = Map::new();
                for (k, t) in fields {
                    out.insert(k.clone(), t.evaluate_named(roots, &format!("{field}/{k}"))?);
                }
                Ok(Value::Object(out))
            }
            other => other.evaluate_path(roots),
        }
    }

    fn evaluate_path(&self, roots: &Roots) -> Result<Value, EvalError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Dynamic(key, src) => evaluate_source(src, key, roots),
            other => other.evaluate_named(roots, ""),
        }
    }
}

/// Evaluates a path or intrinsic named by `field` (for AWS's error wording).
pub(crate) fn evaluate_source(
    src: &Source,
    field: &str,
    roots: &Roots,
) -> Result<Value, EvalError> {
    match src {
        Source::Call(c) => c.evaluate(roots).map_err(EvalError::runtime),
        Source::Query(t) => t.evaluate_named(roots, field),
        Source::Path(p) => p
            .evaluate(roots)
            .map_err(|m| miss_error(p, field, roots, m)),
    }
}

pub(crate) fn miss_error(p: &JsonPath, field: &str, roots: &Roots, miss: PathMiss) -> EvalError {
    match miss {
        PathMiss::UndefinedVariable(v) => EvalError::runtime(format!(
            "Invalid path '{}': The variable \"${v}\" is not defined.",
            p.text
        )),
        PathMiss::NoMatch => EvalError::runtime(format!(
            "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
            p.text,
            serde_json::to_string(roots.input).unwrap_or_default()
        )),
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
        Template::Query(e) => query::prefix(e, field),
        _ => format!("The field '{field}'"),
    };
    Err(EvalError::query(format!(
        "{what} returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
        type_name(&v),
        serde_json::to_string(&v).unwrap_or_default()
    )))
}
