//! Error types: definition errors (refused before running), task errors (from the invoker)
//! and, inside the crate, field evaluation errors.

use serde::{Deserialize, Serialize};

/// A definition that cannot run. `path` is a JSON pointer into the definition, e.g.
/// `/States/Validate/Next`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DefinitionError {
    pub path: String,
    pub message: String,
}

/// A failed Task invocation: `error` is matched against Retry/Catch `ErrorEquals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

/// A runtime failure while evaluating a field: a `States.Runtime` error of the state, or for a
/// JSONata expression (`query`) a `States.QueryEvaluationError`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EvalError {
    pub(crate) message: String,
    pub(crate) query: bool,
}

impl EvalError {
    pub(crate) fn runtime(message: String) -> EvalError {
        EvalError {
            message,
            query: false,
        }
    }

    pub(crate) fn query(message: String) -> EvalError {
        EvalError {
            message,
            query: true,
        }
    }
}

/// Error names defined by the States Language.
pub mod names {
    pub const ALL: &str = "States.ALL";
    pub const RUNTIME: &str = "States.Runtime";
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const EXCEEDED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
}
