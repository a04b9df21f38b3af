//! The queue consumer: turns each change record into a domain event on the bus and delivers
//! it to the matching rules' targets (audit log, notifications, settlement workflow). The work
//! (parsing, matching, building entries and executions) happens before the write; the batch's
//! deliveries and the deletion of its messages then commit in one transaction. A message that
//! cannot be processed stays on the queue alone (partial batch failure) and, after
//! `max_receive_count` receives, goes to the dead-letter queue.
//!
//! Every record is checked against the payments table first ([`eventpay_core::verify_change`]):
//! its id must be the one derived from its table, payment and version, and its images must be the
//! stored payment at those versions. A message that fails the check (put on the queue by anyone
//! but the forwarder, e.g. through `POST /_local/queues/.../messages`) is refused: logged with the
//! reason, counted, and moved to the dead-letter queue at once. It delivers nothing, so it can
//! never stand for, or deduplicate away, a real change.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::Transaction;
use serde_json::Value;

use crate::audit;
use crate::bus::{self, Bus, Delivery};
use crate::db::{Db, now_millis};
use crate::error::LocalError;
use crate::executions::{Live, NewExecution};
use crate::notify;
use crate::queue::{self, QueueConfig, Received};
use crate::reload::Current;
use crate::spec::TargetKind;
use crate::stage::Pass;
use crate::workflow::Workflows;
use eventpay_core::{ChangeRecord, verify_change};

/// Messages per receive: more than SQS's 10, as a Lambda event source mapping with a batching
/// window hands a function; fewer commits per message under load.
const BATCH: u32 = 256;

#[derive(Clone)]
pub struct Processor {
    pub db: Db,
    pub queue: QueueConfig,
    /// The rules; `--watch` replaces them, each message is routed by the rules it found.
    pub bus: Current<Bus>,
    pub workflows: Workflows,
    /// The payments table's id ([`crate::stream::table_id`]): record ids derive from it.
    pub table_id: Arc<str>,
}

/// Messages refused since start as not being the change they claim to be (`/_local/figures`).
pub static REFUSED: AtomicU64 = AtomicU64::new(0);

/// Why a message was not handed off.
enum Unprocessed {
    /// Not a change of the payments table: it goes to the dead-letter queue now.
    Refused(String),
    /// It could not be processed now: it stays on the queue.
    Failed(LocalError),
}

impl From<LocalError> for Unprocessed {
    fn from(e: LocalError) -> Self {
        Unprocessed::Failed(e)
    }
}

/// A message's deliveries made ready, with its hop for the payment's trace.
type Ready = (Vec<Prepared>, crate::trace::Delivered);

/// A delivery made ready outside the writer.
enum Prepared {
    Audit(audit::Entry),
    Notify {
        subject: String,
        message: String,
        dedupe_key: String,
    },
    Start(Box<NewExecution>),
}

impl Prepared {
    fn apply(self, tx: &Transaction<'_>) -> Result<Option<Live>, LocalError> {
        match self {
            Prepared::Audit(entry) => entry.insert(tx).map(|()| None),
            Prepared::Notify {
                subject,
                message,
                dedupe_key,
            } => notify::insert(tx, Some(&subject), &message, Some(&dedupe_key)).map(|_| None),
            Prepared::Start(start) => start.insert(tx),
        }
    }
}

impl Processor {
    pub async fn process_batch(&self) -> Result<Pass, LocalError> {
        if !self.workflows.has_room() {
            // The engine wakes this stage once it has worked its backlog down.
            return Ok(Pass::busy(false));
        }
        let (cfg, now) = (self.queue.clone(), now_millis());
        let (received, exhausted) = self
            .db
            .read_now(move |c| queue::visible(c, &cfg, BATCH, now))?;
        if received.is_empty() && exhausted.is_empty() {
            let name = self.queue.name.clone();
            let due = self
                .db
                .read_now(move |c| queue::next_visible_at(c, &name))?;
            return Ok(Pass {
                busy: false,
                due_at_ms: due,
            });
        }
        let received_at = crate::trace::now_micros();
        let mut refused = Vec::new();
        let mut outcomes: Vec<(Received, Option<Ready>)> = Vec::new();
        for msg in received {
            match self.prepare(&msg, received_at) {
                Ok(ready) => outcomes.push((msg, Some(ready))),
                Err(Unprocessed::Refused(reason)) => {
                    REFUSED.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(message_id = %msg.message_id, %reason, "message refused: not a change of the payments table; moved to the dead-letter queue");
                    refused.push(msg.id);
                }
                Err(Unprocessed::Failed(e)) => {
                    tracing::warn!(message_id = %msg.message_id, receive_count = msg.receive_count, error = %e, "message failed; it stays on the queue");
                    outcomes.push((msg, None));
                }
            }
        }
        let cfg = self.queue.clone();
        let started = self
            .db
            .write(move |tx| {
                queue::dead_letter(tx, &cfg, &exhausted, now)?;
                queue::dead_letter(tx, &cfg, &refused, now)?;
                let mut started = Vec::new();
                for (msg, prepared) in outcomes {
                    hand_off(tx, &cfg, &msg, prepared, now, &mut started)?;
                }
                Ok(started)
            })
            .await?;
        self.workflows.submit(started);
        Ok(Pass::busy(true))
    }

