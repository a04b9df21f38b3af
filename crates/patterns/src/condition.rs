//! One value test of a pattern field (`"x"`, `{"prefix": ..}`, `{"numeric": ..}`, ...) and how it
//! judges a single scalar of the event.
//!
//! AWS distinguishes strings from other JSON scalars: string operators (prefix, suffix,
//! wildcard, equals-ignore-case, cidr) never match numbers, booleans or null, while
//! anything-but matches every present value it does not exclude, whatever its type.

use serde_json::{Number, Value};

use crate::cidr::{self, IpRange};
use crate::ignore_case;
use crate::numeric::{self, Range};
use crate::wildcard::Wildcard;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Condition {
    /// A string; when it is an IP address, any spelling of that address matches.
    Str {
        text: String,
        ip: Option<IpRange>,
    },
    /// A number: equal in value (when AWS can compare it) or identical in text.
    Num {
        text: String,
        value: Option<i64>,
    },
    Bool(bool),
    Null,
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    Numeric(Range),
    Cidr(IpRange),
    Exists(bool),
    AnythingBut(AnythingBut),
}

/// The exclusions of an `anything-but`; a value matches when it is present and not excluded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<i64>),
    IgnoreCase(Vec<String>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

/// Number text as AWS's JSON reader keeps it, for exact matching of numbers AWS cannot scale.
pub(crate) fn number_text(n: &Number) -> String {
    n.to_string()
}

impl Condition {
    /// Whether one scalar event value satisfies this condition. `Exists` is decided by the
    /// caller, which knows whether the field has any value at all.
    pub(crate) fn accepts(&self, value: &Value) -> bool {
        match (self, value) {
            (Condition::Str { text, ip }, Value::String(s)) => match ip {
                Some(range) => cidr::ip_of(s).is_some_and(|v| range.contains(&v)) || text == s,
                None => text == s,
            },
            (Condition::Num { text, value }, Value::Number(n)) => {
                value.is_some_and(|v| numeric::comparable(n) == Ok(v)) || *text == number_text(n)
            }
            (Condition::Bool(b), Value::Bool(v)) => b == v,
            (Condition::Null, Value::Null) => true,
            (Condition::Prefix(p), Value::String(s)) => s.starts_with(p.as_str()),
            (Condition::PrefixIgnoreCase(p), Value::String(s)) => ignore_case::starts_with(s, p),
            (Condition::Suffix(p), Value::String(s)) => s.ends_with(p.as_str()),
            (Condition::SuffixIgnoreCase(p), Value::String(s)) => ignore_case::ends_with(s, p),
            (Condition::EqualsIgnoreCase(p), Value::String(s)) => ignore_case::equals(p, s),
            (Condition::Wildcard(w), Value::String(s)) => w.matches(s),
            (Condition::Numeric(r), Value::Number(n)) => {
                numeric::comparable(n).is_ok_and(|v| r.contains(v))
            }
            (Condition::Cidr(r), Value::String(s)) => {
                cidr::ip_of(s).is_some_and(|v| r.contains(&v))
            }
            (Condition::AnythingBut(a), v) => !a.excludes(v),
            _ => false,
        }
    }
}

/// Whether the tests of one field (any of them) accept the scalars found at its path. No
/// scalars means the field is absent, which only `exists: false` accepts.
pub(crate) fn field_accepts<'v>(
    conditions: &[Condition],
    scalars: impl Iterator<Item = &'v Value> + Clone,
) -> bool {
    conditions.iter().any(|c| match c {
        Condition::Exists(want) => scalars.clone().next().is_none() != *want,
        other => scalars.clone().any(|s| other.accepts(s)),
    })
}

impl AnythingBut {
    fn excludes(&self, value: &Value) -> bool {
        match (self, value) {
            (AnythingBut::Strings(list), Value::String(s)) => list.iter().any(|x| x == s),
            (AnythingBut::Numbers(list), Value::Number(n)) => {
                numeric::comparable(n).is_ok_and(|v| list.contains(&v))
            }
            (AnythingBut::IgnoreCase(list), Value::String(s)) => {
                list.iter().any(|x| ignore_case::equals(x, s))
            }
            (AnythingBut::Prefixes(list), Value::String(s)) => {
                list.iter().any(|x| s.starts_with(x.as_str()))
            }
            (AnythingBut::Suffixes(list), Value::String(s)) => {
                list.iter().any(|x| s.ends_with(x.as_str()))
            }
            (AnythingBut::Wildcards(list), Value::String(s)) => list.iter().any(|w| w.matches(s)),
            _ => false,
        }
    }
}
