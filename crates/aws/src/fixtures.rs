//! Helpers for tests that run against an AWS API emulator (moto through `scripts/with-moto`):
//! the guard that refuses to run elsewhere, unique resource names (tests run in parallel), sample
//! payments, the payments and ledger tables, and the few other resources tests need. Not used
//! by the functions themselves.

use std::time::{Duration, Instant};

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, Utc};
use eventpay_core::{
    Party, Payment, PaymentRequest, PricingPolicy, QuoteRequest, RateTable, create_quote,
    new_payment,
};

use crate::error::AwsError;
use crate::schema::{create_ledger_table, create_payments_table};
use crate::{DynamoLedger, DynamoStore};

/// A one-rate table for sample payments (the functions price with `spec/rates.json`).
pub const SAMPLE_RATES: &str =
    r#"{"base":"USD","as_of":"2026-11-01T00:00:00Z","rates":{"EUR":"0.9215"}}"#;

/// Panics unless `EVENTPAY_MOTO` is set: these tests need the emulator `scripts/with-moto`
/// starts, and must fail loudly rather than skip or reach real AWS.
pub fn require_emulator() {
    if std::env::var_os("EVENTPAY_MOTO").is_none() {
        panic!(
            "this test talks to an AWS API emulator: run through scripts/with-moto \
             (e.g. `scripts/with-moto cargo test --workspace --locked`)"
        );
    }
}

/// The SDK configuration for the emulator (after [`require_emulator`]).
pub async fn emulator_config() -> aws_config::SdkConfig {
    require_emulator();
    crate::sdk_config().await
}

/// `prefix-<32 hex digits>`: unique per call, valid as a table, queue, topic or bus name.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A `PENDING` payment of `amount` USD → EUR from a real quote.
pub fn sample_payment(payment_id: &str, amount: &str, now: DateTime<Utc>) -> Payment {
    let rates = RateTable::from_json(SAMPLE_RATES).expect("the sample rates parse");
    let quote_request = QuoteRequest {
        source_currency: "USD".into(),
        target_currency: "EUR".into(),
        amount: amount.into(),
        customer_tier: None,
    };
    let quote = create_quote(
        &quote_request,
        &rates,
        &PricingPolicy::default(),
        format!("q-{payment_id}"),
        now,
        chrono::Duration::minutes(5),
    )
    .expect("a valid sample quote");
    let party = |name: &str, account: &str| Party {
        name: name.into(),
        account: account.into(),
    };
    let request = PaymentRequest {
        quote_token: String::new(),
        sender: party("Ada", "ACC-1"),
        beneficiary: party("Bob", "ACC-2"),
        reference: None,
    };
    new_payment(&request, &quote, payment_id.into(), now).expect("a valid sample payment")
}

/// A store on a new payments table and a new ledger table, and the ledger's reader.
pub async fn store_with_ledger(
    config: &aws_config::SdkConfig,
) -> Result<(DynamoStore, DynamoLedger), AwsError> {
    let client = aws_sdk_dynamodb::Client::new(config);
    let (table, ledger) = (unique("payments"), unique("ledger"));
    create_payments_table(&client, &table).await?;
    create_ledger_table(&client, &ledger).await?;
    Ok((
        DynamoStore::new(client.clone(), table).with_ledger_table(&ledger),
        DynamoLedger::new(client, ledger),
    ))
}

/// Creates a queue; returns (url, arn).
pub async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<(String, String), AwsError> {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| AwsError::sdk("CreateQueue", e))?
        .queue_url
        .ok_or_else(|| AwsError::Corrupt("CreateQueue returned no url".into()))?;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| AwsError::sdk("GetQueueAttributes", e))?;
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| AwsError::Corrupt("queue has no ARN".into()))?;
    Ok((url, arn))
}

/// Receives (and deletes) messages until `count` arrived or `wait` passed; returns their bodies.
pub async fn receive_bodies(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    count: usize,
    wait: Duration,
) -> Result<Vec<String>, AwsError> {
    let deadline = Instant::now() + wait;
    let mut bodies = Vec::new();
    while bodies.len() < count && Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| AwsError::sdk("ReceiveMessage", e))?;
        for m in out.messages() {
            bodies.push(m.body().unwrap_or_default().to_owned());
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("DeleteMessage", e))?;
            }
        }
    }
    Ok(bodies)
}

/// Creates an HMAC-SHA-256 KMS key for quote signing; returns its id.
pub async fn create_mac_key(kms: &aws_sdk_kms::Client) -> Result<String, AwsError> {
    let out = kms
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .description("eventpay quote signing (test)")
        .send()
        .await
        .map_err(|e| AwsError::sdk("CreateKey", e))?;
    out.key_metadata
        .map(|m| m.key_id)
        .ok_or_else(|| AwsError::Corrupt("CreateKey returned no metadata".into()))
}

/// Creates an event bus with a rule matching every eventpay event and an SQS queue as its target;
/// returns (bus name, queue url). What reaches the queue is what EventBridge delivered.
pub async fn bus_with_queue_target(
    config: &aws_config::SdkConfig,
) -> Result<(String, String), AwsError> {
    let eb = aws_sdk_eventbridge::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let bus = unique("bus");
    eb.create_event_bus()
        .name(&bus)
        .send()
        .await
        .map_err(|e| AwsError::sdk("CreateEventBus", e))?;
    let (url, arn) = create_queue(&sqs, &unique("delivered")).await?;
    let rule = unique("all");
    let pattern = serde_json::json!({"source": [eventpay_core::EVENT_SOURCE]});
    eb.put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .map_err(|e| AwsError::sdk("PutRule", e))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("queue")
        .arn(arn)
        .build()
        .map_err(|e| AwsError::sdk("Target", e))?;
    eb.put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(target)
        .send()
        .await
        .map_err(|e| AwsError::sdk("PutTargets", e))?;
    Ok((bus, url))
}
