//! The event bus: builds the EventBridge envelope of a domain event, matches it against the
//! rules from `spec/rules/`, and shapes each matching target's input (InputPath or
//! InputTransformer) as EventBridge does. Pure: delivering is the processor's job.

use eventpay_core::{DomainEvent, EventEnvelope};
use eventpay_patterns::Ruleset;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::spec::{InputTransformer, Rule, Target, TargetKind, select};
use crate::tasks::{ACCOUNT, REGION};

/// One event bound for one rule's target.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub rule: String,
    pub kind: TargetKind,
    pub event_id: String,
    pub input: Value,
}

/// A stable event id for a change record: a redelivered record yields the same id.
pub fn event_id(change_event_id: &str) -> String {
    let digest = Sha256::digest(change_event_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The id of a payment's `PaymentCreated` event, which names its settlement execution (the
/// settlement rule's target starts it under the event's id): the event of the payment's first
/// version.
pub fn created_event_id(table_id: &str, payment_id: &str) -> String {
    event_id(&eventpay_core::change_event_id(table_id, payment_id, 1))
}

pub fn envelope(
    event: &DomainEvent,
    id: String,
    time: chrono::DateTime<chrono::Utc>,
) -> Result<Value, serde_json::Error> {
    serde_json::to_value(EventEnvelope::new(event, id, ACCOUNT, REGION, time))
}

/// The rules of `spec/rules/`, indexed for matching (most rules are skipped without being
/// evaluated, as EventBridge's matcher does).
#[derive(Debug, Clone)]
pub struct Bus {
    rules: Vec<Rule>,
    index: Ruleset,
}

impl Bus {
    pub fn new(rules: Vec<Rule>) -> Bus {
        let index = Ruleset::new(
            rules
                .iter()
                .map(|r| (r.name.clone(), r.pattern.clone()))
                .collect(),
        );
        Bus { rules, index }
    }

    /// One delivery per matching rule, in rule order.
    pub fn route(&self, event: &Value, event_id: &str) -> Vec<Delivery> {
        self.index
            .matching(event)
            .into_iter()
            .filter_map(|name| self.rules.iter().find(|r| r.name == name))
            .map(|rule| Delivery {
                rule: rule.name.clone(),
                kind: rule.target.kind,
                event_id: event_id.to_owned(),
                input: target_input(&rule.target, event),
            })
            .collect()
    }
}

fn target_input(target: &Target, event: &Value) -> Value {
    if let Some(t) = &target.input_transformer {
        return transform(t, event);
    }
    match &target.input_path {
        Some(path) => select(event, path).cloned().unwrap_or(Value::Null),
        None => event.clone(),
    }
}

/// EventBridge's InputTransformer: `<name>` in the template is replaced by the value at its
/// path; inside a JSON string a string value goes in without quotes. The result is JSON if it
/// parses as JSON, else plain text.
fn transform(t: &InputTransformer, event: &Value) -> Value {
    let mut text = t.input_template.clone();
    for (name, path) in &t.input_paths {
        let replacement = match select(event, path) {
            Some(Value::String(s)) => escape_in_json_string(s),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        text = text.replace(&format!("<{name}>"), &replacement);
    }
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn escape_in_json_string(s: &str) -> String {
    let quoted = Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn transformer_fills_template_and_yields_a_string() {
        let t = InputTransformer {
            input_paths: BTreeMap::from([("id".to_string(), "$.detail.id".to_string())]),
            input_template: "\"Payment <id> \\\"big\\\"\"".into(),
        };
        let out = transform(&t, &json!({"detail": {"id": "p\"1"}}));
        assert_eq!(out, json!("Payment p\"1 \"big\""));
    }

    #[test]
    fn event_ids_are_stable_and_distinct() {
        assert_eq!(event_id("stream-1"), event_id("stream-1"));
        assert_ne!(event_id("stream-1"), event_id("stream-2"));
    }
}
