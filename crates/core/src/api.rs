//! The HTTP API's request handling, shared by the local runtime's server and the AWS Lambda
//! functions behind API Gateway: strict JSON body parsing, the error contract
//! (`{"error": {"code", "message"}}` with its HTTP status), and the four operations of
//! `spec/openapi.yaml` (and the ledger's account read). Transport-free: callers pass bytes in and get a status and a JSON body out.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::account::normalize_account;
use crate::error::DomainError;
use crate::ledger::{fees_account, fx_account};
use crate::money::currencies;
use crate::payment::{PaymentRequest, PaymentStatus, new_payment, request_fingerprint};
use crate::ports::{CreateOutcome, Ledger, PaymentStore, StoreError};
use crate::pricing::{PricingPolicy, RateTable};
use crate::quote::{QuoteRequest, QuoteResponse, create_quote};
use crate::token::{
    SigningKey, assemble_token, decode_token_payload, split_token_parts, token_signing_input,
};
use crate::trace::TraceId;

pub const MAX_IDEMPOTENCY_KEY: usize = 255;
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 100;
/// Request bodies above this size are refused with 413 (API Gateway allows more; we need less).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The HTTP status of every error code the domain and the stores answer with: the one place
/// errors map to HTTP. A code not listed is a 500.
const STATUS_OF_CODE: &[(&str, u16)] = &[
    ("quote_token_malformed", 400),
    ("not_found", 404),
    ("illegal_transition", 409),
    ("idempotency_conflict", 409),
    ("idempotency_key_in_use", 409),
    ("quote_already_used", 409),
    ("conflict", 409),
    ("unknown_currency", 422),
    ("invalid_amount", 422),
    ("same_currency", 422),
    ("invalid_field", 422),
    ("quote_token_invalid", 422),
    ("quote_expired", 422),
    ("ledger_unbalanced", 500),
    ("invalid_rates", 500),
    ("internal", 500),
    ("unavailable", 503),
];

/// The HTTP status an error code answers with ([`STATUS_OF_CODE`]).
pub fn http_status(code: &str) -> u16 {
    STATUS_OF_CODE
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(500, |(_, status)| *status)
}

/// `{"error": {"code": code, "message": message}}` — the error shape of every HTTP response.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({ "error": { "code": code, "message": message } })
}

/// An error answer: HTTP status, stable code, human message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(400, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(404, "not_found", message)
    }

    pub fn payload_too_large() -> Self {
        ApiError::new(
            413,
            "payload_too_large",
            format!("the request body exceeds {MAX_BODY_BYTES} bytes"),
        )
    }

    pub fn body(&self) -> Value {
        error_body(self.code, &self.message)
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::new(http_status(e.code()), e.code(), e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            other => ApiError::new(http_status(other.code()), other.code(), other.to_string()),
        }
    }
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Value,
    /// True when an idempotent retry returned the original payment.
    pub replayed: bool,
}

impl ApiResponse {
    fn new(status: u16, body: Value) -> Self {
        ApiResponse {
            status,
            body,
            replayed: false,
        }
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::new(500, "internal", e.to_string()))
}

/// Parses `bytes` as a JSON object and then as `T`; returns both (the raw value is what the
/// idempotency fingerprint is taken of). Each kind of bad body has its own code.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, Value), ApiError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large());
    }
    let value: Value = crate::json::from_slice_strict(bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("the request body is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the request body must be a JSON object",
        ));
    }
    let typed = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let code = if inner.starts_with("unknown field") {
            "unknown_field"
        } else if inner.starts_with("missing field") {
            "missing_field"
        } else {
            "invalid_field"
        };
        let at = if path == "." {
            String::new()
        } else {
            format!(" at {path}")
        };
        ApiError::bad_request(code, format!("{inner}{at}"))
    })?;
    Ok((typed, value))
}

