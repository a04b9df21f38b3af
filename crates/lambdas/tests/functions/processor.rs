//! The processor with an SQS batch as Lambda delivers it: events reach the bus (read back through
//! a rule whose target is a queue) and one poison message fails alone.

use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use chrono::{TimeZone, Utc};
use eventpay_aws::fixtures::{
    bus_with_queue_target, emulator_config, receive_bodies, sample_payment,
};
use eventpay_aws::{EventPublisher, aws_sdk_eventbridge, aws_sdk_sqs};
use eventpay_core::{ChangeKind, ChangeRecord, EVENT_SOURCE, Payment, PaymentStatus};
use eventpay_lambdas::processor::process;
use serde_json::{Value, json};

fn message(id: &str, body: &str) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("AQEB{id}=="),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1793620800000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1793620800001"
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:eventpay-payments",
        "awsRegion": "us-east-1"
    })
}

fn change(seq: i64, old: Option<&Payment>, new: &Payment) -> String {
    let record = ChangeRecord {
        event_id: format!("evt-{seq}"),
        event_name: if old.is_some() {
            ChangeKind::Modify
        } else {
            ChangeKind::Insert
        },
        sequence_number: seq.to_string(),
        payment_id: new.payment_id.clone(),
        old_image: old.cloned(),
        new_image: new.clone(),
    };
    serde_json::to_string(&record).unwrap()
}

#[tokio::test]
async fn events_reach_the_bus_and_a_poison_message_fails_alone() {
    let config = emulator_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (bus, url) = bus_with_queue_target(&config).await.unwrap();

    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    let pending = sample_payment("p-1", "12000.00", t0);
    let mut processing = pending.clone();
    processing
        .transition(
            PaymentStatus::Processing,
            t0 + chrono::Duration::seconds(2),
            None,
        )
        .unwrap();
    let mut touched = processing.clone();
    touched.updated_at = t0 + chrono::Duration::seconds(3);

    let event: SqsEvent = serde_json::from_value(json!({"Records": [
        message("m-created", &change(1, None, &pending)),
        message("m-poison", "{\"this is\": \"not a change record\"}"),
        message("m-processing", &change(2, Some(&pending), &processing)),
        message("m-no-event", &change(3, Some(&processing), &touched)),
    ]}))
    .unwrap();
    let response = process(&EventPublisher::new(eb, &bus), &event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, [Some("m-poison".to_string())]);
    // The response serializes as Lambda expects it.
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(
        wire,
        json!({"batchItemFailures": [{"itemIdentifier": "m-poison"}]})
    );

    let bodies = receive_bodies(&sqs, &url, 2, Duration::from_secs(20))
        .await
        .unwrap();
    let mut delivered: Vec<(String, String)> = bodies
        .iter()
        .map(|b| {
            let e: Value = serde_json::from_str(b).unwrap();
            assert_eq!(e["source"], EVENT_SOURCE);
            assert_eq!(e["detail"]["payment_id"], "p-1");
            (
                e["detail-type"].as_str().unwrap().to_owned(),
                e["time"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    delivered.sort();
    assert_eq!(
        delivered,
        [
            (
                "PaymentCreated".to_string(),
                "2026-11-01T12:00:00Z".to_string()
            ),
            (
                "PaymentProcessing".to_string(),
                "2026-11-01T12:00:02Z".to_string()
            ),
        ]
    );
    // Nothing more: the ledger-style change published no event.
    assert!(
        receive_bodies(&sqs, &url, 1, Duration::from_secs(2))
            .await
            .unwrap()
            .is_empty()
    );
}
