//! Retention, as AWS keeps things: change-stream records are dropped a period after they were
//! forwarded (DynamoDB Streams: 24 hours), finished executions with their history after theirs
//! (Standard workflows: 90 days), audit entries after the log group's retention; the space is
//! handed back by incremental vacuum, a little at a time, so the writer is never held long.

use std::time::Duration;

use rusqlite::params;

use crate::db::{Db, now_millis};
use crate::error::LocalError;
use crate::stage::Pass;
use crate::{executions, forwarder, stream};

/// How long each kind of record is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// After forwarding.
    pub stream: Duration,
    /// After the execution stopped.
    pub history: Duration,
    pub audit: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            stream: Duration::from_secs(24 * 3600),
            history: Duration::from_secs(90 * 24 * 3600),
            audit: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// How often a prune runs.
pub const EVERY: Duration = Duration::from_secs(60);
/// Rows of each kind dropped per prune at most, and free pages handed back.
const PER_PASS: i64 = 20_000;
const VACUUM_PAGES: i64 = 4_000;

/// One prune; busy if it dropped a full pass of something (more may be due).
pub async fn prune(db: &Db, keep: Retention) -> Result<Pass, LocalError> {
    let ms = |d: Duration| now_millis() - d.as_millis() as i64;
    let stamp = |d: Duration| {
        (chrono::Utc::now() - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX))
            .to_rfc3339()
    };
    // A payment's trace is kept as long as its execution's history.
    let trace_before = crate::trace::now_micros() - keep.history.as_micros() as i64;
    let (stream_before, history_before, audit_before) =
        (ms(keep.stream), stamp(keep.history), stamp(keep.audit));
    let dropped = db
        .write(move |tx| {
            let forwarded = stream::position(tx, forwarder::CONSUMER)?;
            let s = stream::prune(tx, forwarded, stream_before)?;
            let e = executions::prune(tx, &history_before, PER_PASS)?;
            let a = crate::audit::prune(tx, &audit_before, PER_PASS)?;
            let t = crate::trace::prune(tx, trace_before, PER_PASS)?;
            tx.execute_batch(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES});"))?;
            Ok(s.max(e).max(a).max(t))
        })
        .await?;
    Ok(Pass {
        busy: dropped >= PER_PASS as u64,
        due_at_ms: Some(now_millis() + EVERY.as_millis() as i64),
    })
}

/// Pages free in the file (handed back by later prunes), for the figures.
pub fn free_pages(conn: &rusqlite::Connection) -> Result<u64, LocalError> {
    Ok(conn.query_row("PRAGMA freelist_count", params![], |r| r.get::<_, i64>(0))? as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drops_forwarded_stream_records_past_retention_only() {
        let (_dir, db) = crate::testing::db_with_stream(3).await;
        // Two forwarded, one waiting.
        db.write(|tx| stream::set_position(tx, forwarder::CONSUMER, 2))
            .await
            .unwrap();
        let count = || {
            db.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM stream", [], |r| r.get::<_, i64>(0))?))
        };
        prune(&db, Retention::default()).await.unwrap();
        assert_eq!(count().await.unwrap(), 3, "within retention: kept");
        let now = Retention {
            stream: Duration::ZERO,
            ..Retention::default()
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        prune(&db, now).await.unwrap();
        assert_eq!(
            count().await.unwrap(),
            1,
            "the record not yet forwarded is kept"
        );
    }
}
