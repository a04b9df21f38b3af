//! The double-entry ledger: transfers between accounts, account balances and the reconciliation
//! of a whole book.
//!
//! A [`Transfer`] moves one positive amount in one currency from a debit account to a credit
//! account, so it balances by construction (the model of TigerBeetle and Formance): no posting
//! can be one-sided. A settled payment posts the transfers [`transfers_for`] derives from its
//! figures, in the same atomic write that marks it SETTLED ([`crate::PaymentStore::settle`]),
//! and the adapters keep one [`Balance`] per account and currency beside them, changed by
//! [`balance_changes`] in that same write. [`Reconciler`] checks a book read back from storage.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::{AccountId, PaymentId};
use crate::money::Currency;
use crate::payment::{Payment, PaymentStatus};

/// The fee income account of a currency: `fees:<CCY>`.
pub fn fees_account(currency: Currency) -> AccountId {
    AccountId::new(format!("fees:{currency}"))
}

/// The FX position account of a currency: `fx:<CCY>`.
pub fn fx_account(currency: Currency) -> AccountId {
    AccountId::new(format!("fx:{currency}"))
}

/// What a transfer of a payment is for; its id is `<payment_id>/<leg>`, so a retried settlement
/// names the same transfers and can never post one twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Leg {
    /// sender → `fx:<SRC>`: the amount less the fee, in the source currency.
    Principal,
    /// sender → `fees:<SRC>`: the fee, in the source currency.
    Fee,
    /// `fx:<TGT>` → beneficiary: the target amount, in the target currency.
    Payout,
}

impl Leg {
    pub const ALL: [Leg; 3] = [Leg::Principal, Leg::Fee, Leg::Payout];

    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Principal => "principal",
            Leg::Fee => "fee",
            Leg::Payout => "payout",
        }
    }

    /// The id of this leg's transfer for a payment.
    pub fn transfer_id(self, payment_id: &str) -> String {
        format!("{payment_id}/{}", self.as_str())
    }
}

/// One amount moved from `debit_account` to `credit_account` in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: String,
    pub payment_id: PaymentId,
    pub debit_account: AccountId,
    pub credit_account: AccountId,
    /// Positive, at the currency's minor-unit scale.
    pub amount: Decimal,
    pub currency: Currency,
    pub posted_at: DateTime<Utc>,
}

impl Transfer {
    /// Why this transfer could not be posted, if it is malformed: the amount must be positive
    /// and the two accounts different.
    pub fn defect(&self) -> Option<String> {
        if self.amount <= Decimal::ZERO {
            Some(format!(
                "transfer {} moves {} {}: a transfer's amount must be positive",
                self.id, self.amount, self.currency
            ))
        } else if self.debit_account == self.credit_account {
            Some(format!(
                "transfer {} debits and credits the same account {:?}",
                self.id, self.debit_account
            ))
        } else {
            None
        }
    }
}

/// The transfers a payment posts when it settles, as its figures require (a zero fee posts no
/// fee transfer):
///
/// | leg | debit | credit | amount | currency |
/// |---|---|---|---|---|
/// | principal | sender account | `fx:<SRC>` | amount − fee | source |
/// | fee | sender account | `fees:<SRC>` | fee | source |
/// | payout | `fx:<TGT>` | beneficiary account | target amount | target |
///
/// `Unbalanced` if a figure is negative or the fee exceeds the amount (such a payment cannot be
/// posted), `UnknownCurrency` for a currency this build does not know.
pub fn transfers_for(
    payment: &Payment,
    posted_at: DateTime<Utc>,
) -> Result<Vec<Transfer>, DomainError> {
    let (src, tgt) = (payment.terms.source_currency, payment.terms.target_currency);
    let principal = payment.terms.amount - payment.terms.fee;
    if payment.terms.fee < Decimal::ZERO
        || principal < Decimal::ZERO
        || payment.terms.target_amount <= Decimal::ZERO
    {
        return Err(DomainError::Unbalanced(format!(
            "payment {} has amount {}, fee {} and target amount {}: nothing can be posted",
            payment.payment_id,
            payment.terms.amount,
            payment.terms.fee,
            payment.terms.target_amount
        )));
    }
    let sender = &payment.sender.account;
    let legs = [
        (
            Leg::Principal,
            sender.clone(),
            fx_account(src),
            principal,
            src,
        ),
        (
            Leg::Fee,
            sender.clone(),
            fees_account(src),
            payment.terms.fee,
            src,
        ),
        (
            Leg::Payout,
            fx_account(tgt),
            payment.beneficiary.account.clone(),
            payment.terms.target_amount,
            tgt,
        ),
    ];
    let transfers: Vec<Transfer> = legs
        .into_iter()
        .filter(|(_, _, _, amount, _)| *amount > Decimal::ZERO)
        .map(
            |(leg, debit_account, credit_account, amount, currency)| Transfer {
                id: leg.transfer_id(&payment.payment_id),
                payment_id: payment.payment_id.clone(),
                debit_account,
                credit_account,
                amount,
                currency,
                posted_at,
            },
        )
        .collect();
    match transfers.iter().find_map(Transfer::defect) {
        Some(defect) => Err(DomainError::Unbalanced(defect)),
        None => Ok(transfers),
    }
}

