//! Functions Step Functions adds to JSONata (`$partition`, `$range`, `$hash`, `$uuid`,
//! `$parse`; `$random` with a seed is in `numeric`), and the clock functions `$now`, `$millis`.

use super::{Args, arg, num_val, number_arg, signature, some, str_val, string_arg, unknown};
use crate::jsonata::JsonataError;
use crate::jsonata::value::{JValue, MAX_ARRAY, Out, stringify};

pub(super) const NAMES: &[&str] = &[
    "now",
    "millis",
    "partition",
    "range",
    "hash",
    "uuid",
    "parse",
];

pub(super) fn call(f: &str, a: &Args) -> Out {
    match f {
        "now" => str_val(crate::time::render(chrono::Utc::now())),
        "millis" => num_val(chrono::Utc::now().timestamp_millis() as f64),
        "partition" => {
            let Some(v) = arg(a, 0) else { return Ok(None) };
            let size = number_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))?;
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
            let start = number_arg(a, 0, f)?.ok_or_else(|| signature(f, 0))?;
            let end = number_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))?;
            let step = number_arg(a, 2, f)?.unwrap_or(1.0);
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
            let Some(v) = arg(a, 0) else { return Ok(None) };
            let algorithm = string_arg(a, 1, f)?.unwrap_or_else(|| "SHA-256".into());
            let data = stringify(v)?;
            crate::digest::hex_digest(&algorithm, data.as_bytes())
                .map(|h| Some(JValue::String(h)))
                .map_err(|m| JsonataError::new("D3137", m.replace("States.Hash", "$hash")))
        }
        "uuid" => str_val(uuid::Uuid::new_v4().to_string()),
        "parse" => {
            let Some(s) = string_arg(a, 0, f)? else {
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
        other => Err(unknown(other)),
    }
}
