//! The stuck-payment sweeper: at start-up and then every `--sweep-every-secs`, looks at every
//! payment that is not final, its settlement execution and what is still in flight for it, and
//! applies the core's rule ([`eventpay_core::sweep`]): a payment whose execution ended is marked
//! FAILED (`stuck: ...`) and its failure notified; one with no execution and nothing in flight
//! after `--stuck-after-secs` has its change published again, once, then is marked FAILED.
//! Each finding is logged (`warn`) and listed at `GET /_local/stuck`. It owns no table: the
//! findings since start are kept in memory.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use eventpay_core::sweep::{
    ExecutionEnd, ExecutionSeen, Observation, Remedy, SweepPolicy, Verdict, assess,
    final_status_notification,
};
use eventpay_core::{PaymentStatus, StatusUpdate, update_status};
use serde::Serialize;
use serde_json::{Value, json};

use crate::db::{Db, now_millis};
use crate::error::LocalError;
use crate::notify::LocalNotifier;
use crate::stage::Pass;
use crate::store::{SqliteStore, Unfinished};
use crate::{bus, executions, forwarder, queue, stream};

/// Findings kept for `/_local/stuck` (the oldest go first).
const MAX_FINDINGS: usize = 1000;

/// One stuck payment found, and what was done about it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub payment_id: String,
    /// Its status when found.
    pub status: PaymentStatus,
    pub execution: String,
    pub execution_status: Option<String>,
    /// Why it counts as stuck.
    pub reason: String,
    pub remedy: Remedy,
    /// What the remedy did.
    pub outcome: String,
    pub found_at: DateTime<Utc>,
}

#[derive(Default)]
struct Report {
    passes: u64,
    last_pass_at: Option<DateTime<Utc>>,
    next_due_ms: i64,
    findings: VecDeque<Finding>,
    /// Payments whose change this process published again (a second time would not help).
    republished: HashSet<String>,
}

/// What the sweeper needs; built once by the runtime.
pub struct Parts {
    pub db: Db,
    pub store: SqliteStore,
    pub notifier: LocalNotifier,
    pub table_id: Arc<str>,
    pub queue: String,
    pub every: Duration,
    pub stuck_after: Duration,
}

#[derive(Clone)]
pub struct Sweeper {
    parts: Arc<Parts>,
    report: Arc<Mutex<Report>>,
}

/// A payment as observed in one read, before the rule.
struct Seen {
    payment: Unfinished,
    execution: String,
    execution_status: Option<String>,
    in_flight: bool,
}

impl Sweeper {
    pub fn new(parts: Parts) -> Sweeper {
        Sweeper {
            parts: Arc::new(parts),
            report: Arc::default(),
        }
    }

    fn report(&self) -> MutexGuard<'_, Report> {
        // Plain pushes and counters: a panic while holding it leaves nothing half-done.
        self.report.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stage's pass: sweeps when due (the first pass at once), else says when it will be.
    pub async fn pass(&self) -> Result<Pass, LocalError> {
        let due = self.report().next_due_ms;
        if now_millis() < due {
            return Ok(Pass {
                busy: false,
                due_at_ms: Some(due),
            });
        }
        self.sweep().await?;
        let next = now_millis() + self.parts.every.as_millis() as i64;
        self.report().next_due_ms = next;
        Ok(Pass {
            busy: false,
            due_at_ms: Some(next),
        })
    }

    /// One sweep: observes, judges by the core's rule, resolves; returns what it found.
    pub async fn sweep(&self) -> Result<Vec<Finding>, LocalError> {
        let seen = self.observe().await?;
        let policy = SweepPolicy {
            stuck_after: chrono::Duration::from_std(self.parts.stuck_after)
                .unwrap_or(chrono::Duration::MAX),
        };
        let now = Utc::now();
        let mut found = Vec::new();
        for s in seen {
            let republished = self.report().republished.contains(&s.payment.payment_id);
            let obs = Observation {
                status: s.payment.status,
                accepted_at: s.payment.created_at,
                execution: execution_seen(s.execution_status.as_deref()),
                in_flight: s.in_flight,
                republished,
            };
            if let Some(verdict) = assess(&obs, &policy, now) {
                found.push(self.resolve(s, verdict).await);
            }
        }
        let mut report = self.report();
        report.passes += 1;
        report.last_pass_at = Some(now);
        for f in &found {
            if report.findings.len() == MAX_FINDINGS {
                report.findings.pop_front();
            }
            report.findings.push_back(f.clone());
        }
        Ok(found)
    }

