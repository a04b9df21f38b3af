//! The audit log (a CloudWatch Logs group on AWS): every event on the bus, as EventBridge
//! delivered it to the audit rule's target, written once per (event, rule). Entries are stored
//! compressed; this module is the only one that touches the table.

use rusqlite::{Connection, Transaction, params};
use serde_json::{Value, json};

use crate::compact;
use crate::error::LocalError;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL,
    rule       TEXT NOT NULL,
    message    BLOB NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE(event_id, rule)
);
"#;

/// An entry made ready outside the writer (compressed), inserted by [`Entry::insert`].
pub struct Entry {
    event_id: String,
    rule: String,
    message: Vec<u8>,
}

impl Entry {
    pub fn new(event_id: &str, rule: &str, message: &Value) -> Result<Self, LocalError> {
        Ok(Entry {
            event_id: event_id.to_owned(),
            rule: rule.to_owned(),
            message: compact::pack(message)?,
        })
    }

    /// Inside the caller's transaction; a redelivered event is written once.
    pub fn insert(&self, tx: &Transaction<'_>) -> Result<(), LocalError> {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO audit_log (event_id, rule, message, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![self.event_id, self.rule, self.message, chrono::Utc::now().to_rfc3339()])?;
        Ok(())
    }
}

/// The newest `limit` entries, newest first.
pub fn list(conn: &Connection, limit: i64) -> Result<Vec<Value>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, rule, message, created_at FROM audit_log ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, rule, message, at) = row?;
        let event: Value = compact::unpack(&message)?;
        out.push(json!({"id": id, "rule": rule, "event": event, "created_at": at}));
    }
    Ok(out)
}

/// Drops entries written before `before`, oldest first, at most `limit`.
pub fn prune(tx: &Transaction<'_>, before: &str, limit: i64) -> Result<u64, LocalError> {
    Ok(tx
        .prepare_cached(
            "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE created_at < ?1 ORDER BY id LIMIT ?2)",
        )?
        .execute(params![before, limit])? as u64)
}
