//! `processor`: the payments queue → events on the bus (event source mapping with
//! `ReportBatchItemFailures`).

use aws_lambda_events::sqs::SqsEvent;
use eventpay_lambdas::config::{self, TABLE_ARN};
use eventpay_lambdas::processor::{self, Table};
use eventpay_lambdas::runtime::{Function, serve};
use lambda_runtime::Diagnostic;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let function = Function::start().await;
    let publisher = &function.publisher()?;
    let table = &Table {
        store: function.store()?,
        arn: config::required(TABLE_ARN)?,
    };
    serve(move |event: SqsEvent| async move {
        Ok::<_, Diagnostic>(processor::process(table, publisher, &event).await)
    })
    .await
    .map_err(|e| anyhow::anyhow!("processor: {e}"))
}
