//! How a payment is laid out as DynamoDB items: attribute names, the item of a payment, of an
//! idempotency key and of a quote's claim, the sharded partition keys and the sort key of the
//! listing indexes, and the opaque listing cursor.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use eventpay_core::{ListShards, Payment, PaymentStatus, StoreError};
use serde::{Deserialize, Serialize};

use crate::error::AwsError;

pub type Item = HashMap<String, AttributeValue>;

/// Partition key of every item.
pub const PK: &str = "pk";
/// `payment` or `idempotency`: the stream forwarder skips the idempotency items.
pub const KIND: &str = "kind";
pub const KIND_PAYMENT: &str = "payment";
pub const KIND_IDEMPOTENCY: &str = "idempotency";
pub const KIND_QUOTE: &str = "quote";
/// The whole payment as its JSON (the core's serde shape), so decimals and history keep their
/// exact form; the attributes beside it exist for keys and conditions.
pub const BODY: &str = "payment";
pub const STATUS: &str = "status";
pub const UPDATED_AT: &str = "updated_at";
/// Partition of the "all payments" index: `ALL#<shard>`, the shard of `ListShards::of`.
pub const LIST_PK: &str = "list_pk";
pub const LIST_PK_ALL: &str = "ALL";
/// Partition of the per-status index: `<STATUS>#<shard>`, rewritten with each status change.
pub const STATUS_PK: &str = "status_pk";
/// Sort key of both listing indexes: `created_at` (fixed width) `#` payment id.
pub const LIST_SK: &str = "list_sk";
pub const PAYMENT_ID: &str = "payment_id";
pub const FINGERPRINT: &str = "fingerprint";
/// Index over all payments, newest first by `list_sk`.
pub const INDEX_ALL: &str = "by_created";
/// Index per status (`status` partition), newest first by `list_sk`.
pub const INDEX_STATUS: &str = "by_status";

const IDEMPOTENCY_PREFIX: &str = "idempotency#";
const QUOTE_PREFIX: &str = "quote#";

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Nanosecond RFC 3339: fixed width, so string order is time order and equality is exact.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub fn list_sk(p: &Payment) -> String {
    format!("{}#{}", timestamp(p.created_at), p.payment_id)
}

/// The partition of an index shard: `ALL#3`, `SETTLED#3`.
pub fn shard_pk(prefix: &str, shard: u16) -> String {
    format!("{prefix}#{shard}")
}

/// The index partitions a listing reads: every shard of `ALL` or of one status.
pub fn listing_partitions(status: Option<PaymentStatus>, shards: ListShards) -> Vec<String> {
    let prefix = status.map_or(LIST_PK_ALL, PaymentStatus::as_str);
    shards.all().map(|k| shard_pk(prefix, k)).collect()
}

/// The `status_pk` of a payment in its shard.
pub fn status_pk(p: &Payment, shards: ListShards) -> String {
    shard_pk(p.status.as_str(), shards.of(&p.payment_id))
}

pub fn idempotency_pk(key: &str) -> String {
    format!("{IDEMPOTENCY_PREFIX}{key}")
}

/// The item that claims a quote for one payment.
pub fn quote_pk(quote_id: &str) -> String {
    format!("{QUOTE_PREFIX}{quote_id}")
}

/// The payment's JSON, as the `payment` attribute holds it.
pub fn body(p: &Payment) -> Result<String, AwsError> {
    serde_json::to_string(p).map_err(|e| AwsError::Corrupt(format!("payment to JSON: {e}")))
}

/// The item of a payment, in its listing shard.
pub fn payment_item(p: &Payment, shards: ListShards) -> Result<Item, AwsError> {
    let shard = shards.of(&p.payment_id);
    Ok(HashMap::from([
        (PK.into(), s(&p.payment_id)),
        (KIND.into(), s(KIND_PAYMENT)),
        (BODY.into(), s(body(p)?)),
        (STATUS.into(), s(p.status.as_str())),
        (UPDATED_AT.into(), s(timestamp(p.updated_at))),
        (LIST_PK.into(), s(shard_pk(LIST_PK_ALL, shard))),
        (STATUS_PK.into(), s(shard_pk(p.status.as_str(), shard))),
        (LIST_SK.into(), s(list_sk(p))),
    ]))
}

pub fn idempotency_item(key: &str, p: &Payment, fingerprint: &str) -> Item {
    HashMap::from([
        (PK.into(), s(idempotency_pk(key))),
        (KIND.into(), s(KIND_IDEMPOTENCY)),
        (PAYMENT_ID.into(), s(&p.payment_id)),
        (FINGERPRINT.into(), s(fingerprint)),
    ])
}

/// The claim of `p`'s quote: written with the payment, never overwritten.
pub fn quote_item(p: &Payment) -> Item {
    HashMap::from([
        (PK.into(), s(quote_pk(&p.terms.quote_id))),
        (KIND.into(), s(KIND_QUOTE)),
        (PAYMENT_ID.into(), s(&p.payment_id)),
    ])
}

pub fn string_attr<'a>(item: &'a Item, name: &str) -> Result<&'a str, AwsError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(AwsError::Corrupt(format!(
            "item {:?} has no string attribute {name:?}",
            item.get(PK)
        ))),
    }
}

/// The payment an item holds.
pub fn payment_from_item(item: &Item) -> Result<Payment, AwsError> {
    payment_from_json(string_attr(item, BODY)?)
}

pub fn payment_from_json(json: &str) -> Result<Payment, AwsError> {
    serde_json::from_str(json).map_err(|e| AwsError::Corrupt(format!("stored payment JSON: {e}")))
}

/// What a listing cursor holds: the last item's id and sort key. Opaque to clients (base64url
/// JSON). The next page is what every shard holds below that sort key, so the cursor does not
/// depend on the shard count.
#[derive(Serialize, Deserialize)]
struct Cursor {
    pk: String,
    sk: String,
}

pub fn encode_cursor(p: &Payment) -> String {
    let json = serde_json::json!({"pk": p.payment_id, "sk": list_sk(p)});
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// The sort key a cursor stands for: the next page lists what comes strictly before it.
pub fn decode_cursor(cursor: &str) -> Result<String, StoreError> {
    let invalid = StoreError::invalid_cursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if c.pk.is_empty() || !c.sk.ends_with(&format!("#{}", c.pk)) {
        return Err(invalid());
    }
    Ok(c.sk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_fixed_width() {
        let t = DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap();
        assert_eq!(timestamp(t), "2026-11-01T12:00:00.000000000Z");
    }

    #[test]
    fn garbage_cursors_are_invalid_field() {
        for bad in [
            "",
            "!!",
            "e30",
            &URL_SAFE_NO_PAD.encode(r#"{"pk":"a","sk":"x#b"}"#),
        ] {
            let err = decode_cursor(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_field", "{bad:?}");
        }
        let ok = URL_SAFE_NO_PAD.encode(r#"{"pk":"a","sk":"t#a"}"#);
        assert_eq!(decode_cursor(&ok).unwrap(), "t#a");
    }

    #[test]
    fn listing_partitions_cover_every_shard() {
        let four = ListShards::new(4).unwrap();
        assert_eq!(
            listing_partitions(None, four),
            ["ALL#0", "ALL#1", "ALL#2", "ALL#3"]
        );
        assert_eq!(
            listing_partitions(Some(PaymentStatus::Settled), ListShards::new(2).unwrap()),
            ["SETTLED#0", "SETTLED#1"]
        );
    }
}
