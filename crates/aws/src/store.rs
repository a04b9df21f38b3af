//! The payments table on DynamoDB, implementing the core's `PaymentStore` port with the same
//! semantics as the local SQLite store (crates/local/src/store.rs): idempotent create that claims
//! its quote once (payment, quote claim and idempotency key in one `TransactWriteItems`),
//! conditional replace, newest-first pages with an opaque cursor. Keys and quote claims have no
//! TTL: they are kept as long as the table (so at least the 24 hours clients may retry in).
//!
//! The listing indexes are sharded (`ListShards`, docs/capacity.md): a page queries every shard's
//! partition at once, newest first below the cursor, and merges them, fetching more from a shard
//! only when the merge has used up what it read of it.

use std::collections::VecDeque;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use eventpay_core::{
    CreateOutcome, ListShards, Page, Payment, PaymentStatus, PaymentStore, StoreError,
    check_fingerprint,
};
use futures_util::future::try_join_all;

use crate::error::AwsError;
use crate::items::{
    self, BODY, FINGERPRINT, INDEX_ALL, INDEX_STATUS, Item, LIST_PK, LIST_SK, PAYMENT_ID, PK,
    STATUS, STATUS_PK, UPDATED_AT, s,
};

/// `attribute_not_exists(pk)`: the write creates, never overwrites.
const NEW_ITEM: &str = "attribute_not_exists(pk)";

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    shards: ListShards,
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
        }
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
        if let Some(payment_id) = self.quote_claimed_by(&payment.quote_id).await? {
            return Err(StoreError::QuoteAlreadyUsed {
                quote_id: payment.quote_id.clone(),
                payment_id,
            });
        }
        // Nothing committed explains it: a concurrent transaction holds one of our items and has
        // not finished (DynamoDB's TransactionConflict).
        Err(match idempotency_key {
            Some(key) => StoreError::IdempotencyKeyInUse(key.to_owned()),
            None => StoreError::Conflict(format!(
                "quote {} is being used by a concurrent request that has not finished; retry later",
                payment.quote_id
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
            .condition_expression(
                "attribute_exists(pk) AND #status = :expected_status AND #updated = :expected_updated",
            )
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

    async fn find_by_idempotency_key(
        &self,
        idempotency_key: &str,
        fingerprint: &str,
    ) -> Result<Option<Payment>, StoreError> {
        self.payment_by_key(idempotency_key, fingerprint).await
    }
}
