//! Ports: what storage and notification adapters implement (the local SQLite runtime; DynamoDB
//! and SNS on AWS). Native `async fn` in traits, used generically (no `dyn`).

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ledger::{Balance, Transfer};
use crate::payment::{Payment, PaymentStatus, RequestFingerprint};

/// A failure of a store or notifier.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    /// The same idempotency key was used with a different request body; `fields` names the
    /// fields that differ (dotted paths such as `beneficiary.account`), when they are known.
    #[error(
        "idempotency key {key:?} was already used with a different request body{}",
        differing(fields)
    )]
    IdempotencyConflict { key: String, fields: Vec<String> },
    /// The first request with this idempotency key has not finished yet (a concurrent request
    /// holds it): retry later.
    #[error("idempotency key {0:?} is in use by a request that has not finished yet; retry later")]
    IdempotencyKeyInUse(String),
    /// The quote has already paid a payment: a quote pays at most one.
    #[error(
        "quote {quote_id:?} has already been used by payment {payment_id:?}; request a new quote"
    )]
    QuoteAlreadyUsed {
        quote_id: String,
        payment_id: String,
    },
    /// A conditional write found the item changed since it was read.
    #[error("conflicting update: {0}")]
    Conflict(String),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("storage backend failure: {0}")]
    Backend(String),
    /// The store takes no writes until an operator acts (e.g. the local database file was
    /// removed or replaced under the running process): 503, never a 2xx that would be lost.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

fn differing(fields: &[String]) -> String {
    if fields.is_empty() {
        String::new()
    } else {
        format!("; fields that differ: {}", fields.join(", "))
    }
}

/// The one rule every store applies to a reused idempotency key: the stored request fingerprint
/// (see [`crate::payment::request_fingerprint`]) must equal the new request's, else
/// `IdempotencyConflict` naming the fields that differ.
pub fn check_fingerprint(key: &str, stored: &str, given: &str) -> Result<(), StoreError> {
    let (stored, given) = (
        RequestFingerprint::decode(stored),
        RequestFingerprint::decode(given),
    );
    if stored.digest == given.digest {
        return Ok(());
    }
    Err(StoreError::IdempotencyConflict {
        key: key.to_owned(),
        fields: stored.differing_fields(&given),
    })
}

impl StoreError {
    /// A listing cursor this API did not hand out (or one that was altered): the same answer
    /// from every store, 422 `invalid_field`.
    pub fn invalid_cursor() -> StoreError {
        StoreError::Domain(DomainError::InvalidField {
            field: "cursor".into(),
            reason: "is not a cursor returned by this API".into(),
        })
    }

    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound(_) => "not_found",
            StoreError::IdempotencyConflict { .. } => "idempotency_conflict",
            StoreError::IdempotencyKeyInUse(_) => "idempotency_key_in_use",
            StoreError::QuoteAlreadyUsed { .. } => "quote_already_used",
            StoreError::Conflict(_) => "conflict",
            StoreError::Domain(e) => e.code(),
            StoreError::Backend(_) => "internal",
            StoreError::Unavailable(_) => "unavailable",
        }
    }
}

/// Result of [`PaymentStore::create`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CreateOutcome {
    Created(Payment),
    /// The idempotency key was already used with the same body: the payment created then.
    Existing(Payment),
}

impl CreateOutcome {
    pub fn payment(&self) -> &Payment {
        match self {
            CreateOutcome::Created(p) | CreateOutcome::Existing(p) => p,
        }
    }

    pub fn into_payment(self) -> Payment {
        match self {
            CreateOutcome::Created(p) | CreateOutcome::Existing(p) => p,
        }
    }

    pub fn is_created(&self) -> bool {
        matches!(self, CreateOutcome::Created(_))
    }
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub items: Vec<Payment>,
    pub next_cursor: Option<String>,
}

/// Durable storage of payments.
pub trait PaymentStore: Send + Sync {
    /// Stores a new payment, atomically with its idempotency key (if any) and the claim of its
    /// quote. With an idempotency key already used: the same `fingerprint` gives
    /// `Existing(original)`, a different one `Err(IdempotencyConflict)` (see
    /// [`check_fingerprint`]); a key held by a request still in flight `Err(IdempotencyKeyInUse)`.
    /// A quote already claimed by another payment: `Err(QuoteAlreadyUsed)` naming it. Keys and
    /// quote claims are kept as long as their payment (at least 24 hours, the window clients may
    /// retry in).
    fn create(
        &self,
        payment: &Payment,
        idempotency_key: Option<&str>,
        fingerprint: &str,
    ) -> impl Future<Output = Result<CreateOutcome, StoreError>> + Send;

    fn get(
        &self,
        payment_id: &str,
    ) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send;

