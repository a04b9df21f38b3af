//! The stream forwarder: moves change-stream records to the payments queue. It reads a batch
//! beside the writer, then sends the records to the queue and advances its stream position in
//! one commit (it is the stream's only consumer here, so nothing moves its position meanwhile).

use crate::db::{Db, now_millis};
use crate::error::LocalError;
use crate::stage::Pass;
use crate::{queue, stream};

/// The forwarder's name as a stream consumer (its position is kept under it).
pub const CONSUMER: &str = "stream-forwarder";
const BATCH: i64 = 512;

/// Forwards one batch; busy if records moved. A message's id is `stream-<seq>` (the record's
/// place in this stream, so a retried forward cannot send it twice); its body's `event_id` is
/// the change's own id, derived from `table_id`.
pub async fn forward_batch(db: &Db, queue_name: &str, table_id: &str) -> Result<Pass, LocalError> {
    let records =
        db.read_now(|c| stream::read_after(c, table_id, stream::position(c, CONSUMER)?, BATCH))?;
    let Some(last) = records.last().map(|(seq, _)| *seq) else {
        return Ok(Pass::busy(false));
    };
    let messages = records
        .iter()
        .map(|(seq, r)| {
            Ok((
                format!("stream-{seq}"),
                *seq,
                (
                    serde_json::to_string(r)?,
                    r.payment_id.clone(),
                    r.new_image.trace().to_string(),
                ),
            ))
        })
        .collect::<Result<Vec<_>, LocalError>>()?;
    let messages = crate::chaos::forwarded(messages);
    let queue_name = queue_name.to_owned();
    db.write(move |tx| {
        let now = now_millis();
        for (id, seq, (body, payment_id, trace_id)) in &messages {
            let msg = queue::Outgoing {
                message_id: id,
                body,
                trace_id: Some(trace_id),
            };
            queue::send(tx, &queue_name, &msg, now)?;
            crate::trace::forward(tx, payment_id, *seq)?;
        }
        stream::set_position(tx, CONSUMER, last)
    })
    .await?;
    Ok(Pass::busy(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn count(db: &Db, sql: &'static str) -> i64 {
        db.read(move |c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn forwards_in_order_once() {
        let (_dir, db) = crate::testing::db_with_stream(3).await;
        assert!(forward_batch(&db, "q", "t").await.unwrap().busy);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM messages WHERE queue = 'q'").await,
            3
        );
        assert_eq!(count(&db, "SELECT position FROM cursors").await, 3);
        assert!(
            !forward_batch(&db, "q", "t").await.unwrap().busy,
            "nothing is forwarded twice"
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM messages").await, 3);
    }
}
