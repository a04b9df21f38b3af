//! Match expressions: the objects in a field's value list, such as `{"prefix": "a"}`,
//! `{"numeric": [">", 0]}` or `{"anything-but": {"suffix": ".png"}}`, with AWS's validation.

use serde_json::{Map, Value};

use crate::cidr::IpRange;
use crate::condition::{AnythingBut, Condition};
use crate::error::PatternError;
use crate::ignore_case;
use crate::numeric::{self, Range};
use crate::wildcard::Wildcard;

const ONE_KEY: &str = "Only one key allowed in match expression";
const TOO_MANY_NUMERIC: &str = "Too many elements in numeric expression";

pub(crate) const OPERATORS: &[&str] = &[
    "exactly",
    "prefix",
    "suffix",
    "numeric",
    "anything-but",
    "exists",
    "cidr",
    "equals-ignore-case",
    "wildcard",
];

/// The operator key of an expression. AWS reads the first key of the object; our JSON maps are
/// sorted, so prefer a known operator to stay close to AWS when several keys are given.
fn operator(expression: &Map<String, Value>) -> Option<(&str, &Value)> {
    expression
        .iter()
        .find(|(k, _)| OPERATORS.contains(&k.as_str()))
        .or_else(|| expression.iter().next())
        .map(|(k, v)| (k.as_str(), v))
}

/// The pattern text of a `wildcard` expression, for the complexity check across a field.
pub(crate) fn wildcard_text(expression: &Map<String, Value>) -> Option<&str> {
    match operator(expression) {
        Some(("wildcard", Value::String(s))) => Some(s),
        _ => None,
    }
}

pub(crate) fn parse(
    expression: &Map<String, Value>,
    path: &[String],
) -> Result<Condition, PatternError> {
    let err = |reason: String| PatternError::new(path, reason);
    let Some((name, value)) = operator(expression) else {
        return Err(err("Match expression name not found".into()));
    };
    let single = |c: Condition, extra: &str| {
        if expression.len() > 1 {
            Err(err(extra.into()))
        } else {
            Ok(c)
        }
    };
    match name {
        "exactly" => match value {
            Value::String(s) => single(
                Condition::Str {
                    text: s.clone(),
                    ip: None,
                },
                ONE_KEY,
            ),
            _ => Err(err("exact match pattern must be a string".into())),
        },
        "prefix" | "suffix" => {
            let prefix = name == "prefix";
            match value {
                Value::Object(inner) => {
                    let folded = ignore_case_operand(inner, name).map_err(err)?;
                    let c = if prefix {
                        Condition::PrefixIgnoreCase(folded)
                    } else {
                        Condition::SuffixIgnoreCase(folded)
                    };
                    single(c, ONE_KEY)
                }
                Value::String(s) => {
                    let c = if prefix {
                        Condition::Prefix(s.clone())
                    } else {
                        Condition::Suffix(s.clone())
                    };
                    single(c, ONE_KEY)
                }
                _ => Err(err(format!("{name} match pattern must be a string"))),
            }
        }
        "numeric" => match value {
            Value::Array(items) => single(
                Condition::Numeric(parse_numeric(items).map_err(err)?),
                TOO_MANY_NUMERIC,
            ),
            _ => Err(err("Value of numeric must be an array.".into())),
        },
        "anything-but" => single(
            Condition::AnythingBut(parse_anything_but(value).map_err(err)?),
            TOO_MANY_NUMERIC,
        ),
        "exists" => match value {
            Value::Bool(b) => single(Condition::Exists(*b), ONE_KEY),
            _ => Err(err(
                "exists match pattern must be either true or false.".into()
            )),
        },
        // AWS's own wording for a non-string CIDR names "prefix".
        "cidr" => match value {
            Value::String(s) => single(
                Condition::Cidr(IpRange::parse_cidr(s).map_err(err)?),
                ONE_KEY,
            ),
            _ => Err(err("prefix match pattern must be a string".into())),
        },
        "equals-ignore-case" => match value {
            Value::String(s) => single(Condition::EqualsIgnoreCase(ignore_case::fold(s)), ONE_KEY),
            _ => Err(err(
                "equals-ignore-case match pattern must be a string".into()
            )),
        },
        "wildcard" => match value {
            Value::String(s) => single(
                Condition::Wildcard(Wildcard::parse(s).map_err(err)?),
                ONE_KEY,
            ),
            _ => Err(err("wildcard match pattern must be a string".into())),
        },
        other => Err(err(format!("Unrecognized match type {other}"))),
    }
}

/// `{"equals-ignore-case": "x"}` under `prefix` or `suffix`.
fn ignore_case_operand(inner: &Map<String, Value>, under: &str) -> Result<String, String> {
    let title = if under == "prefix" {
        "Prefix"
    } else {
        "Suffix"
    };
    let Some((op, value)) = inner.iter().next() else {
        return Err(format!("{title} expression name not found"));
    };
    let (op, value) = inner
        .get_key_value("equals-ignore-case")
        .unwrap_or((op, value));
    if op != "equals-ignore-case" {
        return Err(format!("Unsupported {under} pattern: {op}"));
    }
    let Value::String(s) = value else {
        return Err("equals-ignore-case match pattern must be a string".into());
    };
    if inner.len() > 1 {
        return Err(ONE_KEY.into());
    }
    Ok(ignore_case::fold(s))
}

