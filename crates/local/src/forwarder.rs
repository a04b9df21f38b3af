//! The stream forwarder: moves change-stream records to the payments queue. Reading the stream,
//! sending to the queue and advancing the stream position commit in one transaction.

use rusqlite::{OptionalExtension, params};

use crate::db::{Db, now_millis};
use crate::error::LocalError;
use crate::queue;
use crate::stage::Pass;
use eventpay_core::{ChangeKind, ChangeRecord};

const CURSOR: &str = "stream-forwarder";
const BATCH: i64 = 100;

/// Forwards one batch; returns how many records moved.
pub async fn forward_batch(db: &Db, queue_name: &str) -> Result<Pass, LocalError> {
    let queue_name = queue_name.to_owned();
    let moved = db
        .write(move |tx| {
            let position: i64 = tx
                .query_row("SELECT position FROM cursors WHERE name = ?1", params![CURSOR], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            let rows: Vec<(i64, String, String, Option<String>, String)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT seq, payment_id, event_name, old_image, new_image FROM stream WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )?;
                let mapped = stmt.query_map(params![position, BATCH], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
                mapped.collect::<Result<_, _>>()?
            };
            let Some(last) = rows.last().map(|r| r.0) else {
                return Ok(0);
            };
            let now = now_millis();
            for (seq, payment_id, event_name, old, new) in &rows {
                let record = ChangeRecord {
                    event_id: format!("stream-{seq}"),
                    event_name: if event_name == "INSERT" { ChangeKind::Insert } else { ChangeKind::Modify },
                    sequence_number: seq.to_string(),
                    payment_id: payment_id.clone(),
                    old_image: old.as_deref().map(serde_json::from_str).transpose()?,
                    new_image: serde_json::from_str(new)?,
                };
                queue::send(tx, &queue_name, &record.event_id, &serde_json::to_string(&record)?, now)?;
            }
            tx.execute(
                "INSERT INTO cursors (name, position) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET position = excluded.position",
                params![CURSOR, last],
            )?;
            Ok(rows.len())
        })
        .await?;
    Ok(Pass::busy(moved > 0))
}
