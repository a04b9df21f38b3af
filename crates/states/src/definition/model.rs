//! The typed model of a parsed definition: blocks of states, each state's common fields and
//! its kind-specific part. Parsing (`states`, `kinds`, `choice`, `handlers`) builds it; the
//! engine only reads it.

use super::choice::Rule;
use crate::path::JsonPath;
use crate::template::{Source, Template};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// A list of states with its entry point: the whole machine, a Parallel branch or a Map iterator.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) start_at: String,
    pub(crate) states: BTreeMap<String, State>,
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// `None` means `null`: the state sees `{}`.
    pub(crate) input_path: Option<JsonPath>,
    pub(crate) output_path: Option<JsonPath>,
    /// `None` means `null`: the result is discarded and the input passes through.
    pub(crate) result_path: Option<JsonPath>,
    pub(crate) parameters: Option<Template>,
    pub(crate) result_selector: Option<Template>,
    pub(crate) assign: Option<Template>,
    /// `QueryLanguage: JSONata`: the fields below replace the JSONPath ones.
    pub(crate) jsonata: bool,
    pub(crate) output: Option<Template>,
    pub(crate) arguments: Option<Template>,
    pub(crate) next: Option<String>,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task(TaskSpec),
    Choice {
        rules: Vec<Rule>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<Source>,
        cause: Option<Source>,
    },
    Parallel {
        branches: Vec<Block>,
    },
    Map(Box<MapSpec>),
}

impl Kind {
    /// The prefix of this state's history event types (`TaskStateEntered` ...).
    pub(crate) fn event_prefix(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TaskSpec {
    pub(crate) resource: String,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) timeout_seconds_path: Option<JsonPath>,
    pub(crate) heartbeat_seconds: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(JsonPath),
    Timestamp(DateTime<Utc>),
    TimestampPath(JsonPath),
    /// JSONata `Seconds: "{% ... %}"`.
    SecondsQuery(Template),
    /// JSONata `Timestamp: "{% ... %}"`.
    TimestampQuery(Template),
}

#[derive(Debug, Clone)]
pub(crate) struct MapSpec {
    pub(crate) processor: Block,
    pub(crate) items_path: Option<JsonPath>,
    pub(crate) item_selector: Option<Template>,
    pub(crate) max_concurrency_path: Option<JsonPath>,
    pub(crate) tolerated_count: Option<u64>,
    pub(crate) tolerated_count_path: Option<JsonPath>,
    pub(crate) tolerated_percentage: Option<f64>,
    pub(crate) tolerated_percentage_path: Option<JsonPath>,
    pub(crate) distributed: bool,
    /// JSONata `Items` and the `{% ... %}` forms of the numeric settings.
    pub(crate) items: Option<Template>,
    pub(crate) max_concurrency_query: Option<Template>,
    pub(crate) tolerated_count_query: Option<Template>,
    pub(crate) tolerated_percentage_query: Option<Template>,
}

#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub(crate) errors: Vec<String>,
    pub(crate) interval_seconds: u64,
    pub(crate) max_attempts: u64,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<u64>,
    pub(crate) full_jitter: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub(crate) errors: Vec<String>,
    pub(crate) next: String,
    pub(crate) result_path: Option<JsonPath>,
    pub(crate) assign: Option<Template>,
    pub(crate) output: Option<Template>,
}

/// The whole definition.
#[derive(Debug, Clone)]
pub(crate) struct Definition {
    pub(crate) block: Block,
    pub(crate) timeout_seconds: Option<u64>,
}
