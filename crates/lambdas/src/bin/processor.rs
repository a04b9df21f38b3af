//! `processor`: the payments queue → events on the bus (event source mapping with
//! `ReportBatchItemFailures`).

use aws_lambda_events::sqs::SqsEvent;
use eventpay_lambdas::processor;
use eventpay_lambdas::runtime::{Function, serve};
use lambda_runtime::Diagnostic;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let publisher = &Function::start().await.publisher()?;
    serve(move |event: SqsEvent| async move {
        Ok::<_, Diagnostic>(processor::process(publisher, &event).await)
    })
    .await
    .map_err(|e| anyhow::anyhow!("processor: {e}"))
}
