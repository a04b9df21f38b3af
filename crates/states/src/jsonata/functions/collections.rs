//! Array and object functions: `$append`, `$sort`, `$distinct`, `$keys`, `$merge`, `$type` ...

use super::{Args, arg, signature, some, string_arg, unknown};
use crate::jsonata::JsonataError;
use crate::jsonata::value::{Apply, JValue, Object, Out, deep_equal, truthy};

pub(super) const NAMES: &[&str] = &[
    "append", "sort", "reverse", "distinct", "zip", "keys", "lookup", "merge", "spread", "type",
    "error", "assert",
];

// Over 80 lines on purpose: one match arm per function of this group (a dispatch table).
pub(super) fn call(ev: &mut dyn Apply, f: &str, a: &Args, input: Option<&JValue>) -> Out {
    match f {
        "append" => match (arg(a, 0), arg(a, 1)) {
            (None, b) => Ok(b.cloned()),
            (a0, None) => Ok(a0.cloned()),
            (Some(x), Some(y)) => {
                let mut items = x.clone().into_items();
                items.extend(y.clone().into_items());
                some(JValue::array(items))
            }
        },
        "sort" => sort(ev, a, input),
        "reverse" => Ok(arg(a, 0).map(|v| {
            let mut items = v.clone().into_items();
            items.reverse();
            JValue::array(items)
        })),
        "distinct" => Ok(arg(a, 0).map(|v| match v {
            JValue::Array(items, _) => {
                let mut out: Vec<JValue> = Vec::new();
                for it in items {
                    if !out.iter().any(|o| deep_equal(o, it)) {
                        out.push(it.clone());
                    }
                }
                JValue::array(out)
            }
            other => other.clone(),
        })),
        "zip" => {
            let lists: Vec<Vec<JValue>> = a
                .iter()
                .map(|v| v.clone().map(JValue::into_items).unwrap_or_default())
                .collect();
            let n = lists.iter().map(Vec::len).min().unwrap_or(0);
            let rows = (0..n)
                .map(|i| JValue::array(lists.iter().filter_map(|l| l.get(i).cloned()).collect()))
                .collect();
            some(JValue::array(rows))
        }
        "keys" => {
            let Some(v) = arg(a, 0) else { return Ok(None) };
            let mut keys: Vec<String> = Vec::new();
            for it in v.clone().into_items() {
                if let JValue::Object(o) = it {
                    for k in o.keys() {
                        if !keys.contains(k) {
                            keys.push(k.clone());
                        }
                    }
                }
            }
            Ok(Some(JValue::sequence(
                keys.into_iter().map(JValue::String).collect(),
            )))
        }
        "lookup" => {
            let Some(v) = arg(a, 0) else { return Ok(None) };
            let key = string_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))?;
            let found: Vec<JValue> = v
                .clone()
                .into_items()
                .into_iter()
                .filter_map(|it| match it {
                    JValue::Object(mut o) => o.shift_remove(&key),
                    _ => None,
                })
                .collect();
            Ok(Some(JValue::sequence(found)))
        }
        "merge" => {
            let Some(v) = arg(a, 0) else { return Ok(None) };
            let mut out = Object::new();
            for it in v.clone().into_items() {
                match it {
                    JValue::Object(o) => out.extend(o),
                    _ => return Err(signature(f, 0)),
                }
            }
            some(JValue::Object(out))
        }
        "spread" => Ok(arg(a, 0).map(|v| {
            let mut out = Vec::new();
            for it in v.clone().into_items() {
                match it {
                    JValue::Object(o) => out.extend(
                        o.into_iter()
                            .map(|(k, v)| JValue::Object(Object::from([(k, v)]))),
                    ),
                    other => out.push(other),
                }
            }
            JValue::sequence(out)
        })),
        "type" => Ok(arg(a, 0).map(|v| JValue::String(v.type_name().into()))),
        "error" => Err(JsonataError::new(
            "D3137",
            string_arg(a, 0, f)?.unwrap_or_else(|| "$error() function evaluated".into()),
        )),
        "assert" => match arg(a, 0) {
            Some(JValue::Bool(true)) => Ok(None),
            Some(JValue::Bool(false)) => Err(JsonataError::new(
                "D3141",
                string_arg(a, 1, f)?.unwrap_or_else(|| "$assert() statement failed".into()),
            )),
            _ => Err(signature(f, 0)),
        },
        other => Err(unknown(other)),
    }
}

/// A stable merge sort whose comparison may fail (a user function can return an error), so
/// an inconsistent comparator can never panic the way `slice::sort_by` may.
fn sort(ev: &mut dyn Apply, a: &Args, input: Option<&JValue>) -> Out {
    let Some(v) = arg(a, 0) else { return Ok(None) };
    let items = v.clone().into_items();
    let func = arg(a, 1).cloned();
    if func.is_none() {
        let all_num = items.iter().all(|x| matches!(x, JValue::Number(_)));
        let all_str = items.iter().all(|x| matches!(x, JValue::String(_)));
        if !all_num && !all_str {
            return Err(JsonataError::new(
                "D3070",
                "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function",
            ));
        }
    }
    let mut greater = |x: &JValue, y: &JValue| -> Result<bool, JsonataError> {
        match &func {
            Some(fun) => Ok(ev
                .apply(fun, vec![Some(x.clone()), Some(y.clone())], input)?
                .as_ref()
                .is_some_and(truthy)),
            None => Ok(match (x, y) {
                (JValue::Number(p), JValue::Number(q)) => p > q,
                (JValue::String(p), JValue::String(q)) => p > q,
                _ => false,
            }),
        }
    };
    let sorted = merge_sort(items, &mut greater)?;
    some(JValue::array(sorted))
}

fn merge_sort(
    items: Vec<JValue>,
    greater: &mut dyn FnMut(&JValue, &JValue) -> Result<bool, JsonataError>,
) -> Result<Vec<JValue>, JsonataError> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mut left = items;
    let right = left.split_off(left.len() / 2);
    let left = merge_sort(left, greater)?;
    let right = merge_sort(right, greater)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        match (l.peek(), r.peek()) {
            (Some(x), Some(y)) => {
                if greater(x, y)? {
                    out.extend(r.next());
                } else {
                    out.extend(l.next());
                }
            }
            (Some(_), None) => out.extend(l.by_ref()),
            (None, Some(_)) => out.extend(r.by_ref()),
            (None, None) => break,
        }
    }
    Ok(out)
}
