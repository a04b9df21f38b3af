//! Many named patterns matched against one event, as the local bus does for every event.
//!
//! The event is prepared once (dotted keys expanded) and then offered to every pattern.

use serde_json::Value;

use crate::Pattern;
use crate::event;

/// Named patterns, kept in the order given.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    rules: Vec<(String, Pattern)>,
}

impl Ruleset {
    pub fn new(rules: Vec<(String, Pattern)>) -> Self {
        Ruleset { rules }
    }

    /// Names of the rules whose pattern matches the event, in rule order.
    pub fn matching(&self, event: &Value) -> Vec<&str> {
        let event = event::normalize(event);
        self.rules
            .iter()
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
