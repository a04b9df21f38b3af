//! Time source for executions: the real clock (really sleeping) or a virtual one that jumps
//! forward instantly, so tests of Wait states and retry back-off do not take real time.

use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// Tells the time and waits. `run_to_completion_with` and `Execution::step_with` take one.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    fn sleep_until<'a>(
        &'a self,
        until: DateTime<Utc>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// Wall-clock time; sleeping uses `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until<'a>(
        &'a self,
        until: DateTime<Utc>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        let wait = (until - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that starts at a given instant and advances only when something sleeps.
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<DateTime<Utc>>,
}

impl VirtualClock {
    pub fn new(start: DateTime<Utc>) -> VirtualClock {
        VirtualClock {
            now: Mutex::new(start),
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        match self.now.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }

    fn sleep_until<'a>(
        &'a self,
        until: DateTime<Utc>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        let mut g = match self.now.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if until > *g {
            *g = until;
        }
        Box::pin(std::future::ready(()))
    }
}