/// Signs and verifies quote tokens' MACs: an HMAC key in process locally; KMS `GenerateMac` /
/// `VerifyMac` on AWS.
pub trait QuoteSigner: Send + Sync {
    fn mac(&self, signing_input: &str) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
    fn verify(
        &self,
        signing_input: &str,
        mac: &[u8],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl QuoteSigner for SigningKey {
    async fn mac(&self, signing_input: &str) -> Result<Vec<u8>, StoreError> {
        Ok(SigningKey::mac(self, signing_input.as_bytes()))
    }

    async fn verify(&self, signing_input: &str, mac: &[u8]) -> Result<bool, StoreError> {
        Ok(SigningKey::verify(self, signing_input.as_bytes(), mac))
    }
}

/// What the quote operation needs.
pub struct QuoteContext<'a, K> {
    pub signer: &'a K,
    pub rates: &'a RateTable,
    pub pricing: &'a PricingPolicy,
    pub ttl: chrono::Duration,
}

/// `POST /quotes` → 201 with the signed quote.
pub async fn post_quote<K: QuoteSigner>(
    ctx: &QuoteContext<'_, K>,
    body: &[u8],
    quote_id: String,
    now: DateTime<Utc>,
) -> Result<ApiResponse, ApiError> {
    let (req, _) = parse_body::<QuoteRequest>(body)?;
    let quote = create_quote(&req, ctx.rates, ctx.pricing, quote_id, now, ctx.ttl)?;
    let input = token_signing_input(&quote);
    let token = assemble_token(&input, &ctx.signer.mac(&input).await?);
    Ok(ApiResponse::new(
        201,
        to_value(&QuoteResponse::new(&quote, token))?,
    ))
}

/// Checks an `Idempotency-Key` header value.
pub fn idempotency_key(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let key = raw.trim();
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY
        || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// `POST /payments` → 202 with the payment (the original one for a repeated idempotency key).
pub async fn post_payment<S: PaymentStore, K: QuoteSigner>(
    store: &S,
    signer: &K,
    idempotency_key_header: Option<&str>,
    body: &[u8],
    payment_id: String,
    trace_id: Option<TraceId>,
    now: DateTime<Utc>,
) -> Result<ApiResponse, ApiError> {
    let key = idempotency_key(idempotency_key_header)?;
    let (req, raw) = parse_body::<PaymentRequest>(body)?;
    let fingerprint = request_fingerprint(&raw);
    // The MAC is checked before the payload is decoded: a forged token's bytes reach no parser.
    let (input, mac) = split_token_parts(&req.quote_token)?;
    if !signer.verify(input, &mac).await? {
        return Err(DomainError::TokenForged.into());
    }
    let quote = decode_token_payload(input)?;
    let accepted = |outcome: CreateOutcome| -> Result<ApiResponse, ApiError> {
        let replayed = !outcome.is_created();
        Ok(ApiResponse {
            status: 202,
            body: to_value(outcome.payment())?,
            replayed,
        })
    };
    if let Some(key) = &key {
        // A retry of an accepted request answers with the original payment even after its quote
        // expired; the store compares the body's fingerprint.
        if let Some(existing) = store.find_by_idempotency_key(key, &fingerprint).await? {
            return accepted(CreateOutcome::Existing(existing));
        }
    }
    quote.check_not_expired(now)?;
    let mut payment = new_payment(&req, &quote, payment_id, now)?;
    // Carried by every record, message, event and task call of the payment (crate::trace).
    payment.trace_id = trace_id;
    accepted(store.create(&payment, key.as_deref(), &fingerprint).await?)
}

/// `GET /payments/{id}`.
pub async fn get_payment<S: PaymentStore>(store: &S, id: &str) -> Result<ApiResponse, ApiError> {
    match store.get(id).await? {
        Some(p) => Ok(ApiResponse::new(200, to_value(&p)?)),
        None => Err(ApiError::not_found(format!("no payment with id {id:?}"))),
    }
}

/// `GET /payments?status=&limit=&cursor=`.
pub async fn list_payments<S: PaymentStore>(
    store: &S,
    query: &[(String, String)],
) -> Result<ApiResponse, ApiError> {
    let get = query_params(query, &["status", "limit", "cursor"])?;
    let status = get("status")
        .map(|s| {
            PaymentStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_status",
                    format!(
                        "status {s:?} is not one of PENDING, PROCESSING, SETTLED, REJECTED, FAILED"
                    ),
                )
            })
        })
        .transpose()?;
    let limit = page_limit(get("limit"))?;
    let page = store.list(status, limit, get("cursor")).await?;
    Ok(ApiResponse::new(
        200,
        json!({"items": to_value(&page.items)?, "next_cursor": page.next_cursor}),
    ))
}

/// A lookup of the query's parameters; any parameter not in `known` is `unknown_parameter`.
fn query_params<'q>(
    query: &'q [(String, String)],
    known: &[&str],
) -> Result<impl Fn(&str) -> Option<&'q str>, ApiError> {
    if let Some((unknown, _)) = query.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(
            "unknown_parameter",
            format!("unknown query parameter {unknown:?}"),
        ));
    }
    Ok(move |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    })
}

/// The `limit` of a page: [`DEFAULT_PAGE`] when absent, else 1 to [`MAX_PAGE`].
fn page_limit(raw: Option<&str>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_PAGE),
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_limit",
                    format!("limit must be a whole number from 1 to {MAX_PAGE}"),
                )
            }),
    }
}

