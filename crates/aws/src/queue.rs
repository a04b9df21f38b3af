//! Sending messages to an SQS queue with `SendMessageBatch` (at most ten a call, refused entries
//! sent again).

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use crate::batch::send_in_batches;
use crate::error::AwsError;
use crate::events::require_all;

#[derive(Clone, Debug)]
pub struct QueueSender {
    client: Client,
    queue_url: String,
}

/// One message to send; `tag` identifies it to the caller.
#[derive(Clone, Debug)]
pub struct OutgoingMessage<T> {
    pub tag: T,
    pub body: String,
    /// The payment's trace id, sent as the String message attribute `trace_id` so a consumer
    /// can name the trace before it reads the body.
    pub trace_id: Option<eventpay_core::TraceId>,
}

/// The `trace_id` message attribute of a message that has one.
fn trace_attribute(trace: &eventpay_core::TraceId) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(trace.as_str())
        .build()
        .map_err(|e| AwsError::sdk("MessageAttributeValue", e).to_string())
}

impl QueueSender {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        QueueSender {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// Sends every message; returns the tags of those still refused after retries, with the
    /// reason.
    pub async fn send<T: Clone>(&self, messages: Vec<OutgoingMessage<T>>) -> Vec<(T, String)> {
        let failed = send_in_batches(messages, |chunk: &[OutgoingMessage<T>]| {
            // Ids only need to be unique within one call: the position says which entry it is.
            let entries: Result<Vec<_>, String> = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let mut entry = SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&m.body);
                    if let Some(trace) = &m.trace_id {
                        entry = entry.message_attributes("trace_id", trace_attribute(trace)?);
                    }
                    entry
                        .build()
                        .map_err(|e| AwsError::sdk("SendMessageBatchRequestEntry", e).to_string())
                })
                .collect();
            let len = chunk.len();
            let client = self.client.clone();
            let url = self.queue_url.clone();
            async move {
                let out = client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries?))
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("SendMessageBatch", e).to_string())?;
                let mut outcome: Vec<Option<String>> =
                    vec![Some("no result for this entry".into()); len];
                for ok in out.successful() {
                    if let Some(slot) = ok
                        .id()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| outcome.get_mut(i))
                    {
                        *slot = None;
                    }
                }
                for bad in out.failed() {
                    if let Some(slot) = bad
                        .id()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| outcome.get_mut(i))
                    {
                        *slot = Some(format!(
                            "{}: {}",
                            bad.code(),
                            bad.message().unwrap_or_default()
                        ));
                    }
                }
                Ok(outcome)
            }
        })
        .await;
        failed
            .into_iter()
            .map(|(m, reason)| (m.tag, reason))
            .collect()
    }

    /// Sends every body or fails.
    pub async fn send_all(&self, bodies: Vec<String>) -> Result<(), AwsError> {
        let total = bodies.len();
        let tagged = bodies
            .into_iter()
            .map(|body| OutgoingMessage {
                tag: (),
                body,
                trace_id: None,
            })
            .collect();
        require_all("SendMessageBatch", total, self.send(tagged).await)
    }
}
