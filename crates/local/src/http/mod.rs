//! The HTTP server: the public API and the `/_local` inspection endpoints, the edge that serves
//! them (timeouts, connection cap, shutdown) and the guard in front of them.

pub mod api;
pub mod edge;
pub mod error;
pub mod guard;
pub mod inspect;

use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodRouter, get, post};
use eventpay_core::{PricingPolicy, RateTable, SigningKey};
use tokio::sync::Notify;

use crate::db::Db;
use crate::queue::QueueConfig;
use crate::store::SqliteStore;
use crate::tasks::Faults;
use crate::workflow::Workflows;
use error::HttpError;
use eventpay_core::api::ApiError;
use guard::Guard;

/// Notifications that wake pipeline stages.
#[derive(Clone, Default)]
pub struct Wakes {
    pub forwarder: Arc<Notify>,
    pub processor: Arc<Notify>,
    pub workflows: Arc<Notify>,
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub store: SqliteStore,
    pub ledger: crate::ledger::SqliteLedger,
    /// The rate table; `--watch` replaces it, each quote is priced by the table it found.
    pub rates: crate::reload::Current<RateTable>,
    pub pricing: Arc<PricingPolicy>,
    pub signing_key: Arc<SigningKey>,
    pub quote_ttl: chrono::Duration,
    pub queue: QueueConfig,
    pub faults: Faults,
    pub wakes: Wakes,
    pub workflows: Workflows,
    pub sweeper: crate::sweeper::Sweeper,
}

/// The API and `/_local/` routes; each write method is behind `guard` (method by method, so
/// a wrong method is still 405 and not the guard's 415).
pub fn router(state: AppState, guard: &Guard) -> Router {
    let guarded = |route: MethodRouter<AppState>| {
        route.route_layer(axum::middleware::from_fn_with_state(
            guard.clone(),
            guard::guard,
        ))
    };
    Router::new()
        .route("/quotes", guarded(post(api::post_quote)))
        .route(
            "/payments",
            guarded(post(api::post_payment)).get(api::list_payments),
        )
        .route("/payments/{payment_id}", get(api::get_payment))
        .route("/ledger/accounts/{account}", get(api::get_ledger_account))
        .route(
            "/health",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/_local/notifications", get(inspect::notifications))
        .route("/_local/audit", get(inspect::audit))
        .route("/_local/executions", get(inspect::executions))
        .route("/_local/executions/{id}", get(inspect::execution))
        .route(
            "/_local/executions/{id}/redrive",
            guarded(post(inspect::redrive_execution)),
        )
        .route("/_local/queues", get(inspect::queues))
        .route("/_local/figures", get(inspect::figures))
        .route("/_local/stuck", get(inspect::stuck))
        .route(
            "/_local/queues/{name}/messages",
            guarded(post(inspect::send_message)).get(inspect::peek_messages),
        )
        .route(
            "/_local/queues/{name}/redrive",
            guarded(post(inspect::redrive)),
        )
        .route(
            "/_local/faults",
            guarded(post(inspect::set_fault)).get(inspect::faults),
        )
        .fallback(|| async { HttpError(ApiError::not_found("no such route")) })
        .method_not_allowed_fallback(|| async {
            HttpError(ApiError::new(
                405,
                "method_not_allowed",
                "this route does not accept that method",
            ))
        })
        .layer(axum::middleware::from_fn(count_cpu))
        .with_state(state)
}

/// Counts the CPU time of every request's handling (see `crate::profile`).
async fn count_cpu(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    crate::profile::timed(crate::profile::Part::Http, next.run(req)).await
}
