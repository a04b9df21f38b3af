//! The disk's own limit, measured beside the data dir (a sibling temporary folder, so the same
//! disk): raw SQLite in WAL mode, one ~600-byte row per commit with `synchronous=NORMAL` and
//! `FULL`, and rows/s when 32 or 256 rows share a commit. The system's figures are reported as
//! ratios to these, because absolute numbers on a shared machine drift from run to run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::Connection;
use serde::Serialize;

/// Bytes of each row: about one payment's JSON body.
const ROW_BYTES: usize = 600;

#[derive(Clone, Debug, Serialize)]
pub struct DiskLimit {
    /// The folder the probe's database was made in.
    pub dir: String,
    /// Seconds each of the four measurements ran.
    pub secs_each: f64,
    pub commits_per_s_normal: f64,
    pub commits_per_s_full: f64,
    /// The `synchronous` setting of the batched runs (the one of `--durability`).
    pub batched_synchronous: String,
    pub rows_per_s_batch_32: f64,
    pub rows_per_s_batch_256: f64,
}

impl DiskLimit {
    /// Single-row commits/s at the given durability (`normal` or `full`).
    pub fn commits_per_s(&self, durability: &str) -> f64 {
        if durability == "full" {
            self.commits_per_s_full
        } else {
            self.commits_per_s_normal
        }
    }
}

/// Runs the four measurements for `secs` each in a temporary folder inside `parent`.
pub fn measure(parent: &Path, secs: f64, durability: &str) -> anyhow::Result<DiskLimit> {
    let dir = tempfile::Builder::new()
        .prefix("eventpay-bench-probe-")
        .tempdir_in(parent)
        .with_context(|| format!("creating a probe folder in {}", parent.display()))?;
    let each = Duration::from_secs_f64(secs);
    let sync = if durability == "full" {
        "FULL"
    } else {
        "NORMAL"
    };
    let run = |name: &str, synchronous: &str, rows_per_commit: usize| {
        rows_per_s(&dir.path().join(name), synchronous, rows_per_commit, each)
            .with_context(|| format!("probe {name}"))
    };
    Ok(DiskLimit {
        dir: parent.display().to_string(),
        secs_each: secs,
        commits_per_s_normal: run("normal.db", "NORMAL", 1)?,
        commits_per_s_full: run("full.db", "FULL", 1)?,
        batched_synchronous: sync.to_lowercase(),
        rows_per_s_batch_32: run("batch32.db", sync, 32)?,
        rows_per_s_batch_256: run("batch256.db", sync, 256)?,
    })
}

/// Inserts rows for `each`, `rows_per_commit` to a transaction; rows committed per second.
fn rows_per_s(
    path: &Path,
    synchronous: &str,
    rows_per_commit: usize,
    each: Duration,
) -> rusqlite::Result<f64> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.execute_batch("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")?;
    let mut body = vec![b'x'; ROW_BYTES];
    let mut rows = 0u64;
    let started = Instant::now();
    while started.elapsed() < each {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO rows (body) VALUES (?1)")?;
            for _ in 0..rows_per_commit {
                // Each row differs, as real rows do.
                body[..8].copy_from_slice(&rows.to_le_bytes());
                insert.execute([&body])?;
                rows += 1;
            }
        }
        tx.commit()?;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_every_figure_in_a_removed_folder() {
        let parent = tempfile::tempdir().unwrap();
        let limit = measure(parent.path(), 0.05, "full").unwrap();
        assert!(limit.commits_per_s_normal > 0.0 && limit.commits_per_s_full > 0.0);
        assert!(limit.rows_per_s_batch_32 > 0.0 && limit.rows_per_s_batch_256 > 0.0);
        assert_eq!(limit.batched_synchronous, "full");
        assert_eq!(limit.commits_per_s("full"), limit.commits_per_s_full);
        // The probe's own folder is gone; only the parent is left.
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }
}
