//! The notification topic (SNS on AWS): locally, every published message is kept in the
//! `notifications` table, where `/_local/notifications` shows it instead of sending e-mail.

use eventpay_core::{Notifier, StoreError};
use rusqlite::{Transaction, params};

use crate::db::Db;
use crate::error::LocalError;
use crate::tasks::topic_arn;

#[derive(Clone)]
pub struct LocalNotifier {
    db: Db,
}

impl LocalNotifier {
    pub fn new(db: Db) -> Self {
        LocalNotifier { db }
    }

    /// Publishes one message in its own transaction; returns its message id.
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
    tx.execute(
        "INSERT OR IGNORE INTO notifications (dedupe_key, topic, subject, message, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![dedupe_key, topic_arn(), subject, message, chrono::Utc::now().to_rfc3339()],
    )?;
    Ok(id)
}

impl Notifier for LocalNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), StoreError> {
        self.publish_one(Some(subject), message, None)
            .await
            .map(|_| ())
    }
}
