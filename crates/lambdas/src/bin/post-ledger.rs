//! `post-ledger`: the settlement workflow's ledger task (`${post_ledger_function_arn}` in
//! spec/settlement.asl.json).

use eventpay_lambdas::runtime::{Function, serve};
use eventpay_lambdas::tasks;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let store = &Function::start().await.settling_store()?;
    serve(move |input| tasks::post_ledger(store, input))
        .await
        .map_err(|e| anyhow::anyhow!("post-ledger: {e}"))
}
