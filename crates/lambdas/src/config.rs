//! Configuration from environment variables (documented in the crate README). A missing or
//! invalid value stops the function at start-up with a message naming the variable.

use chrono::Duration;
use eventpay_core::{Decimal, ListShards, PricingPolicy, RateTable, SettlementPolicy};

/// DynamoDB payments table name.
pub const TABLE: &str = "EVENTPAY_TABLE";
/// DynamoDB ledger table name (post-ledger writes it with the payment, get-ledger-account
/// reads it; crates/aws/src/ledger_items.rs).
pub const LEDGER_TABLE: &str = "EVENTPAY_LEDGER_TABLE";
/// DynamoDB payments table ARN (processor): the table id change record ids derive from, as
/// the stream forwarder reads it from the stream ARN.
pub const TABLE_ARN: &str = "EVENTPAY_TABLE_ARN";
/// KMS key (id, ARN or alias) of the HMAC key that signs quotes.
pub const QUOTE_KEY_ID: &str = "EVENTPAY_QUOTE_KEY_ID";
/// Quote lifetime in seconds (default 300, as the local runtime).
pub const QUOTE_TTL_SECS: &str = "EVENTPAY_QUOTE_TTL_SECS";
/// SQS payments queue URL (stream forwarder).
pub const QUEUE_URL: &str = "EVENTPAY_QUEUE_URL";
/// EventBridge bus name or ARN (processor).
pub const EVENT_BUS: &str = "EVENTPAY_EVENT_BUS";
/// Per-payment limit in units of the base currency (spec/rates.json's `base`; default 50000.00).
pub const PAYMENT_LIMIT: &str = "EVENTPAY_PAYMENT_LIMIT";
/// Comma-separated beneficiary accounts to reject.
pub const BLOCKED_ACCOUNTS: &str = "EVENTPAY_BLOCKED_ACCOUNTS";

/// Shards of the payments table's listing indexes (default 16): every function of one table
/// must use the same count.
pub const LIST_SHARDS: &str = "EVENTPAY_LIST_SHARDS";

/// The rates of `spec/rates.json`, built into the quote function (one source of truth).
pub const RATES_JSON: &str = include_str!("../../../spec/rates.json");

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

fn error(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        reason: reason.into(),
    }
}

fn optional(name: &'static str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A variable that must be set and non-empty.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or_else(|| error(name, "is not set"))
}

pub fn quote_ttl() -> Result<Duration, ConfigError> {
    match optional(QUOTE_TTL_SECS) {
        None => Ok(Duration::seconds(300)),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=86_400).contains(n))
            .map(Duration::seconds)
            .ok_or_else(|| {
                error(
                    QUOTE_TTL_SECS,
                    format!("{v:?} is not a number of seconds from 1 to 86400"),
                )
            }),
    }
}

pub fn list_shards() -> Result<ListShards, ConfigError> {
    match optional(LIST_SHARDS) {
        None => Ok(ListShards::DEFAULT),
        Some(v) => ListShards::parse(&v).map_err(|e| error(LIST_SHARDS, e.to_string())),
    }
}

pub fn settlement_policy() -> Result<SettlementPolicy, ConfigError> {
    let mut policy = SettlementPolicy::default();
    if let Some(v) = optional(PAYMENT_LIMIT) {
        policy.per_payment_limit = v
            .parse::<Decimal>()
            .ok()
            .filter(|d| *d > Decimal::ZERO)
            .ok_or_else(|| error(PAYMENT_LIMIT, format!("{v:?} is not a positive amount")))?;
    }
    if let Some(v) = optional(BLOCKED_ACCOUNTS) {
        policy.blocked_accounts = v
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
    }
    Ok(policy)
}

/// What the quote function prices with.
pub struct Pricing {
    pub rates: RateTable,
    pub pricing: PricingPolicy,
    pub ttl: Duration,
}

pub fn pricing() -> Result<Pricing, ConfigError> {
    Ok(Pricing {
        rates: RateTable::from_json(RATES_JSON)
            .map_err(|e| error("spec/rates.json", e.to_string()))?,
        pricing: PricingPolicy::default(),
        ttl: quote_ttl()?,
    })
}
