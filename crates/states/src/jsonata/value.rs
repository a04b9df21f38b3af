//! JSONata's value model: JSON values plus functions, and arrays that remember whether they are
//! a *sequence* (built by path navigation, collapsed when singleton) or a constructed array.

use super::JsonataError;
use super::parser::Node;
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// What evaluating an expression gives: a value, nothing (JSONata's *undefined*), or an error.
pub(crate) type Out = Result<Option<JValue>, JsonataError>;

/// Largest array a range or `$range` may build.
pub(crate) const MAX_ARRAY: usize = 10_000_000;

/// Variables bound with `:=` or as lambda parameters, innermost first. It lives with the
/// values because a lambda closes over its frame.
#[derive(Debug, Default)]
pub(crate) struct Frame {
    vars: RefCell<HashMap<String, JValue>>,
    parent: Option<Rc<Frame>>,
}

impl Frame {
    pub(crate) fn child(parent: &Rc<Frame>) -> Rc<Frame> {
        Rc::new(Frame {
            vars: RefCell::default(),
            parent: Some(parent.clone()),
        })
    }

    pub(crate) fn get(&self, name: &str) -> Option<JValue> {
        if let Some(v) = self.vars.borrow().get(name) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.get(name))
    }

    pub(crate) fn bound(&self, name: &str) -> bool {
        self.vars.borrow().contains_key(name) || self.parent.as_ref().is_some_and(|p| p.bound(name))
    }

    pub(crate) fn set(&self, name: &str, v: Option<JValue>) {
        let mut vars = self.vars.borrow_mut();
        match v {
            Some(v) => vars.insert(name.to_string(), v),
            None => vars.remove(name),
        };
    }
}

/// Calls a function value with evaluated arguments. The evaluator implements it and the
/// function library calls back through it (`$map`, `$sort` with a comparator ...), so the
/// library does not import the evaluator.
pub(crate) trait Apply {
    fn apply(&mut self, f: &JValue, args: Vec<Option<JValue>>, input: Option<&JValue>) -> Out;
}

/// How many parameters a function declares (`$map` passes index and array only if wanted).
pub(crate) fn arity(f: &JValue) -> usize {
    match f {
        JValue::Lambda(l) => l.params.len(),
        _ => 1,
    }
}

/// How an array came to be; it decides flattening and singleton collapsing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Flags {
    /// Produced by navigation: a singleton collapses to its item, nested sequences flatten.
    pub(crate) sequence: bool,
    /// `[]` in a path: keep a singleton as an array.
    pub(crate) keep: bool,
    /// Built by an array constructor: not flattened into the enclosing path result.
    pub(crate) cons: bool,
}

/// A JSONata object: its keys keep their insertion order, as in JavaScript (and in the JSON
/// the state received), so `$string`, `$keys` and `$each` see the object's own order.
pub(crate) type Object = indexmap::IndexMap<String, JValue>;

#[derive(Debug, Clone)]
pub(crate) enum JValue {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<JValue>, Flags),
    Object(Object),
    Lambda(Rc<Lambda>),
    Builtin(&'static str),
    Regex(Rc<regex::Regex>),
}

/// A user function: its parameters, body and the bindings it closes over.
#[derive(Debug)]
pub(crate) struct Lambda {
    pub(crate) params: Vec<String>,
    pub(crate) body: Arc<Node>,
    pub(crate) frame: Rc<Frame>,
}

impl JValue {
    pub(crate) fn array(items: Vec<JValue>) -> JValue {
        JValue::Array(items, Flags::default())
    }

    pub(crate) fn sequence(items: Vec<JValue>) -> JValue {
        JValue::Array(
            items,
            Flags {
                sequence: true,
                ..Flags::default()
            },
        )
    }

    pub(crate) fn is_function(&self) -> bool {
        matches!(self, JValue::Lambda(_) | JValue::Builtin(_))
    }

