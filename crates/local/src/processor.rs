//! The queue consumer: turns each change record into a domain event on the bus and delivers
//! it to the matching rules' targets (audit log, notifications, settlement workflow). A batch's
//! deliveries and the deletion of its messages commit in one transaction; a message that cannot
//! be processed stays on the queue alone (partial batch failure) and, after `max_receive_count`
//! receives, goes to the dead-letter queue.

use std::sync::Arc;

use rusqlite::{Transaction, params};
use serde_json::Value;
use tokio::sync::Notify;

use crate::bus::{self, Bus, Delivery};
use crate::db::{Db, now_millis};
use crate::error::LocalError;
use crate::notify;
use crate::queue::{self, QueueConfig, Received};
use crate::spec::TargetKind;
use crate::stage::Pass;
use crate::workflow::Workflows;
use eventpay_core::ChangeRecord;

const BATCH: u32 = 10;

#[derive(Clone)]
pub struct Processor {
    pub db: Db,
    pub queue: QueueConfig,
    pub bus: Arc<Bus>,
    pub workflows: Workflows,
    pub workflow_wake: Arc<Notify>,
}

impl Processor {
    pub async fn process_batch(&self) -> Result<Pass, LocalError> {
        let cfg = self.queue.clone();
        let received = self
            .db
            .write(move |tx| queue::receive(tx, &cfg, BATCH, now_millis()))
            .await?;
        if received.is_empty() {
            let name = self.queue.name.clone();
            let due = self
                .db
                .read(move |c| queue::next_visible_at(c, &name))
                .await?;
            return Ok(Pass {
                busy: false,
                due_at_ms: due,
            });
        }
        let mut done: Vec<(i64, Vec<Delivery>)> = Vec::new();
        for msg in &received {
            match self.deliveries(msg) {
                Ok(d) => done.push((msg.id, d)),
                Err(e) => {
                    tracing::warn!(message_id = %msg.message_id, receive_count = msg.receive_count, error = %e, "message failed; it stays on the queue")
                }
            }
        }
        let workflows = self.workflows.clone();
        let started = self
            .db
            .write(move |tx| {
                let mut started = false;
                for (id, deliveries) in &done {
                    for d in deliveries {
                        started |= deliver(tx, &workflows, d)?;
                    }
                    queue::delete(tx, *id)?;
                }
                Ok(started)
            })
            .await?;
        if started {
            self.workflow_wake.notify_one();
        }
        Ok(Pass::busy(true))
    }

    fn deliveries(&self, msg: &Received) -> Result<Vec<Delivery>, LocalError> {
        let record: ChangeRecord = serde_json::from_str(&msg.body).map_err(|e| {
            LocalError::Corrupt(format!(
                "message {} is not a change record: {e}",
                msg.message_id
            ))
        })?;
        let Some(event) =
            eventpay_core::event_for_change(record.old_image.as_ref(), &record.new_image)
        else {
            return Ok(Vec::new());
        };
        let id = bus::event_id(&record.event_id);
        let envelope = bus::envelope(&event, id.clone(), record.new_image.updated_at)?;
        Ok(self.bus.route(&envelope, &id))
    }
}

/// Applies one delivery inside the batch's transaction; true if a workflow execution started.
fn deliver(tx: &Transaction<'_>, workflows: &Workflows, d: &Delivery) -> Result<bool, LocalError> {
    match d.kind {
        TargetKind::AuditLog => {
            tx.execute(
                "INSERT OR IGNORE INTO audit_log (event_id, rule, message, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![d.event_id, d.rule, d.input.to_string(), chrono::Utc::now().to_rfc3339()],
            )?;
            Ok(false)
        }
        TargetKind::Notifications => {
            let message = match &d.input {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let subject = format!("eventpay: {}", d.rule);
            notify::insert(
                tx,
                Some(&subject),
                &message,
                Some(&format!("{}/{}", d.event_id, d.rule)),
            )?;
            Ok(false)
        }
        TargetKind::SettlementWorkflow => workflows.start_in(tx, &d.event_id, d.input.clone()),
    }
}
