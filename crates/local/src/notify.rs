//! The notification topics (SNS on AWS): locally, every message published to either topic (the
//! notifications topic of the high-value rule, the outcomes topic of the settlement workflow) is
//! kept in the `notifications` table with its topic and message attributes, where
//! `/_local/notifications` shows it instead of sending e-mail. No e-mail subscription is
//! modelled, so no filter policy applies: every outcome is kept. This module is the only one that
//! touches the table.

use std::collections::BTreeMap;

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
    created_at TEXT NOT NULL,
    attributes TEXT
);
"#;

/// Message attributes as the SNS `Publish` API takes them: name => `{DataType, StringValue}`.
pub type Attributes = BTreeMap<String, Attribute>;

#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Attribute {
    pub data_type: String,
    pub string_value: String,
}

/// Adds the `attributes` column to a data dir written before it existed (same schema version:
/// the column is optional and old rows have none).
pub(crate) fn upgrade(conn: &Connection) -> Result<(), LocalError> {
    crate::schema::add_column(conn, "notifications", "attributes", "TEXT")
}

/// One message for a topic.
pub struct Publish<'a> {
    pub topic: &'a str,
    pub subject: Option<&'a str>,
    pub message: &'a str,
    pub attributes: &'a Attributes,
}

#[derive(Clone)]
pub struct LocalNotifier {
    db: Db,
}

impl LocalNotifier {
    pub fn new(db: Db) -> Self {
        LocalNotifier { db }
    }

    /// Publishes one message (joining the writer's current batch); returns its message id.
    pub async fn publish_one(&self, p: Publish<'_>) -> Result<String, StoreError> {
        let (topic, subject, message) = (
            p.topic.to_owned(),
            p.subject.map(str::to_owned),
            p.message.to_owned(),
        );
        let attributes = p.attributes.clone();
        self.db
            .write(move |tx| {
                let p = Publish {
                    topic: &topic,
                    subject: subject.as_deref(),
                    message: &message,
                    attributes: &attributes,
                };
                insert_publish(tx, &p, None)
            })
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))
    }
}

/// Adds a notification to the notifications topic inside the caller's transaction. A repeated
/// `dedupe_key` is ignored, so a redelivered event notifies once.
pub fn insert(
    tx: &Transaction<'_>,
    subject: Option<&str>,
    message: &str,
    dedupe_key: Option<&str>,
) -> Result<String, LocalError> {
    let topic = topic_arn();
    let p = Publish {
        topic: &topic,
        subject,
        message,
        attributes: &Attributes::new(),
    };
    insert_publish(tx, &p, dedupe_key)
}

fn insert_publish(
    tx: &Transaction<'_>,
    p: &Publish<'_>,
    dedupe_key: Option<&str>,
) -> Result<String, LocalError> {
    let id = uuid::Uuid::new_v4().to_string();
    let attributes = (!p.attributes.is_empty())
        .then(|| serde_json::to_string(p.attributes))
        .transpose()
        .map_err(|e| LocalError::Io(e.to_string()))?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO notifications (dedupe_key, topic, subject, message, created_at, attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![dedupe_key, p.topic, p.subject, p.message, chrono::Utc::now().to_rfc3339(), attributes])?;
    Ok(id)
}

/// The newest `limit` notifications, newest first.
pub fn list(conn: &Connection, limit: i64) -> Result<Vec<Value>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, topic, subject, message, created_at, attributes FROM notifications ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        let attributes = r
            .get::<_, Option<String>>(5)?
            .and_then(|a| serde_json::from_str::<Value>(&a).ok())
            .unwrap_or_else(|| json!({}));
        Ok(
            json!({"id": r.get::<_, i64>(0)?, "topic_arn": r.get::<_, String>(1)?,
                  "subject": r.get::<_, Option<String>>(2)?, "message": r.get::<_, String>(3)?,
                  "message_attributes": attributes, "created_at": r.get::<_, String>(4)?}),
        )
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Notifier for LocalNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), StoreError> {
        let topic = topic_arn();
        self.publish_one(Publish {
            topic: &topic,
            subject: Some(subject),
            message,
            attributes: &Attributes::new(),
        })
        .await
        .map(|_| ())
    }
}

/// Publishes one message as the high-value rule does (notifications topic, no attributes).
#[cfg(test)]
pub(crate) async fn insert_for_test(db: &Db) {
    db.write(|tx| insert(tx, Some("High value"), "p-2 is large", Some("e-1")))
        .await
        .unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_without_the_attributes_column_gets_it() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, dedupe_key TEXT UNIQUE,
             topic TEXT NOT NULL, subject TEXT, message TEXT NOT NULL, created_at TEXT NOT NULL);
             INSERT INTO notifications (topic, message, created_at) VALUES ('t', 'old', 'now');",
        )
        .unwrap();
        upgrade(&conn).unwrap();
        upgrade(&conn).unwrap();
        let rows = list(&conn, 10).unwrap();
        assert_eq!(rows[0]["message"], "old");
        assert_eq!(rows[0]["message_attributes"], json!({}));
    }
}
