//! Amazon States Language interpreter for eventpay's local runtime.
//!
//! A definition is parsed and validated once ([`StateMachine::parse`]); an [`Execution`] then
//! advances one top-level state per [`Execution::step`] and serializes completely between
//! steps, so the embedding runtime can persist it after every transition and resume after a
//! crash. History events have the shape of Step Functions' GetExecutionHistory.
//!
//! Layout: `definition/` parses and validates (into its model), `engine/` runs states (a
//! dispatcher over one module per state kind), `execution` is the durable step-wise run;
//! `path`, `template`, `intrinsics`, `query` and `jsonata/` evaluate the data-flow fields.

mod clock;
mod definition;
mod digest;
mod engine;
mod error;
mod execution;
mod history;
mod intrinsics;
mod invoker;
mod jsonata;
mod machine;
mod path;
mod query;
mod service_free;
mod template;
mod time;

pub use clock::{Clock, RealClock, VirtualClock};
pub use error::{DefinitionError, TaskError, names as error_names};
pub use execution::{Execution, ExecutionStatus, run_to_completion, run_to_completion_with};
pub use history::HistoryEvent;
pub use invoker::TaskInvoker;
pub use machine::StateMachine;
pub use service_free::{NoTasks, report, run_service_free};
