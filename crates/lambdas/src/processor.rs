//! The queue consumer: each SQS message holds a `ChangeRecord`; its event (the core's
//! `event_for_change`) is published to the event bus. With `ReportBatchItemFailures`, a message
//! that cannot be read or published fails alone and the rest of the batch is deleted.
//!
//! Every record is first checked against the payments table (the core's `verify_change`, as the
//! local processor does): a message that does not come from the change stream — wrong id, images
//! the table never held — publishes nothing and fails, so the queue's redrive policy moves it to
//! the DLQ instead of it passing for a real change.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_lambda_events::streams::{SqsBatchItemFailure, SqsEventResponse};
use eventpay_aws::{DynamoStore, EventPublisher, OutgoingEvent};
use eventpay_core::{ChangeRecord, PaymentStore, TraceId, event_for_change, verify_change};

/// The table messages are checked against: its store and its id (the table ARN).
pub struct Table {
    pub store: DynamoStore,
    pub arn: String,
}

fn failure(message_id: String) -> SqsBatchItemFailure {
    let mut f = SqsBatchItemFailure::default();
    f.item_identifier = Some(message_id);
    f
}

/// The event a message asks for: `Ok(None)` when the change publishes nothing (e.g. a ledger
/// posting), `Err` for a message that is not a change record of the table.
async fn event_of(
    table: &Table,
    message: &SqsMessage,
) -> Result<Option<(eventpay_core::DomainEvent, ChangeRecord)>, String> {
    let body = message.body.as_deref().ok_or("the message has no body")?;
    let record: ChangeRecord =
        serde_json::from_str(body).map_err(|e| format!("not a change record: {e}"))?;
    let stored = table
        .store
        .get(&record.new_image.payment_id)
        .await
        .map_err(|e| format!("the payments table cannot be read: {e}"))?;
    verify_change(&record, &table.arn, stored.as_ref())
        .map_err(|e| format!("refused change record {}: {e}", record.event_id))?;
    Ok(event_for_change(record.old_image.as_ref(), &record.new_image).map(|e| (e, record)))
}

/// The payment's trace id a message names: its `trace_id` attribute (the forwarder's), else
/// the one of the change record's new image (`Payment::trace`), read without checking the
/// record (that is [`event_of`]'s work). `None` for a body that is no change record.
pub fn message_trace(message: &SqsMessage) -> Option<TraceId> {
    let attribute = message
        .message_attributes
        .get("trace_id")
        .and_then(|a| a.string_value.as_deref())
        .and_then(TraceId::parse);
    attribute.or_else(|| {
        let body = message.body.as_deref()?;
        let record: ChangeRecord = serde_json::from_str(body).ok()?;
        Some(record.new_image.trace())
    })
}

/// Publishes the events of an SQS batch; the response lists the message ids that failed.
pub async fn process(
    table: &Table,
    publisher: &EventPublisher,
    event: &SqsEvent,
) -> SqsEventResponse {
    let mut failed = Vec::new();
    let mut outgoing = Vec::new();
    for message in &event.records {
        let Some(id) = message.message_id.clone() else {
            // Lambda always sets it; without one the failure could not be reported anyway.
            tracing::error!("an SQS record without a messageId");
            continue;
        };
        // The message's work runs in the payment's trace: its log lines name it, and the
        // invocation's X-Ray segment gets a subsegment annotated with it.
        let outcome = crate::xray::traced("processor", message_trace(message), async {
            let outcome = event_of(table, message).await;
            match &outcome {
                Ok(Some((domain_event, record))) => tracing::info!(
                    message_id = %id,
                    payment_id = %record.payment_id,
                    detail_type = ?domain_event.detail_type,
                    "change published"
                ),
                Ok(None) => {}
                Err(reason) => tracing::error!(message_id = %id, %reason, "poison message"),
            }
            outcome
        })
        .await;
        match outcome {
            Ok(Some((domain_event, record))) => outgoing.push(OutgoingEvent {
                tag: id,
                event: domain_event,
                time: record.new_image.updated_at,
            }),
            Ok(None) => {}
            Err(_) => failed.push(failure(id)),
        }
    }
    let published = outgoing.len();
    for (id, reason) in publisher.publish(outgoing).await {
        tracing::error!(message_id = %id, %reason, "PutEvents refused the event");
        failed.push(failure(id));
    }
    tracing::info!(
        messages = event.records.len(),
        events = published,
        failed = failed.len(),
        "queue batch"
    );
    let mut response = SqsEventResponse::default();
    response.batch_item_failures = failed;
    response
}
