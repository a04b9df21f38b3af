//! eventpay's embedded runtime: the whole event-driven payment system in one process on SQLite,
//! with the semantics of its AWS deployment (change stream, queue with visibility timeout and
//! dead-letter queue, event bus with EventBridge patterns, Step Functions workflow).

pub mod bus;
pub mod db;
pub mod error;
pub mod forwarder;
pub mod http;
pub mod notify;
pub mod processor;
pub mod queue;
pub mod runtime;
pub mod spec;
pub mod stage;
pub mod store;
pub mod tasks;
pub mod workflow;

pub use db::Durability;
pub use error::{LocalError, SpecError};
pub use runtime::{Config, load_spec, run};
