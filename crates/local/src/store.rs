//! The payments table on SQLite, implementing the core's `PaymentStore` port. Every write
//! appends its change-stream record in the same transaction (as DynamoDB Streams would see it).
//! This module is the only one that touches the table.
//! A payment's idempotency key and its quote are unique columns of its row: the key, the claim
//! of the quote and the payment are one insert, so no quote pays twice whatever runs
//! concurrently. Keys are kept as long as their payment (so at least the 24 hours clients retry in).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eventpay_core::{
    CreateOutcome, Page, Payment, PaymentStatus, PaymentStore, StoreError, Transfer,
    check_fingerprint,
};
use rusqlite::{OptionalExtension, Transaction, params};
use tokio::sync::Notify;

use crate::db::Db;
use crate::error::LocalError;
use eventpay_core::ChangeKind;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS payments (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id      TEXT NOT NULL UNIQUE,
    idempotency_key TEXT UNIQUE,
    fingerprint     TEXT NOT NULL,
    quote_id        TEXT UNIQUE, -- a quote pays at most one payment
    status          TEXT NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_status ON payments(status, seq);
"#;

#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    /// Wakes the stream forwarder after a commit that added stream records.
    stream_wake: Arc<Notify>,
}

impl SqliteStore {
    pub fn new(db: Db, stream_wake: Arc<Notify>) -> Self {
        SqliteStore { db, stream_wake }
    }
}

pub(crate) fn backend(e: LocalError) -> StoreError {
    match e {
        LocalError::Store(s) => s,
        LocalError::Unavailable(why) => StoreError::Unavailable(why),
        other => StoreError::Backend(other.to_string()),
    }
}

fn append_change(
    tx: &Transaction<'_>,
    kind: ChangeKind,
    old: Option<&str>,
    new: &Payment,
    new_body: &str,
) -> Result<(), LocalError> {
    crate::stream::append(tx, kind, &new.payment_id, old, new_body)?;
    let status = new.status.to_string();
    crate::trace::write(
        tx,
        &new.payment_id,
        kind.as_str(),
        &status,
        tx.last_insert_rowid(),
    )
}

/// The payment as the table holds it now.
pub fn read_payment(
    conn: &rusqlite::Connection,
    payment_id: &str,
) -> Result<Option<Payment>, LocalError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM payments WHERE payment_id = ?1")?
        .query_row(params![payment_id], |r| r.get(0))
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// The payment stored under an idempotency key, if the request bodies' fingerprints agree.
fn existing(
    key: &str,
    fingerprint: &str,
    row: Option<(String, String)>,
) -> Result<Option<Payment>, LocalError> {
    match row {
        None => Ok(None),
        Some((body, stored)) => {
            check_fingerprint(key, &stored, fingerprint)?;
            Ok(Some(serde_json::from_str(&body)?))
        }
    }
}

const CURSOR_PREFIX: &str = "seq:";

pub(crate) fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<i64, StoreError> {
    let invalid = StoreError::invalid_cursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(CURSOR_PREFIX)
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(invalid)
}

impl SqliteStore {
    /// Appends a PENDING payment's change record again, as it was written at creation (same
    /// version, so the same derived id): the flow runs for it once more, and whatever already saw
    /// the change deduplicates it. False (nothing written) if it is no longer PENDING.
    pub async fn republish(&self, payment_id: &str) -> Result<bool, StoreError> {
        let id = payment_id.to_owned();
        let written = self
            .db
            .write(move |tx| {
                let Some(payment) = read_payment(tx, &id)? else {
                    return Ok(false);
                };
                if payment.status != PaymentStatus::Pending {
                    return Ok(false);
                }
                let body = serde_json::to_string(&payment)?;
                append_change(tx, ChangeKind::Insert, None, &payment, &body)?;
                Ok(true)
            })
            .await
            .map_err(backend)?;
        if written {
            self.stream_wake.notify_one();
        }
        Ok(written)
    }
}

/// A payment that is not final, as the sweeper looks at it.
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub payment_id: String,
    pub status: PaymentStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Every payment that is PENDING or PROCESSING (from the status index).
pub fn unfinished(conn: &rusqlite::Connection) -> Result<Vec<Unfinished>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT payment_id, status, json_extract(body, '$.created_at') FROM payments WHERE status IN ('PENDING', 'PROCESSING') ORDER BY status, seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (payment_id, status, created_at) = row?;
        let status = PaymentStatus::parse(&status).ok_or_else(|| {
            LocalError::Corrupt(format!("payment {payment_id}: status {status:?}"))
        })?;
        let created_at = chrono::DateTime::parse_from_rfc3339(&created_at)
            .map_err(|e| LocalError::Corrupt(format!("payment {payment_id}: created_at: {e}")))?
            .with_timezone(&chrono::Utc);
        out.push(Unfinished {
            payment_id,
            status,
            created_at,
        });
    }
    Ok(out)
}

