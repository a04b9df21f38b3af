//! An in-memory book for the ledger's property tests: payments, transfers and balances behind
//! one lock (so `settle` is atomic, as a database transaction is), with crashes injected before
//! or after a write lands.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use eventpay_core::*;

/// Runs a future whose awaits are all immediately ready (as the book's are).
pub fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[derive(Default)]
struct State {
    payments: BTreeMap<PaymentId, Payment>,
    transfers: BTreeMap<String, Transfer>,
    balances: BTreeMap<(AccountId, Currency), Balance>,
    /// 0: none; 1: the next write crashes before it lands; 2: it lands, then the caller crashes.
    fault: u8,
}

#[derive(Default)]
pub struct Book(Mutex<State>);

impl Book {
    pub fn insert(&self, p: Payment) {
        self.0
            .lock()
            .unwrap()
            .payments
            .insert(p.payment_id.clone(), p);
    }

    pub fn set_fault(&self, fault: u8) {
        self.0.lock().unwrap().fault = fault;
    }

    pub fn reconcile(&self) -> Reconciliation {
        let s = self.0.lock().unwrap();
        let mut r = Reconciler::new();
        s.payments.values().for_each(|p| r.payment(p));
        s.transfers.values().for_each(|t| r.transfer(t));
        s.balances.values().for_each(|b| r.balance(b));
        r.finish()
    }

    /// Applies `write` unless a crash comes first; a crash after it lands still answers an error.
    fn write(
        &self,
        write: impl FnOnce(&mut State) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut s = self.0.lock().unwrap();
        let fault = std::mem::take(&mut s.fault);
        let crashed = || Err(StoreError::Unavailable("crashed".into()));
        if fault == 1 {
            return crashed();
        }
        write(&mut s)?;
        if fault == 2 { crashed() } else { Ok(()) }
    }
}

fn check(s: &State, expected: &Payment) -> Result<(), StoreError> {
    match s.payments.get(&expected.payment_id) {
        Some(p) if p.status == expected.status && p.updated_at == expected.updated_at => Ok(()),
        Some(_) => Err(StoreError::Conflict("changed".into())),
        None => Err(StoreError::NotFound(expected.payment_id.to_string())),
    }
}

impl PaymentStore for Book {
    async fn create(
        &self,
        p: &Payment,
        _: Option<&str>,
        _: &str,
    ) -> Result<CreateOutcome, StoreError> {
        self.insert(p.clone());
        Ok(CreateOutcome::Created(p.clone()))
    }

    async fn get(&self, id: &str) -> Result<Option<Payment>, StoreError> {
        Ok(self.0.lock().unwrap().payments.get(id).cloned())
    }

    async fn list(
        &self,
        _: Option<PaymentStatus>,
        _: u32,
        _: Option<&str>,
    ) -> Result<Page, StoreError> {
        Ok(Page {
            items: vec![],
            next_cursor: None,
        })
    }

    async fn replace(&self, expected: &Payment, new: &Payment) -> Result<(), StoreError> {
        self.write(|s| {
            check(s, expected)?;
            s.payments.insert(new.payment_id.clone(), new.clone());
            Ok(())
        })
    }

    async fn settle(
        &self,
        expected: &Payment,
        settled: &Payment,
        transfers: &[Transfer],
    ) -> Result<(), StoreError> {
        self.write(|s| {
            check(s, expected)?;
            if transfers.iter().any(|t| s.transfers.contains_key(&t.id)) {
                return Err(StoreError::Conflict("transfer posted twice".into()));
            }
            for ((account, currency), change) in balance_changes(transfers) {
                s.balances
                    .entry((account.clone(), currency))
                    .or_insert_with(|| Balance::zero(account, currency))
                    .apply(&change);
            }
            for t in transfers {
                s.transfers.insert(t.id.clone(), t.clone());
            }
            s.payments
                .insert(settled.payment_id.clone(), settled.clone());
            Ok(())
        })
    }

    async fn find_by_idempotency_key(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<Payment>, StoreError> {
        Ok(None)
    }
}
