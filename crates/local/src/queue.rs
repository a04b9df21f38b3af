//! SQS semantics on SQLite: visibility timeout, receive count, dead-letter queue after
//! `max_receive_count` receives, and redrive. The queue has one consumer in this process, so a
//! receive needs no write: the consumer reads a batch, and in the one commit that hands off its
//! results it deletes what it processed and marks what failed as received (invisible for the
//! visibility timeout, receive count + 1). A crash before that commit leaves the batch visible at
//! once on restart, as if never received. This module is the only one that touches the table.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::error::LocalError;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT NOT NULL,
    message_id    TEXT NOT NULL UNIQUE,
    body          TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_at    INTEGER NOT NULL,
    sent_at       INTEGER NOT NULL,
    trace_id      TEXT -- the message attribute `trace_id`, as the AWS forwarder sets it
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages(queue, visible_at, id);
"#;

/// Adds the `trace_id` attribute column to a data dir made before it.
pub(crate) fn upgrade(conn: &Connection) -> Result<(), LocalError> {
    crate::schema::add_column(conn, "messages", "trace_id", "TEXT")
}

/// One queue with its redrive policy.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub name: String,
    pub dead_letter_queue: String,
    pub visibility_timeout_ms: i64,
    /// As SQS's `maxReceiveCount`: a message received this many times without being deleted
    /// moves to the dead-letter queue on its next receive.
    pub max_receive_count: u32,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub id: i64,
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
    /// The message attribute `trace_id`, if the sender set one.
    pub trace_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueStats {
    pub name: String,
    /// Messages that a receive would return now (`ApproximateNumberOfMessages`).
    pub depth: u64,
    /// Received and not yet deleted, still invisible (`ApproximateNumberOfMessagesNotVisible`).
    pub in_flight: u64,
    pub dead_letter_queue: String,
    pub dead_letter_depth: u64,
}

/// A message to send: its id, body and (as SQS's message attributes) its trace id.
pub struct Outgoing<'a> {
    pub message_id: &'a str,
    pub body: &'a str,
    pub trace_id: Option<&'a str>,
}

pub fn send(
    tx: &Transaction<'_>,
    queue: &str,
    msg: &Outgoing<'_>,
    now_ms: i64,
) -> Result<(), LocalError> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO messages (queue, message_id, body, receive_count, visible_at, sent_at, trace_id) VALUES (?1, ?2, ?3, 0, ?4, ?4, ?5)",
    )?
    .execute(params![queue, msg.message_id, msg.body, now_ms, msg.trace_id])?;
    Ok(())
}

/// Up to `max` messages visible now, oldest first, without changing them: the consumer's
/// receive. Those already received `max_receive_count` times are returned apart, to be moved
/// to the dead-letter queue with [`dead_letter`].
pub fn visible(
    conn: &Connection,
    cfg: &QueueConfig,
    max: u32,
    now_ms: i64,
) -> Result<(Vec<Received>, Vec<i64>), LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, message_id, body, receive_count, trace_id FROM messages WHERE queue = ?1 AND visible_at <= ?2 ORDER BY visible_at, id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![cfg.name, now_ms, max], |r| {
        Ok(Received {
            id: r.get(0)?,
            message_id: r.get(1)?,
            body: r.get(2)?,
            receive_count: r.get(3)?,
            trace_id: r.get(4)?,
        })
    })?;
    let mut out = Vec::new();
    let mut exhausted = Vec::new();
    for row in rows {
        let mut msg = row?;
        if msg.receive_count >= cfg.max_receive_count {
            exhausted.push(msg.id);
            continue;
        }
        msg.receive_count += 1;
        out.push(msg);
    }
    Ok((out, exhausted))
}

