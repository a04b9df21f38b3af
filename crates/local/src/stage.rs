//! The loop every pipeline stage runs: do a batch of work, and when there is none, sleep until
//! woken by the stage upstream (a notification, not a polling loop), until a timer for work that
//! becomes due later, or until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::error::LocalError;

/// What one pass of a stage found.
pub struct Pass {
    /// Work was done: run again at once, there may be more.
    pub busy: bool,
    /// With no work now: the earliest moment work is known to become due (e.g. a message's
    /// visibility timeout ends), in milliseconds since the epoch.
    pub due_at_ms: Option<i64>,
}

impl Pass {
    pub fn busy(busy: bool) -> Pass {
        Pass {
            busy,
            due_at_ms: None,
        }
    }
}

/// Stops waiting when `shutdown` flips to true.
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

pub async fn run<F, Fut>(
    name: &'static str,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Pass, LocalError>>,
{
    // A safety net only: wake-ups drive the stage; this bounds the cost of a missed one.
    const IDLE: Duration = Duration::from_secs(5);
    loop {
        if *shutdown.borrow() {
            break;
        }
        let idle_for = match pass().await {
            Ok(Pass { busy: true, .. }) => continue,
            Ok(Pass { due_at_ms, .. }) => due_at_ms
                .map(|due| {
                    Duration::from_millis(due.saturating_sub(crate::db::now_millis()).max(1) as u64)
                        .min(IDLE)
                })
                .unwrap_or(IDLE),
            Err(e) => {
                tracing::error!(stage = name, error = %e, "stage pass failed; retrying");
                Duration::from_millis(500)
            }
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(idle_for) => {}
            _ = stopped(&mut shutdown) => break,
        }
    }
    tracing::info!(stage = name, "stopped");
}
