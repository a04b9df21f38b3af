//! Payments, their status machine and the idempotency fingerprint of a request.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::account::normalize_account;
use crate::error::DomainError;
use crate::ids::{AccountId, PaymentId};
use crate::ledger::Transfer;
use crate::quote::{Quote, QuoteTerms};

/// Longest name, account or reference, in characters.
pub const MAX_FIELD_CHARS: usize = 140;

/// Status of a payment. Legal moves: `PENDING → PROCESSING → SETTLED | REJECTED | FAILED`, and
/// `PENDING → FAILED` (a technical failure before processing started: no payment may stay
/// non-final once its workflow has ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Pending,
    Processing,
    Settled,
    Rejected,
    Failed,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 5] = [
        PaymentStatus::Pending,
        PaymentStatus::Processing,
        PaymentStatus::Settled,
        PaymentStatus::Rejected,
        PaymentStatus::Failed,
    ];

    /// `PENDING → PROCESSING | FAILED`, `PROCESSING → SETTLED | REJECTED | FAILED`; nothing else
    /// (staying in the same status is not a transition). `FAILED` is reachable from every
    /// non-final status, so whatever step of the settlement failed, the payment can end final.
    pub fn can_transition_to(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Pending, Processing | Failed) | (Processing, Settled | Rejected | Failed)
        )
    }

    /// `SETTLED`, `REJECTED` and `FAILED` are final.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PaymentStatus::Settled | PaymentStatus::Rejected | PaymentStatus::Failed
        )
    }

    /// The wire name, e.g. `"PENDING"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Processing => "PROCESSING",
            PaymentStatus::Settled => "SETTLED",
            PaymentStatus::Rejected => "REJECTED",
            PaymentStatus::Failed => "FAILED",
        }
    }

    /// Parses the exact wire name (`"SETTLED"`); anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        PaymentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sender or beneficiary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub name: String,
    pub account: AccountId,
}

/// Body of `POST /payments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    pub quote_token: String,
    pub sender: Party,
    pub beneficiary: Party,
    #[serde(default)]
    pub reference: Option<String>,
}

/// One entry of a payment's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: PaymentStatus,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The transfers posted when the payment was settled: a copy of what the ledger holds for it
/// ([`crate::ledger`]), written in the same atomic write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settlement {
    /// Empty in a payment settled before the ledger had its own table (its legacy
    /// `ledger_entries` are not read; `eventpay ledger check` reports such a payment).
    #[serde(default)]
    pub transfers: Vec<Transfer>,
    pub posted_at: DateTime<Utc>,
}

/// A payment with the terms of its quote. Amounts are at their currency's minor-unit scale and
/// serialize as decimal strings; in JSON the terms' fields stand in the payment's object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    #[serde(flatten)]
    pub terms: QuoteTerms,
    pub sender: Party,
    pub beneficiary: Party,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<StatusChange>,
    pub reason: Option<String>,
    pub settlement: Option<Settlement>,
    /// The correlation id of the request that created it ([`crate::trace`]); absent in payments
    /// stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<crate::TraceId>,
}

/// Result of [`Payment::transition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionOutcome {
    Applied,
    /// Already in the requested status: nothing changed (at-least-once delivery).
    AlreadyInStatus,
}

