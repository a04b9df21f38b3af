//! EventBridge, SQS and SNS adapters against the emulator, each checked by reading what arrived.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use eventpay_aws::fixtures::{
    bus_with_queue_target, create_queue, emulator_config, receive_bodies, sample_payment, unique,
};
use eventpay_aws::{EventPublisher, QueueSender, SnsNotifier};
use eventpay_core::{EVENT_SOURCE, Notifier, event_for_change};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn put_events_reach_a_rule_with_a_queue_target() {
    let config = emulator_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (bus, url) = bus_with_queue_target(&config).await.unwrap();

    // More than one PutEvents call's worth.
    let time = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    let events: Vec<_> = (0..12)
        .map(|i| {
            let p = sample_payment(&format!("p-{i}"), "12345.67", time);
            (event_for_change(None, &p).unwrap(), time)
        })
        .collect();
    let expected = events[0].0.detail.clone();
    EventPublisher::new(eb, &bus)
        .publish_all(events)
        .await
        .unwrap();

    let bodies = receive_bodies(&sqs, &url, 12, WAIT).await.unwrap();
    assert_eq!(bodies.len(), 12, "{bodies:?}");
    let envelopes: Vec<Value> = bodies
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let first = envelopes
        .iter()
        .find(|e| e["detail"]["payment_id"] == "p-0")
        .unwrap();
    assert_eq!(first["source"], EVENT_SOURCE);
    assert_eq!(first["detail-type"], "PaymentCreated");
    assert_eq!(first["detail"], expected);
    assert_eq!(first["time"], "2026-11-01T12:00:00Z");
    // moto leaves out `account`, which EventBridge sets; the rest is the envelope of DESIGN.md.
    for key in ["version", "id", "region", "resources"] {
        assert!(first.get(key).is_some(), "envelope lacks {key}: {first}");
    }
}

#[tokio::test]
async fn send_message_batch_delivers_every_body() {
    let config = emulator_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (url, _) = create_queue(&sqs, &unique("payments")).await.unwrap();
    let bodies: Vec<String> = (0..13).map(|i| json!({"n": i}).to_string()).collect();
    QueueSender::new(sqs.clone(), &url)
        .send_all(bodies.clone())
        .await
        .unwrap();
    let mut got = receive_bodies(&sqs, &url, 13, WAIT).await.unwrap();
    got.sort();
    let mut want = bodies;
    want.sort();
    assert_eq!(got, want);

    // A queue that does not exist: every entry comes back refused, none is lost silently.
    let missing = format!("{}-missing", url);
    let failed = QueueSender::new(sqs, missing)
        .send_all(vec!["x".into()])
        .await
        .unwrap_err();
    assert!(
        failed.to_string().contains("1 of 1 entries failed"),
        "{failed}"
    );
}

#[tokio::test]
async fn sns_publish_reaches_a_subscribed_queue() {
    let config = emulator_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let topic = sns
        .create_topic()
        .name(unique("notifications"))
        .send()
        .await
        .unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_owned();
    let (url, queue_arn) = create_queue(&sqs, &unique("inbox")).await.unwrap();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();

    SnsNotifier::new(sns, &topic_arn)
        .publish("Payment SETTLED", "Payment p-1 is SETTLED.")
        .await
        .unwrap();
    let bodies = receive_bodies(&sqs, &url, 1, WAIT).await.unwrap();
    assert_eq!(bodies.len(), 1);
    let note: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(note["Subject"], "Payment SETTLED");
    assert_eq!(note["Message"], "Payment p-1 is SETTLED.");
    assert_eq!(note["TopicArn"], topic_arn.as_str());
}
