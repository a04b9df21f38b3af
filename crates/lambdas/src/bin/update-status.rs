//! `update-status`: the settlement workflow's status task (`${update_status_function_arn}` in
//! spec/settlement.asl.json).

use eventpay_lambdas::runtime::{Function, serve};
use eventpay_lambdas::tasks;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let store = &Function::start().await.store()?;
    serve(move |input| tasks::update_status(store, input))
        .await
        .map_err(|e| anyhow::anyhow!("update-status: {e}"))
}
