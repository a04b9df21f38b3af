//! The payment's trace id on AWS: in every JSON log line of a payment's work (a span field, with
//! the functions' own log format) — the API request's header, the SQS message attribute or the
//! record's image, the task input — and on the forwarder's queue messages (the `trace_id`
//! attribute).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::sqs::SqsEvent;
use chrono::Utc;
use eventpay_aws::fixtures::{
    bus_with_queue_target, create_queue, emulator_config, sample_payment, unique,
};
use eventpay_aws::schema::create_payments_table;
use eventpay_aws::{
    DynamoStore, EventPublisher, QueueSender, aws_sdk_dynamodb, aws_sdk_eventbridge, aws_sdk_sqs,
    items,
};
use eventpay_core::api::QuoteContext;
use eventpay_core::{ChangeRecord, Payment, PaymentStore, SettlementPolicy, TraceId};
use eventpay_lambdas::processor::{Table, process};
use eventpay_lambdas::{config, http, logging, stream, tasks};
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::events::{Proxy, dynamodb_json, signer, store};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The log lines written while the guard of [`capture`] lives (this test's thread only).
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

impl Lines {
    /// The JSON lines whose message is `message`.
    fn named(&self, message: &str) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["fields"]["message"] == message)
            .collect()
    }
}

fn capture() -> (Lines, tracing::subscriber::DefaultGuard) {
    let lines = Lines::default();
    let subscriber = logging::subscriber(EnvFilter::new("info"), lines.clone());
    (lines, tracing::subscriber::set_default(subscriber))
}

/// The trace id a log line's spans name.
fn trace_of(line: &Value) -> Option<&str> {
    line["spans"]
        .as_array()?
        .iter()
        .find_map(|s| s["trace_id"].as_str())
}

fn traced(id: &str) -> Payment {
    let mut p = sample_payment(id, "1000.00", Utc::now());
    p.trace_id = TraceId::parse(TRACE);
    p
}

#[tokio::test]
async fn task_log_lines_name_the_input_trace_id() {
    let store = store().await;
    store.create(&traced("p-1"), None, "fp").await.unwrap();
    let (lines, _guard) = capture();
    let input = json!({"payment_id": "p-1", "status": "PROCESSING", "trace_id": TRACE});
    tasks::update_status(&store, input).await.unwrap();
    let policy = SettlementPolicy::default();
    let input = json!({"payment_id": "p-1", "trace_id": TRACE});
    tasks::validate(&store, &policy, input).await.unwrap();
    // An input from before the workflow passed it: the task runs, its lines name none.
    tasks::validate(&store, &policy, json!({"payment_id": "p-1"}))
        .await
        .unwrap();
    let input = json!({"payment_id": "nope", "status": "PROCESSING", "trace_id": TRACE});
    tasks::update_status(&store, input).await.unwrap_err();

    let done: Vec<_> = lines
        .named("task done")
        .iter()
        .map(|l| trace_of(l).map(str::to_owned))
        .collect();
    assert_eq!(done, [Some(TRACE.to_owned()), Some(TRACE.to_owned()), None]);
    let failed = lines.named("task failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(trace_of(&failed[0]), Some(TRACE));
    assert_eq!(failed[0]["fields"]["error"], "Payment.NotFound");
}

fn sqs_message(id: &str, body: &str, trace_attribute: Option<&str>) -> Value {
    let attributes = match trace_attribute {
        Some(t) => {
            json!({"trace_id": {"stringValue": t, "stringListValues": [], "binaryListValues": [], "dataType": "String"}})
        }
        None => json!({}),
    };
    json!({
        "messageId": id, "receiptHandle": format!("AQEB{id}=="), "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1793620800000",
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1793620800001"},
        "messageAttributes": attributes, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:eventpay-payments",
        "awsRegion": "us-east-1"
    })
}

#[tokio::test]
async fn processor_log_lines_name_the_message_trace_id() {
    let config = emulator_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let (bus, _url) = bus_with_queue_target(&config).await.unwrap();
    let name = unique("payments");
    let stream_arn = create_payments_table(&dynamodb, &name).await.unwrap();
    let table = Table {
        store: DynamoStore::new(dynamodb, name),
        arn: stream_arn.split("/stream/").next().unwrap().to_owned(),
    };
    // One from the API (its trace in the attribute), one stored before trace ids (none
    // anywhere: the id derived from the payment's).
    let new = traced("p-new");
    let old = sample_payment("p-old", "20.00", Utc::now());
    for p in [&new, &old] {
        table.store.create(p, None, "fp").await.unwrap();
    }
    let body = |p: &Payment| {
        serde_json::to_string(&ChangeRecord::of_change(
            &table.arn,
            "1".into(),
            None,
            p.clone(),
        ))
        .unwrap()
    };
    let event: SqsEvent = serde_json::from_value(json!({"Records": [
        sqs_message("m-1", &body(&new), Some(TRACE)),
        sqs_message("m-2", &body(&old), None),
    ]}))
    .unwrap();
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), bus);
    let (lines, _guard) = capture();
    let response = process(&table, &publisher, &event).await;
    assert!(response.batch_item_failures.is_empty());

    let published = lines.named("change published");
    let by_payment = |id: &str| {
        published
            .iter()
            .find(|l| l["fields"]["payment_id"] == id)
            .and_then(|l| trace_of(l))
            .map(str::to_owned)
    };
    assert_eq!(by_payment("p-new").as_deref(), Some(TRACE));
    assert_eq!(
        by_payment("p-old"),
        Some(TraceId::for_payment("p-old").to_string())
    );
}

