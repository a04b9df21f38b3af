//! How the ledger is laid out as DynamoDB items in its own table (`EVENTPAY_LEDGER_TABLE`),
//! string partition key `pk` and string sort key `sk`:
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | a transfer | `TRANSFER#<transfer id>` | `TRANSFER` | `kind` = `transfer`, `transfer` (its JSON) |
//! | each side's copy of it | `ACCOUNT#<account>` (`ACCOUNT#<account>#<shard>` for `fx:`/`fees:`) | `T#<posted_at, RFC 3339 ns>#<transfer id>` | `kind` = `account_transfer`, `transfer` |
//! | a balance | the same partition | `BALANCE#<CCY>` | `kind` = `balance`, `account`, `currency`, `debits`, `credits`, `balance`, `transfers` (numbers) |
//!
//! The transfer item is the one that makes a transfer id unique (written with
//! `attribute_not_exists`) and the one reconciliation reads; the two copies under the accounts
//! let one `Query` on `ACCOUNT#<account>`, `begins_with(sk, "T#")`, descending, page an
//! account's transfers newest first, and the same partition holds the account's balances
//! (`begins_with(sk, "BALANCE#")`). Balances are numbers changed with `ADD`, so concurrent
//! settlements touching one account never overwrite each other; DynamoDB numbers are exact
//! decimals (38 digits), read back at the currency's minor-unit scale.
//!
//! The internal accounts (`fx:<CCY>`, `fees:<CCY>`) take a change from every payment in their
//! currency, and concurrent transactions on one item cancel each other (`TransactionConflict`)
//! while one partition takes at most 1,000 write units a second (and a time-ordered sort key
//! never splits for heat): they are split over [`INTERNAL_SHARDS`] partitions, the shard a
//! hash of the payment id, each with its part of the balance and of the transfer copies; reads
//! sum the balances ([`sum_balances`]) and merge the copies newest first. A party's account
//! keeps one partition.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eventpay_core::{Balance, Currency, Decimal, ListShards, StoreError, Transfer, currency};
use serde::{Deserialize, Serialize};

use crate::error::AwsError;
use crate::items::{Item, s, string_attr, timestamp};

/// Partition key of every ledger item.
pub const PK: &str = "pk";
/// Sort key of every ledger item.
pub const SK: &str = "sk";
pub const KIND: &str = "kind";
pub const KIND_TRANSFER: &str = "transfer";
pub const KIND_ACCOUNT_TRANSFER: &str = "account_transfer";
pub const KIND_BALANCE: &str = "balance";
/// The transfer's JSON (the core's serde shape), on the transfer item and its copies.
pub const TRANSFER: &str = "transfer";
pub const ACCOUNT: &str = "account";
pub const CURRENCY: &str = "currency";
pub const DEBITS: &str = "debits";
pub const CREDITS: &str = "credits";
pub const BALANCE: &str = "balance";
pub const TRANSFERS: &str = "transfers";

/// The sort key of the transfer item itself.
pub const SK_TRANSFER: &str = "TRANSFER";
/// The prefix of the sort keys of an account's transfer copies.
pub const SK_TRANSFERS_PREFIX: &str = "T#";
/// The prefix of the sort keys of an account's balances.
pub const SK_BALANCE_PREFIX: &str = "BALANCE#";

pub fn account_pk(account: &str) -> String {
    format!("ACCOUNT#{account}")
}

pub fn transfer_pk(transfer_id: &str) -> String {
    format!("TRANSFER#{transfer_id}")
}

/// Partitions an internal account is split over.
pub const INTERNAL_SHARDS: ListShards = ListShards::DEFAULT;

/// `fx:<CCY>` or `fees:<CCY>`: an account of the book itself (party accounts are canonical, in
/// capitals, so never start so).
pub fn is_internal(account: &str) -> bool {
    account.starts_with("fx:") || account.starts_with("fees:")
}

pub fn balance_sk(currency: Currency) -> String {
    format!("{SK_BALANCE_PREFIX}{}", currency.code)
}

/// `T#<posted_at>#<id>`: fixed-width time first, so sort order is time order (ties by id).
pub fn account_transfer_sk(t: &Transfer) -> String {
    format!("{SK_TRANSFERS_PREFIX}{}#{}", timestamp(t.posted_at), t.id)
}

pub fn n(d: Decimal) -> AttributeValue {
    AttributeValue::N(d.to_string())
}

fn transfer_json(t: &Transfer) -> Result<String, AwsError> {
    serde_json::to_string(t).map_err(|e| AwsError::Corrupt(format!("transfer to JSON: {e}")))
}