/// Moves messages to the dead-letter queue (their receive count exceeded `max_receive_count`).
pub fn dead_letter(
    tx: &Transaction<'_>,
    cfg: &QueueConfig,
    ids: &[i64],
    now_ms: i64,
) -> Result<(), LocalError> {
    for id in ids {
        tx.prepare_cached(
            "UPDATE messages SET queue = ?1, visible_at = ?2, receive_count = 0 WHERE id = ?3 AND queue = ?4",
        )?
        .execute(params![cfg.dead_letter_queue, now_ms, id, cfg.name])?;
        tracing::warn!(queue = %cfg.name, id, "message moved to the dead-letter queue");
    }
    Ok(())
}

/// Records a receive that did not end in a delete: the message stays invisible for the
/// visibility timeout and counts the receive.
pub fn received_not_deleted(
    tx: &Transaction<'_>,
    cfg: &QueueConfig,
    msg: &Received,
    now_ms: i64,
) -> Result<(), LocalError> {
    tx.prepare_cached("UPDATE messages SET receive_count = ?1, visible_at = ?2 WHERE id = ?3")?
        .execute(params![
            msg.receive_count,
            now_ms + cfg.visibility_timeout_ms,
            msg.id
        ])?;
    Ok(())
}

/// The payments that a message on `queue` (visible or in flight, not dead-lettered) is for:
/// changes still on their way. A body that is not JSON names none.
pub fn payments_on_queue(
    conn: &Connection,
    queue: &str,
) -> Result<std::collections::HashSet<String>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT CASE WHEN json_valid(body) THEN json_extract(body, '$.payment_id') END FROM messages WHERE queue = ?1",
    )?;
    let rows = stmt.query_map(params![queue], |r| r.get::<_, Option<String>>(0))?;
    let mut out = std::collections::HashSet::new();
    for row in rows {
        out.extend(row?);
    }
    Ok(out)
}

pub fn delete(tx: &Transaction<'_>, id: i64) -> Result<(), LocalError> {
    tx.prepare_cached("DELETE FROM messages WHERE id = ?1")?
        .execute(params![id])?;
    Ok(())
}

