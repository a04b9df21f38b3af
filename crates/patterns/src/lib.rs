//! Amazon EventBridge event patterns: validation with AWS's error wording, and matching that
//! agrees with AWS, so the local event bus routes exactly as the deployed rules do.
//!
//! ```
//! use eventpay_patterns::Pattern;
//! let p = Pattern::parse(r#"{"source":["eventpay.payments"],"detail":{"amount_units":[{"numeric":[">=",10000]}]}}"#).unwrap();
//! let event = serde_json::json!({"source":"eventpay.payments","detail":{"amount_units":25000}});
//! assert!(p.matches(&event));
//! ```

mod branches;
mod cidr;
mod condition;
#[cfg(test)]
mod doc_examples;
mod error;
mod event;
mod expr;
mod fast_hash;
mod ignore_case;
mod intervals;
mod key_index;
mod numeric;
mod parse;
mod paths;
mod rule_index;
mod ruleset;
mod tree;
mod wildcard;

pub use error::PatternError;
pub use ruleset::Ruleset;

use serde_json::Value;

/// A validated, compiled event pattern. Cheap to clone; matching never re-reads the pattern text.
#[derive(Debug, Clone)]
pub struct Pattern {
    root: tree::Node,
}

impl Pattern {
    /// Compiles the JSON text of a pattern.
    pub fn parse(json: &str) -> Result<Pattern, PatternError> {
        let value: Value = serde_json::from_str(json).map_err(|e| PatternError {
            path: String::new(),
            reason: e.to_string(),
        })?;
        Pattern::from_value(&value)
    }

    /// Compiles a pattern already read as JSON.
    pub fn from_value(value: &Value) -> Result<Pattern, PatternError> {
        Ok(Pattern {
            root: parse::compile(value)?,
        })
    }

    /// Whether the event (the whole envelope) matches. Anything but a JSON object matches nothing.
    pub fn matches(&self, event: &Value) -> bool {
        let event = event::normalize(event);
        self.matches_normalized(&event)
    }

    /// Matching for callers that already expanded dotted keys with [`event::normalize`].
    fn matches_normalized(&self, event: &Value) -> bool {
        match event {
            Value::Object(map) => !self.root.is_empty() && self.root.matches(Some(map)),
            _ => false,
        }
    }

    /// Parses the event text, then matches. Text that is not a JSON object is an error, as
    /// `TestEventPattern` refuses it.
    pub fn matches_str(&self, event_json: &str) -> Result<bool, PatternError> {
        let value: Value = serde_json::from_str(event_json).map_err(|e| PatternError {
            path: String::new(),
            reason: format!("Event is not valid JSON: {e}"),
        })?;
        if !value.is_object() {
            return Err(PatternError {
                path: String::new(),
                reason: "Event is not a JSON object".into(),
            });
        }
        Ok(self.matches(&value))
    }
}

impl std::str::FromStr for Pattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::parse(s)
    }
}
