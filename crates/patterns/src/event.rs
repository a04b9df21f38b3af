//! Event preparation: AWS addresses event fields by dot-joined names, so an event key that
//! itself contains dots (`{"a.b": 1}`) is the same field as `{"a": {"b": 1}}`.
//!
//! Such keys are rare, so the event is checked first and only rebuilt when one is present.

use std::borrow::Cow;

use serde_json::{Map, Value};

fn has_dotted_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('.') || has_dotted_key(v)),
        Value::Array(items) => items.iter().any(has_dotted_key),
        _ => false,
    }
}

/// The event with dotted keys expanded into nesting.
pub(crate) fn normalize(event: &Value) -> Cow<'_, Value> {
    if has_dotted_key(event) {
        Cow::Owned(expand(event))
    } else {
        Cow::Borrowed(event)
    }
}

fn expand(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let segments: Vec<&str> = k.split('.').collect();
                insert(&mut out, &segments, expand(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(expand).collect()),
        other => other.clone(),
    }
}

/// Puts `value` at `segments`; where two spellings meet at one path both are kept, as the
/// elements of an array, because AWS sees both values at that dotted name.
fn insert(map: &mut Map<String, Value>, segments: &[&str], value: Value) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let value = if rest.is_empty() {
        value
    } else {
        let mut inner = Map::new();
        insert(&mut inner, rest, value);
        Value::Object(inner)
    };
    match map.get_mut(*first) {
        None => {
            map.insert((*first).to_string(), value);
        }
        Some(existing) => merge(existing, value),
    }
}

fn merge(existing: &mut Value, value: Value) {
    match (existing, value) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(e) => merge(e, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(a), v) => a.push(v),
        (e, v) => {
            let old = std::mem::take(e);
            *e = Value::Array(vec![old, v]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_keys_become_nesting() {
        let e = json!({"detail": {"state.status": "running"}});
        assert_eq!(
            *normalize(&e),
            json!({"detail": {"state": {"status": "running"}}})
        );
        let plain = json!({"a": {"b": 1}});
        assert!(matches!(normalize(&plain), Cow::Borrowed(_)));
    }

    #[test]
    fn both_spellings_are_kept() {
        let e = json!({"a": {"b": 1}, "a.b": 2});
        assert_eq!(*normalize(&e), json!({"a": {"b": [1, 2]}}));
    }
}
