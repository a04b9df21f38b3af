//! Choice states (JSONPath): the first rule whose condition holds, else `Default`.

use super::flow::{Failure, Flow};
use super::scope::Scope;
use crate::definition::{ChoiceKind as Kind, Cond, Op, Operand, Rule};
use crate::error::names;
use crate::path::{PathMiss, Roots};
use crate::time::parse_timestamp;
use serde_json::Value;
use std::cmp::Ordering;

pub(crate) fn run(scope: &Scope, rules: &[Rule], default: &Option<String>) -> Flow {
    let state = scope.state;
    let run = || -> Result<Flow, Failure> {
        let effective = scope.input_path()?;
        let roots = scope.roots(&effective);
        let mut chosen = None;
        for r in rules {
            if evaluate(&r.cond, &roots).map_err(|m| scope.runtime(&m))? {
                chosen = Some((r.next.clone(), r.assign.clone()));
                break;
            }
        }
        let (next, assign) = match (chosen, default) {
            (Some(c), _) => c,
            (None, Some(d)) => (d.clone(), state.assign.clone()),
            (None, None) => return Err(no_choice_matched(scope)),
        };
        let output = scope.output_path(&effective)?;
        Ok(Flow::Done {
            output,
            next: Some(next),
            assign: Some((effective, assign)),
        })
    };
    run().unwrap_or_else(Flow::Error)
}

/// No rule matched and there is no `Default` (both query languages).
pub(crate) fn no_choice_matched(scope: &Scope) -> Failure {
    Failure::new(
        names::NO_CHOICE_MATCHED,
        format!(
            "No Choice Rule matched and no Default is specified in the state '{}'.",
            scope.state.name
        ),
    )
}

/// Evaluates a condition; `Err` is a `States.Runtime` message.
fn evaluate(c: &Cond, roots: &Roots) -> Result<bool, String> {
    match c {
        Cond::And(cs) => {
            for c in cs {
                if !evaluate(c, roots)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Cond::Or(cs) => {
            for c in cs {
                if evaluate(c, roots)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Cond::Not(c) => Ok(!evaluate(c, roots)?),
        Cond::Test {
            variable,
            op,
            operand,
        } => {
            let value = match variable.evaluate(roots) {
                Ok(v) => Some(v),
                Err(PathMiss::NoMatch) => None,
                Err(PathMiss::UndefinedVariable(v)) => {
                    return Err(format!(
                        "Invalid path '{}': The variable \"${v}\" is not defined.",
                        variable.text
                    ));
                }
            };
            if *op == Op::IsPresent {
                let want = matches!(operand, Operand::Value(Value::Bool(true)));
                return Ok(value.is_some() == want);
            }
            let Some(value) = value else {
                return Err(format!(
                    "Invalid path '{}': The choice state's condition path references an invalid value.",
                    variable.text
                ));
            };
            let rhs = match operand {
                Operand::Value(v) => v.clone(),
                Operand::Path(p) => p.evaluate(roots).map_err(|_| {
                    format!("Invalid path '{}': The choice state's condition path references an invalid value.", p.text)
                })?,
            };
            Ok(test(*op, &value, &rhs))
        }
    }
}

fn is_flag(rhs: &Value, actual: bool) -> bool {
    rhs.as_bool() == Some(actual)
}

fn test(op: Op, v: &Value, rhs: &Value) -> bool {
    match op {
        Op::IsNull => is_flag(rhs, v.is_null()),
        Op::IsPresent => true,
        Op::IsNumeric => is_flag(rhs, v.is_number()),
        Op::IsString => is_flag(rhs, v.is_string()),
        Op::IsBoolean => is_flag(rhs, v.is_boolean()),
        Op::IsTimestamp => is_flag(rhs, v.as_str().and_then(parse_timestamp).is_some()),
        Op::StringMatches => match (v.as_str(), rhs.as_str()) {
            (Some(s), Some(p)) => string_matches(s, p),
            _ => false,
        },
        Op::Compare(kind, ord, or_equal) => {
            let got = match kind {
                Kind::String => v.as_str().zip(rhs.as_str()).map(|(a, b)| a.cmp(b)),
                Kind::Numeric => v
                    .as_f64()
                    .zip(rhs.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                Kind::Boolean => v.as_bool().zip(rhs.as_bool()).map(|(a, b)| a.cmp(&b)),
                Kind::Timestamp => v
                    .as_str()
                    .and_then(parse_timestamp)
                    .zip(rhs.as_str().and_then(parse_timestamp))
                    .map(|(a, b)| a.cmp(&b)),
            };
            match got {
                Some(o) => o == ord || (or_equal && o == Ordering::Equal),
                None => false,
            }
        }
    }
}

/// `*` matches any run of characters; `\*` and `\\` are literal.
fn string_matches(s: &str, pattern: &str) -> bool {
    let mut re = String::from("^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    re.push_str(&regex::escape(&n.to_string()));
                }
            }
            '*' => re.push_str(".*"),
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&format!("(?s){re}"))
        .map(|r| r.is_match(s))
        .unwrap_or(false)
}