impl SqliteStore {
    /// The conditional replace, with the ledger's transfers posted in the same transaction (none
    /// for a plain status change).
    async fn replace_with(
        &self,
        expected: &Payment,
        new: &Payment,
        transfers: Vec<Transfer>,
    ) -> Result<(), StoreError> {
        let expected_updated = serde_json::to_value(expected.updated_at)
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let expected_updated = expected_updated.as_str().unwrap_or_default().to_owned();
        let expected_status = expected.status.to_string();
        let new = new.clone();
        self.db
            .write(move |tx| {
                let old: Option<String> = tx
                    .prepare_cached(
                        "SELECT body FROM payments WHERE payment_id = ?1 AND status = ?2 AND json_extract(body, '$.updated_at') = ?3",
                    )?
                    .query_row(params![new.payment_id.as_str(), expected_status, expected_updated], |r| r.get(0))
                    .optional()?;
                let Some(old) = old else {
                    return Err(StoreError::Conflict(format!(
                        "payment {} changed since it was read",
                        new.payment_id
                    ))
                    .into());
                };
                let body = serde_json::to_string(&new)?;
                tx.prepare_cached("UPDATE payments SET status = ?1, body = ?2 WHERE payment_id = ?3")?
                    .execute(params![new.status.to_string(), body, new.payment_id.as_str()])?;
                crate::ledger::post(tx, &transfers)?;
                append_change(tx, ChangeKind::Modify, Some(&old), &new, &body)?;
                Ok(())
            })
            .await
            .map_err(backend)?;
        self.stream_wake.notify_one();
        Ok(())
    }
}

/// Calls `f` with every payment, in creation order (reconciliation, migration).
pub fn for_each_payment(
    conn: &rusqlite::Connection,
    mut f: impl FnMut(&Payment) -> Result<(), LocalError>,
) -> Result<(), LocalError> {
    let mut stmt = conn.prepare("SELECT body FROM payments ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let body: String = row.get(0)?;
        f(&serde_json::from_str(&body)?)?;
    }
    Ok(())
}

/// Rewrites a payment's stored document in place, without a change record: for a schema
/// migration that changes how the document spells what it already said, not what happened.
pub(crate) fn rewrite_body(tx: &Transaction<'_>, payment: &Payment) -> Result<(), LocalError> {
    tx.prepare_cached("UPDATE payments SET body = ?1 WHERE payment_id = ?2")?
        .execute(params![
            serde_json::to_string(payment)?,
            payment.payment_id.as_str()
        ])?;
    Ok(())
}

