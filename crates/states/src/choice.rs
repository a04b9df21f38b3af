//! Choice rules: parsing the comparison operators and boolean combinators, and evaluating them.

use crate::error::DefinitionError;
use crate::path::{JsonPath, PathMiss, Roots};
use crate::template::{self, Template};
use crate::time::parse_timestamp;
use serde_json::{Map, Value};
use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) cond: Cond,
    pub(crate) next: String,
    pub(crate) assign: Option<Template>,
    /// JSONata rules: `Condition` (a boolean or `{% ... %}`) replaces `cond`, and may set Output.
    pub(crate) condition: Option<Template>,
    pub(crate) output: Option<Template>,
}

#[derive(Debug, Clone)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Test {
        variable: JsonPath,
        op: Op,
        operand: Operand,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Value(Value),
    Path(JsonPath),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    Compare(Kind, Ordering, bool /* or equal */),
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

fn err(path: &str, message: impl Into<String>) -> DefinitionError {
    DefinitionError {
        path: path.to_string(),
        message: message.into(),
    }
}

fn operator(name: &str) -> Option<(Op, bool)> {
    let (base, is_path) = match name.strip_suffix("Path") {
        Some(b) if name != "TimestampPath" => (b, true),
        _ => (name, false),
    };
    let kinds = [
        ("String", Kind::String),
        ("Numeric", Kind::Numeric),
        ("Boolean", Kind::Boolean),
        ("Timestamp", Kind::Timestamp),
    ];
    for (prefix, kind) in kinds {
        if let Some(rest) = base.strip_prefix(prefix) {
            let op = match rest {
                "Equals" => Op::Compare(kind, Ordering::Equal, false),
                "LessThan" if kind != Kind::Boolean => Op::Compare(kind, Ordering::Less, false),
                "GreaterThan" if kind != Kind::Boolean => {
                    Op::Compare(kind, Ordering::Greater, false)
                }
                "LessThanEquals" if kind != Kind::Boolean => {
                    Op::Compare(kind, Ordering::Less, true)
                }
                "GreaterThanEquals" if kind != Kind::Boolean => {
                    Op::Compare(kind, Ordering::Greater, true)
                }
                "Matches" if kind == Kind::String && !is_path => Op::StringMatches,
                _ => return None,
            };
            return Some((op, is_path));
        }
    }
    let op = match base {
        "IsNull" => Op::IsNull,
        "IsPresent" => Op::IsPresent,
        "IsNumeric" => Op::IsNumeric,
        "IsString" => Op::IsString,
        "IsBoolean" => Op::IsBoolean,
        "IsTimestamp" => Op::IsTimestamp,
        _ => return None,
    };
    (!is_path).then_some((op, false))
}

/// A JSONata choice rule: `Condition`, `Next`, optional `Output` and `Assign`.
fn parse_jsonata_rule(
    obj: &Map<String, Value>,
    at: &str,
    next: String,
) -> Result<Rule, DefinitionError> {
    for k in obj.keys() {
        if !["Condition", "Next", "Output", "Assign", "Comment"].contains(&k.as_str()) {
            return Err(err(
                &format!("{at}/{k}"),
                format!("field '{k}' is not allowed in a JSONata choice rule (use 'Condition')"),
            ));
        }
    }
    let field = |key: &str| crate::definition::template_in(obj, at, key, true);
    let condition = match obj.get("Condition") {
        Some(Value::Bool(_)) => field("Condition")?,
        Some(Value::String(s)) if crate::query::expression_text(s).is_some() => field("Condition")?,
        _ => {
            return Err(err(
                &format!("{at}/Condition"),
                "a JSONata choice rule needs 'Condition': true, false or a {% ... %} expression",
            ));
        }
    };
    Ok(Rule {
        // `Condition` decides; the JSONPath condition is an unused always-true placeholder.
        cond: Cond::And(Vec::new()),
        next,
        assign: field("Assign")?,
        condition,
        output: field("Output")?,
    })
}