/// An account's position in one currency: what it was debited and credited in total, and the
/// net `balance` (credits − debits). Over all accounts of a book, the balances of a currency sum
/// to zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub account: AccountId,
    pub currency: Currency,
    pub debits: Decimal,
    pub credits: Decimal,
    pub balance: Decimal,
    /// How many transfers touched the account in this currency.
    pub transfers: u64,
}

impl Balance {
    /// An account with no transfers yet.
    pub fn zero(account: impl Into<AccountId>, currency: Currency) -> Balance {
        Balance {
            account: account.into(),
            currency,
            debits: Decimal::ZERO,
            credits: Decimal::ZERO,
            balance: Decimal::ZERO,
            transfers: 0,
        }
    }

    /// This balance after `change`.
    pub fn apply(&mut self, change: &BalanceChange) {
        self.debits += change.debits;
        self.credits += change.credits;
        self.balance = self.credits - self.debits;
        self.transfers += change.transfers;
    }
}

/// What a set of transfers adds to one account's balance in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalanceChange {
    pub debits: Decimal,
    pub credits: Decimal,
    pub transfers: u64,
}

impl BalanceChange {
    /// The change to the net balance: credits − debits.
    pub fn net(&self) -> Decimal {
        self.credits - self.debits
    }
}

/// The balance changes of `transfers`, by (account, currency code), in a stable order (the order
/// in which adapters lock or update them).
pub fn balance_changes(transfers: &[Transfer]) -> BTreeMap<(AccountId, Currency), BalanceChange> {
    let mut changes: BTreeMap<(AccountId, Currency), BalanceChange> = BTreeMap::new();
    for t in transfers {
        let debit = changes
            .entry((t.debit_account.clone(), t.currency))
            .or_default();
        debit.debits += t.amount;
        debit.transfers += 1;
        let credit = changes
            .entry((t.credit_account.clone(), t.currency))
            .or_default();
        credit.credits += t.amount;
        credit.transfers += 1;
    }
    changes
}

/// Why a set of transfers (one payment's, or a whole book's) does not balance, if it does not:
/// a malformed transfer, or a currency whose balance changes do not sum to zero. Transfers
/// balance by construction, so this finds only broken or hand-edited data.
pub fn imbalance(transfers: &[Transfer]) -> Option<String> {
    if let Some(defect) = transfers.iter().find_map(Transfer::defect) {
        return Some(defect);
    }
    let mut nets: BTreeMap<Currency, Decimal> = BTreeMap::new();
    for ((_, currency), change) in balance_changes(transfers) {
        *nets.entry(currency).or_default() += change.net();
    }
    nets.into_iter()
        .find(|(_, net)| !net.is_zero())
        .map(|(currency, net)| format!("{currency} balance changes sum to {net}, not 0"))
}