#[tokio::test]
async fn forwarded_messages_carry_the_trace_id_attribute() {
    let sqs = aws_sdk_sqs::Client::new(&emulator_config().await);
    let (url, _) = create_queue(&sqs, &unique("payments")).await.unwrap();
    let image = dynamodb_json(
        &items::payment_item(&traced("p-1"), eventpay_core::ListShards::DEFAULT).unwrap(),
    );
    let event: Event = serde_json::from_value(json!({"Records": [{
        "eventID": "evt-1", "eventName": "INSERT", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {"ApproximateCreationDateTime": 1_793_620_800, "Keys": {"pk": {"S": "PAYMENT#p-1"}},
                     "NewImage": image, "SequenceNumber": "100", "SizeBytes": 512,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/payments/stream/2026-11-01T00:00:00.000"
    }]}))
    .unwrap();
    let response = stream::forward(&QueueSender::new(sqs.clone(), url.clone()), &event).await;
    assert!(response.batch_item_failures.is_empty());

    let deadline = Instant::now() + Duration::from_secs(10);
    let message = loop {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .message_attribute_names("All")
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = out.messages().first() {
            break m.clone();
        }
        assert!(Instant::now() < deadline, "no message on the queue");
    };
    let attribute = &message.message_attributes().unwrap()["trace_id"];
    assert_eq!(
        (attribute.data_type(), attribute.string_value()),
        ("String", Some(TRACE))
    );
}

#[tokio::test]
async fn create_payment_log_lines_name_the_request_trace_id() {
    let (store, signer) = (store().await, signer().await);
    let pricing = config::pricing().unwrap();
    let ctx = QuoteContext {
        signer: &signer,
        rates: &pricing.rates,
        pricing: &pricing.pricing,
        ttl: pricing.ttl,
    };
    let quote = json!({"source_currency": "USD", "target_currency": "EUR", "amount": "100.00"});
    let r = http::quote(
        &ctx,
        &Proxy::new("POST", "/quotes", "/quotes")
            .body(quote.to_string())
            .event(),
    )
    .await;
    let Some(aws_lambda_events::encodings::Body::Text(text)) = &r.body else {
        panic!("{r:?}")
    };
    let token = serde_json::from_str::<Value>(text).unwrap()["token"].clone();
    let body = json!({"quote_token": token, "sender": {"name": "Ada", "account": "ACC-1"},
                      "beneficiary": {"name": "Bob", "account": "ACC-2"}});
    let request = Proxy::new("POST", "/payments", "/payments")
        .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
        .body(body.to_string())
        .event();
    let (lines, _guard) = capture();
    let r = http::create_payment(&store, &signer, &request).await;
    assert_eq!(r.status_code, 202, "{r:?}");
    let answered = lines.named("request answered");
    assert_eq!(answered.len(), 1);
    assert_eq!(trace_of(&answered[0]), Some(TRACE));
}
