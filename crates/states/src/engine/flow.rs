//! What running a state produces: a [`Flow`] for one state, an [`Outcome`] for one step of a
//! block, and the [`Failure`] (error and cause) that Retry and Catch match.

use crate::error::names;
use crate::template::Template;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// AWS fails an execution whose history would exceed 25,000 events; this also stops a
/// looping branch from hanging its step.
pub(crate) const MAX_HISTORY_EVENTS: u64 = 25_000;

pub(crate) fn history_limit() -> Failure {
    Failure::new(
        names::RUNTIME,
        format!(
            "The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
        ),
    )
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    /// Raised by a Parallel branch or Map iteration: unless retried, the state records
    /// `ParallelStateFailed`/`MapStateFailed`.
    pub(crate) from_branches: bool,
    /// A JSONata evaluation failed here: the state records `EvaluationFailed` first.
    pub(crate) evaluation: bool,
}

impl Failure {
    pub(crate) fn new(error: &str, cause: impl Into<String>) -> Failure {
        Failure {
            error: Some(error.to_string()),
            cause: Some(cause.into()),
            from_branches: false,
            evaluation: false,
        }
    }

    fn is_terminal(&self) -> bool {
        matches!(
            self.error.as_deref(),
            Some(names::RUNTIME) | Some(names::DATA_LIMIT_EXCEEDED)
        )
    }

    pub(super) fn matches(&self, list: &[String]) -> bool {
        if self.is_terminal() {
            return false;
        }
        // States.TaskFailed is documented as a wildcard for every error except States.Timeout.
        let task_failed = self.error.as_deref() != Some(names::TIMEOUT);
        list.iter().any(|e| {
            e == names::ALL
                || (e == names::TASK_FAILED && task_failed)
                || Some(e.as_str()) == self.error.as_deref()
        })
    }

    /// The `{"Error", "Cause"}` object a Catcher passes on.
    pub(crate) fn output(&self) -> Value {
        let mut m = Map::new();
        if let Some(e) = &self.error {
            m.insert("Error".into(), Value::String(e.clone()));
        }
        if let Some(c) = &self.cause {
            m.insert("Cause".into(), Value::String(c.clone()));
        }
        Value::Object(m)
    }
}

pub(crate) enum Outcome {
    Continue,
    Succeeded(Value),
    Failed(Failure),
}

/// What running a state produced.
// `Done` is much larger than the others since JSON objects keep their key order (an ordered
// map per `Value`); a `Flow` lives for one state's step, so boxing it would only add an
// allocation per state.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Flow {
    /// Not finished: step again at `wake_at`; `waiting` marks a Wait state's timer.
    Pending {
        wake_at: DateTime<Utc>,
        waiting: bool,
    },
    Done {
        output: Value,
        next: Option<String>,
        /// The value `$` denotes in Assign, and which Assign applies.
        assign: Option<(Value, Option<Template>)>,
    },
    Error(Failure),
}

/// AWS records `MapStateFailed`/`ParallelStateFailed` after a JSONata evaluation failure of
/// the state itself.
pub(crate) fn branch_state_failed(f: Failure) -> Failure {
    Failure {
        from_branches: f.from_branches || f.evaluation,
        ..f
    }
}
