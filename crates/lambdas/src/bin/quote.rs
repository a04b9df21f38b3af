//! `quote`: POST /quotes behind API Gateway (REST API, proxy integration).

use eventpay_core::api::QuoteContext;
use eventpay_lambdas::runtime::{Function, serve_http};
use eventpay_lambdas::{config, http};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let function = Function::start().await;
    let signer = function.signer()?;
    let pricing = config::pricing()?;
    let ctx = &QuoteContext {
        signer: &signer,
        rates: &pricing.rates,
        pricing: &pricing.pricing,
        ttl: pricing.ttl,
    };
    serve_http(move |req| async move { http::quote(ctx, &req).await })
        .await
        .map_err(|e| anyhow::anyhow!("quote: {e}"))
}