    /// Newest first; `status` filters, `cursor` continues from a previous page's `next_cursor`.
    fn list(
        &self,
        status: Option<PaymentStatus>,
        limit: u32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;

    /// Conditional write: succeeds only if the stored payment still has `expected.status` (and
    /// `expected.updated_at`) — else `Err(Conflict)`.
    fn replace(
        &self,
        expected: &Payment,
        new: &Payment,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Settles atomically: writes `settled` on the same condition as [`PaymentStore::replace`],
    /// together with `transfers` (each new: an id already posted is `Err(Conflict)`) and the
    /// balance changes they make ([`crate::balance_changes`]). All of it or none of it is
    /// written; a payment never has a ledger without being SETTLED, nor the reverse.
    fn settle(
        &self,
        expected: &Payment,
        settled: &Payment,
        transfers: &[Transfer],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The payment created earlier with this idempotency key: `Ok(Some(payment))` if the key was
    /// used with the same `fingerprint`, `Err(IdempotencyConflict)` if with a different one
    /// ([`check_fingerprint`]),
    /// `Ok(None)` if it is unused. Lets a retry be answered before its (possibly expired) quote
    /// token is checked again (`create` enforces the key as well, atomically).
    fn find_by_idempotency_key(
        &self,
        idempotency_key: &str,
        fingerprint: &str,
    ) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send;
}

/// One account of the ledger: its balance in each currency it has used, and one page of its
/// transfers (either side), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPage {
    pub account: String,
    pub balances: Vec<Balance>,
    pub transfers: Vec<Transfer>,
    pub next_cursor: Option<String>,
}

/// Reads of the ledger the settlement writes ([`PaymentStore::settle`]).
pub trait Ledger: Send + Sync {
    /// The account's balances and a page of its transfers; an account without transfers has no
    /// balances and no transfers (not an error: every account exists with balance zero).
    fn account(
        &self,
        account: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<AccountPage, StoreError>> + Send;
}

/// Sends notifications (SNS on AWS).
pub trait Notifier: Send + Sync {
    fn publish(
        &self,
        subject: &str,
        message: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<S: PaymentStore> PaymentStore for Arc<S> {
    fn create(
        &self,
        payment: &Payment,
        idempotency_key: Option<&str>,
        fingerprint: &str,
    ) -> impl Future<Output = Result<CreateOutcome, StoreError>> + Send {
        (**self).create(payment, idempotency_key, fingerprint)
    }

    fn get(
        &self,
        payment_id: &str,
    ) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send {
        (**self).get(payment_id)
    }

    fn list(
        &self,
        status: Option<PaymentStatus>,
        limit: u32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send {
        (**self).list(status, limit, cursor)
    }

    fn replace(
        &self,
        expected: &Payment,
        new: &Payment,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).replace(expected, new)
    }

    fn settle(
        &self,
        expected: &Payment,
        settled: &Payment,
        transfers: &[Transfer],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).settle(expected, settled, transfers)
    }

    fn find_by_idempotency_key(
        &self,
        idempotency_key: &str,
        fingerprint: &str,
    ) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send {
        (**self).find_by_idempotency_key(idempotency_key, fingerprint)
    }
}

impl<L: Ledger> Ledger for Arc<L> {
    fn account(
        &self,
        account: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<AccountPage, StoreError>> + Send {
        (**self).account(account, limit, cursor)
    }
}

impl<N: Notifier> Notifier for Arc<N> {
    fn publish(
        &self,
        subject: &str,
        message: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).publish(subject, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::request_fingerprint;
    use serde_json::json;

    #[test]
    fn fingerprints_name_the_fields_that_differ() {
        let a = json!({"quote_token": "t", "sender": {"name": "Ada", "account": "A"},
                       "beneficiary": {"name": "Bob", "account": "B"}});
        let mut b = a.clone();
        b["beneficiary"]["account"] = json!("C");
        b["reference"] = json!("r");
        let (fa, fb) = (request_fingerprint(&a), request_fingerprint(&b));
        assert_eq!(check_fingerprint("k", &fa, &fa), Ok(()));
        assert_eq!(
            check_fingerprint("k", &fa, &fb),
            Err(StoreError::IdempotencyConflict {
                key: "k".into(),
                fields: vec!["beneficiary.account".into(), "reference".into()]
            })
        );
        let err = check_fingerprint("k", &fa, &fb).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("fields that differ: beneficiary.account, reference"),
            "{err}"
        );
        // A fingerprint stored as a bare digest (before fields were recorded) still compares.
        assert!(matches!(
            check_fingerprint("k", "fp-a", "fp-b"),
            Err(StoreError::IdempotencyConflict { fields, .. }) if fields.is_empty()
        ));
        assert_eq!(check_fingerprint("k", "fp", "fp"), Ok(()));
    }

    #[test]
    fn codes() {
        let cases = [
            (StoreError::NotFound("p".into()), "not_found"),
            (
                StoreError::IdempotencyConflict {
                    key: "k".into(),
                    fields: vec![],
                },
                "idempotency_conflict",
            ),
            (
                StoreError::IdempotencyKeyInUse("k".into()),
                "idempotency_key_in_use",
            ),
            (
                StoreError::QuoteAlreadyUsed {
                    quote_id: "q".into(),
                    payment_id: "p".into(),
                },
                "quote_already_used",
            ),
            (StoreError::Conflict("c".into()), "conflict"),
            (StoreError::Backend("disk".into()), "internal"),
            (StoreError::Unavailable("gone".into()), "unavailable"),
            (StoreError::from(DomainError::TokenExpired), "quote_expired"),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e}");
        }
        assert_eq!(
            StoreError::IdempotencyConflict {
                key: "k-1".into(),
                fields: vec![]
            }
            .to_string(),
            "idempotency key \"k-1\" was already used with a different request body"
        );
        assert_eq!(
            StoreError::QuoteAlreadyUsed {
                quote_id: "q-1".into(),
                payment_id: "p-1".into()
            }
            .to_string(),
            "quote \"q-1\" has already been used by payment \"p-1\"; request a new quote"
        );
        assert_eq!(
            StoreError::Domain(DomainError::TokenExpired).to_string(),
            DomainError::TokenExpired.to_string()
        );
    }
}