/// The transfer item: written once, conditional on not existing.
pub fn transfer_item(t: &Transfer) -> Result<Item, AwsError> {
    Ok(HashMap::from([
        (PK.into(), s(transfer_pk(&t.id))),
        (SK.into(), s(SK_TRANSFER)),
        (KIND.into(), s(KIND_TRANSFER)),
        (TRANSFER.into(), s(transfer_json(t)?)),
    ]))
}

/// The copies of a transfer under its debit and its credit account.
pub fn account_transfer_items(t: &Transfer) -> Result<[Item; 2], AwsError> {
    let json = transfer_json(t)?;
    let copy = |account: &str| {
        HashMap::from([
            (PK.into(), s(partition_of(account, &t.payment_id))),
            (SK.into(), s(account_transfer_sk(t))),
            (KIND.into(), s(KIND_ACCOUNT_TRANSFER)),
            (TRANSFER.into(), s(json.clone())),
        ])
    };
    Ok([copy(&t.debit_account), copy(&t.credit_account)])
}

/// The key of the balance item of `account` in `currency` that `payment_id`'s settlement changes.
/// The partition of `account` that `payment_id`'s settlement writes (its copies of the
/// payment's transfers and the balance they change): `ACCOUNT#<account>`, or
/// `ACCOUNT#<account>#<shard>` (two digits) for an internal account.
pub fn partition_of(account: &str, payment_id: &str) -> String {
    if is_internal(account) {
        format!(
            "{}#{:02}",
            account_pk(account),
            INTERNAL_SHARDS.of(payment_id)
        )
    } else {
        account_pk(account)
    }
}

/// Every partition of `account`.
pub fn partitions(account: &str) -> Vec<String> {
    if is_internal(account) {
        INTERNAL_SHARDS
            .all()
            .map(|shard| format!("{}#{shard:02}", account_pk(account)))
            .collect()
    } else {
        vec![account_pk(account)]
    }
}

pub fn balance_key(account: &str, currency: Currency, payment_id: &str) -> Item {
    HashMap::from([
        (PK.into(), s(partition_of(account, payment_id))),
        (SK.into(), s(balance_sk(currency))),
    ])
}

/// The balances of accounts from their items: the shards of an account's balance in one
/// currency added up, by account and currency.
pub fn sum_balances(items: impl IntoIterator<Item = Balance>) -> Vec<Balance> {
    let mut sums: BTreeMap<(eventpay_core::AccountId, Currency), Balance> = BTreeMap::new();
    for b in items {
        match sums.get_mut(&(b.account.clone(), b.currency)) {
            Some(sum) => {
                sum.debits += b.debits;
                sum.credits += b.credits;
                sum.balance += b.balance;
                sum.transfers += b.transfers;
            }
            None => {
                sums.insert((b.account.clone(), b.currency), b);
            }
        }
    }
    sums.into_values().collect()
}

pub fn transfer_from_item(item: &Item) -> Result<Transfer, AwsError> {
    let json = string_attr(item, TRANSFER)?;
    serde_json::from_str(json).map_err(|e| AwsError::Corrupt(format!("stored transfer JSON: {e}")))
}

fn decimal_attr(item: &Item, name: &str) -> Result<Decimal, AwsError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse::<Decimal>().map_err(|e| {
            AwsError::Corrupt(format!(
                "ledger item {:?}: {name} {v:?} is not a decimal: {e}",
                item.get(PK)
            ))
        }),
        _ => Err(AwsError::Corrupt(format!(
            "ledger item {:?} has no number attribute {name:?}",
            item.get(PK)
        ))),
    }
}

/// A balance item as the core's `Balance`, amounts at the currency's scale (DynamoDB returns
/// numbers normalised: `997.5` for `997.50`).
pub fn balance_from_item(item: &Item) -> Result<Balance, AwsError> {
    let currency = currency(string_attr(item, CURRENCY)?)
        .map_err(|e| AwsError::Corrupt(format!("ledger balance item: {e}")))?;
    let scaled = |name: &str| {
        decimal_attr(item, name).map(|mut d| {
            // Only widen: a stored amount finer than the currency allows is shown as it is,
            // for reconciliation to report rather than to round away.
            if d.scale() < currency.minor_units {
                d.rescale(currency.minor_units);
            }
            d
        })
    };
    let transfers = decimal_attr(item, TRANSFERS)?;
    Ok(Balance {
        account: string_attr(item, ACCOUNT)?.into(),
        currency,
        debits: scaled(DEBITS)?,
        credits: scaled(CREDITS)?,
        balance: scaled(BALANCE)?,
        transfers: u64::try_from(transfers).map_err(|_| {
            AwsError::Corrupt(format!(
                "ledger balance item {:?}: transfers {transfers} is not a count",
                item.get(PK)
            ))
        })?,
    })
}

