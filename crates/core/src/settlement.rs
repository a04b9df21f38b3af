//! Business validation in the settlement workflow: the per-payment limit (in the base currency)
//! and the beneficiary blocklist (accounts compared in their canonical form).

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::canonical_account;
use crate::money::{Currency, format_amount};
use crate::payment::Payment;

/// Settlement rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettlementPolicy {
    /// Largest amount settled, in units of the base currency (the payment's `base_amount` is
    /// compared with it, whatever its source currency).
    pub per_payment_limit: Decimal,
    /// Beneficiary accounts that must not be paid: the same account however it is spelt
    /// ([`canonical_account`] of both sides is compared).
    pub blocked_accounts: BTreeSet<String>,
}

impl Default for SettlementPolicy {
    fn default() -> Self {
        SettlementPolicy {
            per_payment_limit: Decimal::new(5_000_000, 2),
            blocked_accounts: BTreeSet::new(),
        }
    }
}

/// The outcome of validation: `{"decision":"APPROVED"}` or
/// `{"decision":"REJECTED","reason":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Decision {
    Approved,
    Rejected { reason: String },
}

impl Decision {
    pub fn is_approved(&self) -> bool {
        matches!(self, Decision::Approved)
    }
}

impl SettlementPolicy {
    /// Whether `account` is on the blocklist, however either is spelt.
    pub fn is_blocked(&self, account: &str) -> bool {
        let account = canonical_account(account);
        self.blocked_accounts
            .iter()
            .any(|blocked| canonical_account(blocked) == account)
    }
}

fn shown_amount(value: Decimal, currency: Currency) -> String {
    format_amount(value, currency)
}

/// Rejects a payment whose base amount is above the per-payment limit, then one to a blocked
/// beneficiary account; approves anything else.
pub fn decide(payment: &Payment, policy: &SettlementPolicy) -> Decision {
    if payment.terms.base_amount > policy.per_payment_limit {
        let amount = shown_amount(payment.terms.amount, payment.terms.source_currency);
        let base = &payment.terms.base_currency;
        let in_base = if *base == payment.terms.source_currency {
            String::new()
        } else {
            format!(
                " ({} {base})",
                shown_amount(payment.terms.base_amount, *base)
            )
        };
        return Decision::Rejected {
            reason: format!(
                "amount {amount} {}{in_base} exceeds the per-payment limit of {} {base}",
                payment.terms.source_currency,
                shown_amount(policy.per_payment_limit, *base)
            ),
        };
    }
    if policy.is_blocked(&payment.beneficiary.account) {
        return Decision::Rejected {
            reason: format!(
                "beneficiary account {} is blocked",
                payment.beneficiary.account
            ),
        };
    }
    Decision::Approved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::tests::SPELLINGS_OF_ACC_EVIL;
    use crate::payment::tests::payment;
    use serde_json::json;

    #[test]
    fn approves_up_to_the_limit() {
        let policy = SettlementPolicy::default();
        assert_eq!(policy.per_payment_limit.to_string(), "50000.00");
        assert_eq!(
            decide(&payment("USD", "EUR", "50000.00"), &policy),
            Decision::Approved
        );
        assert_eq!(
            decide(&payment("USD", "EUR", "60000"), &policy),
            Decision::Rejected {
                reason: "amount 60000.00 USD exceeds the per-payment limit of 50000.00 USD".into()
            }
        );
        assert!(!decide(&payment("USD", "EUR", "50000.01"), &policy).is_approved());
    }

    #[test]
    fn the_limit_is_in_the_base_currency() {
        let policy = SettlementPolicy::default();
        // 6,000,000 JPY is about 39,638 USD: under the 50,000.00 USD limit.
        let p = payment("JPY", "USD", "6000000");
        assert_eq!(p.terms.base_amount.to_string(), "39637.97");
        assert_eq!(decide(&p, &policy), Decision::Approved);
        // 7,568,500 JPY is exactly 50,000.00 USD at 151.37; one yen more is over.
        assert_eq!(
            decide(&payment("JPY", "USD", "7568500"), &policy),
            Decision::Approved
        );
        assert_eq!(
            decide(&payment("JPY", "USD", "7568501"), &policy),
            Decision::Rejected {
                reason: "amount 7568501 JPY (50000.01 USD) exceeds the per-payment limit of 50000.00 USD"
                    .into()
            }
        );
        // 50,000 EUR is about 54,259 USD: over, though the number is not above 50,000.00.
        assert!(!decide(&payment("EUR", "USD", "50000"), &policy).is_approved());
        assert!(decide(&payment("EUR", "USD", "46075"), &policy).is_approved());
    }

    #[test]
    fn blocked_accounts_match_however_spelt() {
        let policy = SettlementPolicy {
            blocked_accounts: ["ACC-EVIL".to_string(), "gb29 nwbk 6016 1331 9268 19".into()].into(),
            ..Default::default()
        };
        let iban = ["GB29NWBK60161331926819"];
        for spelling in SPELLINGS_OF_ACC_EVIL.iter().chain(&iban) {
            let mut p = payment("USD", "EUR", "100");
            p.beneficiary.account = (*spelling).into();
            assert!(!decide(&p, &policy).is_approved(), "{spelling:?}");
        }
    }

    #[test]
    fn rejects_blocked_beneficiaries() {
        let mut p = payment("USD", "EUR", "100");
        p.beneficiary.account = "ACC-666".into();
        let policy = SettlementPolicy {
            blocked_accounts: ["ACC-666".to_string()].into(),
            ..Default::default()
        };
        assert_eq!(
            decide(&p, &policy),
            Decision::Rejected {
                reason: "beneficiary account ACC-666 is blocked".into()
            }
        );
        p.beneficiary.account = "ACC-667".into();
        assert_eq!(decide(&p, &policy), Decision::Approved);
    }

    #[test]
    fn decision_json() {
        assert_eq!(
            serde_json::to_value(Decision::Approved).unwrap(),
            json!({"decision": "APPROVED"})
        );
        let r = Decision::Rejected {
            reason: "no".into(),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"decision": "REJECTED", "reason": "no"})
        );
        assert_eq!(
            serde_json::from_value::<Decision>(json!({"decision": "REJECTED", "reason": "no"}))
                .unwrap(),
            r
        );
    }
}