    async fn observe(&self) -> Result<Vec<Seen>, LocalError> {
        let parts = self.parts.clone();
        self.parts
            .db
            .read(move |c| {
                let mut in_flight = stream::waiting_payments(c, forwarder::CONSUMER)?;
                in_flight.extend(queue::payments_on_queue(c, &parts.queue)?);
                let mut seen = Vec::new();
                for payment in crate::store::unfinished(c)? {
                    let execution = bus::created_event_id(&parts.table_id, &payment.payment_id);
                    seen.push(Seen {
                        execution_status: executions::status_of(c, &execution)?,
                        in_flight: in_flight.contains(&payment.payment_id),
                        execution,
                        payment,
                    });
                }
                Ok(seen)
            })
            .await
    }

    async fn resolve(&self, s: Seen, verdict: Verdict) -> Finding {
        let id = s.payment.payment_id.clone();
        let outcome = match &verdict.remedy {
            Remedy::Republish => match self.parts.store.republish(&id).await {
                Ok(true) => {
                    self.report().republished.insert(id.clone());
                    "its change was published again".to_owned()
                }
                Ok(false) => "no longer PENDING: nothing published".to_owned(),
                Err(e) => format!("publishing again failed (the next pass retries): {e}"),
            },
            Remedy::MarkFailed { reason } => self.mark_failed(&id, reason).await,
        };
        tracing::warn!(payment_id = %id, status = %s.payment.status, execution = %s.execution,
            execution_status = s.execution_status.as_deref().unwrap_or("none"),
            reason = %verdict.stuck, %outcome, "stuck payment");
        Finding {
            payment_id: id,
            status: s.payment.status,
            execution: s.execution,
            execution_status: s.execution_status,
            reason: verdict.stuck,
            remedy: verdict.remedy,
            outcome,
            found_at: Utc::now(),
        }
    }

    /// FAILED with `reason` (unless it became final meanwhile), then the failure notification.
    async fn mark_failed(&self, payment_id: &str, reason: &str) -> String {
        let update = StatusUpdate {
            payment_id: payment_id.into(),
            status: PaymentStatus::Failed,
            reason: Some(reason.to_owned()),
        };
        let result = match update_status(&self.parts.store, &update, Utc::now()).await {
            Ok(r) => r,
            Err(e) => return format!("marking FAILED failed (the next pass retries): {e}"),
        };
        if !result.applied {
            return format!("already {}: nothing changed", result.status);
        }
        let (subject, message) = final_status_notification(payment_id, result.status);
        // Published as the workflow's failure step does: to the outcomes topic, with the
        // `status` attribute its e-mail filter policy reads.
        let attributes = crate::notify::Attributes::from([(
            "status".to_owned(),
            crate::notify::Attribute {
                data_type: "String".into(),
                string_value: result.status.to_string(),
            },
        )]);
        let topic = crate::tasks::outcomes_topic_arn();
        let publish = crate::notify::Publish {
            topic: &topic,
            subject: Some(&subject),
            message: &message,
            attributes: &attributes,
        };
        match self.parts.notifier.publish_one(publish).await {
            Ok(_) => "marked FAILED and notified".to_owned(),
            Err(e) => format!("marked FAILED; the notification failed: {e}"),
        }
    }

    /// `GET /_local/stuck`: the sweeper's settings and every stuck payment found since start,
    /// newest first.
    pub fn listing(&self) -> Value {
        let report = self.report();
        json!({
            "every_secs": self.parts.every.as_secs(),
            "stuck_after_secs": self.parts.stuck_after.as_secs(),
            "passes": report.passes,
            "last_pass_at": report.last_pass_at,
            "stuck": report.findings.iter().rev().collect::<Vec<_>>(),
        })
    }
}

fn execution_seen(status: Option<&str>) -> ExecutionSeen {
    match status {
        None => ExecutionSeen::None,
        Some(s) => ExecutionEnd::parse(s).map_or(ExecutionSeen::Running, ExecutionSeen::Ended),
    }
}
