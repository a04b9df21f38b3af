//! The whole AWS-side flow on the emulator, with nothing hand-built in between: store writes →
//! the table's real DynamoDB stream records (read with `GetRecords`) as the stream-forwarder's
//! event → the payments queue → its messages as the processor's event → the event bus → a rule's
//! queue target.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::sqs::SqsEvent;
use chrono::Utc;
use eventpay_aws::fixtures::{
    bus_with_queue_target, create_queue, emulator_config, sample_payment, unique,
};
use eventpay_aws::schema::{create_ledger_table, create_payments_table};
use eventpay_aws::{
    DynamoStore, EventPublisher, QueueSender, aws_sdk_dynamodb, aws_sdk_eventbridge, aws_sdk_sqs,
};
use eventpay_core::{PaymentStatus, PaymentStore, StatusUpdate, post_ledger, update_status};
use eventpay_lambdas::{processor, stream};
use serde_json::{Value, json};

/// One DynamoDB Streams call as raw JSON over HTTP: the records come back in exactly the JSON
/// the service sends (the SDK would hand back typed values instead).
fn streams_call(target: &str, body: &Value) -> Value {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: DynamoDBStreams_20120810.{target}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20261101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut conn = TcpStream::connect(host).unwrap();
    conn.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    let (head, payload) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{head}\n{payload}"
    );
    serde_json::from_str(payload).unwrap()
}

fn stream_records(stream_arn: &str) -> Vec<Value> {
    let described = streams_call("DescribeStream", &json!({"StreamArn": stream_arn}));
    let shard = described["StreamDescription"]["Shards"][0]["ShardId"]
        .as_str()
        .unwrap()
        .to_owned();
    let iterator = streams_call(
        "GetShardIterator",
        &json!({"StreamArn": stream_arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let records = streams_call(
        "GetRecords",
        &json!({"ShardIterator": iterator["ShardIterator"]}),
    );
    records["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            // The event source mapping adds the stream's ARN to each record.
            let mut r = r.clone();
            r["eventSourceARN"] = json!(stream_arn);
            r
        })
        .collect()
}

/// What an SQS event source mapping hands the processor for these queue messages.
async fn queue_event(sqs: &aws_sdk_sqs::Client, url: &str, count: usize) -> SqsEvent {
    let mut records = Vec::new();
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            records.push(json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:payments",
                "awsRegion": "us-east-1"
            }));
        }
        if records.len() >= count {
            break;
        }
    }
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::test]
async fn a_payment_settles_through_stream_queue_and_bus() {
    let config = emulator_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let table = unique("payments");
    let stream_arn = create_payments_table(&dynamodb, &table).await.unwrap();
    let ledger = unique("ledger");
    create_ledger_table(&dynamodb, &ledger).await.unwrap();
    let store = DynamoStore::new(dynamodb.clone(), table.clone()).with_ledger_table(ledger);
    let (queue_url, _) = create_queue(&sqs, &unique("payments")).await.unwrap();
    let (bus, delivered_url) = bus_with_queue_target(&config).await.unwrap();

    // The writes the API and the settlement tasks make.
    let now = Utc::now();
    store
        .create(&sample_payment("p-1", "750.00", now), Some("key-1"), "fp")
        .await
        .unwrap();
    let processing = StatusUpdate {
        payment_id: "p-1".into(),
        status: PaymentStatus::Processing,
        reason: None,
    };
    update_status(&store, &processing, now + chrono::Duration::seconds(1))
        .await
        .unwrap();
    post_ledger(&store, "p-1", now + chrono::Duration::seconds(2))
        .await
        .unwrap();

    let records = stream_records(&stream_arn);
    assert_eq!(
        records.len(),
        5,
        "payment, quote claim and idempotency INSERTs, two MODIFYs: {records:#?}"
    );
    let event: Event = serde_json::from_value(json!({ "Records": records })).unwrap();
    let response = stream::forward(&QueueSender::new(sqs.clone(), &queue_url), &event).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let batch = queue_event(&sqs, &queue_url, 3).await;
    assert_eq!(
        batch.records.len(),
        3,
        "the idempotency and quote items are not forwarded"
    );
    let checked = processor::Table {
        store: DynamoStore::new(dynamodb, table),
        arn: stream_arn.split("/stream/").next().unwrap().to_owned(),
    };
    let response = processor::process(
        &checked,
        &EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), &bus),
        &batch,
    )
    .await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let delivered =
        eventpay_aws::fixtures::receive_bodies(&sqs, &delivered_url, 3, Duration::from_secs(20))
            .await
            .unwrap();
    let mut kinds: Vec<String> = delivered
        .iter()
        .map(|b| {
            serde_json::from_str::<Value>(b).unwrap()["detail-type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["PaymentCreated", "PaymentProcessing", "PaymentSettled"]
    );
}
