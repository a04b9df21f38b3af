//! eventpay's domain core: money, currencies, pricing, signed quotes, payments and their status
//! machine, the double-entry ledger (transfers, balances, reconciliation), settlement rules, domain events and the ports (traits) that
//! storage and notification adapters implement.
//!
//! Business rules only: no I/O. Time (`now`) and identifiers are passed in by the caller, so every
//! function here is deterministic and the same code runs in the local runtime and in AWS Lambda.
//!
//! ```
//! use eventpay_core::*;
//! use chrono::{Duration, TimeZone, Utc};
//!
//! let rates = RateTable::from_json(r#"{"base":"USD","as_of":"2026-11-01T00:00:00Z","rates":{"EUR":"0.9215"}}"#)?;
//! let now = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
//! let req = QuoteRequest {
//!     source_currency: "USD".into(),
//!     target_currency: "EUR".into(),
//!     amount: "1000".into(),
//!     customer_tier: None,
//! };
//! let quote = create_quote(&req, &rates, &PricingPolicy::default(), "q-1".into(), now, Duration::minutes(15))?;
//! assert_eq!((quote.terms.rate.to_string(), quote.terms.fee.to_string()), ("0.912285".into(), "2.50".into()));
//!
//! let key = SigningKey::new([42u8; 32])?;
//! let token = sign_quote(&quote, &key);
//! let verified = verify_quote(&token, &key, now + Duration::minutes(1))?;
//!
//! let party = |name: &str, account: &str| Party { name: name.into(), account: account.into() };
//! let request = PaymentRequest {
//!     quote_token: token,
//!     sender: party("Ada", "ACC-1"),
//!     beneficiary: party("Bob", "ACC-2"),
//!     reference: None,
//! };
//! let mut payment = new_payment(&request, &verified, "p-1".into(), now)?;
//! assert_eq!(event_for_change(None, &payment).unwrap().detail_type, DetailType::PaymentCreated);
//! payment.transition(PaymentStatus::Processing, now, None)?;
//! assert_eq!(decide(&payment, &SettlementPolicy::default()), Decision::Approved);
//! assert_eq!(transfers_for(&payment, now)?.len(), 3);
//! # Ok::<(), DomainError>(())
//! ```

pub mod account;
pub mod api;
pub mod change;
pub mod error;
pub mod events;
pub mod ids;
pub mod json;
pub mod ledger;
pub mod money;
pub mod payment;
pub mod ports;
pub mod pricing;
pub mod quote;
pub mod settlement;
pub mod shard;
pub mod sweep;
pub mod task;
pub mod token;
pub mod trace;
pub mod usecases;

pub use account::*;
pub use change::*;
pub use error::*;
pub use events::*;
pub use ids::{AccountId, PaymentId};
pub use ledger::*;
pub use money::*;
pub use payment::*;
pub use ports::*;
pub use pricing::*;
pub use quote::*;
pub use settlement::*;
pub use shard::*;
pub use task::*;
pub use token::*;
pub use trace::TraceId;
pub use usecases::*;

/// Re-exported so callers name the same `Decimal` type as the domain.
pub use rust_decimal::Decimal;
