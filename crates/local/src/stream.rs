//! The payments table's change stream (DynamoDB Streams with `NEW_AND_OLD_IMAGES`): records are
//! appended in the same transaction as the change, read in order by consumers that keep their
//! position here too, and dropped a retention period after they were forwarded. Images are
//! stored compressed ([`crate::compact`]).

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
-- Where each stream consumer has got to.
CREATE TABLE IF NOT EXISTS cursors (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"#;

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

/// Up to `limit` records after `after`, in stream order, as a consumer receives them.
pub fn read_after(
    conn: &Connection,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, ChangeRecord)>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, payment_id, event_name, old_image, new_image FROM stream WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<Vec<u8>>>(3)?,
            r.get::<_, Vec<u8>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, payment_id, event_name, old, new) = row?;
        let old_image: Option<Payment> = old.as_deref().map(compact::unpack).transpose()?;
        let record = ChangeRecord {
            event_id: format!("stream-{seq}"),
            event_name: if event_name == ChangeKind::Insert.as_str() {
                ChangeKind::Insert
            } else {
                ChangeKind::Modify
            },
            sequence_number: seq.to_string(),
            payment_id,
            old_image,
            new_image: compact::unpack(&new)?,
        };
        out.push((seq, record));
    }
    Ok(out)
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
