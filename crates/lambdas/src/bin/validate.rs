//! `validate`: the settlement workflow's business-rule task (`${validate_function_arn}` in
//! spec/settlement.asl.json).

use eventpay_lambdas::runtime::{Function, serve};
use eventpay_lambdas::{config, tasks};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let store = &Function::start().await.store()?;
    let policy = &config::settlement_policy()?;
    serve(move |input| tasks::validate(store, policy, input))
        .await
        .map_err(|e| anyhow::anyhow!("validate: {e}"))
}
