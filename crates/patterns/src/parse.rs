//! Validation and compilation of a pattern's structure: fields, nesting, value lists and `$or`.
//! Match expressions (`{"prefix": ..}` and the like) are read by [`crate::expr`].
//!
//! The checks and their wording follow AWS's rule compiler, so a pattern refused here is refused
//! by EventBridge with the same reason.

use serde_json::{Map, Value};

use crate::cidr;
use crate::condition::{Condition, number_text};
use crate::error::PatternError;
use crate::expr;
use crate::numeric;
use crate::tree::Node;
use crate::wildcard;

const OR: &str = "$or";

/// Names AWS reserves besides its operators; none may be a field name inside `$or`.
const RESERVED_IN_OR: &[&str] = &[
    "html",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

pub(crate) fn compile(pattern: &Value) -> Result<Node, PatternError> {
    let Value::Object(map) = pattern else {
        return Err(PatternError::new(&[], "Filter is not an object"));
    };
    let mut root = Node::default();
    parse_object(&mut root, map, &mut Vec::new(), false)?;
    root.finish();
    Ok(root)
}

fn parse_object(
    target: &mut Node,
    map: &Map<String, Value>,
    path: &mut Vec<String>,
    in_or: bool,
) -> Result<(), PatternError> {
    if map.is_empty() {
        return Err(PatternError::new(path, "Empty objects are not allowed"));
    }
    for (name, value) in map {
        if name == OR {
            parse_or(target, value, path)?;
            continue;
        }
        path.push(name.clone());
        if in_or
            && (expr::OPERATORS.contains(&name.as_str()) || RESERVED_IN_OR.contains(&name.as_str()))
        {
            return Err(PatternError::new(
                path,
                format!("{name} is Ruler reserved fieldName which cannot be used inside $or."),
            ));
        }
        let segments: Vec<&str> = name.split('.').collect();
        match value {
            Value::Object(inner) => parse_object(target.descend(&segments), inner, path, in_or)?,
            Value::Array(values) => {
                let conditions = parse_values(values, path)?;
                target.set_leaf(&segments, conditions);
            }
            _ => {
                return Err(PatternError::new(
                    path,
                    format!("\"{name}\" must be an object or an array"),
                ));
            }
        }
        path.pop();
    }
    Ok(())
}

fn parse_or(target: &mut Node, value: &Value, path: &mut Vec<String>) -> Result<(), PatternError> {
    let Value::Array(items) = value else {
        return Err(PatternError::new(
            path,
            "It must be an Array followed with $or.",
        ));
    };
    let mut alternatives = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(map) = item else {
            return Err(PatternError::new(
                path,
                "Only JSON object is allowed in array of $or relationship.",
            ));
        };
        let mut alt = Node::default();
        parse_object(&mut alt, map, path, true)?;
        alternatives.push(alt);
    }
    if alternatives.len() < 2 {
        return Err(PatternError::new(
            path,
            "There must have at least 2 Objects in $or relationship.",
        ));
    }
    target.add_or(alternatives);
    Ok(())
}

fn parse_values(values: &[Value], path: &[String]) -> Result<Vec<Condition>, PatternError> {
    if values.is_empty() {
        return Err(PatternError::new(path, "Empty arrays are not allowed"));
    }
    let mut wildcards: Vec<&str> = Vec::new();
    let mut conditions = Vec::with_capacity(values.len());
    for value in values {
        let condition = match value {
            Value::Object(expression) => {
                if let Some(w) = expr::wildcard_text(expression) {
                    wildcards.push(w);
                }
                expr::parse(expression, path)?
            }
            Value::String(s) => Condition::Str {
                text: s.clone(),
                ip: cidr::exact_ip(s),
            },
            Value::Number(n) => Condition::Num {
                text: number_text(n),
                value: numeric::comparable(n).ok(),
            },
            Value::Bool(b) => Condition::Bool(*b),
            Value::Null => Condition::Null,
            Value::Array(_) => {
                return Err(PatternError::new(
                    path,
                    "Match value must be String, number, true, false, or null",
                ));
            }
        };
        conditions.push(condition);
    }
    wildcard::check_complexity(&wildcards).map_err(|reason| PatternError::new(path, reason))?;
    Ok(conditions)
}
