//! Many named patterns matched against one event, as the local bus does for every event.
//!
//! The event is prepared once (dotted keys expanded). Rules that demand exact values of a
//! top-level field (nearly every rule names its `source`) are indexed by those values, so an
//! event is only offered to the rules that could match it plus the rules that cannot be indexed.

use std::collections::HashMap;

use serde_json::Value;

use crate::Pattern;
use crate::event;

/// Fields tried, in order, as the index key of a rule.
const INDEX_FIELDS: &[&str] = &["source", "detail-type"];

/// Named patterns; matches are reported in the order the rules were given.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    rules: Vec<(String, Pattern)>,
    /// Per index field: value -> rules requiring it.
    index: Vec<(&'static str, HashMap<String, Vec<usize>>)>,
    /// Rules no index field applies to; always evaluated.
    unindexed: Vec<usize>,
}

impl Ruleset {
    pub fn new(rules: Vec<(String, Pattern)>) -> Self {
        let mut index: Vec<(&'static str, HashMap<String, Vec<usize>>)> =
            INDEX_FIELDS.iter().map(|f| (*f, HashMap::new())).collect();
        let mut unindexed = Vec::new();
        'rules: for (i, (_, pattern)) in rules.iter().enumerate() {
            for (field, map) in &mut index {
                if let Some(values) = pattern.root.required_strings(field) {
                    for v in values {
                        let entry = map.entry(v.to_string()).or_default();
                        // A value listed twice in one rule must not offer the rule twice.
                        if entry.last() != Some(&i) {
                            entry.push(i);
                        }
                    }
                    continue 'rules;
                }
            }
            unindexed.push(i);
        }
        Ruleset {
            rules,
            index,
            unindexed,
        }
    }

    /// Names of the rules whose pattern matches the event, in rule order.
    pub fn matching(&self, event: &Value) -> Vec<&str> {
        let event = event::normalize(event);
        let Value::Object(map) = &*event else {
            return Vec::new();
        };
        let mut candidates = self.unindexed.clone();
        for (field, values) in &self.index {
            let mut add = |s: &str| {
                if let Some(rules) = values.get(s) {
                    candidates.extend_from_slice(rules);
                }
            };
            match map.get(*field) {
                Some(Value::String(s)) => add(s),
                Some(Value::Array(items)) => strings_in(items, &mut add),
                _ => {}
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter_map(|i| self.rules.get(i))
            .filter(|(_, p)| p.matches_normalized(&event))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn strings_in(items: &[Value], add: &mut impl FnMut(&str)) {
    for item in items {
        match item {
            Value::String(s) => add(s),
            Value::Array(inner) => strings_in(inner, add),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Pattern {
        Pattern::from_value(&v).unwrap()
    }

    #[test]
    fn index_agrees_with_evaluating_every_rule() {
        let patterns = [
            p(json!({"source": ["a", "b", "a"]})),
            p(json!({"source": [{"prefix": "a"}]})),
            p(json!({"detail-type": ["T"], "detail": {"n": [1]}})),
            p(json!({"detail": {"n": [1]}})),
            p(json!({"source": ["c"], "$or": [{"x": ["1"]}, {"y": ["2"]}]})),
            p(json!({"source.sub": ["s"]})),
        ];
        let rules = Ruleset::new(
            patterns
                .iter()
                .enumerate()
                .map(|(i, p)| (i.to_string(), p.clone()))
                .collect(),
        );
        let events = [
            json!({"source": "a", "detail-type": "T", "detail": {"n": 1}}),
            json!({"source": ["b", "c"], "x": "1"}),
            json!({"source": "abc", "detail-type": "U"}),
            json!({"source.sub": "s"}),
            json!("not an object"),
        ];
        for e in &events {
            let expected: Vec<String> = patterns
                .iter()
                .enumerate()
                .filter(|(_, p)| p.matches(e))
                .map(|(i, _)| i.to_string())
                .collect();
            assert_eq!(rules.matching(e), expected, "event {e}");
        }
    }
}
