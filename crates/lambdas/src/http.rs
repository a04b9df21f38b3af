//! The API functions behind API Gateway (REST API, proxy integration): each turns the
//! proxy request into the transport-free call of `eventpay_core::api` and its answer into a proxy
//! response, so status codes and error bodies are exactly those of the local runtime.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use eventpay_core::api::{self, ApiError, ApiResponse, MAX_BODY_BYTES, QuoteContext, QuoteSigner};
use eventpay_core::{Ledger, PaymentStore, TraceId};

/// The path parameter of `GET /payments/{payment_id}` in spec/openapi.yaml.
pub const PAYMENT_ID_PARAM: &str = "payment_id";
/// The path parameter of `GET /ledger/accounts/{account}` in spec/openapi.yaml.
pub const ACCOUNT_PARAM: &str = "account";

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The request body's bytes (API Gateway base64-encodes binary media types).
fn body(req: &ApiGatewayProxyRequest) -> Result<Vec<u8>, ApiError> {
    let raw = req.body.as_deref().unwrap_or_default();
    // Checked before decoding, so an oversized body costs nothing more.
    if raw.len() > MAX_BODY_BYTES * 4 / 3 + 4 {
        return Err(ApiError::payload_too_large());
    }
    if req.is_base64_encoded {
        STANDARD.decode(raw).map_err(|_| {
            ApiError::bad_request("invalid_json", "the request body is not valid base64")
        })
    } else {
        Ok(raw.as_bytes().to_vec())
    }
}

/// The `Idempotency-Key` header (case-insensitive), refused as the local runtime refuses it when
/// it is not ASCII.
/// The request's trace id: the client's `traceparent`, else API Gateway's `X-Amzn-Trace-Id`
/// (the X-Ray trace of this request), else a new one.
fn trace_id(req: &ApiGatewayProxyRequest) -> Option<TraceId> {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    Some(TraceId::of_request(
        header("traceparent"),
        header("x-amzn-trace-id"),
    ))
}

fn idempotency_header(req: &ApiGatewayProxyRequest) -> Result<Option<&str>, ApiError> {
    match req.headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be visible ASCII",
            )
        }),
    }
}

/// Every query parameter, repeated ones included (REST API events carry both maps).
fn query(req: &ApiGatewayProxyRequest) -> Vec<(String, String)> {
    let map = if req.multi_value_query_string_parameters.is_empty() {
        &req.query_string_parameters
    } else {
        &req.multi_value_query_string_parameters
    };
    map.iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn response(status: u16, body: &serde_json::Value, replayed: bool) -> ApiGatewayProxyResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = i64::from(status);
    r.headers = headers;
    r.body = Some(Body::Text(body.to_string()));
    r
}

/// The proxy response for an API answer; server errors are logged.
pub fn respond(result: Result<ApiResponse, ApiError>) -> ApiGatewayProxyResponse {
    match result {
        Ok(ok) => {
            tracing::info!(
                status = ok.status,
                replayed = ok.replayed,
                "request answered"
            );
            response(ok.status, &ok.body, ok.replayed)
        }
        Err(e) => {
            if e.status >= 500 {
                tracing::error!(code = e.code, message = %e.message, "request failed");
            } else {
                tracing::info!(status = e.status, code = e.code, "request refused");
            }
            response(e.status, &e.body(), false)
        }
    }
}

/// `POST /quotes`.
pub async fn quote<K: QuoteSigner>(
    ctx: &QuoteContext<'_, K>,
    req: &ApiGatewayProxyRequest,
) -> ApiGatewayProxyResponse {
    let result = match body(req) {
        Ok(bytes) => api::post_quote(ctx, &bytes, new_id(), Utc::now()).await,
        Err(e) => Err(e),
    };
    respond(result)
}

/// `POST /payments`.
pub async fn create_payment<S: PaymentStore, K: QuoteSigner>(
    store: &S,
    signer: &K,
    req: &ApiGatewayProxyRequest,
) -> ApiGatewayProxyResponse {
    let trace = trace_id(req);
    let result = async {
        let key = idempotency_header(req)?;
        let bytes = body(req)?;
        api::post_payment(
            store,
            signer,
            key,
            &bytes,
            new_id(),
            trace.clone(),
            Utc::now(),
        )
        .await
    };
    // The request's trace is the payment's: its log lines and X-Ray segment name it.
    crate::xray::traced("create-payment", trace.clone(), async {
        respond(result.await)
    })
    .await
}

/// `GET /payments/{payment_id}`.
pub async fn get_payment<S: PaymentStore>(
    store: &S,
    req: &ApiGatewayProxyRequest,
) -> ApiGatewayProxyResponse {
    let Some(id) = req.path_parameters.get(PAYMENT_ID_PARAM) else {
        return respond(Err(ApiError::not_found("no payment id in the path")));
    };
    let result = api::get_payment(store, id).await;
    // A read of a payment joins its trace, so `annotation.trace_id` finds it beside the writes.
    let trace = result.as_ref().ok().map(|r| {
        serde_json::from_value::<TraceId>(r.body["trace_id"].clone())
            .unwrap_or_else(|_| TraceId::for_payment(id))
    });
    crate::xray::traced("get-payment", trace, async { respond(result) }).await
}

/// `GET /payments?status=&limit=&cursor=`.
pub async fn list_payments<S: PaymentStore>(
    store: &S,
    req: &ApiGatewayProxyRequest,
) -> ApiGatewayProxyResponse {
    respond(api::list_payments(store, &query(req)).await)
}

/// `GET /ledger/accounts/{account}?limit=&cursor=`.
pub async fn get_ledger_account<L: Ledger>(
    ledger: &L,
    req: &ApiGatewayProxyRequest,
) -> ApiGatewayProxyResponse {
    let result = async {
        let raw = req
            .path_parameters
            .get(ACCOUNT_PARAM)
            .ok_or_else(|| ApiError::not_found("no account in the path"))?;
        let account = percent_decoded(raw).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_account",
                "the account in the path is not valid percent-encoded UTF-8",
            )
        })?;
        api::get_ledger_account(ledger, &account, &query(req)).await
    };
    respond(result.await)
}

/// A path parameter as the client meant it: a REST API hands it over still percent-encoded
/// (`fx%3AUSD` from a client that encodes `:`), where the local runtime's router decodes it.
/// `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decoded(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            // Two hex digits exactly (from_str_radix alone would take a sign).
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::percent_decoded;

    #[test]
    fn path_parameters_are_percent_decoded() {
        assert_eq!(percent_decoded("fx%3AUSD").as_deref(), Some("fx:USD"));
        assert_eq!(percent_decoded("fees:EUR").as_deref(), Some("fees:EUR"));
        assert_eq!(percent_decoded("acc%20%C3%A9").as_deref(), Some("acc é"));
        for bad in ["%", "%4", "%ZZ", "%FF", "a%+1"] {
            assert_eq!(percent_decoded(bad), None, "{bad:?}");
        }
    }
}
