//! Execution history events in the shape of Step Functions' GetExecutionHistory.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// One GetExecutionHistory event. `details` holds the single `<type>EventDetails` member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    #[serde(rename = "previousEventId")]
    pub previous_event_id: u64,
    pub timestamp: DateTime<Utc>,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

/// The JSON text of a payload as AWS puts it in history (`input`, `output` are strings).
pub(crate) fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A value as AWS shows it in messages: a string as itself, anything else as JSON text.
pub(crate) fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => text(other),
    }
}

/// Appends events with consecutive ids; `previousEventId` is the event before.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) events: Vec<HistoryEvent>,
    pub(crate) next_id: u64,
}

impl Recorder {
    pub(crate) fn new(next_id: u64) -> Recorder {
        Recorder {
            events: Vec::new(),
            next_id,
        }
    }

    /// Records an event; `details_key` is e.g. `stateEnteredEventDetails` (or `None`).
    pub(crate) fn push(
        &mut self,
        now: DateTime<Utc>,
        event_type: &str,
        details_key: Option<&str>,
        details: Value,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut map = Map::new();
        if let Some(k) = details_key {
            map.insert(k.to_string(), details);
        }
        self.events.push(HistoryEvent {
            id,
            previous_event_id: id.saturating_sub(1),
            timestamp: now,
            event_type: event_type.to_string(),
            details: map,
        });
        id
    }

    pub(crate) fn state_entered(
        &mut self,
        now: DateTime<Utc>,
        prefix: &str,
        name: &str,
        input: &Value,
    ) -> u64 {
        self.push(
            now,
            &format!("{prefix}StateEntered"),
            Some("stateEnteredEventDetails"),
            json!({"name": name, "input": text(input), "inputDetails": {"truncated": false}}),
        )
    }

    pub(crate) fn state_exited(
        &mut self,
        now: DateTime<Utc>,
        prefix: &str,
        name: &str,
        output: &Value,
    ) {
        self.push(
            now,
            &format!("{prefix}StateExited"),
            Some("stateExitedEventDetails"),
            json!({"name": name, "output": text(output), "outputDetails": {"truncated": false}}),
        );
    }

    /// `<type>` with `{error?, cause?}` details under `details_key`.
    pub(crate) fn failure(
        &mut self,
        now: DateTime<Utc>,
        event_type: &str,
        details_key: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) {
        let mut d = Map::new();
        if let Some(e) = error {
            d.insert("error".into(), Value::String(e.into()));
        }
        if let Some(c) = cause {
            d.insert("cause".into(), Value::String(c.into()));
        }
        self.push(now, event_type, Some(details_key), Value::Object(d));
    }
}
