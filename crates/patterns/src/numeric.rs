//! Numbers as EventBridge compares them: fixed point with six decimals, within ±5.0e9.
//!
//! AWS (event-ruler) turns every number into an integer count of millionths before comparing,
//! so `1`, `1.0` and `1e0` are equal, and a number with more than six significant decimals or
//! outside ±5,000,000,000 cannot take part in numeric matching at all. We keep the same
//! representation so that range edges behave exactly as on AWS (no binary-float surprises).

use serde_json::Number;

/// Millionths: the largest magnitude AWS accepts is 5e9 units.
const LIMIT: i64 = 5_000_000_000 * 1_000_000;
const SCALE_DIGITS: usize = 6;

/// Why a pattern number cannot be compared, worded as AWS words it.
pub(crate) const OUT_OF_RANGE: &str = "Value must be between -5.0E9 and 5.0E9, inclusive";
pub(crate) const TOO_PRECISE: &str = "Only values upto 6 decimals are supported";

/// A number in millionths, or why it has no such form.
pub(crate) fn comparable(n: &Number) -> Result<i64, &'static str> {
    if let Some(i) = n.as_i64() {
        return i
            .checked_mul(1_000_000)
            .filter(|v| (-LIMIT..=LIMIT).contains(v))
            .ok_or(OUT_OF_RANGE);
    }
    if n.as_u64().is_some() {
        return Err(OUT_OF_RANGE);
    }
    match n.as_f64() {
        // Display of f64 is the shortest decimal that round-trips, never in exponent form,
        // which is the decimal text a JSON reader would have kept.
        Some(f) if f.is_finite() => from_decimal(&format!("{f}")),
        _ => Err(OUT_OF_RANGE),
    }
}

fn from_decimal(text: &str) -> Result<i64, &'static str> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let frac_part = frac_part.trim_end_matches('0');
    if frac_part.len() > SCALE_DIGITS {
        return Err(TOO_PRECISE);
    }
    let int_value: i64 = if int_part.is_empty() {
        0
    } else {
        // More than 16 integer digits is out of range whatever they are.
        if int_part.len() > 16 {
            return Err(OUT_OF_RANGE);
        }
        int_part.parse().map_err(|_| OUT_OF_RANGE)?
    };
    let mut frac_value: i64 = 0;
    for (i, c) in frac_part.bytes().enumerate() {
        let d = i64::from(c.wrapping_sub(b'0'));
        if d > 9 {
            return Err(OUT_OF_RANGE);
        }
        frac_value += d * 10_i64.pow((SCALE_DIGITS - 1 - i) as u32);
    }
    let magnitude = int_value
        .checked_mul(1_000_000)
        .and_then(|v| v.checked_add(frac_value))
        .filter(|v| *v <= LIMIT)
        .ok_or(OUT_OF_RANGE)?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// A `numeric` condition: one or two bounds, each open or closed, or an equality.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Range {
    pub(crate) low: i64,
    pub(crate) low_open: bool,
    pub(crate) high: i64,
    pub(crate) high_open: bool,
}

impl Range {
    pub(crate) fn equal(v: i64) -> Self {
        Range {
            low: v,
            low_open: false,
            high: v,
            high_open: false,
        }
    }

    /// A range with an implicit edge at ±5e9, as AWS builds it; empty ranges are refused.
    pub(crate) fn new(
        low: Option<i64>,
        low_open: bool,
        high: Option<i64>,
        high_open: bool,
    ) -> Result<Self, &'static str> {
        let (low, low_open) = low.map_or((-LIMIT, false), |v| (v, low_open));
        let (high, high_open) = high.map_or((LIMIT, false), |v| (v, high_open));
        if low >= high {
            return Err("Bottom must be less than top");
        }
        Ok(Range {
            low,
            low_open,
            high,
            high_open,
        })
    }

    pub(crate) fn contains(&self, v: i64) -> bool {
        let above = if self.low_open {
            v > self.low
        } else {
            v >= self.low
        };
        let below = if self.high_open {
            v < self.high
        } else {
            v <= self.high
        };
        above && below
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(v: serde_json::Value) -> Result<i64, &'static str> {
        match v {
            serde_json::Value::Number(n) => comparable(&n),
            _ => Err("not a number"),
        }
    }

    #[test]
    fn integers_and_floats_share_one_scale() {
        assert_eq!(c(json!(1)), c(json!(1.0)));
        assert_eq!(c(json!(301.8)), Ok(301_800_000));
        assert_eq!(c(json!(3.018e2)), Ok(301_800_000));
        assert_eq!(c(json!(-0.5)), Ok(-500_000));
    }

    #[test]
    fn limits_follow_aws() {
        assert_eq!(c(json!(5_000_000_000_i64)), Ok(LIMIT));
        assert_eq!(c(json!(5_000_000_001_i64)), Err(OUT_OF_RANGE));
        assert_eq!(c(json!(123_456_789_012_u64)), Err(OUT_OF_RANGE));
        assert_eq!(c(json!(0.000_000_1)), Err(TOO_PRECISE));
        assert_eq!(c(json!(0.000_001)), Ok(1));
    }

    #[test]
    fn ranges() {
        let r = Range::new(Some(0), true, Some(5_000_000), false).unwrap();
        assert!(!r.contains(0));
        assert!(r.contains(5_000_000));
        assert!(!r.contains(5_000_001));
        assert!(Range::new(Some(LIMIT), true, None, false).is_err());
        assert!(Range::equal(7).contains(7));
    }
}
