//! The HTTP face of the core's `ApiError`: the JSON error body every 4xx/5xx carries,
//! `{"error": {"code": "...", "message": "..."}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use eventpay_core::api::ApiError;
use eventpay_core::{DomainError, StoreError};

use crate::error::LocalError;

#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(code = self.0.code, message = %self.0.message, "request failed");
        }
        (status, Json(self.0.body())).into_response()
    }
}

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        HttpError(e)
    }
}

impl From<DomainError> for HttpError {
    fn from(e: DomainError) -> Self {
        HttpError(e.into())
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        HttpError(e.into())
    }
}

impl From<LocalError> for HttpError {
    fn from(e: LocalError) -> Self {
        match e {
            LocalError::Store(s) => s.into(),
            other => HttpError(ApiError::new(500, "internal", other.to_string())),
        }
    }
}
