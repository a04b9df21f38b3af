//! eventpay's domain core: money, currencies, pricing, signed quotes, payments and their status
//! machine, the double-entry ledger, settlement rules, domain events and the ports (traits) that
//! storage and notification adapters implement.
//!
//! Business rules only: no I/O. Time (`now`) and identifiers are passed in by the caller, so every
//! function here is deterministic and the same code runs in the local runtime and in AWS Lambda.

pub mod error;
pub mod events;
pub mod ledger;
pub mod money;
pub mod payment;
pub mod ports;
pub mod pricing;
pub mod quote;
pub mod settlement;
pub mod token;
pub mod usecases;

pub use error::*;
pub use events::*;
pub use ledger::*;
pub use money::*;
pub use payment::*;
pub use ports::*;
pub use pricing::*;
pub use quote::*;
pub use settlement::*;
pub use token::*;
pub use usecases::*;

/// Re-exported so callers name the same `Decimal` type as the domain.
pub use rust_decimal::Decimal;
