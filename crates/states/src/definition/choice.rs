//! Choice rules: the comparison operators and boolean combinators (JSONPath) and `Condition`
//! rules (JSONata), parsed into the model the engine's Choice state evaluates.

use super::fields::template_in;
use crate::error::DefinitionError;
use crate::path::JsonPath;
use crate::query::expression_text;
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
    let field = |key: &str| template_in(obj, at, key, true);
    let condition = match obj.get("Condition") {
        Some(Value::Bool(_)) => field("Condition")?,
        Some(Value::String(s)) if expression_text(s).is_some() => field("Condition")?,
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
    match combinator(obj, at, &keys)? {
        Some(cond) => Ok(cond),
        None => comparison(obj, at, &keys),
    }
}

/// `And`, `Or` or `Not`: None when the rule is a comparison.
fn combinator(
    obj: &Map<String, Value>,
    at: &str,
    keys: &[&String],
) -> Result<Option<Cond>, DefinitionError> {
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
        return Ok(Some(if keys[0] == "And" {
            Cond::And(conds)
        } else {
            Cond::Or(conds)
        }));
    }
    if keys.len() == 1 && keys[0] == "Not" {
        return Ok(Some(Cond::Not(Box::new(nested(
            obj.get("Not").unwrap_or(&Value::Null),
            &format!("{at}/Not"),
        )?))));
    }
    Ok(None)
}

/// `Variable` and one comparison operator with its operand (a value or a path).
fn comparison(
    obj: &Map<String, Value>,
    at: &str,
    keys: &[&String],
) -> Result<Cond, DefinitionError> {
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
