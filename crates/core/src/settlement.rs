//! Business validation in the settlement workflow: the per-payment limit and the beneficiary
//! blocklist.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::{currency, format_amount};
use crate::payment::Payment;

/// Settlement rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettlementPolicy {
    /// Largest amount settled, in units of the payment's source currency.
    pub per_payment_limit: Decimal,
    /// Beneficiary accounts that must not be paid (exact match).
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

/// Rejects a payment above the per-payment limit, then one to a blocked beneficiary account;
/// approves anything else.
pub fn decide(payment: &Payment, policy: &SettlementPolicy) -> Decision {
    if payment.amount > policy.per_payment_limit {
        let amount = match currency(&payment.source_currency) {
            Ok(c) => format_amount(payment.amount, c),
            Err(_) => payment.amount.to_string(),
        };
        return Decision::Rejected {
            reason: format!(
                "amount {amount} {} exceeds the per-payment limit of {}",
                payment.source_currency, policy.per_payment_limit
            ),
        };
    }
    if policy
        .blocked_accounts
        .contains(&payment.beneficiary.account)
    {
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
                reason: "amount 60000.00 USD exceeds the per-payment limit of 50000.00".into()
            }
        );
        assert!(!decide(&payment("USD", "EUR", "50000.01"), &policy).is_approved());
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