fn check_text(field: &str, value: &str, required: bool) -> Result<String, DomainError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(DomainError::field(field, "must not be empty"));
    }
    let chars = value.chars().count();
    if chars > MAX_FIELD_CHARS {
        return Err(DomainError::field(
            field,
            format!("is {chars} characters long; at most {MAX_FIELD_CHARS} are allowed"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_string())
}

fn check_party(role: &str, party: &Party) -> Result<Party, DomainError> {
    let name = check_text(&format!("{role}.name"), &party.name, true)?;
    let account_field = format!("{role}.account");
    let account = check_text(&account_field, &party.account, true)?;
    let account = normalize_account(&account_field, &account)?;
    Ok(Party {
        name,
        account: account.into(),
    })
}

/// Builds a `PENDING` payment from a request and its verified quote. Names and accounts are
/// trimmed, must be non-empty, at most 140 characters and free of control characters; accounts
/// are stored in their canonical form ([`crate::account`]); the reference is optional (blank
/// means none), at most 140 characters.
pub fn new_payment(
    req: &PaymentRequest,
    quote: &Quote,
    payment_id: PaymentId,
    now: DateTime<Utc>,
) -> Result<Payment, DomainError> {
    let sender = check_party("sender", &req.sender)?;
    let beneficiary = check_party("beneficiary", &req.beneficiary)?;
    let reference = match &req.reference {
        Some(r) => Some(check_text("reference", r, false)?).filter(|r| !r.is_empty()),
        None => None,
    };
    Ok(Payment {
        payment_id,
        status: PaymentStatus::Pending,
        terms: quote.terms.clone(),
        sender,
        beneficiary,
        reference,
        created_at: now,
        updated_at: now,
        history: vec![StatusChange {
            status: PaymentStatus::Pending,
            at: now,
            reason: None,
        }],
        reason: None,
        settlement: None,
        trace_id: None,
    })
}

impl Payment {
    /// The payment's trace id: the request's ([`Payment::trace_id`]), or for a payment stored
    /// before trace ids existed the one derived from its id ([`crate::TraceId::for_payment`]).
    /// Whatever names a payment's trace (events, queue messages, logs, the console) reads this.
    pub fn trace(&self) -> crate::TraceId {
        self.trace_id
            .clone()
            .unwrap_or_else(|| crate::TraceId::for_payment(&self.payment_id))
    }

    /// The payment's own version: 1 when created, one more with each change. Every change of a
    /// payment is a status transition ([`Payment::transition`], which the settlement's ledger
    /// posting makes too), and each appends one history entry, so the history's length numbers
    /// the changes; a change record's id derives from it ([`crate::change_event_id`]).
    pub fn version(&self) -> u64 {
        self.history.len() as u64
    }

    /// Moves to `to`: records it in `history`, sets `updated_at` and, for `REJECTED`/`FAILED`,
    /// `reason`. The same status again is an idempotent no-op; an illegal move is
    /// `IllegalTransition` and changes nothing.
    pub fn transition(
        &mut self,
        to: PaymentStatus,
        now: DateTime<Utc>,
        reason: Option<String>,
    ) -> Result<TransitionOutcome, DomainError> {
        if self.status == to {
            return Ok(TransitionOutcome::AlreadyInStatus);
        }
        if !self.status.can_transition_to(to) {
            return Err(DomainError::IllegalTransition {
                from: self.status,
                to,
            });
        }
        self.status = to;
        self.updated_at = now;
        if matches!(to, PaymentStatus::Rejected | PaymentStatus::Failed) {
            self.reason = reason.clone();
        }
        self.history.push(StatusChange {
            status: to,
            at: now,
            reason,
        });
        Ok(TransitionOutcome::Applied)
    }
}

/// What an idempotency key remembers of its first request: the hex SHA-256 of the body's
/// canonical JSON (object keys sorted recursively, no whitespace), and a short digest of each
/// leaf field by its dotted path, so a reused key with another body can be told which fields
/// differ without the store keeping the body itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFingerprint {
    pub digest: String,
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
}

/// Hex digits kept of each field's digest: enough to tell fields apart, not to recover them.
const FIELD_DIGEST_HEX: usize = 16;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl RequestFingerprint {
    pub fn of(body: &serde_json::Value) -> Self {
        let mut canonical = String::new();
        write_canonical(body, &mut canonical);
        let mut fields = std::collections::BTreeMap::new();
        collect_leaves(body, String::new(), &mut fields);
        RequestFingerprint {
            digest: hex(&Sha256::digest(canonical.as_bytes())),
            fields,
        }
    }

    /// The stored text: compact JSON.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| self.digest.clone())
    }

    /// Reads [`Self::encode`]'s text; anything else is taken as a bare digest with no fields.
    pub fn decode(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_else(|_| RequestFingerprint {
            digest: text.to_owned(),
            fields: Default::default(),
        })
    }

    /// Dotted paths whose values differ between the two requests (present in one only, too).
    pub fn differing_fields(&self, other: &RequestFingerprint) -> Vec<String> {
        let mut paths: Vec<String> = self
            .fields
            .iter()
            .filter(|(path, digest)| other.fields.get(*path) != Some(*digest))
            .map(|(path, _)| path.clone())
            .chain(
                other
                    .fields
                    .keys()
                    .filter(|path| !self.fields.contains_key(*path))
                    .cloned(),
            )
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }
}