/// One thing wrong with a book, found by [`Reconciler`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    /// The balances of a currency do not sum to zero over all accounts.
    CurrencyDoesNotSumToZero { currency: Currency, sum: Decimal },
    /// A settled payment's transfers are not exactly the ones its figures require.
    SettledPaymentTransfers {
        payment_id: PaymentId,
        expected: Vec<String>,
        found: Vec<String>,
    },
    /// A payment that is not settled (or does not exist) has transfers.
    TransfersOfUnsettledPayment {
        payment_id: PaymentId,
        status: Option<PaymentStatus>,
        transfers: Vec<String>,
    },
    /// A stored balance is not the sum of its account's transfers.
    BalanceDiffers {
        account: AccountId,
        currency: Currency,
        stored: Option<Decimal>,
        from_transfers: Decimal,
    },
    /// A transfer that could not have been posted (see [`Transfer::defect`]).
    MalformedTransfer { transfer_id: String, defect: String },
    /// A settled payment whose transfers cannot be derived (its figures are broken).
    UnpostablePayment {
        payment_id: PaymentId,
        reason: String,
    },
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discrepancy::CurrencyDoesNotSumToZero { currency, sum } => {
                write!(
                    f,
                    "{currency} balances sum to {sum} over all accounts, not 0"
                )
            }
            Discrepancy::SettledPaymentTransfers {
                payment_id,
                expected,
                found,
            } => write!(
                f,
                "settled payment {payment_id} should have transfers [{}] but has [{}]",
                expected.join(", "),
                found.join(", ")
            ),
            Discrepancy::TransfersOfUnsettledPayment {
                payment_id,
                status,
                transfers,
            } => {
                let status = status.map_or("no such payment".to_string(), |s| s.to_string());
                write!(
                    f,
                    "payment {payment_id} ({status}) is not settled but has transfers [{}]",
                    transfers.join(", ")
                )
            }
            Discrepancy::BalanceDiffers {
                account,
                currency,
                stored,
                from_transfers,
            } => {
                let stored = stored.map_or("no balance".to_string(), |s| s.to_string());
                write!(
                    f,
                    "account {account:?} in {currency}: stored balance {stored}, its transfers sum to {from_transfers}"
                )
            }
            Discrepancy::MalformedTransfer { defect, .. } => f.write_str(defect),
            Discrepancy::UnpostablePayment { payment_id, reason } => {
                write!(f, "settled payment {payment_id} cannot be posted: {reason}")
            }
        }
    }
}

/// What a reconciliation read and found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub payments: u64,
    pub settled: u64,
    pub transfers: u64,
    pub balances: u64,
    /// Per currency, the sum of all accounts' balances (0 in a sound book).
    pub currencies: BTreeMap<Currency, Decimal>,
    pub discrepancies: Vec<Discrepancy>,
}

impl Reconciliation {
    pub fn is_balanced(&self) -> bool {
        self.discrepancies.is_empty()
    }
}

/// Checks a book: every currency sums to zero over all accounts, every SETTLED payment has
/// exactly its transfers, no other payment has any, and each balance equals the sum of its
/// transfers. Fed by an adapter that reads everything once, in any order; holds the transfers'
/// ids per payment and one sum per account and currency.
#[derive(Debug, Default)]
pub struct Reconciler {
    payments: u64,
    settled: u64,
    balances_read: u64,
    /// Per payment id: its status, and for a settled one the transfers it requires.
    expected: BTreeMap<PaymentId, (PaymentStatus, Vec<Transfer>)>,
    found: BTreeMap<PaymentId, Vec<Transfer>>,
    transfers: u64,
    sums: BTreeMap<(AccountId, Currency), BalanceChange>,
    stored: BTreeMap<(AccountId, Currency), Balance>,
    discrepancies: Vec<Discrepancy>,
}

impl Reconciler {
    pub fn new() -> Reconciler {
        Reconciler::default()
    }

