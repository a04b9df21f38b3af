//! The processor with an SQS batch as Lambda delivers it: events reach the bus (read back through
//! a rule whose target is a queue) and one poison message fails alone.

use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use chrono::{TimeZone, Utc};
use eventpay_aws::fixtures::{
    bus_with_queue_target, emulator_config, receive_bodies, sample_payment, unique,
};
use eventpay_aws::schema::{create_ledger_table, create_payments_table};
use eventpay_aws::{
    DynamoStore, EventPublisher, aws_sdk_dynamodb, aws_sdk_eventbridge, aws_sdk_sqs,
};
use eventpay_core::{
    ChangeRecord, EVENT_SOURCE, Payment, PaymentStatus, PaymentStore, StatusUpdate, post_ledger,
    update_status,
};
use eventpay_lambdas::processor::{Table, process};
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

fn change(table_arn: &str, seq: i64, old: Option<&Payment>, new: &Payment) -> String {
    let record = ChangeRecord::of_change(table_arn, seq.to_string(), old.cloned(), new.clone());
    serde_json::to_string(&record).unwrap()
}

#[tokio::test]
async fn events_reach_the_bus_and_a_poison_message_fails_alone() {
    let config = emulator_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let (bus, url) = bus_with_queue_target(&config).await.unwrap();
    let table_name = unique("payments");
    let stream_arn = create_payments_table(&dynamodb, &table_name).await.unwrap();
    let ledger = unique("ledger");
    create_ledger_table(&dynamodb, &ledger).await.unwrap();
    let table = Table {
        store: DynamoStore::new(dynamodb, table_name).with_ledger_table(ledger),
        arn: stream_arn.split("/stream/").next().unwrap().to_owned(),
    };

    // The payment as the table holds it after each write the API and the tasks make.
    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    let store = &table.store;
    store
        .create(&sample_payment("p-1", "12000.00", t0), None, "fp")
        .await
        .unwrap();
    let pending = store.get("p-1").await.unwrap().unwrap();
    let processing = StatusUpdate {
        payment_id: "p-1".into(),
        status: PaymentStatus::Processing,
        reason: None,
    };
    update_status(store, &processing, t0 + chrono::Duration::seconds(2))
        .await
        .unwrap();
    let processing = store.get("p-1").await.unwrap().unwrap();
    post_ledger(store, "p-1", t0 + chrono::Duration::seconds(3))
        .await
        .unwrap();
    let settled = store.get("p-1").await.unwrap().unwrap();

    // Forged: a real change's images under another id, and a right id for images the table
    // never held (a high value the payment never had).
    let mut wrong_id = ChangeRecord::of_change(&table.arn, "9".into(), None, pending.clone());
    wrong_id.event_id = "stream-1".into();
    let mut invented = pending.clone();
    invented.terms.amount = "9000000.00".parse().unwrap();
    let event: SqsEvent = serde_json::from_value(json!({"Records": [
        message("m-created", &change(&table.arn, 1, None, &pending)),
        message("m-poison", "{\"this is\": \"not a change record\"}"),
        message("m-wrong-id", &serde_json::to_string(&wrong_id).unwrap()),
        message("m-invented", &change(&table.arn, 4, None, &invented)),
        message("m-processing", &change(&table.arn, 2, Some(&pending), &processing)),
        message("m-settled", &change(&table.arn, 3, Some(&processing), &settled)),
    ]}))
    .unwrap();
    let response = process(&table, &EventPublisher::new(eb, &bus), &event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        ["m-poison", "m-wrong-id", "m-invented"].map(|m| Some(m.to_string()))
    );
    // The response serializes as Lambda expects it.
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(
        wire,
        json!({"batchItemFailures": [
            {"itemIdentifier": "m-poison"},
            {"itemIdentifier": "m-wrong-id"},
            {"itemIdentifier": "m-invented"}
        ]})
    );

    let bodies = receive_bodies(&sqs, &url, 3, Duration::from_secs(20))
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
            (
                "PaymentSettled".to_string(),
                "2026-11-01T12:00:03Z".to_string()
            ),
        ]
    );
    // Nothing more: the forged records published nothing.
    assert!(
        receive_bodies(&sqs, &url, 1, Duration::from_secs(2))
            .await
            .unwrap()
            .is_empty()
    );
}
