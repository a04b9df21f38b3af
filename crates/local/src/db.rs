//! The embedded SQLite database: one file in the data dir, WAL mode, schema, and the
//! blocking-transaction helper every stage uses so that a hand-off commits atomically.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, Transaction};

use crate::error::LocalError;

/// How hard a commit is pushed to disk. `Normal` survives a process crash (kill -9) in WAL mode;
/// `Full` also survives power loss, at a higher cost per commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Normal,
    Full,
}

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS payments (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id      TEXT NOT NULL UNIQUE,
    idempotency_key TEXT UNIQUE,
    fingerprint     TEXT NOT NULL,
    status          TEXT NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_status ON payments(status, seq);
-- The change stream of the payments table (NEW_AND_OLD_IMAGES), written in the same transaction as the change.
CREATE TABLE IF NOT EXISTS stream (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id TEXT NOT NULL,
    event_name TEXT NOT NULL,
    old_image  TEXT,
    new_image  TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT NOT NULL,
    message_id    TEXT NOT NULL UNIQUE,
    body          TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_at    INTEGER NOT NULL,
    sent_at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages(queue, visible_at, id);
CREATE TABLE IF NOT EXISTS audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL,
    rule       TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE(event_id, rule)
);
CREATE TABLE IF NOT EXISTS notifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT UNIQUE,
    topic      TEXT NOT NULL,
    subject    TEXT,
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_arn     TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL UNIQUE,
    state_machine_arn TEXT NOT NULL,
    status            TEXT NOT NULL,
    input             TEXT NOT NULL,
    start_date        TEXT NOT NULL,
    stop_date         TEXT,
    state             TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_status ON executions(status);
CREATE TABLE IF NOT EXISTS history (
    execution_arn TEXT NOT NULL,
    id            INTEGER NOT NULL,
    event         TEXT NOT NULL,
    PRIMARY KEY (execution_arn, id)
);
"#;

/// A shared handle on the database. Writes go through one connection (SQLite has one writer
/// anyway); reads use their own connection so WAL lets them run beside a write.
#[derive(Clone)]
pub struct Db {
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn open(data_dir: &Path, durability: Durability) -> Result<Db, LocalError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            LocalError::Io(format!(
                "cannot create data dir {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join("eventpay.sqlite3");
        let writer = open_connection(&path, durability)?;
        writer.execute_batch(SCHEMA)?;
        let reader = open_connection(&path, durability)?;
        Ok(Db {
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    /// Runs `work` in one write transaction on a blocking thread; commits if it returns Ok.
    pub async fn write<T, F>(&self, work: F) -> Result<T, LocalError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, LocalError> + Send + 'static,
    {
        let conn = self.writer.clone();
        run_blocking(move || {
            let mut guard = conn.lock().map_err(|_| LocalError::Poisoned)?;
            let tx = guard.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }

    /// Runs `work` on the read connection, on a blocking thread.
    pub async fn read<T, F>(&self, work: F) -> Result<T, LocalError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, LocalError> + Send + 'static,
    {
        let conn = self.reader.clone();
        run_blocking(move || {
            let guard = conn.lock().map_err(|_| LocalError::Poisoned)?;
            work(&guard)
        })
        .await
    }
}

async fn run_blocking<T, F>(work: F) -> Result<T, LocalError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, LocalError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| LocalError::Io(format!("database worker stopped: {e}")))?
}

fn open_connection(path: &Path, durability: Durability) -> Result<Connection, LocalError> {
    let conn = Connection::open(path)?;
    let sync = match durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;"
    ))?;
    Ok(conn)
}

/// Milliseconds since the Unix epoch: the queue's clock for visibility timeouts.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
