//! The ledger table's reads: `DynamoLedger` implements the core's `Ledger` port (an account's
//! balances and a page of its transfers, newest first, with an opaque cursor) over the layout
//! of crates/aws/src/ledger_items.rs: an internal account's partitions are queried at once, their
//! balances summed and their transfers merged newest first. The writes are `DynamoStore::settle`'s.

use aws_sdk_dynamodb::Client;
use eventpay_core::{AccountPage, Balance, Ledger, StoreError, Transfer};
use futures_util::future::try_join_all;

use crate::error::AwsError;
use crate::items::{Item, s, string_attr};
use crate::ledger_items::{
    self, PK, SK, SK_BALANCE_PREFIX, SK_TRANSFERS_PREFIX, encode_account_cursor,
};

#[derive(Clone, Debug)]
pub struct DynamoLedger {
    client: Client,
    table: String,
}

impl DynamoLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLedger {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Every balance of `account`, one per currency it used: the balance items of all its
    /// partitions, summed (few items, but paged all the same).
    async fn balances(&self, account: &str) -> Result<Vec<Balance>, AwsError> {
        let reads = ledger_items::partitions(account)
            .into_iter()
            .map(|partition| self.balance_items(partition));
        let items: Vec<Balance> = try_join_all(reads).await?.concat();
        Ok(ledger_items::sum_balances(items))
    }

    async fn balance_items(&self, partition: String) -> Result<Vec<Balance>, AwsError> {
        let mut balances = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(&partition))
                .expression_attribute_values(":prefix", s(SK_BALANCE_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| AwsError::sdk("Query", e))?;
            for item in out.items() {
                balances.push(ledger_items::balance_from_item(item)?);
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(balances),
            }
        }
    }

    /// Up to `want` copies of one partition, newest first, strictly below `before`.
    async fn copies(
        &self,
        partition: &str,
        before: Option<&str>,
        want: usize,
    ) -> Result<Vec<(String, Transfer)>, AwsError> {
        let mut found: Vec<(String, Transfer)> = Vec::with_capacity(want);
        let mut start: Option<Item> = None;
        loop {
            // BETWEEN is inclusive: the cursor's own item comes back first and is skipped, so
            // one more is asked for. (A party's partition also holds its balances, which sort
            // before "T#": the range keeps them out.)
            let (condition, high) = match before {
                Some(b) => ("#pk = :pk AND #sk BETWEEN :prefix AND :before", Some(b)),
                None => ("#pk = :pk AND begins_with(#sk, :prefix)", None),
            };
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(partition))
                .expression_attribute_values(":prefix", s(SK_TRANSFERS_PREFIX))
                .scan_index_forward(false)
                .limit(i32::try_from(want + 1 - found.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            if let Some(high) = high {
                query = query.expression_attribute_values(":before", s(high));
            }
            let out = query.send().await.map_err(|e| AwsError::sdk("Query", e))?;
            for item in out.items() {
                let sk = string_attr(item, SK)?;
                if Some(sk) != before && found.len() < want {
                    found.push((sk.to_owned(), ledger_items::transfer_from_item(item)?));
                }
            }
            // A query also ends early at 1 MB read; go on from where it stopped.
            match out.last_evaluated_key {
                Some(key) if found.len() < want => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    /// Up to `limit` transfers of `account` below the cursor's sort key, newest first, and
    /// whether more exist: every copy partition of the account read at once and merged.
    async fn transfers(
        &self,
        account: &str,
        limit: usize,
        before: Option<&str>,
    ) -> Result<(Vec<(String, Transfer)>, bool), AwsError> {
        // One item more than asked tells whether another page exists, as the payments list does;
        // the newest `want` of all partitions are among the newest `want` of each.
        let want = limit + 1;
        let partitions = ledger_items::partitions(account);
        let reads = partitions.iter().map(|p| self.copies(p, before, want));
        let mut found: Vec<(String, Transfer)> = try_join_all(reads).await?.concat();
        found.sort_by(|a, b| b.0.cmp(&a.0));
        let more = found.len() > limit;
        found.truncate(limit);
        Ok((found, more))
    }
}

impl Ledger for DynamoLedger {
    async fn account(
        &self,
        account: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<AccountPage, StoreError> {
        let before = cursor
            .map(|c| ledger_items::decode_account_cursor(account, c))
            .transpose()?;
        let balances = self.balances(account).await?;
        let (transfers, more) = self
            .transfers(account, limit as usize, before.as_deref())
            .await?;
        let next_cursor = if more {
            transfers
                .last()
                .map(|(sk, _)| encode_account_cursor(account, sk))
        } else {
            None
        };
        Ok(AccountPage {
            account: account.into(),
            balances,
            transfers: transfers.into_iter().map(|(_, t)| t).collect(),
            next_cursor,
        })
    }
}
