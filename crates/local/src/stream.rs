//! The payments table's change stream (DynamoDB Streams with `NEW_AND_OLD_IMAGES`): records are
//! appended in the same transaction as the change, read in order by consumers that keep their
//! position here too, and dropped a retention period after they were forwarded. Images are
//! stored compressed ([`crate::compact`]). Each record's id is the core's
//! [`eventpay_core::change_event_id`] of the table's id (made once, when the database is, and
//! kept here), the payment and its version: unique across data dirs and restarts.

use eventpay_core::{ChangeKind, ChangeRecord, Payment};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::compact;
use crate::error::LocalError;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS stream (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id TEXT NOT NULL,
    event_name TEXT NOT NULL,
    old_image  BLOB,
    new_image  BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
-- The table's id, made once with the database: part of every change record's id.
CREATE TABLE IF NOT EXISTS stream_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Where each stream consumer has got to.
CREATE TABLE IF NOT EXISTS cursors (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"#;

const TABLE_ID: &str = "table_id";

/// Gives the table its id unless it has one (at every open; only the first makes one).
pub(crate) fn init_table_id(conn: &Connection) -> Result<(), LocalError> {
    conn.execute(
        "INSERT OR IGNORE INTO stream_meta (name, value) VALUES (?1, ?2)",
        params![TABLE_ID, format!("eventpay-local:{}", uuid::Uuid::new_v4())],
    )?;
    Ok(())
}

/// The payments table's id, part of every change record's id.
pub fn table_id(conn: &Connection) -> Result<String, LocalError> {
    Ok(conn
        .prepare_cached("SELECT value FROM stream_meta WHERE name = ?1")?
        .query_row(params![TABLE_ID], |r| r.get(0))?)
}

/// Appends the record of a change inside the transaction that makes it. `old` and `new` are the
/// JSON images as stored in the payments table.
pub fn append(
    tx: &Transaction<'_>,
    kind: ChangeKind,
    payment_id: &str,
    old: Option<&str>,
    new: &str,
) -> Result<(), LocalError> {
    let old = old.map(|o| compact::pack_bytes(o.as_bytes())).transpose()?;
    let new = compact::pack_bytes(new.as_bytes())?;
    tx.prepare_cached(
        "INSERT INTO stream (payment_id, event_name, old_image, new_image, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![payment_id, kind.as_str(), old, new, crate::db::now_millis()])?;
    Ok(())
}

/// The consumer's position: the last sequence number it has taken (0 before the first).
pub fn position(conn: &Connection, consumer: &str) -> Result<i64, LocalError> {
    Ok(conn
        .prepare_cached("SELECT position FROM cursors WHERE name = ?1")?
        .query_row(params![consumer], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

pub fn set_position(tx: &Transaction<'_>, consumer: &str, seq: i64) -> Result<(), LocalError> {
    tx.prepare_cached(
        "INSERT INTO cursors (name, position) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET position = excluded.position",
    )?
    .execute(params![consumer, seq])?;
    Ok(())
}

/// Up to `limit` records after `after`, in stream order, as a consumer receives them; their ids
/// derive from `table_id` ([`table_id`]).
pub fn read_after(
    conn: &Connection,
    table_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, ChangeRecord)>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, old_image, new_image FROM stream WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, old, new) = row?;
        let old_image: Option<Payment> = old.as_deref().map(compact::unpack).transpose()?;
        let record =
            ChangeRecord::of_change(table_id, seq.to_string(), old_image, compact::unpack(&new)?);
        out.push((seq, record));
    }
    Ok(out)
}

/// The payments with a record not yet taken by `consumer`: changes still on their way.
pub fn waiting_payments(
    conn: &Connection,
    consumer: &str,
) -> Result<std::collections::HashSet<String>, LocalError> {
    let after = position(conn, consumer)?;
    let mut stmt = conn.prepare_cached("SELECT DISTINCT payment_id FROM stream WHERE seq > ?1")?;
    let rows = stmt.query_map(params![after], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Drops records at or before `forwarded_up_to` that were written before `before_ms`: those
/// every consumer has taken and that are past the retention period. Returns how many went.
pub fn prune(
    tx: &Transaction<'_>,
    forwarded_up_to: i64,
    before_ms: i64,
) -> Result<u64, LocalError> {
    Ok(tx
        .prepare_cached("DELETE FROM stream WHERE seq <= ?1 AND created_at < ?2")?
        .execute(params![forwarded_up_to, before_ms])? as u64)
}

/// Records not yet taken by `consumer` (the forwarder's backlog).
pub fn waiting(conn: &Connection, consumer: &str) -> Result<u64, LocalError> {
    let after = position(conn, consumer)?;
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM stream WHERE seq > ?1")?
        .query_row(params![after], |r| r.get::<_, i64>(0))? as u64)
}
