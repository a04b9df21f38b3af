//! SQS semantics on SQLite: visibility timeout, receive count, dead-letter queue after
//! `max_receive_count` receives, and redrive. Functions take the caller's transaction so a
//! stage can consume its input and hand off its output in one commit.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::error::LocalError;

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

pub fn send(
    tx: &Transaction<'_>,
    queue: &str,
    message_id: &str,
    body: &str,
    now_ms: i64,
) -> Result<(), LocalError> {
    tx.execute(
        "INSERT OR IGNORE INTO messages (queue, message_id, body, receive_count, visible_at, sent_at) VALUES (?1, ?2, ?3, 0, ?4, ?4)",
        params![queue, message_id, body, now_ms],
    )?;
    Ok(())
}

/// Receives up to `max` visible messages, making them invisible for the visibility timeout.
/// Messages already received `max_receive_count` times move to the dead-letter queue instead.
pub fn receive(
    tx: &Transaction<'_>,
    cfg: &QueueConfig,
    max: u32,
    now_ms: i64,
) -> Result<Vec<Received>, LocalError> {
    let candidates: Vec<Received> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id, message_id, body, receive_count FROM messages WHERE queue = ?1 AND visible_at <= ?2 ORDER BY id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![cfg.name, now_ms, max * 2], |r| {
            Ok(Received {
                id: r.get(0)?,
                message_id: r.get(1)?,
                body: r.get(2)?,
                receive_count: r.get(3)?,
            })
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let mut out = Vec::new();
    for mut msg in candidates {
        if msg.receive_count >= cfg.max_receive_count {
            tx.execute(
                "UPDATE messages SET queue = ?1, visible_at = ?2, receive_count = 0 WHERE id = ?3",
                params![cfg.dead_letter_queue, now_ms, msg.id],
            )?;
            tracing::warn!(queue = %cfg.name, message_id = %msg.message_id, "message moved to the dead-letter queue");
            continue;
        }
        if out.len() as u32 >= max {
            break;
        }
        msg.receive_count += 1;
        tx.execute(
            "UPDATE messages SET receive_count = ?1, visible_at = ?2 WHERE id = ?3",
            params![
                msg.receive_count,
                now_ms + cfg.visibility_timeout_ms,
                msg.id
            ],
        )?;
        out.push(msg);
    }
    Ok(out)
}

pub fn delete(tx: &Transaction<'_>, id: i64) -> Result<(), LocalError> {
    tx.execute("DELETE FROM messages WHERE id = ?1", params![id])?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Connection, QueueConfig) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::db::SCHEMA).unwrap();
        let cfg = QueueConfig {
            name: "q".into(),
            dead_letter_queue: "q-dlq".into(),
            visibility_timeout_ms: 1000,
            max_receive_count: 2,
        };
        (conn, cfg)
    }

    #[test]
    fn received_message_is_invisible_until_timeout_then_dead_lettered() {
        let (mut conn, cfg) = setup();
        let tx = conn.transaction().unwrap();
        send(&tx, "q", "m1", "{}", 0).unwrap();
        assert_eq!(receive(&tx, &cfg, 10, 0).unwrap().len(), 1);
        assert!(receive(&tx, &cfg, 10, 500).unwrap().is_empty(), "in flight");
        let again = receive(&tx, &cfg, 10, 1000).unwrap();
        assert_eq!(again[0].receive_count, 2);
        assert!(
            receive(&tx, &cfg, 10, 2000).unwrap().is_empty(),
            "moved to DLQ"
        );
        tx.commit().unwrap();
        let s = stats(&conn, &cfg, 2000).unwrap();
        assert_eq!((s.depth, s.in_flight, s.dead_letter_depth), (0, 0, 1));
        let tx = conn.transaction().unwrap();
        assert_eq!(redrive(&tx, &cfg, 3000).unwrap(), 1);
        assert_eq!(receive(&tx, &cfg, 10, 3000).unwrap().len(), 1);
    }

    #[test]
    fn deleted_message_is_gone() {
        let (mut conn, cfg) = setup();
        let tx = conn.transaction().unwrap();
        send(&tx, "q", "m1", "{}", 0).unwrap();
        let got = receive(&tx, &cfg, 10, 0).unwrap();
        delete(&tx, got[0].id).unwrap();
        assert!(receive(&tx, &cfg, 10, 5000).unwrap().is_empty());
    }
}
