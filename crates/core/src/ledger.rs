//! Double-entry ledger postings of a settled payment.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::payment::Payment;

/// One posting: exactly one of `debit` and `credit` is set, never negative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub account: String,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<Decimal>,
}

impl LedgerEntry {
    pub fn debit(account: impl Into<String>, currency: impl Into<String>, amount: Decimal) -> Self {
        LedgerEntry {
            account: account.into(),
            currency: currency.into(),
            debit: Some(amount),
            credit: None,
        }
    }

    pub fn credit(
        account: impl Into<String>,
        currency: impl Into<String>,
        amount: Decimal,
    ) -> Self {
        LedgerEntry {
            account: account.into(),
            currency: currency.into(),
            debit: None,
            credit: Some(amount),
        }
    }
}

/// The fee income account of a currency: `fees:<CCY>`.
pub fn fees_account(currency: &str) -> String {
    format!("fees:{currency}")
}

/// The FX position account of a currency: `fx:<CCY>`.
pub fn fx_account(currency: &str) -> String {
    format!("fx:{currency}")
}

/// The postings of a payment:
///
/// | account | currency | debit | credit |
/// |---|---|---|---|
/// | sender account | source | amount | |
/// | `fees:<SRC>` | source | | fee |
/// | `fx:<SRC>` | source | | amount − fee |
/// | `fx:<TGT>` | target | target_amount | |
/// | beneficiary account | target | | target_amount |
///
/// Debits equal credits per currency; the result is checked with [`check_balanced`].
pub fn ledger_entries(payment: &Payment) -> Result<Vec<LedgerEntry>, DomainError> {
    let src = payment.source_currency.as_str();
    let tgt = payment.target_currency.as_str();
    let entries = vec![
        LedgerEntry::debit(payment.sender.account.as_str(), src, payment.amount),
        LedgerEntry::credit(fees_account(src), src, payment.fee),
        LedgerEntry::credit(fx_account(src), src, payment.amount - payment.fee),
        LedgerEntry::debit(fx_account(tgt), tgt, payment.target_amount),
        LedgerEntry::credit(
            payment.beneficiary.account.as_str(),
            tgt,
            payment.target_amount,
        ),
    ];
    check_balanced(&entries)?;
    Ok(entries)
}

/// Checks that every entry has exactly one non-negative side and that, per currency, debits equal
/// credits.
pub fn check_balanced(entries: &[LedgerEntry]) -> Result<(), DomainError> {
    let mut totals: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    for e in entries {
        let total = totals.entry(e.currency.as_str()).or_default();
        match (e.debit, e.credit) {
            (Some(d), None) if d >= Decimal::ZERO => total.0 += d,
            (None, Some(c)) if c >= Decimal::ZERO => total.1 += c,
            _ => {
                return Err(DomainError::Unbalanced(format!(
                    "the entry for account {:?} in {} must have exactly one non-negative debit or credit",
                    e.account, e.currency
                )));
            }
        }
    }
    for (currency, (debits, credits)) in totals {
        if debits != credits {
            return Err(DomainError::Unbalanced(format!(
                "{currency} debits total {debits} but credits total {credits}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::tests::payment;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn entries_of_a_usd_eur_payment() {
        let p = payment("USD", "EUR", "1000");
        let e = ledger_entries(&p).unwrap();
        assert_eq!(
            e,
            vec![
                LedgerEntry::debit("GB29NWBK60161331926819", "USD", d("1000.00")),
                LedgerEntry::credit("fees:USD", "USD", d("2.50")),
                LedgerEntry::credit("fx:USD", "USD", d("997.50")),
                LedgerEntry::debit("fx:EUR", "EUR", d("910.00")),
                LedgerEntry::credit("FR7630006000011234567890189", "EUR", d("910.00")),
            ]
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json[0],
            serde_json::json!({"account": "GB29NWBK60161331926819", "currency": "USD", "debit": "1000.00"})
        );
        assert_eq!(
            json[2],
            serde_json::json!({"account": "fx:USD", "currency": "USD", "credit": "997.50"})
        );
        let back: Vec<LedgerEntry> = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn unbalanced_and_malformed_entries_are_refused() {
        let err = check_balanced(&[
            LedgerEntry::debit("a", "USD", d("10.00")),
            LedgerEntry::credit("b", "USD", d("9.99")),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ledger entries do not balance: USD debits total 10.00 but credits total 9.99"
        );
        assert_eq!(err.code(), "ledger_unbalanced");
        // Balanced in total, but not per currency.
        assert!(
            check_balanced(&[
                LedgerEntry::debit("a", "USD", d("10")),
                LedgerEntry::credit("b", "EUR", d("10")),
            ])
            .is_err()
        );
        let both = LedgerEntry {
            debit: Some(d("1")),
            ..LedgerEntry::credit("a", "USD", d("1"))
        };
        assert!(check_balanced(&[both]).is_err());
        let neither = LedgerEntry {
            credit: None,
            ..LedgerEntry::credit("a", "USD", d("1"))
        };
        assert!(check_balanced(&[neither]).is_err());
        assert!(
            check_balanced(&[
                LedgerEntry::debit("a", "USD", d("-1")),
                LedgerEntry::credit("b", "USD", d("-1")),
            ])
            .is_err()
        );
        assert!(check_balanced(&[]).is_ok());
    }
}
