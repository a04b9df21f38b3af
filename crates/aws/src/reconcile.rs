//! Reconciliation of the book on AWS: reads every payment (the payments table) and every
//! transfer and balance (the ledger table) with paged `Scan`s and feeds the core's
//! `Reconciler`. Used by the `eventpay-ledger-check-aws` binary (crates/lambdas).
//!
//! Payments settled before the ledger table existed carry the legacy `ledger_entries` and have
//! no transfers: they are reported as `settled_payment_transfers` discrepancies. There is no
//! migration on AWS.
//!
//! Also checks what the core cannot see: every transfer has exactly its two account copies
//! (the items the account read pages), equal to it.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::Client;
use eventpay_core::{Reconciler, Reconciliation, Transfer};
use serde::Serialize;

use crate::error::AwsError;
use crate::items::{self, Item, string_attr};
use crate::ledger_items::{self, KIND_ACCOUNT_TRANSFER, KIND_BALANCE, KIND_TRANSFER};

/// A transfer whose account copies are not exactly its debit and credit side, equal to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyDiscrepancy {
    pub transfer_id: String,
    /// What is wrong, e.g. "1 account copy, not 2" or "the copy under ACC-1 differs".
    pub problem: String,
}

impl std::fmt::Display for CopyDiscrepancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "transfer {}: {}", self.transfer_id, self.problem)
    }
}

/// What a check of the AWS book found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub reconciliation: Reconciliation,
    /// Transfers whose account copies are wrong (beside the core's discrepancies).
    pub copy_discrepancies: Vec<CopyDiscrepancy>,
}

impl Report {
    pub fn is_balanced(&self) -> bool {
        self.reconciliation.is_balanced() && self.copy_discrepancies.is_empty()
    }
}

/// Reads the whole book (payments table and ledger table) and reconciles it.
pub async fn check(
    client: &Client,
    payments_table: &str,
    ledger_table: &str,
) -> Result<Report, AwsError> {
    let mut reconciler = Reconciler::new();
    read_payments(client, payments_table, &mut reconciler).await?;
    let copy_discrepancies = read_ledger(client, ledger_table, &mut reconciler).await?;
    Ok(Report {
        reconciliation: reconciler.finish(),
        copy_discrepancies,
    })
}

/// Calls `each` with every item of `table`, page by page (consistent reads, so a check run
/// right after a write sees it).
pub async fn scan_all(
    client: &Client,
    table: &str,
    mut each: impl FnMut(&Item) -> Result<(), AwsError>,
) -> Result<(), AwsError> {
    let mut start: Option<Item> = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| AwsError::sdk("Scan", e))?;
        for item in out.items() {
            each(item)?;
        }
        match out.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return Ok(()),
        }
    }
}

/// Feeds `reconciler` every payment of the payments table (idempotency and quote items
/// skipped).
pub async fn read_payments(
    client: &Client,
    table: &str,
    reconciler: &mut Reconciler,
) -> Result<(), AwsError> {
    scan_all(client, table, |item| {
        if string_attr(item, items::KIND)? == items::KIND_PAYMENT {
            reconciler.payment(&items::payment_from_item(item)?);
        }
        Ok(())
    })
    .await
}

/// Feeds `reconciler` every transfer and balance of the ledger table, and returns what is
/// wrong with the transfers' account copies.
pub async fn read_ledger(
    client: &Client,
    table: &str,
    reconciler: &mut Reconciler,
) -> Result<Vec<CopyDiscrepancy>, AwsError> {
    let mut transfers: BTreeMap<String, Transfer> = BTreeMap::new();
    let mut balances = Vec::new();
    let mut copies: BTreeMap<String, Vec<(String, Transfer)>> = BTreeMap::new();
    scan_all(client, table, |item| {
        match string_attr(item, ledger_items::KIND)? {
            KIND_TRANSFER => {
                let t = ledger_items::transfer_from_item(item)?;
                reconciler.transfer(&t);
                transfers.insert(t.id.clone(), t);
            }
            KIND_ACCOUNT_TRANSFER => {
                let t = ledger_items::transfer_from_item(item)?;
                let pk = string_attr(item, ledger_items::PK)?.to_owned();
                copies.entry(t.id.clone()).or_default().push((pk, t));
            }
            KIND_BALANCE => balances.push(ledger_items::balance_from_item(item)?),
            other => {
                return Err(AwsError::Corrupt(format!(
                    "ledger item {:?} has unknown kind {other:?}",
                    item.get(ledger_items::PK)
                )));
            }
        }
        Ok(())
    })
    .await?;
    // An internal account's balance is several items: the reconciler sees their sum.
    for balance in ledger_items::sum_balances(balances) {
        reconciler.balance(&balance);
    }
    Ok(copy_discrepancies(&transfers, &copies))
}

fn copy_discrepancies(
    transfers: &BTreeMap<String, Transfer>,
    copies: &BTreeMap<String, Vec<(String, Transfer)>>,
) -> Vec<CopyDiscrepancy> {
    let mut found = Vec::new();
    let problem = |id: &str, problem: String| CopyDiscrepancy {
        transfer_id: id.to_owned(),
        problem,
    };
    for (id, t) in transfers {
        let of = copies.get(id).map(Vec::as_slice).unwrap_or_default();
        let mut sides = vec![
            ledger_items::partition_of(&t.debit_account, &t.payment_id),
            ledger_items::partition_of(&t.credit_account, &t.payment_id),
        ];
        sides.sort();
        let mut held: Vec<String> = of.iter().map(|(pk, _)| pk.clone()).collect();
        held.sort();
        if held != sides {
            found.push(problem(
                id,
                format!(
                    "account copies under [{}], not [{}]",
                    held.join(", "),
                    sides.join(", ")
                ),
            ));
        } else if let Some((pk, _)) = of.iter().find(|(_, copy)| copy != t) {
            found.push(problem(id, format!("the copy under {pk} differs from it")));
        }
    }
    for id in copies.keys().filter(|id| !transfers.contains_key(*id)) {
        found.push(problem(
            id,
            "account copies of a transfer that does not exist".into(),
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_must_be_both_sides_and_equal() {
        let t = crate::ledger_items::tests::transfer();
        let transfers = BTreeMap::from([(t.id.clone(), t.clone())]);
        let both = vec![
            ("ACCOUNT#ACC-1".to_string(), t.clone()),
            (
                crate::ledger_items::partition_of("fees:USD", "p-1"),
                t.clone(),
            ),
        ];
        let copies = BTreeMap::from([(t.id.clone(), both.clone())]);
        assert!(copy_discrepancies(&transfers, &copies).is_empty());
        let one = BTreeMap::from([(t.id.clone(), both[..1].to_vec())]);
        assert_eq!(copy_discrepancies(&transfers, &one).len(), 1);
        let mut edited = both.clone();
        edited[1].1.amount = "3".parse().unwrap();
        let edited = BTreeMap::from([(t.id.clone(), edited)]);
        assert!(
            copy_discrepancies(&transfers, &edited)[0]
                .problem
                .contains("differs")
        );
        assert!(
            copy_discrepancies(&BTreeMap::new(), &copies)[0]
                .problem
                .contains("does not exist")
        );
    }
}
