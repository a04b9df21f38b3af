//! What a running state may use beyond its own data: the task invoker, the clock, the
//! execution's facts, the history recorder, and the way to run a nested block.

use super::flow::Failure;
use super::frame::ExecInfo;
use crate::clock::Clock;
use crate::definition::Block;
use crate::history::Recorder;
use crate::invoker::TaskInvoker;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

/// A nested block's run to its end: its output or the failure that ended it.
pub(crate) type BlockRun<'a> = Pin<Box<dyn Future<Output = Result<Value, Failure>> + Send + 'a>>;

/// Runs a block from its StartAt to its end with the given input and variables.
pub(crate) type BlockRunner =
    for<'a, 'b> fn(&'a Block, Value, Map<String, Value>, &'a mut Env<'b>) -> BlockRun<'a>;

pub(crate) struct Env<'a> {
    pub(crate) tasks: &'a dyn TaskInvoker,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) info: &'a ExecInfo,
    pub(crate) rec: Recorder,
    pub(crate) now: DateTime<Utc>,
    /// The dispatcher's block loop, handed down so that Parallel and Map can run their
    /// branches and iterations without importing the dispatcher (which imports them).
    pub(crate) run_block: BlockRunner,
}
