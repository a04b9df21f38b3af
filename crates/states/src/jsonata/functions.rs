//! The built-in function library: the JSONata functions the interpreter supports, plus the
//! ones Step Functions adds (`$partition`, `$range`, `$hash`, `$random`, `$uuid`, `$parse`).

use super::JsonataError;
use super::eval::{Evaluator, MAX_ARRAY, Out};
use super::value::{JValue, deep_equal, format_number, stringify, truthy};
use base64::Engine as _;
use std::collections::BTreeMap;

/// Every function this interpreter implements.
const SUPPORTED: &[&str] = &[
    "string",
    "length",
    "substring",
    "substringBefore",
    "substringAfter",
    "uppercase",
    "lowercase",
    "trim",
    "pad",
    "contains",
    "split",
    "join",
    "replace",
    "match",
    "base64encode",
    "base64decode",
    "number",
    "abs",
    "floor",
    "ceil",
    "round",
    "power",
    "sqrt",
    "random",
    "sum",
    "max",
    "min",
    "average",
    "count",
    "boolean",
    "not",
    "exists",
    "append",
    "sort",
    "reverse",
    "distinct",
    "zip",
    "keys",
    "lookup",
    "merge",
    "each",
    "spread",
    "type",
    "error",
    "assert",
    "sift",
    "map",
    "filter",
    "reduce",
    "single",
    "now",
    "millis",
    "partition",
    "range",
    "hash",
    "uuid",
    "parse",
];

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

pub(crate) fn builtin(name: &str) -> Option<&'static str> {
    SUPPORTED.iter().copied().find(|s| *s == name)
}

type Args = Vec<Option<JValue>>;

fn signature(f: &str, i: usize) -> JsonataError {
    JsonataError::new(
        "T0410",
        format!(
            "Argument {} of function \"{f}\" does not match function signature",
            i + 1
        ),
    )
}

fn arg(a: &Args, i: usize) -> Option<&JValue> {
    a.get(i).and_then(Option::as_ref)
}

