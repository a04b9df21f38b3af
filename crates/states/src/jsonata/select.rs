//! Selecting from values without evaluating anything: field lookup (mapped over arrays), `*`
//! and `**`.

use super::value::JValue;

pub(crate) fn lookup(v: &JValue, key: &str) -> Option<JValue> {
    match v {
        JValue::Object(o) => o.get(key).cloned(),
        JValue::Array(items, _) => {
            let mut out = Vec::new();
            for it in items {
                match lookup(it, key) {
                    Some(JValue::Array(inner, _)) => out.extend(inner),
                    Some(other) => out.push(other),
                    None => {}
                }
            }
            Some(JValue::sequence(out))
        }
        _ => None,
    }
}

pub(crate) fn wildcard(v: &JValue) -> JValue {
    let mut out = Vec::new();
    if let JValue::Object(o) = v {
        for val in o.values() {
            match val {
                JValue::Array(items, _) => out.extend(items.iter().cloned()),
                other => out.push(other.clone()),
            }
        }
    }
    JValue::sequence(out)
}

pub(crate) fn descendants(v: &JValue, out: &mut Vec<JValue>, depth: usize) {
    if depth > 256 {
        return;
    }
    if !matches!(v, JValue::Array(..)) {
        out.push(v.clone());
    }
    match v {
        JValue::Array(items, _) => items.iter().for_each(|x| descendants(x, out, depth + 1)),
        JValue::Object(o) => o.values().for_each(|x| descendants(x, out, depth + 1)),
        _ => {}
    }
}
