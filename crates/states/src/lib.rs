//! Amazon States Language interpreter for eventpay's local runtime.
//!
//! A definition is parsed and validated once ([`StateMachine::parse`]); an [`Execution`] then
//! advances one top-level state per [`Execution::step`] and serializes completely between
//! steps, so the embedding runtime can persist it after every transition and resume after a
//! crash. History events have the shape of Step Functions' GetExecutionHistory.

mod branches;
mod choice;
mod clock;
mod definition;
mod digest;
mod engine;
mod error;
mod execution;
mod history;
mod intrinsics;
mod jsonata;
mod jsonata_states;
mod path;
mod query;
mod task;
mod template;
mod time;
mod validate;
mod wait;

pub use clock::{Clock, RealClock, VirtualClock};
pub use error::{DefinitionError, TaskError, names as error_names};
pub use execution::{Execution, ExecutionStatus, run_to_completion, run_to_completion_with};
pub use history::HistoryEvent;

use std::future::Future;
use std::pin::Pin;

/// A parsed and validated state machine definition.
#[derive(Debug, Clone)]
pub struct StateMachine {
    definition: definition::Definition,
}

impl StateMachine {
    pub fn parse(json: &str) -> Result<StateMachine, DefinitionError> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| DefinitionError {
            path: String::new(),
            message: format!("invalid JSON: {e}"),
        })?;
        StateMachine::from_value(&v)
    }

    pub fn from_value(v: &serde_json::Value) -> Result<StateMachine, DefinitionError> {
        let definition = definition::parse_definition(v)?;
        validate::validate_block(&definition.block, "")?;
        Ok(StateMachine { definition })
    }

    /// Every Task state's Resource (including inside Parallel/Map), deduplicated.
    pub fn task_resources(&self) -> Vec<String> {
        let mut out = Vec::new();
        validate::collect_resources(&self.definition.block, &mut out);
        out
    }
}

/// Resolves Task resources. The embedding program provides it (locally: its Lambda handlers and
/// the SNS integration).
pub trait TaskInvoker: Send + Sync {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        input: serde_json::Value,
    ) -> Pin<Box<dyn Future<Output = Result<serde_json::Value, TaskError>> + Send + 'a>>;
}
