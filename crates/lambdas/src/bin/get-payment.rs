//! `get-payment`: GET /payments/{payment_id} behind API Gateway (REST API, proxy integration).

use eventpay_lambdas::http;
use eventpay_lambdas::runtime::{Function, serve_http};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let store = &Function::start().await.store()?;
    serve_http(move |req| async move { http::get_payment(store, &req).await })
        .await
        .map_err(|e| anyhow::anyhow!("get-payment: {e}"))
}
