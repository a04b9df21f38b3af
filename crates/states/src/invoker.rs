//! The port through which Task states reach the outside world.

use crate::error::TaskError;
use std::future::Future;
use std::pin::Pin;

/// Resolves Task resources. The embedding program provides it (locally: its Lambda handlers and
/// the SNS integration).
pub trait TaskInvoker: Send + Sync {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        input: serde_json::Value,
    ) -> Pin<Box<dyn Future<Output = Result<serde_json::Value, TaskError>> + Send + 'a>>;
}
