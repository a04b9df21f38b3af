//! Higher-order functions: `$map`, `$filter`, `$reduce`, `$single`, `$each`, `$sift`.

use super::{Args, arg, signature, some, unknown};
use crate::jsonata::JsonataError;
use crate::jsonata::value::{Apply, JValue, Object, Out, arity, truthy};

pub(super) const NAMES: &[&str] = &["each", "sift", "map", "filter", "single", "reduce"];

// Over 80 lines on purpose: one match arm per function of this group (a dispatch table).
pub(super) fn call(ev: &mut dyn Apply, f: &str, a: &Args, input: Option<&JValue>) -> Out {
    match f {
        "each" | "sift" => {
            let Some(JValue::Object(o)) = arg(a, 0).cloned() else {
                return match arg(a, 0) {
                    None => Ok(None),
                    Some(_) => Err(signature(f, 0)),
                };
            };
            let func = arg(a, 1)
                .filter(|x| x.is_function())
                .cloned()
                .ok_or_else(|| signature(f, 1))?;
            let whole = JValue::Object(o.clone());
            let mut seq = Vec::new();
            let mut kept = Object::new();
            for (k, v) in o {
                let r = apply_positional(
                    ev,
                    &func,
                    [v.clone(), JValue::String(k.clone()), whole.clone()],
                    input,
                )?;
                if f == "each" {
                    seq.extend(r);
                } else if r.as_ref().is_some_and(truthy) {
                    kept.insert(k, v);
                }
            }
            if f == "each" {
                Ok(Some(JValue::sequence(seq)))
            } else if kept.is_empty() {
                Ok(None)
            } else {
                some(JValue::Object(kept))
            }
        }
        "map" | "filter" => {
            let Some(v) = arg(a, 0) else { return Ok(None) };
            let items = v.clone().into_items();
            let func = arg(a, 1)
                .filter(|x| x.is_function())
                .cloned()
                .ok_or_else(|| signature(f, 1))?;
            let whole = JValue::array(items.clone());
            let mut out = Vec::new();
            for (i, it) in items.into_iter().enumerate() {
                let r = apply_positional(
                    ev,
                    &func,
                    [it.clone(), JValue::Number(i as f64), whole.clone()],
                    input,
                )?;
                if f == "map" {
                    out.extend(r);
                } else if r.as_ref().is_some_and(truthy) {
                    out.push(it);
                }
            }
            Ok(Some(JValue::sequence(out)))
        }
        "single" => {
            let Some(v) = arg(a, 0) else { return Ok(None) };
            let func = arg(a, 1).cloned();
            let mut found = Vec::new();
            for it in v.clone().into_items() {
                let keep = match &func {
                    None => true,
                    Some(fun) => ev
                        .apply(fun, vec![Some(it.clone())], input)?
                        .as_ref()
                        .is_some_and(truthy),
                };
                if keep {
                    found.push(it);
                }
            }
            match found.len() {
                1 => Ok(found.pop()),
                0 => Err(JsonataError::new(
                    "D3139",
                    "The $single() function expected exactly 1 matching result.  Instead it matched 0.",
                )),
                n => Err(JsonataError::new(
                    "D3138",
                    format!(
                        "The $single() function expected exactly 1 matching result.  Instead it matched {n}."
                    ),
                )),
            }
        }
        "reduce" => {
            let Some(v) = arg(a, 0) else { return Ok(None) };
            let func = arg(a, 1)
                .filter(|x| x.is_function())
                .cloned()
                .ok_or_else(|| signature(f, 1))?;
            if arity(&func) < 2 {
                return Err(JsonataError::new(
                    "D3050",
                    "The second argument of reduce function must be a function with at least two arguments",
                ));
            }
            let mut items = v.clone().into_items().into_iter();
            let mut acc = match arg(a, 2) {
                Some(init) => Some(init.clone()),
                None => items.next(),
            };
            for it in items {
                acc = ev.apply(&func, vec![acc, Some(it)], input)?;
            }
            Ok(acc)
        }
        other => Err(unknown(other)),
    }
}

/// Calls a callback of `$map`, `$filter`, `$each`, `$sift` with as many of (value, index or
/// key, whole) as it declares parameters.
fn apply_positional(
    ev: &mut dyn Apply,
    func: &JValue,
    args: [JValue; 3],
    input: Option<&JValue>,
) -> Out {
    let wanted = arity(func).max(1);
    ev.apply(
        func,
        args.into_iter().take(wanted).map(Some).collect(),
        input,
    )
}
