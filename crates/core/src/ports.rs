//! Ports: what storage and notification adapters implement (the local SQLite runtime; DynamoDB
//! and SNS on AWS). Native `async fn` in traits, used generically (no `dyn`).

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::payment::{Payment, PaymentStatus};

/// A failure of a store or notifier.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    /// The same idempotency key was used with a different request body.
    #[error("idempotency key {0:?} was already used with a different request body")]
    IdempotencyConflict(String),
    /// A conditional write found the item changed since it was read.
    #[error("conflicting update: {0}")]
    Conflict(String),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("storage backend failure: {0}")]
    Backend(String),
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
            StoreError::IdempotencyConflict(_) => "idempotency_conflict",
            StoreError::Conflict(_) => "conflict",
            StoreError::Domain(e) => e.code(),
            StoreError::Backend(_) => "internal",
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            StoreError::NotFound(_) => 404,
            StoreError::IdempotencyConflict(_) | StoreError::Conflict(_) => 409,
            StoreError::Domain(e) => e.http_status(),
            StoreError::Backend(_) => 500,
        }
    }

    /// The error body of the HTTP contract: `{"error": {"code", "message"}}`.
    pub fn to_body(&self) -> serde_json::Value {
        crate::error::error_body(self.code(), &self.to_string())
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
    /// Stores a new payment. With an idempotency key already used: the same `fingerprint` gives
    /// `Existing(original)`, a different one `Err(IdempotencyConflict)`.
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

    /// The payment created earlier with this idempotency key: `Ok(Some(payment))` if the key was
    /// used with the same `fingerprint`, `Err(IdempotencyConflict)` if with a different one,
    /// `Ok(None)` if it is unused. Lets a retry be answered before its (possibly expired) quote
    /// token is checked again (`create` enforces the key as well, atomically).
    fn find_by_idempotency_key(
        &self,
        idempotency_key: &str,
        fingerprint: &str,
    ) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send;
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

    fn find_by_idempotency_key(
        &self,
        idempotency_key: &str,
        fingerprint: &str,
    ) -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send {
        (**self).find_by_idempotency_key(idempotency_key, fingerprint)
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

    #[test]
    fn codes_and_statuses() {
        let cases = [
            (StoreError::NotFound("p".into()), "not_found", 404),
            (
                StoreError::IdempotencyConflict("k".into()),
                "idempotency_conflict",
                409,
            ),
            (StoreError::Conflict("c".into()), "conflict", 409),
            (StoreError::Backend("disk".into()), "internal", 500),
            (
                StoreError::from(DomainError::TokenExpired),
                "quote_expired",
                422,
            ),
        ];
        for (e, code, status) in cases {
            assert_eq!((e.code(), e.http_status()), (code, status), "{e}");
        }
        assert_eq!(
            StoreError::IdempotencyConflict("k-1".into()).to_string(),
            "idempotency key \"k-1\" was already used with a different request body"
        );
        assert_eq!(
            StoreError::Domain(DomainError::TokenExpired).to_string(),
            DomainError::TokenExpired.to_string()
        );
    }
}