/// When the next message of `queue` becomes visible, if any is waiting.
pub fn next_visible_at(conn: &Connection, queue: &str) -> Result<Option<i64>, LocalError> {
    Ok(conn
        .query_row(
            "SELECT MIN(visible_at) FROM messages WHERE queue = ?1",
            params![queue],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()?
        .flatten())
}

pub fn stats(conn: &Connection, cfg: &QueueConfig, now_ms: i64) -> Result<QueueStats, LocalError> {
    let count = |sql: &str, queue: &str| -> Result<u64, LocalError> {
        Ok(conn.query_row(sql, params![queue, now_ms], |r| r.get::<_, i64>(0))? as u64)
    };
    Ok(QueueStats {
        name: cfg.name.clone(),
        depth: count(
            "SELECT COUNT(*) FROM messages WHERE queue = ?1 AND visible_at <= ?2",
            &cfg.name,
        )?,
        in_flight: count(
            "SELECT COUNT(*) FROM messages WHERE queue = ?1 AND visible_at > ?2",
            &cfg.name,
        )?,
        dead_letter_queue: cfg.dead_letter_queue.clone(),
        dead_letter_depth: count(
            "SELECT COUNT(*) FROM messages WHERE queue = ?1 AND ?2 = ?2",
            &cfg.dead_letter_queue,
        )?,
    })
}

/// Moves every message of the dead-letter queue back to its source queue (SQS's redrive).
pub fn redrive(tx: &Transaction<'_>, cfg: &QueueConfig, now_ms: i64) -> Result<u64, LocalError> {
    let moved = tx.execute(
        "UPDATE messages SET queue = ?1, visible_at = ?2, receive_count = 0 WHERE queue = ?3",
        params![cfg.name, now_ms, cfg.dead_letter_queue],
    )?;
    Ok(moved as u64)
}

/// One message as the console shows it (like SQS ReceiveMessage's attributes, without receiving).
#[derive(Debug, Clone, Serialize)]
pub struct Peeked {
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
    pub sent_at_ms: i64,
    pub visible_at_ms: i64,
    /// The message attributes (`trace_id`), as SQS shows `MessageAttributes`.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// The oldest `limit` messages of `queue`, without changing them; bodies cut at `max_body` bytes.
pub fn peek(
    conn: &Connection,
    queue: &str,
    limit: u32,
    max_body: usize,
) -> Result<Vec<Peeked>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT message_id, substr(body, 1, ?3), receive_count, sent_at, visible_at, trace_id FROM messages WHERE queue = ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![queue, limit, max_body as i64], |r| {
        Ok(Peeked {
            message_id: r.get(0)?,
            body: r.get(1)?,
            receive_count: r.get(2)?,
            sent_at_ms: r.get(3)?,
            visible_at_ms: r.get(4)?,
            attributes: r
                .get::<_, Option<String>>(5)?
                .map(|t| ("trace_id".to_string(), serde_json::Value::String(t)))
                .into_iter()
                .collect(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Connection, QueueConfig) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let cfg = QueueConfig {
            name: "q".into(),
            dead_letter_queue: "q-dlq".into(),
            visibility_timeout_ms: 1000,
            max_receive_count: 2,
        };
        (conn, cfg)
    }

    /// One consumer's receive that fails: marked received, as the processor does.
    fn receive_and_fail(tx: &Transaction<'_>, cfg: &QueueConfig, now: i64) -> Vec<Received> {
        let (got, exhausted) = visible(tx, cfg, 10, now).unwrap();
        dead_letter(tx, cfg, &exhausted, now).unwrap();
        for m in &got {
            received_not_deleted(tx, cfg, m, now).unwrap();
        }
        got
    }

    fn message<'a>(id: &'a str, trace_id: Option<&'a str>) -> Outgoing<'a> {
        Outgoing {
            message_id: id,
            body: "{}",
            trace_id,
        }
    }

    #[test]
    fn failed_message_is_invisible_until_timeout_then_dead_lettered() {
        let (mut conn, cfg) = setup();
        let tx = conn.transaction().unwrap();
        send(&tx, "q", &message("m1", Some("abc")), 0).unwrap();
        assert_eq!(receive_and_fail(&tx, &cfg, 0).len(), 1);
        assert!(receive_and_fail(&tx, &cfg, 500).is_empty(), "in flight");
        let again = receive_and_fail(&tx, &cfg, 1000);
        assert_eq!(again[0].receive_count, 2);
        assert!(receive_and_fail(&tx, &cfg, 2000).is_empty(), "moved to DLQ");
        tx.commit().unwrap();
        let s = stats(&conn, &cfg, 2000).unwrap();
        assert_eq!((s.depth, s.in_flight, s.dead_letter_depth), (0, 0, 1));
        let tx = conn.transaction().unwrap();
        assert_eq!(
            peek(&tx, "q-dlq", 10, 100).unwrap()[0].attributes["trace_id"],
            "abc",
            "attributes travel with the message to the DLQ"
        );
        assert_eq!(redrive(&tx, &cfg, 3000).unwrap(), 1);
        let redriven = receive_and_fail(&tx, &cfg, 3000);
        assert_eq!(redriven[0].trace_id.as_deref(), Some("abc"));
    }

    #[test]
    fn deleted_message_is_gone_and_a_read_alone_changes_nothing() {
        let (mut conn, cfg) = setup();
        let tx = conn.transaction().unwrap();
        send(&tx, "q", &message("m1", None), 0).unwrap();
        let (got, _) = visible(&tx, &cfg, 10, 0).unwrap();
        let (again, _) = visible(&tx, &cfg, 10, 0).unwrap();
        assert_eq!(
            got[0].id, again[0].id,
            "an unfinished receive leaves it visible"
        );
        delete(&tx, got[0].id).unwrap();
        assert!(visible(&tx, &cfg, 10, 5000).unwrap().0.is_empty());
    }
}
