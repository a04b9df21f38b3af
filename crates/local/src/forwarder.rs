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
const RETENTION_HOURS: i64 = 24;

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
            // Forwarded records are kept as long as DynamoDB Streams keeps them, then dropped so
            // the stream does not grow without bound.
            let horizon = (chrono::Utc::now() - chrono::Duration::hours(RETENTION_HOURS)).to_rfc3339();
            tx.execute(
                "DELETE FROM stream WHERE seq <= ?1 AND created_at < ?2",
                params![last, horizon],
            )?;
            Ok(rows.len())
        })
        .await?;
    Ok(Pass::busy(moved > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Durability;
    use eventpay_core::{Party, PaymentRequest, PricingPolicy, QuoteRequest, RateTable};

    fn payment_json() -> String {
        let rates = RateTable::from_json(include_str!("../../../spec/rates.json")).unwrap();
        let now = chrono::Utc::now();
        let req = QuoteRequest {
            source_currency: "USD".into(),
            target_currency: "EUR".into(),
            amount: "10.00".into(),
            customer_tier: None,
        };
        let quote = eventpay_core::create_quote(
            &req,
            &rates,
            &PricingPolicy::default(),
            "q".into(),
            now,
            chrono::Duration::minutes(5),
        )
        .unwrap();
        let party = |n: &str| Party {
            name: n.into(),
            account: n.into(),
        };
        let req = PaymentRequest {
            quote_token: String::new(),
            sender: party("S"),
            beneficiary: party("B"),
            reference: None,
        };
        serde_json::to_string(&eventpay_core::new_payment(&req, &quote, "p".into(), now).unwrap())
            .unwrap()
    }

    async fn count(db: &Db, sql: &'static str) -> i64 {
        db.read(move |c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn forwards_in_order_and_drops_forwarded_records_after_retention() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Durability::Normal).unwrap();
        let payment = payment_json();
        let old = (chrono::Utc::now() - chrono::Duration::hours(RETENTION_HOURS + 1)).to_rfc3339();
        let now = chrono::Utc::now().to_rfc3339();
        db.write(move |tx| {
            for at in [&old, &now] {
                tx.execute(
                    "INSERT INTO stream (payment_id, event_name, old_image, new_image, created_at) VALUES ('p', 'INSERT', NULL, ?1, ?2)",
                    params![payment, at],
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
        assert!(forward_batch(&db, "q").await.unwrap().busy);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM messages WHERE queue = 'q'").await,
            2
        );
        assert_eq!(count(&db, "SELECT position FROM cursors").await, 2);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM stream").await,
            1,
            "the record past retention is dropped"
        );
        assert!(
            !forward_batch(&db, "q").await.unwrap().busy,
            "nothing is forwarded twice"
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM messages").await, 2);
    }
}
