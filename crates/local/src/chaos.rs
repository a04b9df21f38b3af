//! Seeded fault injection for the fault simulation (`eventpay simulate`): duplicate and reordered
//! change-stream records to the queue, duplicate queue deliveries to the processor, task failures
//! and lost task answers (the engine sees `States.Timeout` after the task did its work), and a
//! crash of the whole process (SIGKILL of itself) right after the N-th group commit.
//!
//! Off unless `eventpay up --chaos ...` (a hidden option) installs it: every hook starts with one
//! load of a `OnceLock` and returns at once when nothing is installed.
//!
//! Each decision is a pure function of the seed, the hook and what it decides about (a stream
//! sequence number, a message id, a payment's n-th call of a function), not of a shared random
//! stream: so the same seed makes the same decisions however the threads interleave, and a
//! failing seed replays the same faults.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

/// What to inject, parsed from `seed=S,crash_after=N,duplicates=P,reorder=B,deliveries=P,
/// task_failures=P,task_timeouts=P` (probabilities in 0..=1; every key but `seed` optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChaosConfig {
    pub seed: u64,
    /// Crash (SIGKILL) right after this process's N-th commit, before its writers are answered.
    pub crash_after: Option<u64>,
    /// Chance that a forwarded stream record is sent to the queue twice (under two message ids).
    pub duplicates: f64,
    /// Shuffle the records of each forwarded batch.
    pub reorder: bool,
    /// Chance that a processed message is delivered again (a copy put back on the queue).
    pub deliveries: f64,
    /// Chance that a task call fails before doing anything (`Store.Unavailable`).
    pub task_failures: f64,
    /// Chance that a task call does its work but its answer is lost (`States.Timeout`).
    pub task_timeouts: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("--chaos {0}")]
pub struct ChaosParseError(String);

impl FromStr for ChaosConfig {
    type Err = ChaosParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut cfg = ChaosConfig::default();
        let mut seeded = false;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| ChaosParseError(format!("{part:?}: expected key=value")))?;
            let bad = |e: &dyn std::fmt::Display| ChaosParseError(format!("{key}={value}: {e}"));
            match key {
                "seed" => {
                    cfg.seed = value.parse().map_err(|e| bad(&e))?;
                    seeded = true;
                }
                "crash_after" => cfg.crash_after = Some(value.parse().map_err(|e| bad(&e))?),
                "reorder" => cfg.reorder = value.parse().map_err(|e| bad(&e))?,
                "duplicates" => cfg.duplicates = probability(value).map_err(|e| bad(&e))?,
                "deliveries" => cfg.deliveries = probability(value).map_err(|e| bad(&e))?,
                "task_failures" => cfg.task_failures = probability(value).map_err(|e| bad(&e))?,
                "task_timeouts" => cfg.task_timeouts = probability(value).map_err(|e| bad(&e))?,
                _ => return Err(ChaosParseError(format!("unknown key {key:?}"))),
            }
        }
        if !seeded {
            return Err(ChaosParseError("needs seed=<u64>".into()));
        }
        Ok(cfg)
    }
}

fn probability(value: &str) -> Result<f64, String> {
    let p: f64 = value.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err("a probability is between 0 and 1".into())
    }
}

/// What a task call is made to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskFault {
    /// Fail before running (a dependency that is down).
    Fail,
    /// Run, then lose the answer (the caller times out).
    LoseAnswer,
}

/// The installed faults and the per-(payment, function) call counts that key task decisions.
pub struct Chaos {
    cfg: ChaosConfig,
    calls: Mutex<HashMap<String, u64>>,
}

static CHAOS: OnceLock<Chaos> = OnceLock::new();

/// Installs the faults for this process (once; a second call changes nothing).
pub fn install(cfg: ChaosConfig) {
    tracing::warn!(?cfg, "chaos: fault injection is on");
    let _ = CHAOS.set(Chaos::new(cfg));
}

fn installed() -> Option<&'static Chaos> {
    CHAOS.get()
}

