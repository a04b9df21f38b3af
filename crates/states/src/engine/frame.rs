//! The serializable position of a block's run ([`Frame`], [`Cursor`]), the execution facts
//! ([`ExecInfo`]) and the context object (`$$`) built from them.

use crate::definition::{Kind, State};
use crate::time::render;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Facts about the execution that the context object (`$$`) exposes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExecInfo {
    pub(crate) execution_arn: String,
    pub(crate) name: String,
    pub(crate) state_machine_arn: String,
    pub(crate) input: Value,
    pub(crate) start_time: DateTime<Utc>,
    pub(crate) role_arn: String,
    /// Times the execution was redriven (`$$.Execution.RedriveCount`); absent in executions
    /// persisted before redrive existed.
    #[serde(default)]
    pub(crate) redrive_count: u32,
}

impl ExecInfo {
    /// The region named in the execution ARN (`arn:aws:states:<region>:...`).
    pub(crate) fn region(&self) -> &str {
        self.execution_arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .unwrap_or("us-east-1")
    }
}

/// Where a block's run stands: the current state and what it needs to continue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cursor {
    pub(crate) state: String,
    pub(crate) input: Value,
    pub(crate) entered: bool,
    pub(crate) entered_time: DateTime<Utc>,
    pub(crate) entered_event_id: u64,
    /// Attempts used per retrier of the current state.
    pub(crate) retry_counts: Vec<u64>,
    pub(crate) retry_count: u64,
    pub(crate) wake_at: Option<DateTime<Utc>>,
    /// A Wait state whose timer is set: the next step leaves it.
    pub(crate) waiting: bool,
}

impl Cursor {
    pub(crate) fn at(state: &str, input: Value, now: DateTime<Utc>) -> Cursor {
        Cursor {
            state: state.to_string(),
            input,
            entered: false,
            entered_time: now,
            entered_event_id: 0,
            retry_counts: Vec::new(),
            retry_count: 0,
            wake_at: None,
            waiting: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Frame {
    pub(crate) cursor: Option<Cursor>,
    pub(crate) variables: Map<String, Value>,
}

pub(crate) fn context(info: &ExecInfo, state: &State, cursor: &Cursor) -> Value {
    let mut st = json!({"Name": state.name, "EnteredTime": render(cursor.entered_time)});
    if matches!(state.kind, Kind::Task(_)) {
        st["RetryCount"] = json!(cursor.retry_count);
    }
    json!({
        "Execution": {
            "Id": info.execution_arn,
            "Input": info.input,
            "StartTime": render(info.start_time),
            "Name": info.name,
            "RoleArn": info.role_arn,
            "RedriveCount": info.redrive_count,
        },
        "StateMachine": {
            "Id": info.state_machine_arn,
            "Name": info.state_machine_arn.rsplit(':').next().unwrap_or_default(),
        },
        "State": st,
    })
}
