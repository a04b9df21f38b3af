//! Many named patterns matched against one event, as the local bus does for every event.
//!
//! The rules are compiled together into a [`RuleIndex`] (field tests indexed by path and value),
//! so the time to match an event depends on the event and on the rules it plausibly concerns,
//! not on how many rules there are. The event is prepared once (dotted keys expanded).

use serde_json::Value;

use crate::Pattern;
use crate::event;
use crate::rule_index::RuleIndex;

/// Named patterns; matches are reported in the order the rules were given.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    rules: Vec<(String, Pattern)>,
    index: RuleIndex,
}

impl Ruleset {
    pub fn new(rules: Vec<(String, Pattern)>) -> Self {
        let index = RuleIndex::build(rules.iter().map(|(_, p)| &p.root));
        Ruleset { rules, index }
    }

    /// Names of the rules whose pattern matches the event, in rule order.
    pub fn matching(&self, event: &Value) -> Vec<&str> {
        let event = event::normalize(event);
        let Value::Object(map) = &*event else {
            return Vec::new();
        };
        let whole_match = |rule: u32| {
            self.rules
                .get(rule as usize)
                .is_some_and(|(_, p)| p.matches_normalized(&event))
        };
        self.index
            .matching(map, whole_match)
            .into_iter()
            .filter_map(|i| self.rules.get(i as usize))
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
            // 3^4 = 81 branches: past the expansion limit, evaluated whole.
            p(json!({
                "a": {"$or": [{"p": ["1"]}, {"q": ["1"]}, {"r": ["1"]}]},
                "b": {"$or": [{"p": ["1"]}, {"q": ["1"]}, {"r": ["1"]}]},
                "c": {"$or": [{"p": ["1"]}, {"q": ["1"]}, {"r": ["1"]}]},
                "x": {"$or": [{"p": ["1"]}, {"q": ["1"]}, {"r": ["1"]}]}
            })),
            // One element of `items` must hold both values.
            p(json!({"items": {"k": ["a"], "v": [1]}})),
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
            json!({"a": {"q": "1"}, "b": {"r": "1"}, "c": {"p": "1"}, "x": {"q": "1"}}),
            json!({"a": {"q": "1"}, "b": {"r": "1"}, "c": {"p": "2"}, "x": {"q": "1"}}),
            json!({"items": [{"k": "a", "v": 2}, {"k": "b", "v": 1}]}),
            json!({"items": [{"k": "a", "v": 2}, {"k": "a", "v": 1}]}),
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
        assert_eq!(rules.matching(&events[5]), ["6"]);
        assert_eq!(rules.matching(&events[8]), ["7"]);
        assert!(Ruleset::default().matching(&events[0]).is_empty());
    }
}