impl PaymentStore for SqliteStore {
    async fn create(
        &self,
        payment: &Payment,
        idempotency_key: Option<&str>,
        fingerprint: &str,
    ) -> Result<CreateOutcome, StoreError> {
        let payment = payment.clone();
        let key = idempotency_key.map(str::to_owned);
        let fingerprint = fingerprint.to_owned();
        let request = crate::trace::current_request();
        let outcome = self
            .db
            .write(move |tx| {
                if let Some(key) = &key {
                    let found: Option<(String, String)> = tx
                        .query_row(
                            "SELECT body, fingerprint FROM payments WHERE idempotency_key = ?1",
                            params![key],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()?;
                    if let Some(p) = existing(key, &fingerprint, found)? {
                        return Ok(CreateOutcome::Existing(p));
                    }
                }
                let used: Option<String> = tx
                    .query_row(
                        "SELECT payment_id FROM payments WHERE quote_id = ?1",
                        params![payment.terms.quote_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(payment_id) = used {
                    return Err(StoreError::QuoteAlreadyUsed {
                        quote_id: payment.terms.quote_id.clone(),
                        payment_id,
                    }
                    .into());
                }
                let body = serde_json::to_string(&payment)?;
                tx.prepare_cached(
                    "INSERT INTO payments (payment_id, idempotency_key, fingerprint, quote_id, status, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![payment.payment_id.as_str(), key, fingerprint, payment.terms.quote_id, payment.status.to_string(), body])?;
                crate::trace::request(tx, &payment.payment_id, request.as_ref())?;
                append_change(tx, ChangeKind::Insert, None, &payment, &body)?;
                Ok(CreateOutcome::Created(payment))
            })
            .await
            .map_err(backend)?;
        if matches!(outcome, CreateOutcome::Created(_)) {
            self.stream_wake.notify_one();
        }
        Ok(outcome)
    }

    async fn get(&self, payment_id: &str) -> Result<Option<Payment>, StoreError> {
        self.db
            .read_now(|conn| read_payment(conn, payment_id))
            .map_err(backend)
    }

    async fn list(
        &self,
        status: Option<PaymentStatus>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page, StoreError> {
        let before = cursor.map(decode_cursor).transpose()?.unwrap_or(i64::MAX);
        let status = status.map(|s| s.to_string());
        let (rows, more) = self
            .db
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT seq, body FROM payments WHERE (?1 IS NULL OR status = ?1) AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
                )?;
                let mut rows: Vec<(i64, Payment)> = Vec::new();
                let mut more = false;
                let mapped = stmt.query_map(params![status, before, i64::from(limit) + 1], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?;
                for row in mapped {
                    let (seq, body) = row?;
                    if rows.len() as u32 == limit {
                        more = true;
                        break;
                    }
                    rows.push((seq, serde_json::from_str(&body)?));
                }
                Ok((rows, more))
            })
            .await
            .map_err(backend)?;
        let next_cursor = if more {
            rows.last().map(|(seq, _)| encode_cursor(*seq))
        } else {
            None
        };
        Ok(Page {
            items: rows.into_iter().map(|(_, p)| p).collect(),
            next_cursor,
        })
    }

    async fn replace(&self, expected: &Payment, new: &Payment) -> Result<(), StoreError> {
        self.replace_with(expected, new, Vec::new()).await
    }

    async fn settle(
        &self,
        expected: &Payment,
        settled: &Payment,
        transfers: &[Transfer],
    ) -> Result<(), StoreError> {
        self.replace_with(expected, settled, transfers.to_vec())
            .await
    }

    async fn find_by_idempotency_key(
        &self,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<Payment>, StoreError> {
        let key = key.to_owned();
        let fingerprint = fingerprint.to_owned();
        self.db
            .read(move |conn| {
                let row: Option<(String, String)> = conn
                    .query_row(
                        "SELECT body, fingerprint FROM payments WHERE idempotency_key = ?1",
                        params![key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                existing(&key, &fingerprint, row)
            })
            .await
            .map_err(backend)
    }
}

/// Indexes for the console's search by reference or account (prefix match on each).
pub(crate) const SEARCH_INDEXES: &str = r#"
CREATE INDEX IF NOT EXISTS payments_reference ON payments(json_extract(body, '$.reference'));
CREATE INDEX IF NOT EXISTS payments_sender ON payments(json_extract(body, '$.sender.account'));
CREATE INDEX IF NOT EXISTS payments_beneficiary ON payments(json_extract(body, '$.beneficiary.account'));
"#;

/// One line of the console's payments list: a few fields read from the body by SQLite, so a page
/// never parses whole documents. `seq` is the page cursor.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PaymentLine {
    pub seq: i64,
    pub payment_id: String,
    pub status: String,
    pub amount: String,
    pub source_currency: String,
    pub target_amount: String,
    pub target_currency: String,
    pub sender: Option<String>,
    pub beneficiary: Option<String>,
    pub reference: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Newest first, before `before_seq`: optionally one status, optionally a search `query` (the
/// exact payment id, or a prefix of the reference, sender account or beneficiary account).
pub fn search_lines(
    conn: &rusqlite::Connection,
    status: Option<&str>,
    query: Option<&str>,
    before_seq: i64,
    limit: u32,
) -> Result<Vec<PaymentLine>, LocalError> {
    let upper = query.map(|q| format!("{q}\u{10FFFF}"));
    let mut stmt = conn.prepare_cached(
        "SELECT seq, payment_id, status, json_extract(body, '$.amount'), json_extract(body, '$.source_currency'),
                json_extract(body, '$.target_amount'), json_extract(body, '$.target_currency'),
                json_extract(body, '$.sender.account'), json_extract(body, '$.beneficiary.account'),
                json_extract(body, '$.reference'), json_extract(body, '$.created_at'), json_extract(body, '$.updated_at')
         FROM payments
         WHERE (?1 IS NULL OR status = ?1) AND seq < ?2
           AND (?3 IS NULL OR payment_id = ?3
                OR (json_extract(body, '$.reference') >= ?3 AND json_extract(body, '$.reference') < ?4)
                OR (json_extract(body, '$.sender.account') >= ?3 AND json_extract(body, '$.sender.account') < ?4)
                OR (json_extract(body, '$.beneficiary.account') >= ?3 AND json_extract(body, '$.beneficiary.account') < ?4))
         ORDER BY seq DESC LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![status, before_seq, query, upper, i64::from(limit)],
        |r| {
            Ok(PaymentLine {
                seq: r.get(0)?,
                payment_id: r.get(1)?,
                status: r.get(2)?,
                amount: r.get(3)?,
                source_currency: r.get(4)?,
                target_amount: r.get(5)?,
                target_currency: r.get(6)?,
                sender: r.get(7)?,
                beneficiary: r.get(8)?,
                reference: r.get(9)?,
                created_at: r.get(10)?,
                updated_at: r.get(11)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many payments are in each status (one pass over the status index).
pub fn count_by_status(
    conn: &rusqlite::Connection,
) -> Result<std::collections::BTreeMap<String, u64>, LocalError> {
    let mut stmt = conn.prepare_cached("SELECT status, COUNT(*) FROM payments GROUP BY status")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        assert!(decode_cursor("not-a-cursor").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("seq:-1")).is_err());
    }
}
