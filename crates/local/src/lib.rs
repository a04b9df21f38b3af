//! eventpay's embedded runtime: the whole event-driven payment system in one process on SQLite,
//! with the semantics of its AWS deployment (change stream, queue with visibility timeout and
//! dead-letter queue, event bus with EventBridge patterns, Step Functions workflow).

pub mod audit;
pub mod bus;
pub mod chaos;
pub mod compact;
pub mod console;
pub mod datadir;
pub mod db;
pub mod definitions;
pub mod error;
pub mod executions;
pub mod forwarder;
pub mod http;
pub mod ledger;
pub mod notify;
pub mod processor;
pub mod profile;
pub mod queue;
pub mod reload;
pub mod retention;
pub mod runtime;
pub mod schema;
pub mod spec;
pub mod stage;
pub mod store;
pub mod stream;
pub mod sweeper;
pub mod tasks;
#[cfg(test)]
mod testing;
pub mod trace;
pub mod workflow;

pub use db::Durability;
pub use error::{LocalError, SpecError};
pub use retention::Retention;
pub use runtime::{Config, Runtime, load_spec, run};
