//! The one error type for domain failures. Each variant has a stable machine code (used in HTTP
//! error bodies and as the workflow's error name) and an HTTP status.

use crate::money::SUPPORTED_CURRENCIES;
use crate::payment::PaymentStatus;

/// A business-rule failure. `Display` is a human sentence naming the offending value.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum DomainError {
    #[error("unknown currency {0:?}: expected an upper-case ISO 4217 code, one of {list}", list = SUPPORTED_CURRENCIES.join(", "))]
    UnknownCurrency(String),
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    #[error(
        "source and target currency are the same: a quote converts between two different currencies"
    )]
    SameCurrency,
    #[error("invalid {field}: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("the quote token is malformed: expected the token returned by POST /quotes")]
    TokenMalformed,
    #[error(
        "the quote token's signature is not valid: it was altered or not issued by this service"
    )]
    TokenForged,
    #[error("the quote has expired: request a new quote")]
    TokenExpired,
    #[error("illegal status transition: a payment cannot move from {from} to {to}")]
    IllegalTransition {
        from: PaymentStatus,
        to: PaymentStatus,
    },
    #[error("the payment cannot be posted to the ledger: {0}")]
    Unbalanced(String),
    #[error("invalid rate table: {0}")]
    InvalidRates(String),
}

impl DomainError {
    /// Stable machine-readable code, e.g. `"unknown_currency"`.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::UnknownCurrency(_) => "unknown_currency",
            DomainError::InvalidAmount(_) => "invalid_amount",
            DomainError::SameCurrency => "same_currency",
            DomainError::InvalidField { .. } => "invalid_field",
            DomainError::TokenMalformed => "quote_token_malformed",
            DomainError::TokenForged => "quote_token_invalid",
            DomainError::TokenExpired => "quote_expired",
            DomainError::IllegalTransition { .. } => "illegal_transition",
            DomainError::Unbalanced(_) => "ledger_unbalanced",
            DomainError::InvalidRates(_) => "invalid_rates",
        }
    }

    /// The HTTP status this failure maps to.
    pub fn http_status(&self) -> u16 {
        match self {
            DomainError::TokenMalformed => 400,
            DomainError::IllegalTransition { .. } => 409,
            DomainError::Unbalanced(_) | DomainError::InvalidRates(_) => 500,
            DomainError::UnknownCurrency(_)
            | DomainError::InvalidAmount(_)
            | DomainError::SameCurrency
            | DomainError::InvalidField { .. }
            | DomainError::TokenForged
            | DomainError::TokenExpired => 422,
        }
    }

    /// The error body of the HTTP contract: `{"error": {"code", "message"}}`.
    pub fn to_body(&self) -> serde_json::Value {
        error_body(self.code(), &self.to_string())
    }

    pub(crate) fn field(field: &str, reason: impl Into<String>) -> Self {
        DomainError::InvalidField {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// `{"error": {"code": code, "message": message}}` — the error shape of every HTTP response.
pub fn error_body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "code": code, "message": message } })
}

/// Shows a user-supplied value in a message, shortened so a huge input cannot bloat the error.
pub(crate) fn shown(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() <= MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        let cases = [
            (
                DomainError::UnknownCurrency("XYZ".into()),
                "unknown_currency",
                422,
            ),
            (
                DomainError::InvalidAmount("x".into()),
                "invalid_amount",
                422,
            ),
            (DomainError::SameCurrency, "same_currency", 422),
            (
                DomainError::field("sender.name", "is empty"),
                "invalid_field",
                422,
            ),
            (DomainError::TokenMalformed, "quote_token_malformed", 400),
            (DomainError::TokenForged, "quote_token_invalid", 422),
            (DomainError::TokenExpired, "quote_expired", 422),
            (
                DomainError::IllegalTransition {
                    from: PaymentStatus::Settled,
                    to: PaymentStatus::Pending,
                },
                "illegal_transition",
                409,
            ),
            (
                DomainError::Unbalanced("x".into()),
                "ledger_unbalanced",
                500,
            ),
            (DomainError::InvalidRates("x".into()), "invalid_rates", 500),
        ];
        for (error, code, status) in cases {
            assert_eq!(error.code(), code, "{error}");
            assert_eq!(error.http_status(), status, "{error}");
        }
    }

    #[test]
    fn messages_name_the_value() {
        let e = DomainError::UnknownCurrency("XYZ".into());
        assert_eq!(
            e.to_string(),
            "unknown currency \"XYZ\": expected an upper-case ISO 4217 code, one of USD, EUR, GBP, JPY, CHF, CAD, AUD, INR"
        );
        let e = DomainError::IllegalTransition {
            from: PaymentStatus::Settled,
            to: PaymentStatus::Pending,
        };
        assert_eq!(
            e.to_string(),
            "illegal status transition: a payment cannot move from SETTLED to PENDING"
        );
        assert_eq!(
            e.to_body(),
            serde_json::json!({"error": {"code": "illegal_transition", "message": e.to_string()}})
        );
    }

    #[test]
    fn shown_truncates_long_values() {
        assert_eq!(shown("abc"), "\"abc\"");
        let long = "9".repeat(100);
        let s = shown(&long);
        assert!(s.len() < 50 && s.ends_with('…'), "{s}");
    }
}
