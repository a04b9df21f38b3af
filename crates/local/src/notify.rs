//! The notification topic (SNS on AWS): locally, every published message is kept in the
//! `notifications` table, where `/_local/notifications` shows it instead of sending e-mail. This
//! module is the only one that touches the table.

use eventpay_core::{Notifier, StoreError};
use rusqlite::{Connection, Transaction, params};
use serde_json::{Value, json};

use crate::db::Db;
use crate::error::LocalError;
use crate::tasks::topic_arn;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS notifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT UNIQUE,
    topic      TEXT NOT NULL,
    subject    TEXT,
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"#;

#[derive(Clone)]
pub struct LocalNotifier {
    db: Db,
}

impl LocalNotifier {
    pub fn new(db: Db) -> Self {
        LocalNotifier { db }
    }

    /// Publishes one message (joining the writer's current batch); returns its message id.
    pub async fn publish_one(
        &self,
        subject: Option<&str>,
        message: &str,
        dedupe_key: Option<&str>,
    ) -> Result<String, StoreError> {
        let subject = subject.map(str::to_owned);
        let message = message.to_owned();
        let dedupe_key = dedupe_key.map(str::to_owned);
        self.db
            .write(move |tx| insert(tx, subject.as_deref(), &message, dedupe_key.as_deref()))
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))
    }
}

/// Adds a notification inside the caller's transaction. A repeated `dedupe_key` is ignored, so a
/// redelivered event notifies once.
pub fn insert(
    tx: &Transaction<'_>,
    subject: Option<&str>,
    message: &str,
    dedupe_key: Option<&str>,
) -> Result<String, LocalError> {
    let id = uuid::Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT OR IGNORE INTO notifications (dedupe_key, topic, subject, message, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![dedupe_key, topic_arn(), subject, message, chrono::Utc::now().to_rfc3339()])?;
    Ok(id)
}

/// The newest `limit` notifications, newest first.
pub fn list(conn: &Connection, limit: i64) -> Result<Vec<Value>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, topic, subject, message, created_at FROM notifications ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        Ok(
            json!({"id": r.get::<_, i64>(0)?, "topic_arn": r.get::<_, String>(1)?,
                  "subject": r.get::<_, Option<String>>(2)?, "message": r.get::<_, String>(3)?,
                  "created_at": r.get::<_, String>(4)?}),
        )
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Notifier for LocalNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), StoreError> {
        self.publish_one(Some(subject), message, None)
            .await
            .map(|_| ())
    }
}
