//! The ledger table's reads: `DynamoLedger` implements the core's `Ledger` port (an account's
//! balances and a page of its transfers, newest first, with an opaque cursor) over the layout
//! of crates/aws/src/ledger_items.rs. The writes are `DynamoStore::settle`'s.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use eventpay_core::{AccountPage, Balance, Ledger, StoreError, Transfer};

use crate::error::AwsError;
use crate::items::{Item, s, string_attr};
use crate::ledger_items::{
    self, PK, SK, SK_BALANCE_PREFIX, SK_TRANSFERS_PREFIX, account_pk, encode_account_cursor,
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

    /// A query of the items of `account` whose sort key starts with `prefix`.
    fn query(&self, account: &str, prefix: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(account_pk(account)))
            .expression_attribute_values(":prefix", s(prefix))
    }

    /// Every balance of `account`, one per currency it used (the shards of an internal account's
    /// balance summed; few items, but paged all the same).
    async fn balances(&self, account: &str) -> Result<Vec<Balance>, AwsError> {
        let mut balances = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .query(account, SK_BALANCE_PREFIX)
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
                None => return Ok(ledger_items::sum_balances(balances)),
            }
        }
    }

    /// Up to `limit` transfers of `account` after `start`, newest first, and whether more exist.
    async fn transfers(
        &self,
        account: &str,
        limit: usize,
        mut start: Option<Item>,
    ) -> Result<(Vec<(String, Transfer)>, bool), AwsError> {
        // One item more than asked tells whether another page exists, as the payments list does.
        let want = limit + 1;
        let mut found: Vec<(String, Transfer)> = Vec::with_capacity(want);
        loop {
            let out = self
                .query(account, SK_TRANSFERS_PREFIX)
                .scan_index_forward(false)
                .limit(i32::try_from(want - found.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| AwsError::sdk("Query", e))?;
            for item in out.items() {
                let sk = string_attr(item, SK)?.to_owned();
                found.push((sk, ledger_items::transfer_from_item(item)?));
            }
            // A query also ends early at 1 MB read; go on from where it stopped.
            match out.last_evaluated_key {
                Some(key) if found.len() < want => start = Some(key),
                _ => break,
            }
        }
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
        let start = cursor
            .map(|c| ledger_items::decode_account_cursor(account, c))
            .transpose()?;
        let balances = self.balances(account).await?;
        let (transfers, more) = self.transfers(account, limit as usize, start).await?;
        let next_cursor = if more {
            transfers
                .last()
                .map(|(sk, _)| encode_account_cursor(account, sk))
        } else {
            None
        };
        Ok(AccountPage {
            account: account.to_owned(),
            balances,
            transfers: transfers.into_iter().map(|(_, t)| t).collect(),
            next_cursor,
        })
    }
}