    fn prepare(&self, msg: &Received, received_at: i64) -> Result<Ready, Unprocessed> {
        let record: ChangeRecord = serde_json::from_str(&msg.body)
            .map_err(|e| Unprocessed::Refused(format!("not a change record: {e}")))?;
        // Every log line about this change names the payment and its request's trace id.
        let _span = tracing::info_span!(
            "change",
            payment_id = %record.payment_id,
            trace_id = %record.new_image.trace(),
        )
        .entered();
        let stored = self
            .db
            .read_now(|c| crate::store::read_payment(c, &record.payment_id))?;
        verify_change(&record, &self.table_id, stored.as_ref())
            .map_err(|e| Unprocessed::Refused(e.to_string()))?;
        let (deliveries, hop) = deliveries(&self.bus.get(), msg, record, received_at)?;
        let prepared = deliveries
            .into_iter()
            .map(|d| self.prepare_delivery(d))
            .collect::<Result<_, _>>()?;
        Ok((prepared, hop))
    }

    fn prepare_delivery(&self, d: Delivery) -> Result<Prepared, LocalError> {
        Ok(match d.kind {
            TargetKind::AuditLog => {
                Prepared::Audit(audit::Entry::new(&d.event_id, &d.rule, &d.input)?)
            }
            TargetKind::Notifications => Prepared::Notify {
                subject: format!("eventpay: {}", d.rule),
                message: match d.input {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
                dedupe_key: format!("{}/{}", d.event_id, d.rule),
            },
            TargetKind::SettlementWorkflow => {
                Prepared::Start(Box::new(self.workflows.prepare(&d.event_id, d.input)?))
            }
        })
    }
}

/// One message's hand-off inside the batch's transaction, in a savepoint of its own: its
/// deliveries and its deletion, or (if it failed, before or here) its receive is recorded and it
/// stays on the queue.
fn hand_off(
    tx: &Transaction<'_>,
    cfg: &QueueConfig,
    msg: &Received,
    prepared: Option<Ready>,
    now: i64,
    started: &mut Vec<Live>,
) -> Result<(), LocalError> {
    if let Some((deliveries, hop)) = prepared {
        tx.execute_batch("SAVEPOINT message")?;
        let applied = (|| {
            crate::trace::delivered(tx, &hop)?;
            let mut lives = Vec::new();
            for d in deliveries {
                lives.extend(d.apply(tx)?);
            }
            queue::delete(tx, msg.id)?;
            if let Some(copy) = crate::chaos::redelivery(&msg.message_id) {
                // At-least-once delivery: the same record comes again in a later batch.
                let again = queue::Outgoing {
                    message_id: &copy,
                    body: &msg.body,
                    trace_id: msg.trace_id.as_deref(),
                };
                queue::send(tx, &cfg.name, &again, now)?;
            }
            Ok::<_, LocalError>(lives)
        })();
        match applied {
            Ok(lives) => {
                tx.execute_batch("RELEASE message")?;
                started.extend(lives);
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(message_id = %msg.message_id, error = %e, "delivery failed; the message stays on the queue");
                tx.execute_batch("ROLLBACK TO message; RELEASE message")?;
            }
        }
    }
    queue::received_not_deleted(tx, cfg, msg, now)
}

/// The deliveries a message's (verified) change record makes: its event, matched against the
/// rules.
fn deliveries(
    bus: &Bus,
    msg: &Received,
    record: ChangeRecord,
    received_at: i64,
) -> Result<(Vec<Delivery>, crate::trace::Delivered), LocalError> {
    let event = eventpay_core::event_for_change(record.old_image.as_ref(), &record.new_image);
    let mut hop = crate::trace::Delivered {
        payment_id: record.payment_id.to_string(),
        message_id: msg.message_id.clone(),
        receive_count: msg.receive_count,
        received_at,
        change_id: record.event_id.clone(),
        detail_type: None,
        rules: Vec::new(),
        routed_at: received_at,
    };
    let Some(event) = event else {
        return Ok((Vec::new(), hop));
    };
    let id = bus::event_id(&record.event_id);
    let envelope = bus::envelope(&event, id.clone(), record.new_image.updated_at)?;
    hop.routed_at = crate::trace::now_micros();
    let routed = bus.route(&envelope, &id);
    hop.detail_type = Some(event.detail_type.as_str().to_owned());
    hop.rules = routed.iter().map(|d| d.rule.clone()).collect();
    Ok((routed, hop))
}
