//! The payments table on DynamoDB, implementing the core's `PaymentStore` port with the same
//! semantics as the local SQLite store (crates/local/src/store.rs): idempotent create that claims
//! its quote once (payment, quote claim and idempotency key in one `TransactWriteItems`),
//! conditional replace, newest-first pages with an opaque cursor. Keys and quote claims have no
//! TTL: they are kept as long as the table (so at least the 24 hours clients may retry in).
//!
//! The listing indexes are sharded (`ListShards`, docs/capacity.md): a page queries every shard's
//! partition at once, newest first below the cursor, and merges them, fetching more from a shard
//! only when the merge has used up what it read of it.
//!
//! `settle` writes the payment and its ledger (crates/aws/src/ledger_items.rs, in the ledger
//! table of [`DynamoStore::with_ledger_table`]) in one `TransactWriteItems`.

use std::collections::VecDeque;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use eventpay_core::{
    CreateOutcome, ListShards, Page, Payment, PaymentStatus, PaymentStore, StoreError, Transfer,
    balance_changes, check_fingerprint,
};
use futures_util::future::try_join_all;

use crate::error::AwsError;
use crate::items::{
    self, BODY, FINGERPRINT, INDEX_ALL, INDEX_STATUS, Item, LIST_PK, LIST_SK, PAYMENT_ID, PK,
    STATUS, STATUS_PK, UPDATED_AT, s,
};
use crate::ledger_items;

/// `attribute_not_exists(pk)`: the write creates, never overwrites.
const NEW_ITEM: &str = "attribute_not_exists(pk)";

/// The condition of `replace` (and of the payment's write in `settle`): the stored payment is
/// still the one read.
const UNCHANGED: &str =
    "attribute_exists(pk) AND #status = :expected_status AND #updated = :expected_updated";

/// DynamoDB's limit of items in one `TransactWriteItems`.
const MAX_TRANSACTION_ITEMS: usize = 100;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    shards: ListShards,
    /// The ledger table `settle` writes to; `None` in functions that never settle.
    ledger_table: Option<String>,
}

/// One shard's partition as the merge reads it: what it has read and not yet used, and where
/// its query goes on.
struct ShardReader {
    partition: String,
    read: VecDeque<(String, Payment)>,
    start: Option<Item>,
    done: bool,
}

