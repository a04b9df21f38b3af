//! The settlement workflow's task bodies, shared by the local runtime's task handlers and the AWS
//! Lambda functions. Each is idempotent: a retried or repeated task changes nothing twice.

use crate::ids::PaymentId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ledger::transfers_for;
use crate::payment::{Payment, PaymentStatus, Settlement};
use crate::ports::{PaymentStore, StoreError};
use crate::settlement::{Decision, SettlementPolicy, decide};

/// How many times a task re-reads and retries after a conditional write lost a race.
pub const MAX_WRITE_ATTEMPTS: usize = 5;

/// Input of the update-status task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Output of the update-status task: the payment's status afterwards, and whether this call
/// changed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusResult {
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    pub applied: bool,
}

/// Output of the post-ledger task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerResult {
    pub payment_id: PaymentId,
    /// How many transfers the settlement posted.
    pub transfers: usize,
    /// The payment's status afterwards: `SETTLED`.
    pub status: PaymentStatus,
    pub applied: bool,
}

async fn load<S: PaymentStore>(store: &S, payment_id: &str) -> Result<Payment, StoreError> {
    store
        .get(payment_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no payment with id {payment_id:?}")))
}

fn gave_up(payment_id: &str) -> StoreError {
    StoreError::Conflict(format!(
        "payment {payment_id:?} kept changing concurrently; gave up after {MAX_WRITE_ATTEMPTS} attempts"
    ))
}

/// Moves a payment to `update.status`:
/// - `PROCESSING` or `FAILED` for a payment that is already final: nothing changes, the answer
///   carries the current status (a repeated `PaymentCreated` must not settle twice; marking a
///   payment FAILED after a failed step leaves one that another execution already finished as
///   it is);
/// - the status it already has: nothing changes (`applied: false`);
/// - otherwise the transition, written conditionally; an illegal one is
///   `Domain(IllegalTransition)`. A lost race re-reads and tries again.
pub async fn update_status<S: PaymentStore>(
    store: &S,
    update: &StatusUpdate,
    now: DateTime<Utc>,
) -> Result<StatusResult, StoreError> {
    let result = |status, applied| StatusResult {
        payment_id: update.payment_id.clone(),
        status,
        applied,
    };
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let current = load(store, &update.payment_id).await?;
        let already_final = matches!(
            update.status,
            PaymentStatus::Processing | PaymentStatus::Failed
        ) && current.status.is_final();
        if already_final || current.status == update.status {
            return Ok(result(current.status, false));
        }
        let mut next = current.clone();
        next.transition(update.status, now, update.reason.clone())?;
        match store.replace(&current, &next).await {
            Ok(()) => return Ok(result(next.status, true)),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(gave_up(&update.payment_id))
}

/// Applies the settlement rules to a stored payment.
pub async fn validate_payment<S: PaymentStore>(
    store: &S,
    payment_id: &str,
    policy: &SettlementPolicy,
) -> Result<Decision, StoreError> {
    Ok(decide(&load(store, payment_id).await?, policy))
}

/// Settles a payment: posts its transfers ([`transfers_for`]) and moves it to `SETTLED` in ONE
/// atomic write ([`PaymentStore::settle`]), so a payment never has a ledger without being
/// settled (or the reverse),
/// whatever fails after. Already settled: `applied: false`, nothing written. The payment must be
/// `PROCESSING`, else `Domain(IllegalTransition)` to `SETTLED`.
pub async fn post_ledger<S: PaymentStore>(
    store: &S,
    payment_id: &str,
    now: DateTime<Utc>,
) -> Result<LedgerResult, StoreError> {
    let result = |transfers, status, applied| LedgerResult {
        payment_id: payment_id.into(),
        transfers,
        status,
        applied,
    };
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let current = load(store, payment_id).await?;
        if let Some(settlement) = &current.settlement {
            return Ok(result(settlement.transfers.len(), current.status, false));
        }
        if current.status != PaymentStatus::Processing {
            return Err(DomainError::IllegalTransition {
                from: current.status,
                to: PaymentStatus::Settled,
            }
            .into());
        }
        let transfers = transfers_for(&current, now)?;
        let count = transfers.len();
        let mut next = current.clone();
        next.settlement = Some(Settlement {
            transfers: transfers.clone(),
            posted_at: now,
        });
        next.transition(PaymentStatus::Settled, now, None)?;
        match store.settle(&current, &next, &transfers).await {
            Ok(()) => return Ok(result(count, next.status, true)),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(gave_up(payment_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Transfer, balance_changes};
    use crate::payment::tests::payment;
    use crate::ports::{CreateOutcome, Page, check_fingerprint};
    use crate::quote::tests::t0;
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    /// Runs a future whose awaits are all immediately ready (as with [`MemStore`]).
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    type Interference = Box<dyn FnMut(&mut Payment) + Send>;

    /// A tiny in-memory store. `interfere` runs once, inside the next `replace`, before the
    /// condition is checked: a concurrent writer.
    #[derive(Default)]
    struct MemStore {
        payments: Mutex<BTreeMap<PaymentId, Payment>>,
        keys: Mutex<BTreeMap<String, (PaymentId, String)>>,
        interfere: Mutex<Vec<Interference>>,
        replaces: Mutex<usize>,
        backend_down: Mutex<bool>,
        transfers: Mutex<Vec<Transfer>>,
    }

    impl MemStore {
        fn with(p: &Payment) -> Self {
            let store = MemStore::default();
            store
                .payments
                .lock()
                .unwrap()
                .insert(p.payment_id.clone(), p.clone());
            store
        }
        fn stored(&self, id: &str) -> Payment {
            self.payments.lock().unwrap()[id].clone()
        }
        fn writes(&self) -> usize {
            *self.replaces.lock().unwrap()
        }
    }

    impl PaymentStore for MemStore {
        async fn create(
            &self,
            payment: &Payment,
            key: Option<&str>,
            fingerprint: &str,
        ) -> Result<CreateOutcome, StoreError> {
            if let Some(key) = key
                && let Some((id, fp)) = self.keys.lock().unwrap().get(key)
            {
                check_fingerprint(key, fp, fingerprint)?;
                return Ok(CreateOutcome::Existing(self.stored(id)));
            }
            if let Some(used) = self
                .payments
                .lock()
                .unwrap()
                .values()
                .find(|p| p.terms.quote_id == payment.terms.quote_id)
            {
                return Err(StoreError::QuoteAlreadyUsed {
                    quote_id: used.terms.quote_id.clone(),
                    payment_id: used.payment_id.to_string(),
                });
            }
            if let Some(key) = key {
                self.keys
                    .lock()
                    .unwrap()
                    .insert(key.into(), (payment.payment_id.clone(), fingerprint.into()));
            }
            self.payments
                .lock()
                .unwrap()
                .insert(payment.payment_id.clone(), payment.clone());
            Ok(CreateOutcome::Created(payment.clone()))
        }

        async fn find_by_idempotency_key(
            &self,
            key: &str,
            fingerprint: &str,
        ) -> Result<Option<Payment>, StoreError> {
            let found = self.keys.lock().unwrap().get(key).cloned();
            match found {
                Some((id, fp)) => {
                    check_fingerprint(key, &fp, fingerprint)?;
                    Ok(Some(self.stored(&id)))
                }
                None => Ok(None),
            }
        }

        async fn get(&self, payment_id: &str) -> Result<Option<Payment>, StoreError> {
            if *self.backend_down.lock().unwrap() {
                return Err(StoreError::Backend("the store is down".into()));
            }
            Ok(self.payments.lock().unwrap().get(payment_id).cloned())
        }

        async fn list(
            &self,
            status: Option<PaymentStatus>,
            limit: u32,
            _: Option<&str>,
        ) -> Result<Page, StoreError> {
            let mut items: Vec<Payment> = self
                .payments
                .lock()
                .unwrap()
                .values()
                .filter(|p| status.is_none_or(|s| p.status == s))
                .cloned()
                .collect();
            items.sort_by_key(|p| std::cmp::Reverse(p.created_at));
            items.truncate(limit as usize);
            Ok(Page {
                items,
                next_cursor: None,
            })
        }

        async fn replace(&self, expected: &Payment, new: &Payment) -> Result<(), StoreError> {
            let mut payments = self.payments.lock().unwrap();
            let stored = payments
                .get_mut(&expected.payment_id)
                .ok_or_else(|| StoreError::NotFound(expected.payment_id.to_string()))?;
            if let Some(mut f) = self.interfere.lock().unwrap().pop() {
                f(stored);
            }
            if stored.status != expected.status || stored.updated_at != expected.updated_at {
                return Err(StoreError::Conflict(format!(
                    "payment {} changed",
                    expected.payment_id
                )));
            }
            *stored = new.clone();
            *self.replaces.lock().unwrap() += 1;
            Ok(())
        }

        async fn settle(
            &self,
            expected: &Payment,
            settled: &Payment,
            transfers: &[Transfer],
        ) -> Result<(), StoreError> {
            let dup = {
                let posted = self.transfers.lock().unwrap();
                transfers
                    .iter()
                    .find(|t| posted.iter().any(|p| p.id == t.id))
                    .map(|t| t.id.clone())
            };
            if let Some(dup) = dup {
                return Err(StoreError::Conflict(format!("transfer {dup} exists")));
            }
            self.replace(expected, settled).await?;
            self.transfers.lock().unwrap().extend_from_slice(transfers);
            Ok(())
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        t0() + chrono::Duration::seconds(seconds)
    }

    fn update(status: PaymentStatus, reason: Option<&str>) -> StatusUpdate {
        StatusUpdate {
            payment_id: "p-1".into(),
            status,
            reason: reason.map(Into::into),
        }
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn task_futures_are_send() {
        let store = MemStore::default();
        let policy = SettlementPolicy::default();
        assert_send(&update_status(
            &store,
            &update(PaymentStatus::Processing, None),
            t0(),
        ));
        assert_send(&validate_payment(&store, "p-1", &policy));
        assert_send(&post_ledger(&store, "p-1", t0()));
        // The Arc forwarding impl works with the use cases too.
        let shared = Arc::new(MemStore::default());
        assert_send(&update_status(
            &shared,
            &update(PaymentStatus::Processing, None),
            t0(),
        ));
    }

    #[test]
    fn happy_path_settles_once() {
        let store = MemStore::with(&payment("USD", "EUR", "1000"));
        let processing = update(PaymentStatus::Processing, None);
        let r = block_on(update_status(&store, &processing, at(1))).unwrap();
        assert_eq!(
            r,
            StatusResult {
                payment_id: "p-1".into(),
                status: PaymentStatus::Processing,
                applied: true
            }
        );
        // Repeated delivery: no change.
        let r = block_on(update_status(&store, &processing, at(2))).unwrap();
        assert_eq!((r.status, r.applied), (PaymentStatus::Processing, false));

        let decision = block_on(validate_payment(
            &store,
            "p-1",
            &SettlementPolicy::default(),
        ))
        .unwrap();
        assert_eq!(decision, Decision::Approved);

        let r = block_on(post_ledger(&store, "p-1", at(3))).unwrap();
        assert_eq!(
            r,
            LedgerResult {
                payment_id: "p-1".into(),
                transfers: 3,
                status: PaymentStatus::Settled,
                applied: true
            }
        );
        let writes = store.writes();
        let r = block_on(post_ledger(&store, "p-1", at(4))).unwrap();
        assert_eq!((r.transfers, r.applied), (3, false));
        assert_eq!(store.writes(), writes, "a repeated post writes nothing");

        // Marking it SETTLED again (a retried task) changes nothing.
        let r = block_on(update_status(
            &store,
            &update(PaymentStatus::Settled, None),
            at(5),
        ))
        .unwrap();
        assert_eq!((r.status, r.applied), (PaymentStatus::Settled, false));

        let p = store.stored("p-1");
        assert_eq!(p.status, PaymentStatus::Settled);
        let settlement = p.settlement.as_ref().unwrap();
        assert_eq!(settlement.posted_at, at(3));
        assert_eq!(settlement.transfers, *store.transfers.lock().unwrap());
        let nets = balance_changes(&settlement.transfers);
        assert_eq!(
            nets.values().map(|c| c.net()).sum::<crate::Decimal>(),
            crate::Decimal::ZERO
        );
        let history: Vec<_> = p.history.iter().map(|c| (c.status, c.at)).collect();
        assert_eq!(
            history,
            [
                (PaymentStatus::Pending, t0()),
                (PaymentStatus::Processing, at(1)),
                (PaymentStatus::Settled, at(3))
            ]
        );

        // A repeated PaymentCreated starts the workflow again: MarkProcessing leaves it alone.
        let r = block_on(update_status(&store, &processing, at(6))).unwrap();
        assert_eq!(
            r,
            StatusResult {
                payment_id: "p-1".into(),
                status: PaymentStatus::Settled,
                applied: false
            }
        );
        assert_eq!(store.stored("p-1"), p);
    }

    /// Each task takes an optional `trace_id` beside its fields and does the same with or
    /// without it; anything else unknown is still refused where it was.
    #[test]
    fn every_task_accepts_a_trace_id() {
        use crate::task::{Task, run_task};
        use serde_json::json;
        let store = MemStore::with(&payment("USD", "EUR", "100"));
        let policy = crate::SettlementPolicy::default();
        let trace = "0af7651916cd43dd8448eb211c80319c";
        let run = |task, input| block_on(run_task(task, &store, &policy, input, at(1)));
        let r = run(
            Task::UpdateStatus,
            json!({"payment_id": "p-1", "status": "PROCESSING", "trace_id": trace}),
        )
        .unwrap();
        assert_eq!(r["status"], "PROCESSING");
        let r = run(
            Task::Validate,
            json!({"payment_id": "p-1", "trace_id": trace}),
        )
        .unwrap();
        assert_eq!(r["decision"], "APPROVED");
        let r = run(Task::Validate, json!({"payment_id": "p-1"})).unwrap();
        assert_eq!(r["decision"], "APPROVED", "without one too");
        let e = run(Task::Validate, json!({"payment_id": "p-1", "trace": trace})).unwrap_err();
        assert_eq!(e.name(), "Task.InvalidInput");
        let e = run(
            Task::PostLedger,
            json!({"payment_id": "p-1", "trace_id": 1}),
        )
        .unwrap_err();
        assert_eq!(e.name(), "Task.InvalidInput");
        let r = run(
            Task::PostLedger,
            json!({"payment_id": "p-1", "trace_id": trace}),
        )
        .unwrap();
        assert_eq!(r["status"], "SETTLED");
    }

    #[test]
    fn a_failure_before_processing_ends_failed_and_a_final_payment_stays_final() {
        // MarkProcessing failed for good: MarkFailed moves the PENDING payment to FAILED.
        let store = MemStore::with(&payment("USD", "EUR", "100"));
        let failed = update(PaymentStatus::Failed, Some("Store.Unavailable: down"));
        let r = block_on(update_status(&store, &failed, at(1))).unwrap();
        assert_eq!((r.status, r.applied), (PaymentStatus::Failed, true));
        let p = store.stored("p-1");
        assert_eq!(p.reason.as_deref(), Some("Store.Unavailable: down"));
        let history: Vec<_> = p.history.iter().map(|c| c.status).collect();
        assert_eq!(history, [PaymentStatus::Pending, PaymentStatus::Failed]);

        // A payment another execution settled is not undone by a late MarkFailed.
        let store = MemStore::with(&payment("USD", "EUR", "100"));
        block_on(update_status(
            &store,
            &update(PaymentStatus::Processing, None),
            at(1),
        ))
        .unwrap();
        block_on(post_ledger(&store, "p-1", at(2))).unwrap();
        let writes = store.writes();
        let r = block_on(update_status(&store, &failed, at(3))).unwrap();
        assert_eq!((r.status, r.applied), (PaymentStatus::Settled, false));
        assert_eq!(store.writes(), writes);
    }

    #[test]
    fn rejection_records_the_reason() {
        let store = MemStore::with(&payment("USD", "EUR", "60000"));
        block_on(update_status(
            &store,
            &update(PaymentStatus::Processing, None),
            at(1),
        ))
        .unwrap();
        let decision = block_on(validate_payment(
            &store,
            "p-1",
            &SettlementPolicy::default(),
        ))
        .unwrap();
        let Decision::Rejected { reason } = decision else {
            panic!("expected a rejection")
        };
        let r = block_on(update_status(
            &store,
            &update(PaymentStatus::Rejected, Some(&reason)),
            at(2),
        ))
        .unwrap();
        assert!(r.applied);
        let p = store.stored("p-1");
        assert_eq!(
            p.reason.as_deref(),
            Some("amount 60000.00 USD exceeds the per-payment limit of 50000.00 USD")
        );
        assert!(p.settlement.is_none());
    }

    #[test]
    fn illegal_moves_and_missing_payments() {
        let store = MemStore::with(&payment("USD", "EUR", "100"));
        let err = block_on(update_status(
            &store,
            &update(PaymentStatus::Settled, None),
            at(1),
        ))
        .unwrap_err();
        assert_eq!(
            err,
            StoreError::Domain(DomainError::IllegalTransition {
                from: PaymentStatus::Pending,
                to: PaymentStatus::Settled
            })
        );
        assert_eq!(crate::api::http_status(err.code()), 409);
        let err = block_on(post_ledger(&store, "p-1", at(1))).unwrap_err();
        assert_eq!(err.code(), "illegal_transition");
        assert_eq!(store.writes(), 0);

        let missing = StatusUpdate {
            payment_id: "nope".into(),
            ..update(PaymentStatus::Processing, None)
        };
        let err = block_on(update_status(&store, &missing, at(1))).unwrap_err();
        assert_eq!(
            err,
            StoreError::NotFound("no payment with id \"nope\"".into())
        );
        assert!(matches!(
            block_on(validate_payment(
                &store,
                "nope",
                &SettlementPolicy::default()
            )),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            block_on(post_ledger(&store, "nope", at(1))),
            Err(StoreError::NotFound(_))
        ));

        *store.backend_down.lock().unwrap() = true;
        let err = block_on(update_status(
            &store,
            &update(PaymentStatus::Processing, None),
            at(1),
        ))
        .unwrap_err();
        assert_eq!(err.code(), "internal");
    }

    #[test]
    fn a_lost_race_rereads_and_retries() {
        // Another execution marks the payment PROCESSING between our read and our write.
        let store = MemStore::with(&payment("USD", "EUR", "100"));
        store
            .interfere
            .lock()
            .unwrap()
            .push(Box::new(|p: &mut Payment| {
                p.transition(PaymentStatus::Processing, at(1), None)
                    .unwrap();
            }));
        let r = block_on(update_status(
            &store,
            &update(PaymentStatus::Processing, None),
            at(2),
        ))
        .unwrap();
        assert_eq!((r.status, r.applied), (PaymentStatus::Processing, false));
        assert_eq!(
            store.stored("p-1").history.len(),
            2,
            "the transition is recorded once"
        );

        // The ledger is posted concurrently: our retry finds it and writes nothing.
        let store = MemStore::with(&payment("USD", "EUR", "100"));
        block_on(update_status(
            &store,
            &update(PaymentStatus::Processing, None),
            at(1),
        ))
        .unwrap();
        store
            .interfere
            .lock()
            .unwrap()
            .push(Box::new(|p: &mut Payment| {
                let transfers = transfers_for(p, at(2)).unwrap();
                p.settlement = Some(Settlement {
                    transfers,
                    posted_at: at(2),
                });
                p.updated_at = at(2);
            }));
        let r = block_on(post_ledger(&store, "p-1", at(3))).unwrap();
        assert_eq!((r.transfers, r.applied), (3, false));
        assert_eq!(store.stored("p-1").settlement.unwrap().posted_at, at(2));
    }

    #[test]
    fn ledger_and_settled_status_are_one_write() {
        let store = MemStore::with(&payment("USD", "EUR", "100"));
        block_on(update_status(
            &store,
            &update(PaymentStatus::Processing, None),
            at(1),
        ))
        .unwrap();
        let before = store.stored("p-1");
        let writes = store.writes();
        block_on(post_ledger(&store, "p-1", at(1))).unwrap();
        let after = store.stored("p-1");
        assert_eq!(store.writes(), writes + 1);
        assert_eq!(after.status, PaymentStatus::Settled);
        assert!(after.settlement.is_some());
        // A status write based on the pre-ledger read cannot drop the settlement.
        let mut stale = before.clone();
        stale
            .transition(PaymentStatus::Failed, at(1), Some("late failure".into()))
            .unwrap();
        assert!(matches!(
            block_on(store.replace(&before, &stale)),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn endless_conflicts_give_up() {
        let store = MemStore::with(&payment("USD", "EUR", "100"));
        for i in 0..MAX_WRITE_ATTEMPTS {
            let bump = at(100 + i as i64);
            store
                .interfere
                .lock()
                .unwrap()
                .push(Box::new(move |p: &mut Payment| p.updated_at = bump));
        }
        let err = block_on(update_status(
            &store,
            &update(PaymentStatus::Processing, None),
            at(1),
        ))
        .unwrap_err();
        assert_eq!(err.code(), "conflict");
        assert_eq!(store.writes(), 0);
    }

    #[test]
    fn store_create_and_list_contract() {
        let store = MemStore::default();
        let p = payment("USD", "EUR", "100");
        assert!(
            block_on(store.create(&p, Some("k"), "fp"))
                .unwrap()
                .is_created()
        );
        let again = block_on(store.create(&p, Some("k"), "fp")).unwrap();
        assert_eq!(again, CreateOutcome::Existing(p.clone()));
        assert_eq!(again.into_payment(), p);
        let conflict = StoreError::IdempotencyConflict {
            key: "k".into(),
            fields: vec![],
        };
        assert_eq!(
            block_on(store.create(&p, Some("k"), "other")),
            Err(conflict.clone())
        );
        // Another payment from the same quote, with another key or none, is refused.
        let mut second = p.clone();
        second.payment_id = "p-2".into();
        for key in [Some("k2"), None] {
            assert_eq!(
                block_on(store.create(&second, key, "fp")),
                Err(StoreError::QuoteAlreadyUsed {
                    quote_id: p.terms.quote_id.clone(),
                    payment_id: p.payment_id.to_string()
                })
            );
        }
        assert_eq!(
            block_on(store.find_by_idempotency_key("k", "fp")),
            Ok(Some(p.clone()))
        );
        assert_eq!(
            block_on(store.find_by_idempotency_key("k", "other")),
            Err(conflict)
        );
        assert_eq!(
            block_on(store.find_by_idempotency_key("nope", "fp")),
            Ok(None)
        );
        let page = block_on(store.list(Some(PaymentStatus::Pending), 10, None)).unwrap();
        assert_eq!(page.items, vec![p]);
        assert!(
            block_on(store.list(Some(PaymentStatus::Settled), 10, None))
                .unwrap()
                .items
                .is_empty()
        );
    }

    #[test]
    fn task_io_json() {
        let u: StatusUpdate = serde_json::from_value(
            serde_json::json!({"payment_id": "p", "status": "REJECTED", "reason": "no"}),
        )
        .unwrap();
        assert_eq!(u.reason.as_deref(), Some("no"));
        let u: StatusUpdate =
            serde_json::from_value(serde_json::json!({"payment_id": "p", "status": "PROCESSING"}))
                .unwrap();
        assert_eq!(u.reason, None);
        let out = StatusResult {
            payment_id: "p".into(),
            status: PaymentStatus::Processing,
            applied: true,
        };
        assert_eq!(
            serde_json::to_value(out).unwrap(),
            serde_json::json!({"payment_id": "p", "status": "PROCESSING", "applied": true})
        );
    }
}