    /// The type name `$type` reports.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            JValue::Null => "null",
            JValue::Bool(_) => "boolean",
            JValue::Number(_) => "number",
            JValue::String(_) => "string",
            JValue::Array(..) => "array",
            JValue::Object(_) => "object",
            JValue::Lambda(_) | JValue::Builtin(_) | JValue::Regex(_) => "function",
        }
    }

    /// The items of an array, or the value as a one-item list (JSONata's array signatures).
    pub(crate) fn into_items(self) -> Vec<JValue> {
        match self {
            JValue::Array(items, _) => items,
            other => vec![other],
        }
    }

    pub(crate) fn from_json(v: &Value) -> JValue {
        match v {
            Value::Null => JValue::Null,
            Value::Bool(b) => JValue::Bool(*b),
            Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => JValue::String(s.clone()),
            Value::Array(a) => JValue::array(a.iter().map(JValue::from_json).collect()),
            Value::Object(o) => JValue::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), JValue::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON; functions have no JSON form.
    pub(crate) fn to_json(&self) -> Result<Value, JsonataError> {
        Ok(match self {
            JValue::Null => Value::Null,
            JValue::Bool(b) => Value::Bool(*b),
            JValue::Number(n) => number_to_json(*n),
            JValue::String(s) => Value::String(s.clone()),
            JValue::Array(items, _) => Value::Array(
                items
                    .iter()
                    .map(JValue::to_json)
                    .collect::<Result<_, _>>()?,
            ),
            JValue::Object(o) => {
                let mut m = Map::new();
                for (k, v) in o {
                    m.insert(k.clone(), v.to_json()?);
                }
                Value::Object(m)
            }
            JValue::Lambda(_) | JValue::Builtin(_) | JValue::Regex(_) => {
                return Err(JsonataError::unsupported_result());
            }
        })
    }
}

/// Integral numbers print without a fraction, as JavaScript prints them.
pub(crate) fn number_to_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Deep equality as JSONata's `=` defines it (functions are never equal).
pub(crate) fn deep_equal(a: &JValue, b: &JValue) -> bool {
    match (a, b) {
        (JValue::Null, JValue::Null) => true,
        (JValue::Bool(x), JValue::Bool(y)) => x == y,
        (JValue::Number(x), JValue::Number(y)) => x == y,
        (JValue::String(x), JValue::String(y)) => x == y,
        (JValue::Array(x, _), JValue::Array(y, _)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_equal(p, q))
        }
        (JValue::Object(x), JValue::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => false,
    }
}

/// JSONata's truthiness (`$boolean`): empty strings, zero, empty arrays/objects are false.
pub(crate) fn truthy(v: &JValue) -> bool {
    match v {
        JValue::Null => false,
        JValue::Bool(b) => *b,
        JValue::Number(n) => *n != 0.0,
        JValue::String(s) => !s.is_empty(),
        JValue::Array(items, _) => items.iter().any(truthy),
        JValue::Object(o) => !o.is_empty(),
        JValue::Lambda(_) | JValue::Builtin(_) | JValue::Regex(_) => false,
    }
}

/// Number formatting of `$string`: integers plainly, others to 15 significant digits.
pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        return format!("{}", n as i128);
    }
    let s = format!("{:.14e}", n);
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let reparsed: f64 = format!("{mantissa}e{exp}").parse().unwrap_or(n);
    if (-7..21).contains(&exp) {
        let plain = format!("{reparsed}");
        plain
    } else {
        let m = mantissa.trim_end_matches('0').trim_end_matches('.');
        let sign = if exp < 0 { "-" } else { "+" };
        format!("{m}e{sign}{}", exp.abs())
    }
}

/// `$string` of a value: strings as is, everything else as compact JSON.
pub(crate) fn stringify(v: &JValue) -> Result<String, JsonataError> {
    Ok(match v {
        JValue::String(s) => s.clone(),
        JValue::Number(n) => format_number(*n),
        JValue::Lambda(_) | JValue::Builtin(_) | JValue::Regex(_) => String::new(),
        other => json_text(other)?,
    })
}

fn json_text(v: &JValue) -> Result<String, JsonataError> {
    Ok(match v {
        JValue::Number(n) => format_number(*n),
        JValue::Array(items, _) => {
            let parts: Result<Vec<String>, _> = items.iter().map(json_text).collect();
            format!("[{}]", parts?.join(","))
        }
        JValue::Object(o) => {
            let mut parts = Vec::with_capacity(o.len());
            for (k, v) in o {
                if v.is_function() {
                    continue;
                }
                parts.push(format!("{}:{}", Value::String(k.clone()), json_text(v)?));
            }
            format!("{{{}}}", parts.join(","))
        }
        JValue::Lambda(_) | JValue::Builtin(_) | JValue::Regex(_) => "\"\"".into(),
        other => other.to_json()?.to_string(),
    })
}
