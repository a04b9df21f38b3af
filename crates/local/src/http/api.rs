//! The public API (`spec/openapi.yaml`) over axum: reads the body within the size limit and
//! hands it to the core's request handling — the same functions the AWS Lambda functions call.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use eventpay_core::TraceId;
use eventpay_core::api::{self, ApiError, ApiResponse, MAX_BODY_BYTES, QuoteContext};

use super::AppState;
use super::error::HttpError;

/// The operations this server implements; start-up checks them against the OpenAPI document.
pub const OPERATIONS: [(&str, &str); 5] = [
    ("/quotes", "post"),
    ("/payments", "post"),
    ("/payments", "get"),
    ("/payments/{payment_id}", "get"),
    ("/ledger/accounts/{account}", "get"),
];

/// Reads the whole body: 413 past the size limit, 408 when it stops arriving (the edge's body
/// timeout), 400 when the client broke it off.
pub async fn read_limited(body: Body) -> Result<Bytes, HttpError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| HttpError(body_error(&e)))
}

fn body_error(e: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return ApiError::payload_too_large();
        }
        if c.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::new(
                408,
                "request_timeout",
                "the request body stopped arriving before it was complete",
            );
        }
        cause = c.source();
    }
    ApiError::bad_request(
        "invalid_body",
        format!("the request body could not be read: {e}"),
    )
}

fn respond(r: ApiResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    if r.replayed {
        (status, [("idempotent-replayed", "true")], Json(r.body)).into_response()
    } else {
        (status, Json(r.body)).into_response()
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub async fn post_quote(State(app): State<AppState>, body: Body) -> Result<Response, HttpError> {
    let rates = app.rates.get();
    let ctx = QuoteContext {
        signer: app.signing_key.as_ref(),
        rates: &rates,
        pricing: &app.pricing,
        ttl: app.quote_ttl,
    };
    let bytes = read_limited(body).await?;
    Ok(respond(
        api::post_quote(&ctx, &bytes, new_id(), chrono::Utc::now()).await?,
    ))
}

pub async fn post_payment(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            HttpError(ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be visible ASCII",
            ))
        })?),
    };
    let bytes = read_limited(body).await?;
    // The request's trace id (the console's middleware took it from the headers or made one).
    let trace = crate::trace::current_request().and_then(|c| TraceId::parse(&c.trace_id));
    let r = api::post_payment(
        &app.store,
        app.signing_key.as_ref(),
        key,
        &bytes,
        new_id(),
        trace,
        chrono::Utc::now(),
    )
    .await?;
    Ok(respond(r))
}

pub async fn get_payment(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    Ok(respond(api::get_payment(&app.store, &id).await?))
}

pub async fn list_payments(
    State(app): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, HttpError> {
    Ok(respond(api::list_payments(&app.store, &params).await?))
}

pub async fn get_ledger_account(
    State(app): State<AppState>,
    Path(account): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, HttpError> {
    Ok(respond(
        api::get_ledger_account(&app.ledger, &account, &params).await?,
    ))
}
