//! Publishing domain events to an EventBridge bus with `PutEvents`: `Source` is the core's
//! `EVENT_SOURCE`, `DetailType` and `Detail` come from `eventpay_core::event_for_change`, and
//! `Time` is when the change happened, so the envelope EventBridge delivers matches DESIGN.md.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::primitives::DateTime as AwsTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use chrono::{DateTime, Utc};
use eventpay_core::{DomainEvent, EVENT_SOURCE};

use crate::batch::send_in_batches;
use crate::error::AwsError;

#[derive(Clone, Debug)]
pub struct EventPublisher {
    client: Client,
    bus: String,
}

/// One event to publish; `tag` identifies it to the caller (e.g. the SQS message it came from).
#[derive(Clone, Debug)]
pub struct OutgoingEvent<T> {
    pub tag: T,
    pub event: DomainEvent,
    pub time: DateTime<Utc>,
}

impl EventPublisher {
    /// `bus`: the event bus name or ARN.
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        EventPublisher {
            client,
            bus: bus.into(),
        }
    }

    fn entry(&self, e: &DomainEvent, time: DateTime<Utc>) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(e.detail_type.as_str())
            .detail(e.detail.to_string())
            .time(AwsTime::from_secs_and_nanos(
                time.timestamp(),
                time.timestamp_subsec_nanos(),
            ))
            .build()
    }

    /// Publishes every event; returns the tags of those EventBridge still refused after retries,
    /// with the reason.
    pub async fn publish<T: Clone>(&self, events: Vec<OutgoingEvent<T>>) -> Vec<(T, String)> {
        let failed = send_in_batches(events, |chunk: &[OutgoingEvent<T>]| {
            let entries: Vec<_> = chunk.iter().map(|o| self.entry(&o.event, o.time)).collect();
            let call = self.client.put_events().set_entries(Some(entries)).send();
            async move {
                let out = call
                    .await
                    .map_err(|e| AwsError::sdk("PutEvents", e).to_string())?;
                Ok(out
                    .entries()
                    .iter()
                    .map(|r| {
                        r.error_code().map(|code| {
                            format!("{code}: {}", r.error_message().unwrap_or_default())
                        })
                    })
                    .collect())
            }
        })
        .await;
        failed
            .into_iter()
            .map(|(o, reason)| (o.tag, reason))
            .collect()
    }

    /// Publishes every event or fails.
    pub async fn publish_all(
        &self,
        events: Vec<(DomainEvent, DateTime<Utc>)>,
    ) -> Result<(), AwsError> {
        let total = events.len();
        let tagged = events
            .into_iter()
            .map(|(event, time)| OutgoingEvent {
                tag: (),
                event,
                time,
            })
            .collect();
        require_all("PutEvents", total, self.publish(tagged).await)
    }
}

/// `Ok` when nothing failed, else a `PartialFailure` naming the first reason.
pub(crate) fn require_all<T>(
    operation: &'static str,
    total: usize,
    failed: Vec<(T, String)>,
) -> Result<(), AwsError> {
    match failed.first() {
        None => Ok(()),
        Some((_, first)) => Err(AwsError::PartialFailure {
            operation,
            failed: failed.len(),
            total,
            first: first.clone(),
        }),
    }
}