impl Chaos {
    pub fn new(cfg: ChaosConfig) -> Chaos {
        Chaos {
            cfg,
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// A number in [0, 1) fixed by the seed, the hook and the key.
    fn draw(&self, site: &str, key: &str) -> f64 {
        let digest = Sha256::new()
            .chain_update(self.cfg.seed.to_le_bytes())
            .chain_update(site.as_bytes())
            .chain_update([0])
            .chain_update(key.as_bytes())
            .finalize();
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Whether the process dies after commit number `commits`.
    pub fn crashes_after(&self, commits: u64) -> bool {
        self.cfg.crash_after == Some(commits)
    }

    /// The forwarder's batch as the queue gets it: `(message id, seq)` keys, duplicated under a
    /// second id and shuffled as the seed says.
    pub fn forwarded<T: Clone>(&self, batch: Vec<(String, i64, T)>) -> Vec<(String, i64, T)> {
        let mut out = Vec::with_capacity(batch.len());
        for (id, seq, item) in batch {
            if self.draw("duplicate", &id) < self.cfg.duplicates {
                out.push((format!("{id}~dup"), seq, item.clone()));
            }
            out.push((id, seq, item));
        }
        if self.cfg.reorder {
            out.sort_by(|a, b| {
                self.draw("reorder", &a.0)
                    .total_cmp(&self.draw("reorder", &b.0))
            });
        }
        out
    }

    /// The id of a copy of `message_id` to put back on the queue, if it is delivered again.
    pub fn redelivery(&self, message_id: &str) -> Option<String> {
        (self.draw("deliver", message_id) < self.cfg.deliveries)
            .then(|| format!("{message_id}~again"))
    }

    /// The fault, if any, for this call of `function` for `payment_id` (its n-th in this process).
    pub fn task_fault(&self, function: &str, payment_id: &str) -> Option<TaskFault> {
        let key = format!("{payment_id}/{function}");
        let n = {
            let mut calls = self.calls.lock().ok()?;
            let n = calls.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        let key = format!("{key}/{n}");
        if self.draw("task-fail", &key) < self.cfg.task_failures {
            Some(TaskFault::Fail)
        } else if self.draw("task-timeout", &key) < self.cfg.task_timeouts {
            Some(TaskFault::LoseAnswer)
        } else {
            None
        }
    }
}

/// Hook of the writer, right after a commit and before its callers are answered: the crash point.
pub fn after_commit(commits: u64) {
    if installed().is_some_and(|c| c.crashes_after(commits)) {
        tracing::warn!(commits, "chaos: crashing after this commit");
        // SIGKILL of itself: no destructor, no flush, exactly as `kill -9` from outside.
        // SAFETY: kill(2) with our own pid and a valid signal number has no memory effects.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// Hook of the forwarder (see [`Chaos::forwarded`]); the batch unchanged when off.
pub fn forwarded<T: Clone>(batch: Vec<(String, i64, T)>) -> Vec<(String, i64, T)> {
    match installed() {
        Some(c) => c.forwarded(batch),
        None => batch,
    }
}

/// Hook of the processor (see [`Chaos::redelivery`]).
pub fn redelivery(message_id: &str) -> Option<String> {
    installed().and_then(|c| c.redelivery(message_id))
}

/// Hook of the task handlers (see [`Chaos::task_fault`]).
pub fn task_fault(function: &str, payment_id: &str) -> Option<TaskFault> {
    installed().and_then(|c| c.task_fault(function, payment_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chaos(spec: &str) -> Chaos {
        Chaos::new(spec.parse().unwrap())
    }

    #[test]
    fn parses_every_key_and_refuses_bad_ones() {
        let cfg: ChaosConfig = "seed=7,crash_after=40,duplicates=0.5,reorder=true,deliveries=0.1,task_failures=0.2,task_timeouts=0.3"
            .parse()
            .unwrap();
        assert_eq!(cfg.seed, 7);
        assert_eq!(cfg.crash_after, Some(40));
        assert!(cfg.reorder);
        assert_eq!(
            (
                cfg.duplicates,
                cfg.deliveries,
                cfg.task_failures,
                cfg.task_timeouts
            ),
            (0.5, 0.1, 0.2, 0.3)
        );
        for bad in [
            "",
            "crash_after=3",
            "seed=x",
            "seed=1,duplicates=2",
            "seed=1,what=1",
            "seed",
        ] {
            assert!(bad.parse::<ChaosConfig>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_decisions() {
        let batch: Vec<(String, i64, ())> =
            (1..=50).map(|i| (format!("stream-{i}"), i, ())).collect();
        let ids = |c: &Chaos| -> Vec<String> {
            c.forwarded(batch.clone())
                .into_iter()
                .map(|m| m.0)
                .collect()
        };
        let spec = "seed=3,duplicates=0.3,reorder=true";
        let (a, b) = (ids(&chaos(spec)), ids(&chaos(spec)));
        assert_eq!(a, b);
        assert!(
            a.len() > 50 && a.len() < 100,
            "some duplicated: {}",
            a.len()
        );
        assert!(a.iter().any(|id| id.ends_with("~dup")));
        let mut sorted = a.clone();
        sorted.sort_by_key(|id| {
            id.trim_start_matches("stream-")
                .trim_end_matches("~dup")
                .parse::<i64>()
                .unwrap()
        });
        assert_ne!(a, sorted, "reordered");
        assert_ne!(a, ids(&chaos("seed=4,duplicates=0.3,reorder=true")));
    }

    #[test]
    fn off_by_default_changes_nothing() {
        let c = chaos("seed=1");
        let batch = vec![
            ("stream-1".to_owned(), 1, ()),
            ("stream-2".to_owned(), 2, ()),
        ];
        assert_eq!(c.forwarded(batch.clone()), batch);
        assert_eq!(c.redelivery("stream-1"), None);
        assert_eq!(c.task_fault("f", "p"), None);
        assert!(!c.crashes_after(1));
    }

    #[test]
    fn task_faults_depend_on_the_call_number() {
        let c = chaos("seed=9,task_failures=0.5");
        let faults: Vec<_> = (0..40).map(|_| c.task_fault("f", "p-1")).collect();
        assert!(faults.contains(&Some(TaskFault::Fail)));
        assert!(faults.contains(&None));
        let again = chaos("seed=9,task_failures=0.5");
        let replay: Vec<_> = (0..40).map(|_| again.task_fault("f", "p-1")).collect();
        assert_eq!(faults, replay);
    }
}
