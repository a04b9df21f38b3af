//! `list-payments`: GET /payments behind API Gateway (REST API, proxy integration).

use eventpay_lambdas::http;
use eventpay_lambdas::runtime::{Function, serve_http};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let store = &Function::start().await.store()?;
    serve_http(move |req| async move { http::list_payments(store, &req).await })
        .await
        .map_err(|e| anyhow::anyhow!("list-payments: {e}"))
}