impl DynamoStore {
    /// A store on `table` with `ListShards::DEFAULT` listing shards.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            shards: ListShards::DEFAULT,
            ledger_table: None,
        }
    }

    /// The ledger table `settle` posts transfers and balances to (without one, `settle` fails).
    pub fn with_ledger_table(mut self, table: impl Into<String>) -> Self {
        self.ledger_table = Some(table.into());
        self
    }

    pub fn ledger_table(&self) -> Option<&str> {
        self.ledger_table.as_deref()
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The listing shards of the table: every writer and reader of one table must agree.
    pub fn with_list_shards(mut self, shards: ListShards) -> Self {
        self.shards = shards;
        self
    }

    pub fn list_shards(&self) -> ListShards {
        self.shards
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get_item(&self, pk: &str) -> Result<Option<Item>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk("GetItem", e))?;
        Ok(out.item)
    }

    fn put(&self, item: Item) -> Result<TransactWriteItem, AwsError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(NEW_ITEM)
            .build()
            .map_err(|e| AwsError::sdk("Put", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes the payment, the claim of its quote and its idempotency item (if any) in one
    /// `TransactWriteItems`, each conditional on not existing; `Ok(false)` when the transaction
    /// was cancelled (a condition failed, or a concurrent transaction holds one of the items).
    async fn write_new(
        &self,
        payment: &Payment,
        idempotency_key: Option<&str>,
        fingerprint: &str,
    ) -> Result<bool, AwsError> {
        // All items or none: a key never points at a payment that was not written, and a quote
        // is claimed exactly when its payment exists.
        let mut transaction = self
            .client
            .transact_write_items()
            .transact_items(self.put(items::payment_item(payment, self.shards)?)?)
            .transact_items(self.put(items::quote_item(payment))?);
        if let Some(key) = idempotency_key {
            transaction = transaction.transact_items(self.put(items::idempotency_item(
                key,
                payment,
                fingerprint,
            ))?);
        }
        match transaction.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(AwsError::sdk("TransactWriteItems", e)),
        }
    }

    /// Reads up to `chunk` more items of one shard's partition, newest first, below `before`.
    async fn read_shard(
        &self,
        index: &str,
        partition_key: &str,
        before: Option<&str>,
        chunk: usize,
        reader: &mut ShardReader,
    ) -> Result<(), StoreError> {
        let condition = if before.is_some() {
            "#p = :v AND #sk < :before"
        } else {
            "#p = :v"
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(condition)
            .expression_attribute_names("#p", partition_key)
            .expression_attribute_values(":v", s(&reader.partition))
            .scan_index_forward(false)
            .limit(i32::try_from(chunk).unwrap_or(i32::MAX))
            .set_exclusive_start_key(reader.start.take());
        if let Some(before) = before {
            query = query
                .expression_attribute_names("#sk", LIST_SK)
                .expression_attribute_values(":before", s(before));
        }
        let out = query.send().await.map_err(|e| AwsError::sdk("Query", e))?;
        for item in out.items() {
            let payment = items::payment_from_item(item)?;
            reader.read.push_back((items::list_sk(&payment), payment));
        }
        // A query also ends early at 1 MB read; the next refill goes on from there.
        reader.start = out.last_evaluated_key;
        reader.done = reader.start.is_none();
        Ok(())
    }

    async fn payment_by_key(
        &self,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<Payment>, StoreError> {
        let Some(item) = self.get_item(&items::idempotency_pk(key)).await? else {
            return Ok(None);
        };
        check_fingerprint(key, items::string_attr(&item, FINGERPRINT)?, fingerprint)?;
        let id = items::string_attr(&item, PAYMENT_ID)?;
        match self.get(id).await? {
            Some(p) => Ok(Some(p)),
            None => Err(AwsError::Corrupt(format!(
                "idempotency key {key:?} points at missing payment {id:?}"
            ))
            .into()),
        }
    }

    /// The payment that claimed `quote_id`, if one did.
    async fn quote_claimed_by(&self, quote_id: &str) -> Result<Option<String>, StoreError> {
        match self.get_item(&items::quote_pk(quote_id)).await? {
            Some(item) => Ok(Some(items::string_attr(&item, PAYMENT_ID)?.to_owned())),
            None => Ok(None),
        }
    }
}

impl PaymentStore for DynamoStore {
    async fn create(
        &self,
        payment: &Payment,
        idempotency_key: Option<&str>,
        fingerprint: &str,
    ) -> Result<CreateOutcome, StoreError> {
        if self
            .write_new(payment, idempotency_key, fingerprint)
            .await?
        {
            return Ok(CreateOutcome::Created(payment.clone()));
        }
        // Cancelled: find out why from what is committed now (consistent reads), in the order
        // the contract answers: the key's first payment, an existing id, the quote's payment.
        if let Some(key) = idempotency_key
            && let Some(existing) = self.payment_by_key(key, fingerprint).await?
        {
            return Ok(CreateOutcome::Existing(existing));
        }
        if self.get_item(&payment.payment_id).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "payment {} exists already",
                payment.payment_id
            )));
        }
        if let Some(payment_id) = self.quote_claimed_by(&payment.terms.quote_id).await? {
            return Err(StoreError::QuoteAlreadyUsed {
                quote_id: payment.terms.quote_id.clone(),
                payment_id,
            });
        }
        // Nothing committed explains it: a concurrent transaction holds one of our items and has
        // not finished (DynamoDB's TransactionConflict).
        Err(match idempotency_key {
            Some(key) => StoreError::IdempotencyKeyInUse(key.to_owned()),
            None => StoreError::Conflict(format!(
                "quote {} is being used by a concurrent request that has not finished; retry later",
                payment.terms.quote_id
            )),
        })
    }

    async fn get(&self, payment_id: &str) -> Result<Option<Payment>, StoreError> {
        match self.get_item(payment_id).await? {
            Some(item) if items::string_attr(&item, items::KIND)? == items::KIND_PAYMENT => {
                Ok(Some(items::payment_from_item(&item)?))
            }
            _ => Ok(None),
        }
    }

    async fn list(
        &self,
        status: Option<PaymentStatus>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page, StoreError> {
        let before = cursor.map(items::decode_cursor).transpose()?;
        let (index, partition_key) = match status {
            Some(_) => (INDEX_STATUS, STATUS_PK),
            None => (INDEX_ALL, LIST_PK),
        };
        // One item more than asked tells whether another page exists, as the local store does.
        let want = limit as usize + 1;
        let mut readers: Vec<ShardReader> = items::listing_partitions(status, self.shards)
            .into_iter()
            .map(|partition| ShardReader {
                partition,
                read: VecDeque::new(),
                start: None,
                done: false,
            })
            .collect();
        // Payment ids spread evenly, so each shard holds about want / N of the page.
        let first_read = want.div_ceil(readers.len()) + 1;
        let mut found: Vec<Payment> = Vec::with_capacity(want);
        while found.len() < want {
            // The newest unread item of every shard must be known before one is taken.
            let needed = want - found.len();
            let chunk = if found.is_empty() { first_read } else { needed };
            let refills = readers
                .iter_mut()
                .filter(|r| r.read.is_empty() && !r.done)
                .map(|r| self.read_shard(index, partition_key, before.as_deref(), chunk, r));
            try_join_all(refills).await?;
            let newest = readers
                .iter_mut()
                .filter(|r| !r.read.is_empty())
                .max_by(|a, b| a.read[0].0.cmp(&b.read[0].0));
            match newest.and_then(|r| r.read.pop_front()) {
                Some((_, payment)) => found.push(payment),
                None => break,
            }
        }
        let more = found.len() > limit as usize;
        found.truncate(limit as usize);
        let next_cursor = if more {
            found.last().map(items::encode_cursor)
        } else {
            None
        };
        Ok(Page {
            items: found,
            next_cursor,
        })
    }

    async fn replace(&self, expected: &Payment, new: &Payment) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(&expected.payment_id))
            .update_expression(
                "SET #body = :body, #status = :status, #status_pk = :status_pk, #updated = :updated",
            )
            .condition_expression(UNCHANGED)
            .expression_attribute_names("#body", BODY)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#status_pk", STATUS_PK)
            .expression_attribute_names("#updated", UPDATED_AT)
            .expression_attribute_values(":expected_status", s(expected.status.as_str()))
            .expression_attribute_values(":expected_updated", s(items::timestamp(expected.updated_at)))
            .expression_attribute_values(":body", s(items::body(new)?))
            .expression_attribute_values(":status", s(new.status.as_str()))
            .expression_attribute_values(":status_pk", s(items::status_pk(new, self.shards)))
            .expression_attribute_values(":updated", s(items::timestamp(new.updated_at)));
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict(format!(
                    "payment {} changed since it was read",
                    expected.payment_id
                )))
            }
            Err(e) => Err(AwsError::sdk("UpdateItem", e).into()),
        }
    }

    async fn settle(
        &self,
        expected: &Payment,
        settled: &Payment,
        transfers: &[Transfer],
    ) -> Result<(), StoreError> {
        let items = self.settle_items(expected, settled, transfers)?;
        let roles: Vec<Role> = items.iter().map(|(role, _)| role.clone()).collect();
        let send = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items.into_iter().map(|(_, item)| item).collect()))
            .send()
            .await;
        match send {
            Ok(_) => Ok(()),
            Err(e) => {
                let reasons: Option<Vec<Option<String>>> = e
                    .as_service_error()
                    .and_then(|e| match e {
                        TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
                        _ => None,
                    })
                    .map(|c| {
                        c.cancellation_reasons()
                            .iter()
                            .map(|r| r.code().map(str::to_owned))
                            .collect()
                    });
                match reasons {
                    Some(reasons) => Err(settle_cancelled(expected, &roles, &reasons)),
                    None => Err(AwsError::sdk("TransactWriteItems", e).into()),
                }
            }
        }
    }

    async fn find_by_idempotency_key(
        &self,
        idempotency_key: &str,
        fingerprint: &str,
    ) -> Result<Option<Payment>, StoreError> {
        self.payment_by_key(idempotency_key, fingerprint).await
    }
}