/// How AWS's reader prints the token it stopped at.
fn token_text(v: Option<&Value>) -> String {
    match v {
        None => "]".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(_)) => "[".into(),
        Some(Value::Object(_)) => "{".into(),
        Some(other) => other.to_string(),
    }
}

fn number_operand(v: Option<&Value>, op: &str) -> Result<i64, String> {
    match v {
        Some(Value::Number(n)) => numeric::comparable(n).map_err(str::to_string),
        _ => {
            let shown = if op == "=" { "equals" } else { op };
            Err(format!("Value of {shown} must be numeric"))
        }
    }
}

fn parse_numeric(items: &[Value]) -> Result<Range, String> {
    let mut it = items.iter();
    let op = match it.next() {
        Some(Value::String(op)) => op.as_str(),
        other => {
            return Err(format!(
                "Invalid member in numeric match: {}",
                token_text(other)
            ));
        }
    };
    let end = |it: &mut std::slice::Iter<'_, Value>, msg: &str| match it.next() {
        None => Ok(()),
        Some(_) => Err(msg.to_string()),
    };
    match op {
        "=" => {
            let v = number_operand(it.next(), op)?;
            end(&mut it, TOO_MANY_NUMERIC)?;
            Ok(Range::equal(v))
        }
        "<" | "<=" => {
            let v = number_operand(it.next(), op)?;
            end(&mut it, TOO_MANY_NUMERIC)?;
            Range::new(None, false, Some(v), op == "<").map_err(str::to_string)
        }
        ">" | ">=" => {
            let low = number_operand(it.next(), op)?;
            let low_open = op == ">";
            let Some(next) = it.next() else {
                return Range::new(Some(low), low_open, None, false).map_err(str::to_string);
            };
            let Value::String(top_op) = next else {
                return Err(format!(
                    "Bad value in numeric range: {}",
                    token_text(Some(next))
                ));
            };
            if top_op != "<" && top_op != "<=" {
                return Err(format!("Bad numeric range operator: {top_op}"));
            }
            let high = number_operand(it.next(), top_op)?;
            end(&mut it, "Too many terms in numeric range expression")?;
            Range::new(Some(low), low_open, Some(high), top_op == "<").map_err(str::to_string)
        }
        other => Err(format!("Unrecognized numeric range operator: {other}")),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ButKind {
    Plain,
    IgnoreCase,
    Prefix,
    Suffix,
    Wildcard,
}

impl ButKind {
    fn wrong_type(self) -> &'static str {
        match self {
            ButKind::IgnoreCase => {
                "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
            }
            ButKind::Wildcard => "wildcard match pattern must be a string",
            _ => "prefix/suffix match pattern must be a string",
        }
    }
}

fn parse_anything_but(value: &Value) -> Result<AnythingBut, String> {
    let (kind, operand) = match value {
        Value::Object(inner) => {
            let Some((op, operand)) = inner.iter().next() else {
                return Err("Anything-But expression name not found".into());
            };
            let kind = match op.as_str() {
                "equals-ignore-case" => ButKind::IgnoreCase,
                "prefix" => ButKind::Prefix,
                "suffix" => ButKind::Suffix,
                "wildcard" => ButKind::Wildcard,
                other => return Err(format!("Unsupported anything-but pattern: {other}")),
            };
            if inner.len() > 1 {
                return Err(TOO_MANY_NUMERIC.into());
            }
            (kind, operand)
        }
        other => (ButKind::Plain, other),
    };
    let items: &[Value] = match operand {
        Value::Array(items) => items,
        Value::String(_) | Value::Number(_) => std::slice::from_ref(operand),
        _ => {
            return Err(
                "Value of anything-but must be an array or single string/number value.".into(),
            );
        }
    };
    if kind == ButKind::Plain {
        return plain_anything_but(items);
    }
    let mut texts = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(s) = item else {
            return Err(kind.wrong_type().into());
        };
        if matches!(kind, ButKind::Prefix | ButKind::Suffix) && s.is_empty() {
            return Err("Null prefix/suffix not allowed".into());
        }
        texts.push(s.clone());
    }
    Ok(match kind {
        ButKind::IgnoreCase => {
            AnythingBut::IgnoreCase(texts.iter().map(|t| ignore_case::fold(t)).collect())
        }
        ButKind::Prefix => AnythingBut::Prefixes(texts),
        ButKind::Suffix => AnythingBut::Suffixes(texts),
        _ => AnythingBut::Wildcards(
            texts
                .iter()
                .map(|t| Wildcard::parse(t))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn plain_anything_but(items: &[Value]) -> Result<AnythingBut, String> {
    let mut strings = Vec::new();
    let mut numbers = Vec::new();
    for item in items {
        match item {
            Value::String(s) => strings.push(s.clone()),
            Value::Number(n) => numbers.push(numeric::comparable(n).map_err(str::to_string)?),
            _ => {
                return Err(
                    "Inside anything but list, start|null|boolean is not supported.".into(),
                );
            }
        }
    }
    match (strings.is_empty(), numbers.is_empty()) {
        (false, true) => Ok(AnythingBut::Strings(strings)),
        (true, false) => Ok(AnythingBut::Numbers(numbers)),
        _ => Err(
            "Inside anything but list, either all values are number or string, mixed type is not supported"
                .into(),
        ),
    }
}
