//! A parsed and validated state machine definition: the entry point of the crate.

use crate::definition::{self, Definition};
use crate::error::DefinitionError;

/// A parsed and validated state machine definition.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub(crate) definition: Definition,
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
        definition::validate_block(&definition.block, "")?;
        Ok(StateMachine { definition })
    }

    /// Every Task state's Resource (including inside Parallel/Map), deduplicated.
    pub fn task_resources(&self) -> Vec<String> {
        let mut out = Vec::new();
        definition::collect_resources(&self.definition.block, &mut out);
        out
    }
}
