//! The payments table's definition: what Terraform must create (issue 4 mirrors it) and what the
//! tests create in the emulator. One table, string partition key `pk`, on-demand, stream
//! `NEW_AND_OLD_IMAGES`, two listing indexes projecting everything: `by_created` on the sharded
//! `list_pk` (`ALL#<shard>`), `by_status` on the sharded `status_pk` (`<STATUS>#<shard>`), both
//! sorted by `list_sk`.
//!
//! The ledger table (crates/aws/src/ledger_items.rs): string partition key `pk`, string sort key
//! `sk`, on-demand, no stream and no index.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};

use crate::error::AwsError;
use crate::items::{INDEX_ALL, INDEX_STATUS, LIST_PK, LIST_SK, PK, STATUS_PK};

fn attr(name: &str) -> Result<AttributeDefinition, AwsError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| AwsError::sdk("AttributeDefinition", e))
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, AwsError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| AwsError::sdk("KeySchemaElement", e))
}

fn index(name: &str, partition: &str) -> Result<GlobalSecondaryIndex, AwsError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(partition, KeyType::Hash)?)
        .key_schema(key(LIST_SK, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| AwsError::sdk("GlobalSecondaryIndex", e))
}

/// Creates the payments table named `table` and returns its stream ARN.
pub async fn create_payments_table(client: &Client, table: &str) -> Result<String, AwsError> {
    let out = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(PK)?)
        .attribute_definitions(attr(LIST_PK)?)
        .attribute_definitions(attr(LIST_SK)?)
        .attribute_definitions(attr(STATUS_PK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .global_secondary_indexes(index(INDEX_ALL, LIST_PK)?)
        .global_secondary_indexes(index(INDEX_STATUS, STATUS_PK)?)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| AwsError::sdk("StreamSpecification", e))?,
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk("CreateTable", e))?;
    out.table_description()
        .and_then(|d| d.latest_stream_arn())
        .map(str::to_owned)
        .ok_or_else(|| AwsError::Corrupt(format!("table {table} was created without a stream")))
}

/// Creates the ledger table named `table`.
pub async fn create_ledger_table(client: &Client, table: &str) -> Result<(), AwsError> {
    use crate::ledger_items::{PK as LEDGER_PK, SK as LEDGER_SK};
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(LEDGER_PK)?)
        .attribute_definitions(attr(LEDGER_SK)?)
        .key_schema(key(LEDGER_PK, KeyType::Hash)?)
        .key_schema(key(LEDGER_SK, KeyType::Range)?)
        .send()
        .await
        .map_err(|e| AwsError::sdk("CreateTable", e))?;
    Ok(())
}
