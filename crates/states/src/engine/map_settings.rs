//! A Map state's numeric settings: MaxConcurrency (checked, not used: iterations run one
//! after another) and the tolerated failures, each a number, a `...Path` or a JSONata
//! `{% ... %}` expression.

use super::flow::Failure;
use super::scope::Scope;
use crate::definition::MapSpec;
use crate::history::shown;
use crate::path::JsonPath;
use crate::template::Template;
use serde_json::Value;

/// Checks MaxConcurrency (JSONata expression or `MaxConcurrencyPath`).
pub(super) fn check_concurrency(
    spec: &MapSpec,
    scope: &Scope,
    effective: &Value,
    states: &Value,
) -> Result<(), Failure> {
    if let Some(n) = query_number(scope, states, &spec.max_concurrency_query, "MaxConcurrency")?
        && (n < 0.0 || n.fract() != 0.0)
    {
        return Err(scope.query_failure("MaxConcurrency must be a non-negative integer."));
    }
    if let Some(p) = &spec.max_concurrency_path {
        let n = int_setting(scope, effective, p, "MaxConcurrencyPath")?;
        if n < 0 {
            return Err(scope.runtime("MaxConcurrency cannot be negative."));
        }
    }
    Ok(())
}

/// Reads an integer setting from a `...Path` field.
fn int_setting(scope: &Scope, input: &Value, path: &JsonPath, field: &str) -> Result<i64, Failure> {
    let v = path.evaluate(&scope.roots(input)).map_err(|_| {
        scope.runtime(&format!(
            "The {field} field refers to a value that does not exist: {}",
            path.text
        ))
    })?;
    let parsed = match &v {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        other => other.as_i64().or_else(|| {
            other
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        }),
    };
    parsed.ok_or_else(|| {
        scope.runtime(&format!(
            "The {field} field refers to value \"{}\" which is not a valid integer: {}",
            shown(&v),
            path.text
        ))
    })
}

pub(super) struct Tolerance {
    pub(super) count: Option<u64>,
    pub(super) percentage: Option<f64>,
}

/// The tolerated failures: literal values, `...Path` fields, then JSONata expressions.
pub(super) fn tolerance(
    spec: &MapSpec,
    scope: &Scope,
    input: &Value,
    states: &Value,
) -> Result<Tolerance, Failure> {
    let mut t = tolerance_paths(spec, scope, input)?;
    if let Some(n) = query_number(
        scope,
        states,
        &spec.tolerated_count_query,
        "ToleratedFailureCount",
    )? {
        if n < 0.0 || n.fract() != 0.0 {
            return Err(
                scope.query_failure("ToleratedFailureCount must be a non-negative integer.")
            );
        }
        t.count = Some(n as u64);
    }
    if let Some(p) = query_number(
        scope,
        states,
        &spec.tolerated_percentage_query,
        "ToleratedFailurePercentage",
    )? {
        if !(0.0..=100.0).contains(&p) {
            return Err(
                scope.query_failure("ToleratedFailurePercentage must be between 0 and 100.")
            );
        }
        t.percentage = Some(p);
    }
    Ok(t)
}

fn tolerance_paths(spec: &MapSpec, scope: &Scope, input: &Value) -> Result<Tolerance, Failure> {
    let mut t = Tolerance {
        count: spec.tolerated_count,
        percentage: spec.tolerated_percentage,
    };
    if let Some(p) = &spec.tolerated_count_path {
        let n = int_setting(scope, input, p, "ToleratedFailureCountPath")?;
        if n < 0 {
            return Err(scope.runtime("ToleratedFailureCount cannot be negative."));
        }
        t.count = Some(n as u64);
    }
    if let Some(p) = &spec.tolerated_percentage_path {
        let v = p.evaluate(&scope.roots(input)).map_err(|_| {
            scope.runtime(&format!("The ToleratedFailurePercentagePath field refers to a value that does not exist: {}", p.text))
        })?;
        let number = match &v {
            Value::String(s) => s.trim().parse::<f64>().ok(),
            other => other.as_f64(),
        };
        let pct = number.ok_or_else(|| {
            scope.runtime(&format!(
                "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                shown(&v),
                p.text
            ))
        })?;
        if !(0.0..=100.0).contains(&pct) {
            return Err(scope.runtime("ToleratedFailurePercentage must be between 0 and 100."));
        }
        t.percentage = Some(pct);
    }
    Ok(t)
}

impl Tolerance {
    pub(super) fn configured(&self) -> bool {
        self.count.is_some() || self.percentage.is_some()
    }

    pub(super) fn exceeded(&self, failures: u64, total: usize) -> bool {
        let by_count = self.count.is_none_or(|c| failures > c);
        let by_pct = self
            .percentage
            .is_none_or(|p| total == 0 || failures as f64 * 100.0 / total as f64 > p);
        if !self.configured() {
            failures > 0
        } else {
            by_count && by_pct
        }
    }
}

/// A JSONata Map's numeric setting (`{% ... %}` or a number); None when not set that way.
fn query_number(
    scope: &Scope,
    states: &Value,
    t: &Option<Template>,
    field: &str,
) -> Result<Option<f64>, Failure> {
    match t {
        None => Ok(None),
        Some(t) => {
            let v = scope.query_typed(t, states, field, "number")?;
            Ok(v.as_f64())
        }
    }
}
