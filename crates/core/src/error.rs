//! The one error type for domain failures. Each variant has a stable machine code (used in HTTP
//! error bodies and as the workflow's error name); which HTTP status a code answers with is the
//! HTTP edge's business (`crate::api::http_status`).

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

    pub(crate) fn field(field: &str, reason: impl Into<String>) -> Self {
        DomainError::InvalidField {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
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
    fn codes() {
        let cases = [
            (
                DomainError::UnknownCurrency("XYZ".into()),
                "unknown_currency",
            ),
            (DomainError::InvalidAmount("x".into()), "invalid_amount"),
            (DomainError::SameCurrency, "same_currency"),
            (
                DomainError::field("sender.name", "is empty"),
                "invalid_field",
            ),
            (DomainError::TokenMalformed, "quote_token_malformed"),
            (DomainError::TokenForged, "quote_token_invalid"),
            (DomainError::TokenExpired, "quote_expired"),
            (
                DomainError::IllegalTransition {
                    from: PaymentStatus::Settled,
                    to: PaymentStatus::Pending,
                },
                "illegal_transition",
            ),
            (DomainError::Unbalanced("x".into()), "ledger_unbalanced"),
            (DomainError::InvalidRates("x".into()), "invalid_rates"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
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
    }

    #[test]
    fn shown_truncates_long_values() {
        assert_eq!(shown("abc"), "\"abc\"");
        let long = "9".repeat(100);
        let s = shown(&long);
        assert!(s.len() < 50 && s.ends_with('…'), "{s}");
    }
}
