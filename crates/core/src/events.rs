//! Domain events derived from payment changes, and the EventBridge envelope they travel in.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::payment::{Payment, PaymentStatus};
use crate::quote::rfc3339;

/// `source` of every event eventpay publishes.
pub const EVENT_SOURCE: &str = "eventpay.payments";

/// The `detail-type` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DetailType {
    PaymentCreated,
    PaymentProcessing,
    PaymentSettled,
    PaymentRejected,
    PaymentFailed,
}

impl DetailType {
    pub fn as_str(self) -> &'static str {
        match self {
            DetailType::PaymentCreated => "PaymentCreated",
            DetailType::PaymentProcessing => "PaymentProcessing",
            DetailType::PaymentSettled => "PaymentSettled",
            DetailType::PaymentRejected => "PaymentRejected",
            DetailType::PaymentFailed => "PaymentFailed",
        }
    }

    /// The event announcing that a payment reached `status` (`PENDING` is its creation).
    pub fn for_status(status: PaymentStatus) -> Self {
        match status {
            PaymentStatus::Pending => DetailType::PaymentCreated,
            PaymentStatus::Processing => DetailType::PaymentProcessing,
            PaymentStatus::Settled => DetailType::PaymentSettled,
            PaymentStatus::Rejected => DetailType::PaymentRejected,
            PaymentStatus::Failed => DetailType::PaymentFailed,
        }
    }
}

impl fmt::Display for DetailType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event before it is put in an envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub detail_type: DetailType,
    pub detail: Value,
}

/// The event for a change of the payments table (`old` is `None` for an insert): an insert is
/// `PaymentCreated`, a status change the event of the new status, anything else (e.g. ledger
/// postings) no event.
///
/// `detail`: `payment_id`, `status`, `previous_status` (not on create), `amount` and
/// `target_amount` (decimal strings), `source_currency`, `target_currency`, `amount_units` (whole
/// units of `amount`, truncated, as a JSON integer for numeric event patterns), `base_currency`,
/// `base_amount` and `base_amount_units` (the same in the base currency, which is what
/// thresholds such as the high-value rule compare), `reason` (when set) and `occurred_at` (the
/// payment's `updated_at`, RFC 3339) and `trace_id` ([`Payment::trace`]).
pub fn event_for_change(old: Option<&Payment>, new: &Payment) -> Option<DomainEvent> {
    let (detail_type, previous) = match old {
        None => (DetailType::PaymentCreated, None),
        Some(old) if old.status != new.status => {
            (DetailType::for_status(new.status), Some(old.status))
        }
        Some(_) => return None,
    };
    let mut detail = Map::new();
    detail.insert("payment_id".into(), json!(new.payment_id));
    detail.insert("status".into(), json!(new.status));
    if let Some(previous) = previous {
        detail.insert("previous_status".into(), json!(previous));
    }
    detail.insert("amount".into(), json!(new.terms.amount.to_string()));
    detail.insert("source_currency".into(), json!(new.terms.source_currency));
    detail.insert("target_currency".into(), json!(new.terms.target_currency));
    detail.insert(
        "target_amount".into(),
        json!(new.terms.target_amount.to_string()),
    );
    // Amounts are at most 1e12, so the truncated units always fit in an i64.
    detail.insert(
        "amount_units".into(),
        json!(new.terms.amount.trunc().to_i64().unwrap_or(i64::MAX)),
    );
    detail.insert("base_currency".into(), json!(new.terms.base_currency));
    detail.insert(
        "base_amount".into(),
        json!(new.terms.base_amount.to_string()),
    );
    detail.insert(
        "base_amount_units".into(),
        json!(new.terms.base_amount.trunc().to_i64().unwrap_or(i64::MAX)),
    );
    if let Some(reason) = &new.reason {
        detail.insert("reason".into(), json!(reason));
    }
    detail.insert("occurred_at".into(), json!(rfc3339(new.updated_at)));
    // The request's correlation id, so the event, its rules' targets and the execution it
    // starts can be tied to the request (crate::trace). Always present (derived for a payment
    // stored before trace ids): the state machine passes `$.trace_id` to every task.
    detail.insert("trace_id".into(), json!(new.trace()));
    Some(DomainEvent {
        detail_type,
        detail: Value::Object(detail),
    })
}

/// An event as EventBridge delivers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub version: String,
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub account: String,
    /// RFC 3339, whole seconds, `Z`.
    pub time: String,
    pub region: String,
    pub resources: Vec<String>,
    pub detail: Value,
}