    pub fn payment(&mut self, payment: &Payment) {
        self.payments += 1;
        let mut required = Vec::new();
        if payment.status == PaymentStatus::Settled {
            self.settled += 1;
            let posted_at = payment
                .settlement
                .as_ref()
                .map_or(payment.updated_at, |s| s.posted_at);
            match transfers_for(payment, posted_at) {
                Ok(t) => required = t,
                Err(e) => self.discrepancies.push(Discrepancy::UnpostablePayment {
                    payment_id: payment.payment_id.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        self.expected
            .insert(payment.payment_id.clone(), (payment.status, required));
    }

    pub fn transfer(&mut self, transfer: &Transfer) {
        self.transfers += 1;
        if let Some(defect) = transfer.defect() {
            self.discrepancies.push(Discrepancy::MalformedTransfer {
                transfer_id: transfer.id.clone(),
                defect,
            });
        }
        for (key, change) in balance_changes(std::slice::from_ref(transfer)) {
            let sum = self.sums.entry(key).or_default();
            sum.debits += change.debits;
            sum.credits += change.credits;
            sum.transfers += change.transfers;
        }
        self.found
            .entry(transfer.payment_id.clone())
            .or_default()
            .push(transfer.clone());
    }

    pub fn balance(&mut self, balance: &Balance) {
        self.balances_read += 1;
        self.stored
            .insert((balance.account.clone(), balance.currency), balance.clone());
    }

    pub fn finish(mut self) -> Reconciliation {
        self.check_payments();
        let currencies = self.check_balances();
        Reconciliation {
            payments: self.payments,
            settled: self.settled,
            transfers: self.transfers,
            balances: self.balances_read,
            currencies,
            discrepancies: self.discrepancies,
        }
    }

    fn check_payments(&mut self) {
        let ids = |ts: &[Transfer]| ts.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
        let payment_ids: BTreeSet<PaymentId> = self
            .expected
            .keys()
            .chain(self.found.keys())
            .cloned()
            .collect();
        for payment_id in payment_ids {
            let mut found = self.found.remove(&payment_id).unwrap_or_default();
            found.sort_by(|a, b| a.id.cmp(&b.id));
            match self.expected.get(&payment_id) {
                Some((PaymentStatus::Settled, required)) => {
                    let mut required = required.clone();
                    required.sort_by(|a, b| a.id.cmp(&b.id));
                    if found != required {
                        self.discrepancies
                            .push(Discrepancy::SettledPaymentTransfers {
                                payment_id,
                                expected: ids(&required),
                                found: ids(&found),
                            });
                    }
                }
                other if !found.is_empty() => {
                    self.discrepancies
                        .push(Discrepancy::TransfersOfUnsettledPayment {
                            payment_id,
                            status: other.map(|(s, _)| *s),
                            transfers: ids(&found),
                        })
                }
                _ => {}
            }
        }
    }

    fn check_balances(&mut self) -> BTreeMap<Currency, Decimal> {
        let mut currencies: BTreeMap<Currency, Decimal> = BTreeMap::new();
        let keys: BTreeSet<(AccountId, Currency)> = self
            .sums
            .keys()
            .chain(self.stored.keys())
            .cloned()
            .collect();
        for key in keys {
            let sum = self.sums.get(&key).cloned().unwrap_or_default();
            let stored = self.stored.get(&key);
            *currencies.entry(key.1).or_default() += stored.map_or(Decimal::ZERO, |b| b.balance);
            let mut expected = Balance::zero(key.0.clone(), key.1);
            expected.apply(&sum);
            if stored != Some(&expected) {
                self.discrepancies.push(Discrepancy::BalanceDiffers {
                    account: key.0,
                    currency: key.1,
                    stored: stored.map(|b| b.balance),
                    from_transfers: sum.net(),
                });
            }
        }
        for (currency, sum) in &currencies {
            if !sum.is_zero() {
                self.discrepancies
                    .push(Discrepancy::CurrencyDoesNotSumToZero {
                        currency: *currency,
                        sum: *sum,
                    });
            }
        }
        currencies
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::currency;
    use crate::payment::Settlement;
    use crate::payment::tests::payment;
    use crate::quote::tests::t0;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn settled(source: &str, target: &str, amount: &str) -> (Payment, Vec<Transfer>) {
        let mut p = payment(source, target, amount);
        let transfers = transfers_for(&p, t0()).unwrap();
        p.status = PaymentStatus::Settled;
        p.settlement = Some(Settlement {
            posted_at: t0(),
            transfers: transfers.clone(),
        });
        (p, transfers)
    }

    fn book(payments: &[Payment], transfers: &[Transfer]) -> Reconciler {
        let mut r = Reconciler::new();
        payments.iter().for_each(|p| r.payment(p));
        transfers.iter().for_each(|t| r.transfer(t));
        let mut balances: BTreeMap<(AccountId, Currency), Balance> = BTreeMap::new();
        for ((account, currency), change) in balance_changes(transfers) {
            balances
                .entry((account.clone(), currency))
                .or_insert_with(|| Balance::zero(account, currency))
                .apply(&change);
        }
        balances.values().for_each(|b| r.balance(b));
        r
    }

    #[test]
    fn transfers_of_a_usd_eur_payment() {
        let p = payment("USD", "EUR", "1000");
        let t = transfers_for(&p, t0()).unwrap();
        let row = |t: &Transfer| {
            (
                t.id.clone(),
                t.debit_account.clone(),
                t.credit_account.clone(),
                t.amount.to_string(),
                t.currency.code,
            )
        };
        assert_eq!(
            t.iter().map(row).collect::<Vec<_>>(),
            vec![
                (
                    "p-1/principal".into(),
                    "GB29NWBK60161331926819".into(),
                    "fx:USD".into(),
                    "997.50".into(),
                    "USD"
                ),
                (
                    "p-1/fee".into(),
                    "GB29NWBK60161331926819".into(),
                    "fees:USD".into(),
                    "2.50".into(),
                    "USD"
                ),
                (
                    "p-1/payout".into(),
                    "fx:EUR".into(),
                    "FR7630006000011234567890189".into(),
                    "910.00".into(),
                    "EUR"
                ),
            ]
        );
        let json = serde_json::to_value(&t[0]).unwrap();
        assert_eq!(json["amount"], "997.50");
        assert_eq!(json["currency"], "USD");
        let back: Transfer = serde_json::from_value(json).unwrap();
        assert_eq!(back, t[0]);
    }

    #[test]
    fn a_zero_fee_posts_no_fee_transfer_and_bad_figures_post_nothing() {
        let mut p = payment("USD", "EUR", "1000");
        p.terms.fee = d("0.00");
        let t = transfers_for(&p, t0()).unwrap();
        assert_eq!(t.len(), 2);
        assert!(t.iter().all(|t| !t.id.ends_with("/fee")));
        p.terms.fee = d("1000.01");
        assert_eq!(
            transfers_for(&p, t0()).unwrap_err().code(),
            "ledger_unbalanced"
        );
    }

    #[test]
    fn balances_change_by_account_and_currency() {
        let (_, t) = settled("USD", "EUR", "1000");
        let changes = balance_changes(&t);
        let usd = currency("USD").unwrap();
        let sender = &changes[&(AccountId::new("GB29NWBK60161331926819"), usd)];
        assert_eq!(
            (sender.debits, sender.net(), sender.transfers),
            (d("1000.00"), d("-1000.00"), 2)
        );
        assert_eq!(changes[&(AccountId::new("fx:USD"), usd)].net(), d("997.50"));
        let mut by_currency: BTreeMap<Currency, Decimal> = BTreeMap::new();
        for ((_, c), change) in &changes {
            *by_currency.entry(*c).or_default() += change.net();
        }
        assert!(by_currency.values().all(|v| v.is_zero()));
    }

    #[test]
    fn a_sound_book_reconciles() {
        let (a, ta) = settled("USD", "EUR", "1000");
        let (mut b, mut tb) = settled("JPY", "USD", "60000");
        b.payment_id = "p-2".into();
        tb.iter_mut().for_each(|t| {
            t.payment_id = "p-2".into();
            t.id = t.id.replace("p-1", "p-2");
        });
        let mut pending = payment("USD", "GBP", "5");
        pending.payment_id = "p-3".into();
        let all: Vec<Transfer> = ta.into_iter().chain(tb).collect();
        let r = book(&[a, b, pending], &all).finish();
        assert!(r.is_balanced(), "{:?}", r.discrepancies);
        assert_eq!((r.payments, r.settled, r.transfers), (3, 2, 6));
        assert!(r.currencies.values().all(|s| s.is_zero()));
    }

    #[test]
    fn every_kind_of_corruption_is_found() {
        let (p, t) = settled("USD", "EUR", "1000");
        // A transfer missing.
        let r = book(std::slice::from_ref(&p), &t[..2]).finish();
        assert!(matches!(
            r.discrepancies[..],
            [Discrepancy::SettledPaymentTransfers { .. }]
        ));
        // Transfers of a payment that is not settled.
        let mut unsettled = p.clone();
        unsettled.status = PaymentStatus::Failed;
        let r = book(&[unsettled], &t).finish();
        assert!(
            r.discrepancies[0]
                .to_string()
                .contains("(FAILED) is not settled"),
            "{}",
            r.discrepancies[0]
        );
        // A balance edited: it differs from its transfers and its currency no longer sums to 0.
        let mut r = book(std::slice::from_ref(&p), &t);
        let key = (AccountId::new("fx:USD"), currency("USD").unwrap());
        let mut edited = r.stored[&key].clone();
        edited.balance += d("0.01");
        r.balance(&edited);
        let found = r.finish().discrepancies;
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].to_string().contains("stored balance 997.51"),
            "{}",
            found[0]
        );
        assert!(
            found[1].to_string().contains("USD balances sum to 0.01"),
            "{}",
            found[1]
        );
        // An amount edited in a transfer.
        let mut bad = t.clone();
        bad[0].amount = d("-1");
        let r = book(std::slice::from_ref(&p), &bad).finish();
        assert!(
            r.discrepancies
                .iter()
                .any(|d| matches!(d, Discrepancy::MalformedTransfer { .. }))
        );
    }
}