/// The ledger account a path names: an internal one (`fx:<CCY>`, `fees:<CCY>` of a supported
/// currency) as it is, any other in its canonical form, as payments store it.
pub fn ledger_account(raw: &str) -> Result<String, ApiError> {
    let internal = currencies()
        .iter()
        .flat_map(|c| [fx_account(c.code), fees_account(c.code)])
        .find(|a| a == raw);
    match internal {
        Some(account) => Ok(account),
        None => normalize_account("account", raw)
            .map_err(|e| ApiError::bad_request("invalid_account", e.to_string())),
    }
}

/// `GET /ledger/accounts/{account}?limit=&cursor=`: the account's balance per currency and its
/// transfers, newest first.
pub async fn get_ledger_account<L: Ledger>(
    ledger: &L,
    account: &str,
    query: &[(String, String)],
) -> Result<ApiResponse, ApiError> {
    let get = query_params(query, &["limit", "cursor"])?;
    let account = ledger_account(account)?;
    let page = ledger
        .account(&account, page_limit(get("limit"))?, get("cursor"))
        .await?;
    Ok(ApiResponse::new(200, to_value(&page)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_its_status() {
        use crate::payment::PaymentStatus;
        let domain = [
            (DomainError::TokenMalformed, 400),
            (
                DomainError::IllegalTransition {
                    from: PaymentStatus::Settled,
                    to: PaymentStatus::Pending,
                },
                409,
            ),
            (DomainError::UnknownCurrency("XYZ".into()), 422),
            (DomainError::InvalidAmount("x".into()), 422),
            (DomainError::SameCurrency, 422),
            (DomainError::TokenForged, 422),
            (DomainError::TokenExpired, 422),
            (DomainError::Unbalanced("x".into()), 500),
            (DomainError::InvalidRates("x".into()), 500),
        ];
        for (e, status) in domain {
            assert_eq!(ApiError::from(e.clone()).status, status, "{e}");
        }
        let store = [
            (StoreError::NotFound("p".into()), 404),
            (StoreError::Conflict("c".into()), 409),
            (StoreError::IdempotencyKeyInUse("k".into()), 409),
            (
                StoreError::QuoteAlreadyUsed {
                    quote_id: "q".into(),
                    payment_id: "p".into(),
                },
                409,
            ),
            (StoreError::invalid_cursor(), 422),
            (StoreError::Backend("disk".into()), 500),
            (StoreError::Unavailable("gone".into()), 503),
            (StoreError::from(DomainError::TokenExpired), 422),
        ];
        for (e, status) in store {
            let api = ApiError::from(e.clone());
            assert_eq!((api.status, api.code), (status, e.code()), "{e}");
        }
        // Every code in the table is one the errors use, and the body has the contract's shape.
        assert_eq!(http_status("no_such_code"), 500);
        let body = ApiError::from(StoreError::Conflict("c".into())).body();
        assert_eq!(
            body,
            json!({"error": {"code": "conflict", "message": "conflicting update: c"}})
        );
    }

    #[test]
    fn ledger_accounts_are_internal_or_canonical() {
        assert_eq!(ledger_account("fx:EUR").unwrap(), "fx:EUR");
        assert_eq!(ledger_account("fees:JPY").unwrap(), "fees:JPY");
        assert_eq!(ledger_account(" acc-1 ").unwrap(), "ACC-1");
        assert_eq!(
            ledger_account("FX:EUR").unwrap_err().code,
            "invalid_account"
        );
        assert_eq!(ledger_account("   ").unwrap_err().code, "invalid_account");
    }

    fn code(bytes: &[u8]) -> &'static str {
        parse_body::<QuoteRequest>(bytes).unwrap_err().code
    }

    #[test]
    fn each_kind_of_bad_body_has_its_code() {
        assert_eq!(code(b"{"), "invalid_json");
        assert_eq!(code(b"[1]"), "invalid_json");
        assert_eq!(
            code(br#"{"source_currency":"USD","target_currency":"EUR","amount":"1","x":1}"#),
            "unknown_field"
        );
        assert_eq!(
            code(br#"{"source_currency":"USD","target_currency":"EUR"}"#),
            "missing_field"
        );
        assert_eq!(
            code(br#"{"source_currency":1,"target_currency":"EUR","amount":"1"}"#),
            "invalid_field"
        );
        assert_eq!(code(&vec![b' '; MAX_BODY_BYTES + 1]), "payload_too_large");
        assert_eq!(
            code(br#"{"source_currency":"USD","target_currency":"EUR","amount":"1","amount":"9"}"#),
            "invalid_json"
        );
    }

    #[test]
    fn idempotency_keys_are_checked() {
        assert_eq!(idempotency_key(None).unwrap(), None);
        assert_eq!(
            idempotency_key(Some(" k1 ")).unwrap().as_deref(),
            Some("k1")
        );
        assert!(idempotency_key(Some("")).is_err());
        assert!(idempotency_key(Some(&"k".repeat(256))).is_err());
        assert!(idempotency_key(Some("a\u{7}b")).is_err());
    }
}
