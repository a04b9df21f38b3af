//! The built-in function library: the JSONata functions the interpreter supports, plus the
//! ones Step Functions adds (`$partition`, `$range`, `$hash`, `$random`, `$uuid`, `$parse`).

use super::JsonataError;
use super::value::{Apply, JValue, Out};

/// Standard JSONata functions this interpreter does not implement: refused at validation.
pub(crate) const UNSUPPORTED: &[&str] = &[
    "formatNumber",
    "formatBase",
    "formatInteger",
    "parseInteger",
    "fromMillis",
    "toMillis",
    "shuffle",
    "encodeUrlComponent",
    "encodeUrl",
    "decodeUrlComponent",
    "decodeUrl",
    "eval",
    "clone",
];

mod collections;
mod higher_order;
mod numeric;
mod step_functions;
mod strings;

/// Every function this interpreter implements, by module.
const MODULES: &[&[&str]] = &[
    strings::NAMES,
    numeric::NAMES,
    collections::NAMES,
    higher_order::NAMES,
    step_functions::NAMES,
];

pub(crate) fn builtin(name: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .flat_map(|m| m.iter())
        .copied()
        .find(|s| *s == name)
}

pub(super) type Args = Vec<Option<JValue>>;

pub(super) fn signature(f: &str, i: usize) -> JsonataError {
    JsonataError::new(
        "T0410",
        format!(
            "Argument {} of function \"{f}\" does not match function signature",
            i + 1
        ),
    )
}

pub(super) fn arg(a: &Args, i: usize) -> Option<&JValue> {
    a.get(i).and_then(Option::as_ref)
}

pub(super) fn string_arg(a: &Args, i: usize, f: &str) -> Result<Option<String>, JsonataError> {
    match arg(a, i) {
        None => Ok(None),
        Some(JValue::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(signature(f, i)),
    }
}

pub(super) fn number_arg(a: &Args, i: usize, f: &str) -> Result<Option<f64>, JsonataError> {
    match arg(a, i) {
        None => Ok(None),
        Some(JValue::Number(n)) => Ok(Some(*n)),
        Some(_) => Err(signature(f, i)),
    }
}

pub(super) fn some(v: JValue) -> Out {
    Ok(Some(v))
}

pub(super) fn str_val(s: impl Into<String>) -> Out {
    Ok(Some(JValue::String(s.into())))
}

pub(super) fn num_val(n: f64) -> Out {
    if n.is_finite() {
        Ok(Some(JValue::Number(n)))
    } else {
        Err(JsonataError::new(
            "D1001",
            format!("Number out of range: {n}"),
        ))
    }
}

pub(super) fn numbers(a: &Args, f: &str) -> Result<Option<Vec<f64>>, JsonataError> {
    let Some(v) = arg(a, 0) else { return Ok(None) };
    v.clone()
        .into_items()
        .into_iter()
        .map(|x| match x {
            JValue::Number(n) => Ok(n),
            _ => Err(JsonataError::new(
                "T0412",
                format!("Argument 1 of function \"{f}\" must be an array of numbers"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

pub(super) fn unknown(name: &str) -> JsonataError {
    JsonataError::new(
        "T1006",
        format!("The function ${name} is not supported by this interpreter"),
    )
}

pub(crate) fn call(ev: &mut dyn Apply, f: &str, mut a: Args, input: Option<&JValue>) -> Out {
    // Functions whose first parameter defaults to the context value.
    if a.is_empty()
        && matches!(
            f,
            "string"
                | "length"
                | "uppercase"
                | "lowercase"
                | "trim"
                | "number"
                | "boolean"
                | "keys"
        )
    {
        a.push(input.cloned());
    }
    let a = &a;
    if strings::NAMES.contains(&f) {
        strings::call(ev, f, a, input)
    } else if numeric::NAMES.contains(&f) {
        numeric::call(f, a)
    } else if collections::NAMES.contains(&f) {
        collections::call(ev, f, a, input)
    } else if higher_order::NAMES.contains(&f) {
        higher_order::call(ev, f, a, input)
    } else if step_functions::NAMES.contains(&f) {
        step_functions::call(f, a)
    } else {
        Err(unknown(f))
    }
}