/// The stored fingerprint ([`RequestFingerprint::encode`]) of a request body: two bodies that
/// differ only in key order or formatting have the same one.
pub fn request_fingerprint(body: &serde_json::Value) -> String {
    RequestFingerprint::of(body).encode()
}

fn collect_leaves(
    value: &serde_json::Value,
    path: String,
    out: &mut std::collections::BTreeMap<String, String>,
) {
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                collect_leaves(value, join(key), out);
            }
        }
        leaf => {
            let mut canonical = String::new();
            write_canonical(leaf, &mut canonical);
            let digest = hex(&Sha256::digest(canonical.as_bytes()));
            out.insert(path, digest[..FIELD_DIGEST_HEX].to_owned());
        }
    }
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::quote::tests::{quote, t0};
    use serde_json::json;

    pub(crate) fn party(name: &str, account: &str) -> Party {
        Party {
            name: name.into(),
            account: account.into(),
        }
    }

    pub(crate) fn request() -> PaymentRequest {
        PaymentRequest {
            quote_token: "tok".into(),
            sender: party("Ada Lovelace", "GB29NWBK60161331926819"),
            beneficiary: party("Jean Dupont", "FR7630006000011234567890189"),
            reference: Some("invoice 42".into()),
        }
    }

    pub(crate) fn payment(source: &str, target: &str, amount: &str) -> Payment {
        new_payment(
            &request(),
            &quote(source, target, amount),
            "p-1".into(),
            t0(),
        )
        .unwrap()
    }

    #[test]
    fn the_documents_fields_stand_where_they_always_did() {
        // The quote's terms are one value in code but flattened in JSON: stored documents,
        // stream images and API answers keep their shape.
        let p = payment("USD", "EUR", "1000");
        let json = serde_json::to_value(&p).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys[..14],
            [
                "payment_id",
                "status",
                "quote_id",
                "source_currency",
                "target_currency",
                "amount",
                "rate",
                "fee",
                "target_amount",
                "base_currency",
                "base_amount",
                "customer_tier",
                "sender",
                "beneficiary"
            ]
        );
        assert_eq!(json["source_currency"], "USD");
        assert_eq!(
            json["beneficiary"]["account"],
            "FR7630006000011234567890189"
        );
        let back: Payment = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn transition_table() {
        use PaymentStatus::*;
        let legal = [
            (Pending, Processing),
            (Pending, Failed),
            (Processing, Settled),
            (Processing, Rejected),
            (Processing, Failed),
        ];
        for from in PaymentStatus::ALL {
            for to in PaymentStatus::ALL {
                assert_eq!(
                    from.can_transition_to(to),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
        assert!(!Pending.is_final() && !Processing.is_final());
        assert!(Settled.is_final() && Rejected.is_final() && Failed.is_final());
    }

    #[test]
    fn status_names() {
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(&s.to_string()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        assert_eq!(PaymentStatus::Processing.to_string(), "PROCESSING");
        assert_eq!(PaymentStatus::parse("settled"), None);
        assert_eq!(PaymentStatus::parse(""), None);
    }

    #[test]
    fn new_payment_is_pending_with_quote_figures() {
        let p = payment("USD", "EUR", "1000");
        assert_eq!(p.status, PaymentStatus::Pending);
        assert_eq!(
            p.history,
            vec![StatusChange {
                status: PaymentStatus::Pending,
                at: t0(),
                reason: None
            }]
        );
        assert_eq!(p.terms.amount.to_string(), "1000.00");
        assert_eq!(p.terms.target_amount.to_string(), "910.00");
        assert_eq!(p.terms.quote_id, "q-1");
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["status"], "PENDING");
        assert_eq!(json["amount"], "1000.00");
        assert_eq!(json["fee"], "2.50");
        assert_eq!(json["customer_tier"], "standard");
        assert!(json["history"][0].get("reason").is_none());
        let back: Payment = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn new_payment_validates_parties() {
        let q = quote("USD", "EUR", "1000");
        let check = |f: &dyn Fn(&mut PaymentRequest)| {
            let mut r = request();
            f(&mut r);
            new_payment(&r, &q, "p".into(), t0())
        };
        let err = check(&|r| r.sender.name = "   ".into()).unwrap_err();
        assert_eq!(err, DomainError::field("sender.name", "must not be empty"));
        assert_eq!(err.to_string(), "invalid sender.name: must not be empty");
        let err = check(&|r| r.beneficiary.account = "x".repeat(141).into()).unwrap_err();
        assert!(
            err.to_string()
                .contains("beneficiary.account: is 141 characters"),
            "{err}"
        );
        assert!(check(&|r| r.beneficiary.account = "é".repeat(140).into()).is_ok());
        assert!(check(&|r| r.reference = Some("r".repeat(141))).is_err());
        assert!(check(&|r| r.sender.name = "a\u{0}b".into()).is_err());
        let err = check(&|r| r.beneficiary.account = "fx:USD".into()).unwrap_err();
        assert!(err.to_string().contains("reserved"), "{err}");
        let p = check(&|r| {
            r.sender.name = "  Ada  ".into();
            r.reference = Some("  ".into());
        })
        .unwrap();
        assert_eq!(p.sender.name, "Ada");
        assert_eq!(p.reference, None);
    }

    #[test]
    fn request_rejects_unknown_fields() {
        let body = json!({"quote_token": "t", "sender": {"name": "a", "account": "b"},
                          "beneficiary": {"name": "c", "account": "d"}});
        assert!(serde_json::from_value::<PaymentRequest>(body.clone()).is_ok());
        let mut extra = body.clone();
        extra["amount"] = json!("5");
        assert!(serde_json::from_value::<PaymentRequest>(extra).is_err());
        let mut nested = body;
        nested["sender"]["iban"] = json!("x");
        assert!(serde_json::from_value::<PaymentRequest>(nested).is_err());
    }

    #[test]
    fn transitions_record_history() {
        let mut p = payment("USD", "EUR", "1000");
        let t1 = t0() + chrono::Duration::seconds(1);
        let t2 = t0() + chrono::Duration::seconds(2);
        assert_eq!(
            p.transition(PaymentStatus::Processing, t1, None),
            Ok(TransitionOutcome::Applied)
        );
        assert_eq!(
            p.transition(PaymentStatus::Processing, t2, None),
            Ok(TransitionOutcome::AlreadyInStatus)
        );
        assert_eq!(p.updated_at, t1);
        let before = p.clone();
        assert_eq!(
            p.transition(PaymentStatus::Pending, t2, None),
            Err(DomainError::IllegalTransition {
                from: PaymentStatus::Processing,
                to: PaymentStatus::Pending
            })
        );
        assert_eq!(p, before);
        p.transition(PaymentStatus::Rejected, t2, Some("blocked".into()))
            .unwrap();
        assert_eq!(p.reason.as_deref(), Some("blocked"));
        assert_eq!(p.updated_at, t2);
        let statuses: Vec<_> = p.history.iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [
                PaymentStatus::Pending,
                PaymentStatus::Processing,
                PaymentStatus::Rejected
            ]
        );
        assert_eq!(p.history[2].reason.as_deref(), Some("blocked"));
        assert!(p.transition(PaymentStatus::Settled, t2, None).is_err());
    }

    #[test]
    fn fingerprint_ignores_key_order_and_whitespace() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": [1, {"q": 2, "p": 3}], "x": "s"}}"#)
                .unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a":{"x":"s","y":[1,{"p":3,"q":2}]},"b":1}"#).unwrap();
        assert_eq!(request_fingerprint(&a), request_fingerprint(&b));
        assert_eq!(RequestFingerprint::of(&a).digest.len(), 64);
        let c = json!({"a": {"x": "s", "y": [{"p": 3, "q": 2}, 1]}, "b": 1});
        assert_ne!(request_fingerprint(&a), request_fingerprint(&c));
        assert_eq!(
            RequestFingerprint::of(&a).differing_fields(&RequestFingerprint::of(&c)),
            ["a.y"]
        );
        // sha256("{}")
        assert_eq!(
            RequestFingerprint::of(&json!({})).digest,
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let f = RequestFingerprint::of(&a);
        assert_eq!(RequestFingerprint::decode(&f.encode()), f);
    }
}