/// What an item of a settlement's transaction is, to explain a cancellation.
#[derive(Clone, Debug)]
enum Role {
    Payment,
    Transfer(String),
    Balance,
}

impl DynamoStore {
    /// The items of one settlement, in the order of [`Role`]s: the payment (on the condition of
    /// `replace`), each transfer and its two account copies (each new), one `ADD` per balance.
    fn settle_items(
        &self,
        expected: &Payment,
        settled: &Payment,
        transfers: &[Transfer],
    ) -> Result<Vec<(Role, TransactWriteItem)>, AwsError> {
        let ledger = self.ledger_table.as_deref().ok_or_else(|| {
            AwsError::Config(
                "settling needs the ledger table (EVENTPAY_LEDGER_TABLE), none is configured"
                    .into(),
            )
        })?;
        let changes = balance_changes(transfers);
        let count = 1 + transfers.len() * 3 + changes.len();
        if count > MAX_TRANSACTION_ITEMS {
            // Three legs make 15 items; more would be a new kind of payment this layout must
            // split first, not something to write partly.
            return Err(AwsError::Corrupt(format!(
                "settling payment {} writes {count} items, more than one transaction takes ({MAX_TRANSACTION_ITEMS})",
                settled.payment_id
            )));
        }
        let mut items = Vec::with_capacity(count);
        let payment = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::payment_item(settled, self.shards)?))
            .condition_expression(UNCHANGED)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#updated", UPDATED_AT)
            .expression_attribute_values(":expected_status", s(expected.status.as_str()))
            .expression_attribute_values(
                ":expected_updated",
                s(items::timestamp(expected.updated_at)),
            )
            .build()
            .map_err(|e| AwsError::sdk("Put", e))?;
        items.push((
            Role::Payment,
            TransactWriteItem::builder().put(payment).build(),
        ));
        let new_item = |item: Item| -> Result<TransactWriteItem, AwsError> {
            let put = Put::builder()
                .table_name(ledger)
                .set_item(Some(item))
                .condition_expression(NEW_ITEM)
                .build()
                .map_err(|e| AwsError::sdk("Put", e))?;
            Ok(TransactWriteItem::builder().put(put).build())
        };
        for t in transfers {
            let role = Role::Transfer(t.id.clone());
            items.push((role.clone(), new_item(ledger_items::transfer_item(t)?)?));
            for copy in ledger_items::account_transfer_items(t)? {
                items.push((role.clone(), new_item(copy)?));
            }
        }
        for ((account, currency), change) in changes {
            use ledger_items::{ACCOUNT, BALANCE, CREDITS, CURRENCY, DEBITS, KIND, TRANSFERS, n};
            let count = AttributeValue::N(change.transfers.to_string());
            // ADD, not SET: settlements of other payments change the same balance concurrently.
            let update = Update::builder()
                .table_name(ledger)
                .set_key(Some(ledger_items::balance_key(
                    &account,
                    currency,
                    &settled.payment_id,
                )))
                .update_expression(
                    "SET #kind = :kind, #account = :account, #currency = :currency \
                     ADD #debits :debits, #credits :credits, #balance :net, #transfers :count",
                )
                .expression_attribute_names("#kind", KIND)
                .expression_attribute_names("#account", ACCOUNT)
                .expression_attribute_names("#currency", CURRENCY)
                .expression_attribute_names("#debits", DEBITS)
                .expression_attribute_names("#credits", CREDITS)
                .expression_attribute_names("#balance", BALANCE)
                .expression_attribute_names("#transfers", TRANSFERS)
                .expression_attribute_values(":kind", s(ledger_items::KIND_BALANCE))
                .expression_attribute_values(":account", s(&account))
                .expression_attribute_values(":currency", s(currency.code))
                .expression_attribute_values(":debits", n(change.debits))
                .expression_attribute_values(":credits", n(change.credits))
                .expression_attribute_values(":net", n(change.net()))
                .expression_attribute_values(":count", count)
                .build()
                .map_err(|e| AwsError::sdk("Update", e))?;
            items.push((
                Role::Balance,
                TransactWriteItem::builder().update(update).build(),
            ));
        }
        Ok(items)
    }
}