pub(crate) fn parse_rule(v: &Value, at: &str, jsonata: bool) -> Result<Rule, DefinitionError> {
    let obj = v
        .as_object()
        .ok_or_else(|| err(at, "a choice rule must be an object"))?;
    let next = match obj.get("Next") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(err(
                &format!("{at}/Next"),
                "a top-level choice rule needs 'Next'",
            ));
        }
    };
    if jsonata {
        return parse_jsonata_rule(obj, at, next);
    }
    let assign = match obj.get("Assign") {
        None => None,
        Some(a) => Some(template::compile(a).map_err(|(p, m)| err(&format!("{at}/Assign{p}"), m))?),
    };
    let cond = parse_cond(obj, at, &["Next", "Assign", "Comment"])?;
    Ok(Rule {
        cond,
        next,
        assign,
        condition: None,
        output: None,
    })
}

fn parse_cond(obj: &Map<String, Value>, at: &str, extra: &[&str]) -> Result<Cond, DefinitionError> {
    let keys: Vec<&String> = obj
        .keys()
        .filter(|k| !extra.contains(&k.as_str()) && *k != "Comment")
        .collect();
    let nested = |v: &Value, at: &str| -> Result<Cond, DefinitionError> {
        let o = v
            .as_object()
            .ok_or_else(|| err(at, "a choice rule must be an object"))?;
        if o.contains_key("Next") {
            return Err(err(
                &format!("{at}/Next"),
                "nested choice rules cannot have 'Next'",
            ));
        }
        parse_cond(o, at, &[])
    };
    if keys.len() == 1 && (keys[0] == "And" || keys[0] == "Or") {
        let list = obj
            .get(keys[0].as_str())
            .unwrap_or(&Value::Null)
            .as_array()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                err(
                    &format!("{at}/{}", keys[0]),
                    "must be a non-empty array of rules",
                )
            })?;
        let mut conds = Vec::new();
        for (i, c) in list.iter().enumerate() {
            conds.push(nested(c, &format!("{at}/{}/{i}", keys[0]))?);
        }
        return Ok(if keys[0] == "And" {
            Cond::And(conds)
        } else {
            Cond::Or(conds)
        });
    }
    if keys.len() == 1 && keys[0] == "Not" {
        return Ok(Cond::Not(Box::new(nested(
            obj.get("Not").unwrap_or(&Value::Null),
            &format!("{at}/Not"),
        )?)));
    }
    let variable = match obj.get("Variable") {
        Some(Value::String(s)) => {
            JsonPath::parse(s).map_err(|e| err(&format!("{at}/Variable"), e))?
        }
        _ => {
            return Err(err(
                &format!("{at}/Variable"),
                "a comparison needs 'Variable' (a path string)",
            ));
        }
    };
    let ops: Vec<&&String> = keys.iter().filter(|k| k.as_str() != "Variable").collect();
    if ops.len() != 1 {
        return Err(err(
            at,
            "a comparison needs exactly one comparison operator",
        ));
    }
    let name = ops[0].as_str();
    let (op, is_path) = operator(name).ok_or_else(|| {
        err(
            &format!("{at}/{name}"),
            format!("unknown comparison operator '{name}'"),
        )
    })?;
    let raw = obj.get(name).unwrap_or(&Value::Null);
    let oat = format!("{at}/{name}");
    let operand = if is_path {
        let s = raw
            .as_str()
            .ok_or_else(|| err(&oat, "must be a path string"))?;
        Operand::Path(JsonPath::parse(s).map_err(|e| err(&oat, e))?)
    } else {
        let ok = match op {
            Op::Compare(Kind::String, ..) | Op::StringMatches => raw.is_string(),
            Op::Compare(Kind::Numeric, ..) => raw.is_number(),
            Op::Compare(Kind::Timestamp, ..) => raw.as_str().and_then(parse_timestamp).is_some(),
            _ => raw.is_boolean(),
        };
        if !ok {
            return Err(err(
                &oat,
                format!("the value of '{name}' has the wrong type"),
            ));
        }
        Operand::Value(raw.clone())
    };
    Ok(Cond::Test {
        variable,
        op,
        operand,
    })
}

/// Evaluates a condition; `Err` is a `States.Runtime` message.
pub(crate) fn evaluate(c: &Cond, roots: &Roots) -> Result<bool, String> {
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
