//! The stream forwarder: a DynamoDB stream batch (`NEW_AND_OLD_IMAGES`) becomes the core's
//! `ChangeRecord`s, sent to the payments queue in `SendMessageBatch` calls, each with the
//! payment's trace id as the message attribute `trace_id`. The local runtime's
//! forwarder makes the same records and its processor reads the same shape.
//!
//! Failures are reported with `ReportBatchItemFailures`: the first record that could not be
//! forwarded, so Lambda retries the batch from there (a stream is processed in order).

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use eventpay_aws::items::{BODY, KIND, KIND_PAYMENT, payment_from_json};
use eventpay_aws::{OutgoingMessage, QueueSender};
use eventpay_core::{ChangeKind, ChangeRecord, Payment};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("stream record {event_id}: {reason}")]
pub struct StreamError {
    pub event_id: String,
    pub reason: String,
}

/// An image in DynamoDB JSON (`{"attr": {"S": "..."}}`), read as plain JSON.
struct Image(Value);

impl Image {
    fn new(event_id: &str, image: &impl Serialize) -> Result<Self, StreamError> {
        serde_json::to_value(image)
            .map(Image)
            .map_err(|e| StreamError {
                event_id: event_id.to_owned(),
                reason: format!("image to JSON: {e}"),
            })
    }

    fn is_empty(&self) -> bool {
        self.0.as_object().is_none_or(|o| o.is_empty())
    }

    fn string(&self, name: &str) -> Option<&str> {
        self.0.get(name)?.get("S")?.as_str()
    }

    fn payment(&self, event_id: &str) -> Result<Payment, StreamError> {
        let fail = |reason: String| StreamError {
            event_id: event_id.to_owned(),
            reason,
        };
        let body = self
            .string(BODY)
            .ok_or_else(|| fail(format!("the image has no string attribute {BODY:?}")))?;
        payment_from_json(body).map_err(|e| fail(e.to_string()))
    }
}

/// The change record of one stream record; `None` for what is not a payment change (an
/// idempotency item, a removal).
pub fn change_record(record: &EventRecord) -> Result<Option<ChangeRecord>, StreamError> {
    let id = record.event_id.as_str();
    let event_name = match record.event_name.as_str() {
        "INSERT" => ChangeKind::Insert,
        "MODIFY" => ChangeKind::Modify,
        _ => return Ok(None),
    };
    let new = Image::new(id, &record.change.new_image)?;
    if new.string(KIND) != Some(KIND_PAYMENT) {
        return Ok(None);
    }
    let old = Image::new(id, &record.change.old_image)?;
    let old_image = match (event_name, old.is_empty()) {
        (ChangeKind::Modify, false) => Some(old.payment(id)?),
        (ChangeKind::Modify, true) => {
            return Err(StreamError {
                event_id: id.to_owned(),
                reason: "a MODIFY without its old image: the stream must be NEW_AND_OLD_IMAGES"
                    .into(),
            });
        }
        (ChangeKind::Insert, _) => None,
    };
    let new_image = new.payment(id)?;
    // The change's id derives from the table, the payment and its version (the core's
    // `change_event_id`), not from the stream's eventID: the same change read twice gets the
    // same id, and the processor can check a queue message against the table it names.
    let table = table_arn(record).ok_or_else(|| StreamError {
        event_id: id.to_owned(),
        reason: "the record's eventSourceARN is not a DynamoDB table stream ARN".into(),
    })?;
    Ok(Some(ChangeRecord::of_change(
        table,
        record.change.sequence_number.clone().unwrap_or_default(),
        old_image,
        new_image,
    )))
}

/// The table ARN of a stream record (`arn:...:table/NAME/stream/LABEL` → `arn:...:table/NAME`),
/// the table id change ids derive from; the processor is configured with the same ARN.
pub fn table_arn(record: &EventRecord) -> Option<&str> {
    let arn = record.event_source_arn.as_deref()?;
    let (table, _label) = arn.split_once("/stream/")?;
    table.contains(":table/").then_some(table)
}

fn failure_at(record: &EventRecord) -> DynamoDbEventResponse {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = vec![failure];
    response
}

/// Forwards a stream batch to the queue. Records before the first failure are sent; the
/// response names that first failure (or nothing), and Lambda resumes there.
pub async fn forward(sender: &QueueSender, event: &Event) -> DynamoDbEventResponse {
    let mut messages = Vec::new();
    let mut first_bad: Option<usize> = None;
    for (i, record) in event.records.iter().enumerate() {
        let change = change_record(record).and_then(|c| {
            c.map(|c| {
                // The queue message names the payment's trace (the `trace_id` attribute).
                let trace = c.new_image.trace();
                serde_json::to_string(&c)
                    .map(|body| (body, trace))
                    .map_err(|e| StreamError {
                        event_id: record.event_id.clone(),
                        reason: e.to_string(),
                    })
            })
            .transpose()
        });
        match change {
            Ok(Some((body, trace))) => {
                let _span = tracing::info_span!("record", trace_id = %trace).entered();
                tracing::debug!(event_id = %record.event_id, "change record forwarded");
                messages.push(OutgoingMessage {
                    tag: i,
                    body,
                    trace_id: Some(trace),
                })
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "stream record cannot be forwarded");
                first_bad = Some(i);
                break;
            }
        }
    }
    let total = messages.len();
    let refused = sender.send(messages).await;
    for (i, reason) in &refused {
        tracing::error!(event_id = %event.records[*i].event_id, %reason, "queue refused a change record");
    }
    let first_refused = refused.iter().map(|(i, _)| *i).min();
    tracing::info!(
        records = event.records.len(),
        forwarded = total - refused.len(),
        "stream batch"
    );
    match [first_bad, first_refused].into_iter().flatten().min() {
        Some(i) => failure_at(&event.records[i]),
        None => DynamoDbEventResponse::default(),
    }
}