fn string_arg(a: &Args, i: usize, f: &str) -> Result<Option<String>, JsonataError> {
    match arg(a, i) {
        None => Ok(None),
        Some(JValue::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(signature(f, i)),
    }
}

fn number_arg(a: &Args, i: usize, f: &str) -> Result<Option<f64>, JsonataError> {
    match arg(a, i) {
        None => Ok(None),
        Some(JValue::Number(n)) => Ok(Some(*n)),
        Some(_) => Err(signature(f, i)),
    }
}

fn some(v: JValue) -> Out {
    Ok(Some(v))
}

fn str_val(s: impl Into<String>) -> Out {
    Ok(Some(JValue::String(s.into())))
}

fn num_val(n: f64) -> Out {
    if n.is_finite() {
        Ok(Some(JValue::Number(n)))
    } else {
        Err(JsonataError::new(
            "D1001",
            format!("Number out of range: {n}"),
        ))
    }
}

fn numbers(a: &Args, f: &str) -> Result<Option<Vec<f64>>, JsonataError> {
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

/// Pattern arguments are a string or a regular expression.
enum Pattern {
    Text(String),
    Regex(std::rc::Rc<regex::Regex>),
}

fn pattern_arg(a: &Args, i: usize, f: &str) -> Result<Option<Pattern>, JsonataError> {
    match arg(a, i) {
        None => Ok(None),
        Some(JValue::String(s)) => Ok(Some(Pattern::Text(s.clone()))),
        Some(JValue::Regex(r)) => Ok(Some(Pattern::Regex(r.clone()))),
        Some(_) => Err(signature(f, i)),
    }
}

fn chars_slice(s: &str, start: i64, len: Option<i64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let mut from = if start < 0 {
        n.saturating_add(start).max(0)
    } else {
        start.min(n)
    };
    let to = match len {
        None => n,
        Some(l) if l <= 0 => from,
        Some(l) => from.saturating_add(l).min(n),
    };
    from = from.min(to);
    chars[from as usize..to as usize].iter().collect()
}

/// Rounds half to even at `precision` decimal places, as `$round` does.
fn round_half_even(n: f64, precision: i32) -> f64 {
    let factor = 10f64.powi(precision);
    let x = n * factor;
    let r = x.round();
    let rounded = if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    };
    rounded / factor
}

pub(crate) fn call(ev: &mut Evaluator, f: &str, mut a: Args, input: Option<&JValue>) -> Out {
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
    match f {
        "string" => match arg(&a, 0) {
            None => Ok(None),
            Some(JValue::Number(n)) if !n.is_finite() => Err(JsonataError::new(
                "D3001",
                "Attempting to invoke string function on Infinity or NaN",
            )),
            Some(v) => str_val(stringify(v)?),
        },
        "length" => match string_arg(&a, 0, f)? {
            None => Ok(None),
            Some(s) => num_val(s.chars().count() as f64),
        },
        "substring" => {
            let Some(s) = string_arg(&a, 0, f)? else {
                return Ok(None);
            };
            let start = number_arg(&a, 1, f)?.ok_or_else(|| signature(f, 1))?;
            let len = number_arg(&a, 2, f)?;
            str_val(chars_slice(&s, start as i64, len.map(|l| l as i64)))
        }
        "substringBefore" | "substringAfter" => {
            let Some(s) = string_arg(&a, 0, f)? else {
                return Ok(None);
            };
            let sep = string_arg(&a, 1, f)?.ok_or_else(|| signature(f, 1))?;
            str_val(match s.find(&sep) {
                None => s.clone(),
                Some(i) if f == "substringBefore" => s[..i].to_string(),
                Some(i) => s[i + sep.len()..].to_string(),
            })
        }
        "uppercase" => Ok(string_arg(&a, 0, f)?.map(|s| JValue::String(s.to_uppercase()))),
        "lowercase" => Ok(string_arg(&a, 0, f)?.map(|s| JValue::String(s.to_lowercase()))),
        "trim" => Ok(string_arg(&a, 0, f)?
            .map(|s| JValue::String(s.split_whitespace().collect::<Vec<_>>().join(" ")))),
        "pad" => {
            let Some(s) = string_arg(&a, 0, f)? else {
                return Ok(None);
            };
            let width = number_arg(&a, 1, f)?.ok_or_else(|| signature(f, 1))? as i64;
            let fill = string_arg(&a, 2, f)?
                .filter(|c| !c.is_empty())
                .unwrap_or(" ".into());
            let len = s.chars().count() as i64;
            let missing = (width.saturating_abs() - len).clamp(0, MAX_ARRAY as i64) as usize;
            let padding: String = fill.chars().cycle().take(missing).collect();
            str_val(if width < 0 {
                format!("{padding}{s}")
            } else {
                format!("{s}{padding}")
            })
        }
        "contains" => {
            let Some(s) = string_arg(&a, 0, f)? else {
                return Ok(None);
            };
            let found = match pattern_arg(&a, 1, f)?.ok_or_else(|| signature(f, 1))? {
                Pattern::Text(t) => s.contains(&t),
                Pattern::Regex(r) => r.is_match(&s),
            };
            some(JValue::Bool(found))
        }
        "split" => {
            let Some(s) = string_arg(&a, 0, f)? else {
                return Ok(None);
            };
            let limit = number_arg(&a, 2, f)?
                .map(|l| l.max(0.0) as usize)
                .unwrap_or(usize::MAX);
            let parts: Vec<JValue> = match pattern_arg(&a, 1, f)?.ok_or_else(|| signature(f, 1))? {
                Pattern::Text(t) if t.is_empty() => {
                    s.chars().map(|c| JValue::String(c.to_string())).collect()
                }
                Pattern::Text(t) => s
                    .split(t.as_str())
                    .map(|p| JValue::String(p.into()))
                    .collect(),
                Pattern::Regex(r) => r.split(&s).map(|p| JValue::String(p.into())).collect(),
            };
            some(JValue::array(parts.into_iter().take(limit).collect()))
        }
        "join" => {
            let Some(v) = arg(&a, 0) else { return Ok(None) };
            let sep = string_arg(&a, 1, f)?.unwrap_or_default();
            let parts = v
                .clone()
                .into_items()
                .into_iter()
                .map(|x| match x {
                    JValue::String(s) => Ok(s),
                    _ => Err(signature(f, 0)),
                })
                .collect::<Result<Vec<_>, _>>()?;
            str_val(parts.join(&sep))
        }
        "replace" => replace(ev, &a, input),
        "match" => {
            let Some(s) = string_arg(&a, 0, f)? else {
                return Ok(None);
            };
            let Some(Pattern::Regex(r)) = pattern_arg(&a, 1, f)? else {
                return Err(signature(f, 1));
            };
            let limit = number_arg(&a, 2, f)?
                .map(|l| l.max(0.0) as usize)
                .unwrap_or(usize::MAX);
            let matches = r
                .captures_iter(&s)
                .take(limit)
                .map(|c| match_object(&s, &c))
                .collect();
            Ok(Some(JValue::sequence(matches)))
        }
        "base64encode" => Ok(string_arg(&a, 0, f)?
            .map(|s| JValue::String(base64::engine::general_purpose::STANDARD.encode(s)))),
        "base64decode" => match string_arg(&a, 0, f)? {
            None => Ok(None),
            Some(s) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .map_err(|e| JsonataError::new("D3137", format!("$base64decode: {e}")))?;
                str_val(String::from_utf8_lossy(&bytes).into_owned())
            }
        },
        "number" => match arg(&a, 0) {
            None => Ok(None),
            Some(JValue::Number(n)) => num_val(*n),
            Some(JValue::Bool(b)) => num_val(if *b { 1.0 } else { 0.0 }),
            Some(JValue::String(s)) => match parse_number(s) {
                Some(n) => num_val(n),
                None => Err(JsonataError::new(
                    "D3030",
                    format!("Unable to cast value to a number: \"{s}\""),
                )),
            },
            Some(other) => Err(JsonataError::new(
                "D3030",
                format!("Unable to cast value to a number: {}", stringify(other)?),
            )),
        },
        "abs" | "floor" | "ceil" | "sqrt" => {
            let Some(n) = number_arg(&a, 0, f)? else {
                return Ok(None);
            };
            if f == "sqrt" && n < 0.0 {
                return Err(JsonataError::new(
                    "D3060",
                    format!(
                        "The sqrt function cannot be applied to a negative number: {}",
                        format_number(n)
                    ),
                ));
            }
            num_val(match f {
                "abs" => n.abs(),
                "floor" => n.floor(),
                "ceil" => n.ceil(),
                _ => n.sqrt(),
            })
        }
        "round" => {
            let Some(n) = number_arg(&a, 0, f)? else {
                return Ok(None);
            };
            let p = number_arg(&a, 1, f)?.unwrap_or(0.0).clamp(-300.0, 300.0) as i32;
            num_val(round_half_even(n, p))
        }
        "power" => {
            let Some(b) = number_arg(&a, 0, f)? else {
                return Ok(None);
            };
            let e = number_arg(&a, 1, f)?.ok_or_else(|| signature(f, 1))?;
            let r = b.powf(e);
            if !r.is_finite() {
                return Err(JsonataError::new(
                    "D3061",
                    format!(
                        "The power function has resulted in a value that cannot be represented as a JSON number: base={}, exponent={}",
                        format_number(b),
                        format_number(e)
                    ),
                ));
            }
            num_val(r)
        }
        "random" => {
            let seed = number_arg(&a, 0, f)?;
            num_val(random(seed))
        }
        "sum" => Ok(numbers(&a, f)?.map(|ns| JValue::Number(ns.iter().sum()))),
        "max" | "min" => Ok(numbers(&a, f)?.and_then(|ns| {
            ns.into_iter()
                .reduce(|x, y| if (f == "max") == (y > x) { y } else { x })
                .map(JValue::Number)
        })),
        "average" => Ok(numbers(&a, f)?
            .filter(|ns| !ns.is_empty())
            .map(|ns| JValue::Number(ns.iter().sum::<f64>() / ns.len() as f64))),
        "count" => num_val(
            arg(&a, 0)
                .map(|v| v.clone().into_items().len())
                .unwrap_or(0) as f64,
        ),
        "boolean" => Ok(arg(&a, 0).map(|v| JValue::Bool(truthy(v)))),
        "not" => Ok(arg(&a, 0).map(|v| JValue::Bool(!truthy(v)))),
        "exists" => some(JValue::Bool(arg(&a, 0).is_some())),
        "append" => match (arg(&a, 0), arg(&a, 1)) {
            (None, b) => Ok(b.cloned()),
            (a0, None) => Ok(a0.cloned()),
            (Some(x), Some(y)) => {
                let mut items = x.clone().into_items();
                items.extend(y.clone().into_items());
                some(JValue::array(items))
            }
        },
        "sort" => sort(ev, &a, input),
        "reverse" => Ok(arg(&a, 0).map(|v| {
            let mut items = v.clone().into_items();
            items.reverse();
            JValue::array(items)
        })),
        "distinct" => Ok(arg(&a, 0).map(|v| match v {
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
            let Some(v) = arg(&a, 0) else { return Ok(None) };
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
            let Some(v) = arg(&a, 0) else { return Ok(None) };
            let key = string_arg(&a, 1, f)?.ok_or_else(|| signature(f, 1))?;
            let found: Vec<JValue> = v
                .clone()
                .into_items()
                .into_iter()
                .filter_map(|it| match it {
                    JValue::Object(mut o) => o.remove(&key),
                    _ => None,
                })
                .collect();
            Ok(Some(JValue::sequence(found)))
        }
        "merge" => {
            let Some(v) = arg(&a, 0) else { return Ok(None) };
            let mut out = BTreeMap::new();
            for it in v.clone().into_items() {
                match it {
                    JValue::Object(o) => out.extend(o),
                    _ => return Err(signature(f, 0)),
                }
            }
            some(JValue::Object(out))
        }
        "spread" => Ok(arg(&a, 0).map(|v| {
            let mut out = Vec::new();
            for it in v.clone().into_items() {
                match it {
                    JValue::Object(o) => out.extend(
                        o.into_iter()
                            .map(|(k, v)| JValue::Object(BTreeMap::from([(k, v)]))),
                    ),
                    other => out.push(other),
                }
            }
            JValue::sequence(out)
        })),
        "each" | "sift" => {
            let Some(JValue::Object(o)) = arg(&a, 0).cloned() else {
                return match arg(&a, 0) {
                    None => Ok(None),
                    Some(_) => Err(signature(f, 0)),
                };
            };
            let func = arg(&a, 1)
                .filter(|x| x.is_function())
                .cloned()
                .ok_or_else(|| signature(f, 1))?;
            let whole = JValue::Object(o.clone());
            let mut seq = Vec::new();
            let mut kept = BTreeMap::new();
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
        "type" => Ok(arg(&a, 0).map(|v| JValue::String(v.type_name().into()))),
        "error" => Err(JsonataError::new(
            "D3137",
            string_arg(&a, 0, f)?.unwrap_or_else(|| "$error() function evaluated".into()),
        )),
        "assert" => match arg(&a, 0) {
            Some(JValue::Bool(true)) => Ok(None),
            Some(JValue::Bool(false)) => Err(JsonataError::new(
                "D3141",
                string_arg(&a, 1, f)?.unwrap_or_else(|| "$assert() statement failed".into()),
            )),
            _ => Err(signature(f, 0)),
        },
        "map" | "filter" => {
            let Some(v) = arg(&a, 0) else { return Ok(None) };
            let items = v.clone().into_items();
            let func = arg(&a, 1)
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
            let Some(v) = arg(&a, 0) else { return Ok(None) };
            let func = arg(&a, 1).cloned();
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
            let Some(v) = arg(&a, 0) else { return Ok(None) };
            let func = arg(&a, 1)
                .filter(|x| x.is_function())
                .cloned()
                .ok_or_else(|| signature(f, 1))?;
            if Evaluator::arity(&func) < 2 {
                return Err(JsonataError::new(
                    "D3050",
                    "The second argument of reduce function must be a function with at least two arguments",
                ));
            }
            let mut items = v.clone().into_items().into_iter();
            let mut acc = match arg(&a, 2) {
                Some(init) => Some(init.clone()),
                None => items.next(),
            };
            for it in items {
                acc = ev.apply(&func, vec![acc, Some(it)], input)?;
            }
            Ok(acc)
        }
        "now" => str_val(crate::time::render(chrono::Utc::now())),
        "millis" => num_val(chrono::Utc::now().timestamp_millis() as f64),
        "partition" => {
            let Some(v) = arg(&a, 0) else { return Ok(None) };
            let size = number_arg(&a, 1, f)?.ok_or_else(|| signature(f, 1))?;
            if size < 1.0 || size.fract() != 0.0 {
                return Err(JsonataError::new(
                    "D3040",
                    "The second argument of $partition must be a positive integer",
                ));
            }
            let items = v.clone().into_items();
            let chunks = items
                .chunks(size.min(MAX_ARRAY as f64) as usize)
                .map(|c| JValue::array(c.to_vec()))
                .collect();
            some(JValue::array(chunks))
        }
        "range" => {
            let start = number_arg(&a, 0, f)?.ok_or_else(|| signature(f, 0))?;
            let end = number_arg(&a, 1, f)?.ok_or_else(|| signature(f, 1))?;
            let step = number_arg(&a, 2, f)?.unwrap_or(1.0);
            if step == 0.0 || !step.is_finite() {
                return Err(JsonataError::new(
                    "D3040",
                    "The step of $range must not be zero",
                ));
            }
            let count = ((end - start) / step).floor();
            if count >= MAX_ARRAY as f64 {
                return Err(JsonataError::new(
                    "D2014",
                    format!(
                        "The size of the sequence allocated by $range must not exceed {MAX_ARRAY}."
                    ),
                ));
            }
            let count = if count < 0.0 { 0 } else { count as usize + 1 };
            let items = (0..count)
                .map(|i| JValue::Number(start + step * i as f64))
                .collect();
            Ok(Some(JValue::sequence(items)))
        }
        "hash" => {
            let Some(v) = arg(&a, 0) else { return Ok(None) };
            let algorithm = string_arg(&a, 1, f)?.unwrap_or_else(|| "SHA-256".into());
            let data = stringify(v)?;
            crate::digest::hex_digest(&algorithm, data.as_bytes())
                .map(|h| Some(JValue::String(h)))
                .map_err(|m| JsonataError::new("D3137", m.replace("States.Hash", "$hash")))
        }
        "uuid" => str_val(uuid::Uuid::new_v4().to_string()),
        "parse" => {
            let Some(s) = string_arg(&a, 0, f)? else {
                return Ok(None);
            };
            let v: serde_json::Value = serde_json::from_str(&s).map_err(|e| {
                JsonataError::new(
                    "D3137",
                    format!("Argument 1 of function \"parse\" is not valid JSON: {e}"),
                )
            })?;
            some(JValue::from_json(&v))
        }
        other => Err(JsonataError::new(
            "T1006",
            format!("The function ${other} is not supported by this interpreter"),
        )),
    }
}

/// Calls a callback of `$map`, `$filter`, `$each`, `$sift` with as many of (value, index or
/// key, whole) as it declares parameters.
fn apply_positional(
    ev: &mut Evaluator,
    func: &JValue,
    args: [JValue; 3],
    input: Option<&JValue>,
) -> Out {
    let wanted = Evaluator::arity(func).max(1);
    ev.apply(
        func,
        args.into_iter().take(wanted).map(Some).collect(),
        input,
    )
}

/// `$number`'s accepted strings: JSON numbers (and hex/octal/binary integer literals).
fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let radix = |p: &str, r: u32| {
        t.strip_prefix(p)
            .and_then(|d| i64::from_str_radix(d, r).ok())
            .map(|n| n as f64)
    };
    if let Some(n) = radix("0x", 16)
        .or_else(|| radix("0o", 8))
        .or_else(|| radix("0b", 2))
    {
        return Some(n);
    }
    match serde_json::from_str::<serde_json::Value>(t) {
        Ok(serde_json::Value::Number(n)) => n.as_f64(),
        _ => None,
    }
}

fn random(seed: Option<f64>) -> f64 {
    let bits = match seed {
        // A seeded value is stable for the seed: splitmix64 of its bits.
        Some(s) => {
            let mut z = s.to_bits().wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        None => u64::from_le_bytes(
            uuid::Uuid::new_v4().as_bytes()[..8]
                .try_into()
                .unwrap_or([0; 8]),
        ),
    };
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

fn match_object(s: &str, c: &regex::Captures) -> JValue {
    let whole = c.get(0);
    let groups = (1..c.len())
        .map(|i| JValue::String(c.get(i).map(|m| m.as_str().to_string()).unwrap_or_default()))
        .collect();
    let index = whole.map(|m| s[..m.start()].chars().count()).unwrap_or(0);
    JValue::Object(BTreeMap::from([
        (
            "match".to_string(),
            JValue::String(whole.map(|m| m.as_str().to_string()).unwrap_or_default()),
        ),
        ("index".to_string(), JValue::Number(index as f64)),
        ("groups".to_string(), JValue::array(groups)),
    ]))
}

/// `$0`, `$1` ... in a replacement string refer to the match and its groups; `$$` is `$`.
fn expand(replacement: &str, c: &regex::Captures) -> String {
    let mut out = String::new();
    let chars: Vec<char> = replacement.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' {
            if chars.get(i + 1) == Some(&'$') {
                out.push('$');
                i += 2;
                continue;
            }
            let digits: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if !digits.is_empty() {
                // The longest group number that exists wins, as in JavaScript.
                let mut used = digits.len();
                while used > 0 {
                    if let Ok(g) = digits[..used].parse::<usize>()
                        && g < c.len()
                    {
                        out.push_str(c.get(g).map(|m| m.as_str()).unwrap_or(""));
                        break;
                    }
                    used -= 1;
                }
                if used == 0 {
                    out.push('$');
                    i += 1;
                    continue;
                }
                i += 1 + used;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn replace(ev: &mut Evaluator, a: &Args, input: Option<&JValue>) -> Out {
    let f = "replace";
    let Some(s) = string_arg(a, 0, f)? else {
        return Ok(None);
    };
    let pattern = pattern_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))?;
    let limit = number_arg(a, 3, f)?
        .map(|l| l.max(0.0) as usize)
        .unwrap_or(usize::MAX);
    let replacement = arg(a, 2).cloned().ok_or_else(|| signature(f, 2))?;
    match pattern {
        Pattern::Text(t) => {
            if t.is_empty() {
                return Err(JsonataError::new(
                    "D3010",
                    "Second argument of replace function cannot be an empty string",
                ));
            }
            let JValue::String(r) = replacement else {
                return Err(signature(f, 2));
            };
            str_val(s.replacen(t.as_str(), &r, limit))
        }
        Pattern::Regex(re) => {
            let mut out = String::new();
            let mut last = 0;
            for c in re.captures_iter(&s).take(limit) {
                let Some(m) = c.get(0) else { continue };
                out.push_str(&s[last..m.start()]);
                match &replacement {
                    JValue::String(r) => out.push_str(&expand(r, &c)),
                    fun if fun.is_function() => {
                        match ev.apply(fun, vec![Some(match_object(&s, &c))], input)? {
                            Some(JValue::String(r)) => out.push_str(&r),
                            _ => {
                                return Err(JsonataError::new(
                                    "D3012",
                                    "Attempted to replace a matched string with a non-string value",
                                ));
                            }
                        }
                    }
                    _ => return Err(signature(f, 2)),
                }
                last = m.end();
            }
            out.push_str(&s[last..]);
            str_val(out)
        }
    }
}

/// A stable merge sort whose comparison may fail (a user function can return an error), so
/// an inconsistent comparator can never panic the way `slice::sort_by` may.
fn sort(ev: &mut Evaluator, a: &Args, input: Option<&JValue>) -> Out {
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
