//! `get-ledger-account`: GET /ledger/accounts/{account} behind API Gateway (REST API, proxy
//! integration).

use eventpay_lambdas::http;
use eventpay_lambdas::runtime::{Function, serve_http};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ledger = &Function::start().await.ledger()?;
    serve_http(move |req| async move { http::get_ledger_account(ledger, &req).await })
        .await
        .map_err(|e| anyhow::anyhow!("get-ledger-account: {e}"))
}