/// Why a settlement's transaction was cancelled, from its per-item reasons (`None` where the
/// item was fine): the payment changed, a transfer exists already, or a concurrent transaction
/// held an item — all `Conflict`, which the settlement use case retries after reading again.
fn settle_cancelled(expected: &Payment, roles: &[Role], reasons: &[Option<String>]) -> StoreError {
    let failed = |code: &str| {
        roles
            .iter()
            .zip(reasons)
            .find(|(_, r)| r.as_deref() == Some(code))
            .map(|(role, _)| role)
    };
    let id = &expected.payment_id;
    if let Some(role) = failed("ConditionalCheckFailed") {
        return StoreError::Conflict(match role {
            Role::Payment => format!("payment {id} changed since it was read"),
            Role::Transfer(t) => format!("transfer {t} of payment {id} is posted already"),
            Role::Balance => format!("a balance of payment {id} refused its update"),
        });
    }
    if failed("TransactionConflict").is_some() {
        return StoreError::Conflict(format!(
            "a concurrent transaction holds an item of payment {id}'s settlement; retry"
        ));
    }
    let codes: Vec<&str> = reasons
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|c| *c != "None")
        .collect();
    StoreError::Backend(format!(
        "settling payment {id} was cancelled: {}",
        if codes.is_empty() {
            "no reason given".to_string()
        } else {
            codes.join(", ")
        }
    ))
}
