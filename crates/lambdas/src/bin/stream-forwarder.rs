//! `stream-forwarder`: the payments table's DynamoDB stream → change records on the payments
//! queue (event source mapping with `ReportBatchItemFailures`).

use aws_lambda_events::dynamodb::Event;
use eventpay_lambdas::runtime::{Function, serve};
use eventpay_lambdas::stream;
use lambda_runtime::Diagnostic;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sender = &Function::start().await.queue()?;
    serve(move |event: Event| async move { Ok::<_, Diagnostic>(stream::forward(sender, &event).await) })
        .await
        .map_err(|e| anyhow::anyhow!("stream-forwarder: {e}"))
}
