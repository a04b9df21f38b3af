//! Numeric, aggregation and boolean functions: `$number`, `$round`, `$sum`, `$count`, `$not` ...

use super::{Args, arg, num_val, number_arg, numbers, signature, some, unknown};
use crate::jsonata::JsonataError;
use crate::jsonata::value::{JValue, Out, format_number, stringify, truthy};

pub(super) const NAMES: &[&str] = &[
    "number", "abs", "floor", "ceil", "sqrt", "round", "power", "random", "sum", "max", "min",
    "average", "count", "boolean", "not", "exists",
];

// Over 80 lines on purpose: one match arm per function of this group (a dispatch table).
pub(super) fn call(f: &str, a: &Args) -> Out {
    match f {
        "number" => match arg(a, 0) {
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
            let Some(n) = number_arg(a, 0, f)? else {
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
            let Some(n) = number_arg(a, 0, f)? else {
                return Ok(None);
            };
            let p = number_arg(a, 1, f)?.unwrap_or(0.0).clamp(-300.0, 300.0) as i32;
            num_val(round_half_even(n, p))
        }
        "power" => {
            let Some(b) = number_arg(a, 0, f)? else {
                return Ok(None);
            };
            let e = number_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))?;
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
            let seed = number_arg(a, 0, f)?;
            num_val(random(seed))
        }
        "sum" => Ok(numbers(a, f)?.map(|ns| JValue::Number(ns.iter().sum()))),
        "max" | "min" => Ok(numbers(a, f)?.and_then(|ns| {
            ns.into_iter()
                .reduce(|x, y| if (f == "max") == (y > x) { y } else { x })
                .map(JValue::Number)
        })),
        "average" => Ok(numbers(a, f)?
            .filter(|ns| !ns.is_empty())
            .map(|ns| JValue::Number(ns.iter().sum::<f64>() / ns.len() as f64))),
        "count" => num_val(arg(a, 0).map(|v| v.clone().into_items().len()).unwrap_or(0) as f64),
        "boolean" => Ok(arg(a, 0).map(|v| JValue::Bool(truthy(v)))),
        "not" => Ok(arg(a, 0).map(|v| JValue::Bool(!truthy(v)))),
        "exists" => some(JValue::Bool(arg(a, 0).is_some())),
        other => Err(unknown(other)),
    }
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
