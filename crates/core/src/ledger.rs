//! placeholder
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub account: String,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<Decimal>,
}
