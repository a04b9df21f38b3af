//! `create-payment`: POST /payments behind API Gateway (REST API, proxy integration).

use eventpay_lambdas::http;
use eventpay_lambdas::runtime::{Function, serve_http};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let function = Function::start().await;
    let (store, signer) = (&function.store()?, &function.signer()?);
    serve_http(move |req| async move { http::create_payment(store, signer, &req).await })
        .await
        .map_err(|e| anyhow::anyhow!("create-payment: {e}"))
}