/// What an account page's cursor holds: the account and the sort key of the last transfer copy
/// handed out. Opaque to clients (base64url JSON); the next page starts after that item.
#[derive(Serialize, Deserialize)]
struct Cursor {
    account: String,
    sk: String,
}

pub fn encode_account_cursor(account: &str, sk: &str) -> String {
    let json = serde_json::json!({"account": account, "sk": sk});
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// The sort key a cursor of `account`'s pages stands for (the next page is what every copy
/// partition holds below it); a cursor of another account, or one not handed out by this API,
/// is `invalid_field`.
pub fn decode_account_cursor(account: &str, cursor: &str) -> Result<String, StoreError> {
    let invalid = StoreError::invalid_cursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if c.account != account || !c.sk.starts_with(SK_TRANSFERS_PREFIX) {
        return Err(invalid());
    }
    Ok(c.sk)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// A fee transfer of `p-1` (shared by the ledger modules' tests).
    pub(crate) fn transfer() -> Transfer {
        Transfer {
            id: "p-1/fee".into(),
            payment_id: "p-1".into(),
            debit_account: "ACC-1".into(),
            credit_account: "fees:USD".into(),
            amount: "2.50".parse().unwrap(),
            currency: currency("USD").unwrap(),
            posted_at: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_transfer_and_its_copies() {
        let t = transfer();
        let item = transfer_item(&t).unwrap();
        assert_eq!(item[PK], s("TRANSFER#p-1/fee"));
        assert_eq!(transfer_from_item(&item).unwrap(), t);
        let [debit, credit] = account_transfer_items(&t).unwrap();
        assert_eq!(debit[PK], s("ACCOUNT#ACC-1"));
        let shard = INTERNAL_SHARDS.of("p-1");
        assert_eq!(credit[PK], s(format!("ACCOUNT#fees:USD#{shard:02}")));
        assert_eq!(partitions("ACC-1"), ["ACCOUNT#ACC-1"]);
        assert_eq!(
            debit[SK],
            s("T#2026-11-01T12:00:00.000000000Z#p-1/fee"),
            "time first, fixed width"
        );
        assert_eq!(transfer_from_item(&credit).unwrap(), t);
    }

    #[test]
    fn balances_read_back_at_the_currency_scale() {
        let mut item = balance_key("fx:USD", currency("USD").unwrap(), "p-1");
        item.extend([
            (KIND.into(), s(KIND_BALANCE)),
            (ACCOUNT.into(), s("fx:USD")),
            (CURRENCY.into(), s("USD")),
            (DEBITS.into(), AttributeValue::N("0".into())),
            (CREDITS.into(), AttributeValue::N("997.5".into())),
            (BALANCE.into(), AttributeValue::N("997.5".into())),
            (TRANSFERS.into(), AttributeValue::N("1".into())),
        ]);
        let b = balance_from_item(&item).unwrap();
        assert_eq!(b.balance.to_string(), "997.50");
        assert_eq!(b.debits.to_string(), "0.00");
        assert_eq!(b.transfers, 1);
        item.insert(TRANSFERS.into(), AttributeValue::N("-1".into()));
        assert!(balance_from_item(&item).is_err());
    }

    #[test]
    fn internal_accounts_are_sharded_and_summed() {
        let usd = currency("USD").unwrap();
        assert_eq!(balance_key("ACC-1", usd, "p-1")[PK], s("ACCOUNT#ACC-1"));
        let shards: std::collections::BTreeSet<String> = (0..64)
            .map(|i| partition_of("fx:USD", &format!("p-{i}")))
            .collect();
        assert!(shards.len() > 8, "{shards:?}");
        assert!(shards.iter().all(|pk| partitions("fx:USD").contains(pk)));
        assert_eq!(partitions("fx:USD").len(), 16);
        let part = |debits: &str, n| Balance {
            account: "fx:USD".into(),
            currency: usd,
            debits: debits.parse().unwrap(),
            credits: Decimal::ZERO,
            balance: -debits.parse::<Decimal>().unwrap(),
            transfers: n,
        };
        let summed = sum_balances([part("1.50", 1), part("2.25", 2)]);
        assert_eq!(summed, vec![part("3.75", 3)]);
    }

    #[test]
    fn cursors_belong_to_one_account() {
        let c = encode_account_cursor("ACC-1", "T#x#p-1/fee");
        assert_eq!(decode_account_cursor("ACC-1", &c).unwrap(), "T#x#p-1/fee");
        for (account, bad) in [
            ("ACC-2", c.as_str()),
            ("ACC-1", "!!"),
            ("ACC-1", &encode_account_cursor("ACC-1", "BALANCE#USD")),
        ] {
            assert_eq!(
                decode_account_cursor(account, bad).unwrap_err().code(),
                "invalid_field"
            );
        }
    }
}
