//! The stream forwarder with a DynamoDB stream batch as Lambda delivers it: INSERT and MODIFY
//! records with both images in DynamoDB JSON, read back from the queue as change records.

use std::time::Duration;

use aws_lambda_events::dynamodb::Event;
use chrono::{TimeZone, Utc};
use eventpay_aws::fixtures::{
    create_queue, emulator_config, receive_bodies, sample_payment, unique,
};
use eventpay_aws::{QueueSender, aws_sdk_sqs, items};
use eventpay_core::{ChangeKind, ChangeRecord, Payment, PaymentStatus, change_event_id};
use eventpay_lambdas::stream::forward;
use serde_json::{Value, json};

use crate::events::dynamodb_json;

const TABLE_ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/payments";

fn record(name: &str, seq: &str, keys: Value, new: Option<Value>, old: Option<Value>) -> Value {
    let mut change = json!({
        "ApproximateCreationDateTime": 1_793_620_800,
        "Keys": keys,
        "SequenceNumber": seq,
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let Some(new) = new {
        change["NewImage"] = new;
    }
    if let Some(old) = old {
        change["OldImage"] = old;
    }
    json!({
        "eventID": format!("evt-{seq}"),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": format!("{TABLE_ARN}/stream/2026-11-01T00:00:00.000")
    })
}

fn image(p: &Payment) -> Value {
    dynamodb_json(&items::payment_item(p, eventpay_core::ListShards::DEFAULT).unwrap())
}

fn keys(pk: &str) -> Value {
    json!({"pk": {"S": pk}})
}

#[tokio::test]
async fn inserts_and_modifies_become_change_records_on_the_queue() {
    let sqs = aws_sdk_sqs::Client::new(&emulator_config().await);
    let (url, _) = create_queue(&sqs, &unique("payments")).await.unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    let pending = sample_payment("p-1", "1000.00", t0);
    let mut processing = pending.clone();
    processing
        .transition(
            PaymentStatus::Processing,
            t0 + chrono::Duration::seconds(1),
            None,
        )
        .unwrap();
    let idempotency = dynamodb_json(&items::idempotency_item("key-1", &pending, "fp"));

    // Real sequence numbers are longer than an i64.
    let big_seq = "4421584500000000017450439091";
    let event: Event = serde_json::from_value(json!({"Records": [
        record("INSERT", "100", keys("p-1"), Some(image(&pending)), None),
        record("INSERT", "101", keys("idempotency#key-1"), Some(idempotency), None),
        record("MODIFY", big_seq, keys("p-1"), Some(image(&processing)), Some(image(&pending))),
        record("REMOVE", "103", keys("p-0"), None, Some(image(&pending))),
    ]}))
    .unwrap();
    let response = forward(&QueueSender::new(sqs.clone(), &url), &event).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let bodies = receive_bodies(&sqs, &url, 2, Duration::from_secs(20))
        .await
        .unwrap();
    let mut records: Vec<ChangeRecord> = bodies
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    records.sort_by_key(|r| r.new_image.version());
    assert_eq!(
        records.len(),
        2,
        "the idempotency item and the removal are not forwarded"
    );
    let insert = &records[0];
    assert_eq!(
        (
            insert.event_id.as_str(),
            insert.event_name,
            insert.sequence_number.as_str()
        ),
        (
            change_event_id(TABLE_ARN, "p-1", 1).as_str(),
            ChangeKind::Insert,
            "100"
        )
    );
    assert_eq!(
        (insert.old_image.as_ref(), &insert.new_image),
        (None, &pending)
    );
    let modify = &records[1];
    assert_eq!(
        modify.event_id,
        change_event_id(TABLE_ARN, "p-1", 2),
        "derived from the table, the payment and its version, not the stream's eventID"
    );
    assert_eq!(modify.event_name, ChangeKind::Modify);
    assert_eq!(
        modify.sequence_number, big_seq,
        "kept whole, though longer than an i64"
    );
    assert_eq!(
        (modify.old_image.as_ref(), &modify.new_image),
        (Some(&pending), &processing)
    );
    assert_eq!(modify.payment_id, "p-1");
}

#[tokio::test]
async fn a_broken_record_stops_the_batch_there() {
    let sqs = aws_sdk_sqs::Client::new(&emulator_config().await);
    let (url, _) = create_queue(&sqs, &unique("payments")).await.unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    let p = sample_payment("p-1", "5.00", t0);
    let mut broken = image(&p);
    broken["payment"] = json!({"S": "{not json"});
    let event: Event = serde_json::from_value(json!({"Records": [
        record("INSERT", "200", keys("p-1"), Some(image(&p)), None),
        record("INSERT", "201", keys("p-1"), Some(broken), None),
        record("INSERT", "202", keys("p-1"), Some(image(&p)), None),
    ]}))
    .unwrap();
    let response = forward(&QueueSender::new(sqs.clone(), &url), &event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        [Some("201".to_string())],
        "Lambda resumes from the broken record"
    );
    let bodies = receive_bodies(&sqs, &url, 1, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(bodies.len(), 1, "only the record before it was sent");
}