impl EventEnvelope {
    pub fn new(
        event: &DomainEvent,
        id: String,
        account: &str,
        region: &str,
        time: DateTime<Utc>,
    ) -> Self {
        EventEnvelope {
            version: "0".into(),
            id,
            detail_type: event.detail_type.as_str().into(),
            source: EVENT_SOURCE.into(),
            account: account.into(),
            time: time.to_rfc3339_opts(SecondsFormat::Secs, true),
            region: region.into(),
            resources: Vec::new(),
            detail: event.detail.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::tests::payment;
    use crate::quote::tests::t0;

    #[test]
    fn insert_is_payment_created() {
        let p = payment("USD", "EUR", "12345.67");
        let e = event_for_change(None, &p).unwrap();
        assert_eq!(e.detail_type, DetailType::PaymentCreated);
        assert_eq!(
            e.detail,
            json!({
                "payment_id": "p-1", "status": "PENDING", "amount": "12345.67", "source_currency": "USD",
                "target_currency": "EUR", "target_amount": p.terms.target_amount.to_string(), "amount_units": 12345,
                "base_currency": "USD", "base_amount": "12345.67", "base_amount_units": 12345,
                "occurred_at": "2026-11-01T12:00:00Z", "trace_id": crate::TraceId::for_payment("p-1")
            })
        );
        let mut traced = p.clone();
        traced.trace_id = crate::TraceId::parse("0af7651916cd43dd8448eb211c80319c");
        let e = event_for_change(None, &traced).unwrap();
        assert_eq!(e.detail["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    }

    #[test]
    fn status_changes_and_only_those_are_events() {
        let old = payment("USD", "EUR", "100");
        let mut new = old.clone();
        assert_eq!(event_for_change(Some(&old), &new), None);
        let t1 = t0() + chrono::Duration::milliseconds(1500);
        new.transition(PaymentStatus::Processing, t1, None).unwrap();
        let e = event_for_change(Some(&old), &new).unwrap();
        assert_eq!(e.detail_type, DetailType::PaymentProcessing);
        assert_eq!(e.detail["previous_status"], "PENDING");
        assert_eq!(e.detail["status"], "PROCESSING");
        assert_eq!(e.detail["occurred_at"], "2026-11-01T12:00:01.500Z");
        assert!(e.detail.get("reason").is_none());

        let processing = new.clone();
        new.transition(PaymentStatus::Failed, t1, Some("boom".into()))
            .unwrap();
        let e = event_for_change(Some(&processing), &new).unwrap();
        assert_eq!(e.detail_type.as_str(), "PaymentFailed");
        assert_eq!(e.detail["reason"], "boom");

        // Thresholds compare the base amount: 1,000,000 JPY is about 6,606 USD.
        let jpy = payment("JPY", "USD", "1000000");
        let e = event_for_change(None, &jpy).unwrap();
        assert_eq!(
            (&e.detail["amount_units"], &e.detail["base_amount_units"]),
            (&json!(1_000_000), &json!(6606))
        );
        assert_eq!(e.detail["base_amount"], "6606.33");

        // A ledger posting (no status change) publishes nothing.
        let mut posted = processing.clone();
        posted.updated_at = t1 + chrono::Duration::seconds(1);
        assert_eq!(event_for_change(Some(&processing), &posted), None);
    }

    #[test]
    fn detail_types_map_statuses() {
        assert_eq!(
            DetailType::for_status(PaymentStatus::Settled).as_str(),
            "PaymentSettled"
        );
        assert_eq!(
            DetailType::for_status(PaymentStatus::Rejected).to_string(),
            "PaymentRejected"
        );
        assert_eq!(
            serde_json::to_value(DetailType::PaymentCreated).unwrap(),
            json!("PaymentCreated")
        );
    }

    #[test]
    fn envelope_is_eventbridge_shaped() {
        let e = event_for_change(None, &payment("USD", "EUR", "100")).unwrap();
        let time = t0() + chrono::Duration::milliseconds(250);
        let env = EventEnvelope::new(&e, "id-1".into(), "000000000000", "us-east-1", time);
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(
            json,
            json!({
                "version": "0", "id": "id-1", "detail-type": "PaymentCreated", "source": "eventpay.payments",
                "account": "000000000000", "time": "2026-11-01T12:00:00Z", "region": "us-east-1",
                "resources": [], "detail": e.detail
            })
        );
        assert_eq!(serde_json::from_value::<EventEnvelope>(json).unwrap(), env);
    }
}
