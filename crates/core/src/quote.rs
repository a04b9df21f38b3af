//! Quotes: a priced conversion offer, valid until `expires_at`. Quotes are stateless: the client
//! carries them as a signed token (see [`crate::token`]).

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::money::{Currency, currency, format_amount, parse_amount};
use crate::pricing::{CustomerTier, PricingPolicy, RateTable, price};

/// Body of `POST /quotes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    pub source_currency: String,
    pub target_currency: String,
    pub amount: String,
    #[serde(default)]
    pub customer_tier: Option<CustomerTier>,
}

/// The priced terms of a quote, which a payment made from it carries unchanged: amounts are at
/// their currency's minor-unit scale, `rate` has 6 decimals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteTerms {
    pub quote_id: String,
    pub source_currency: Currency,
    pub target_currency: Currency,
    pub amount: Decimal,
    pub rate: Decimal,
    pub fee: Decimal,
    pub target_amount: Decimal,
    /// The rate table's base currency: limits and pricing bands are expressed in it.
    pub base_currency: Currency,
    /// `amount` in `base_currency` at the mid-market rate (what chose the pricing band and what
    /// the per-payment limit is compared with).
    pub base_amount: Decimal,
    pub customer_tier: CustomerTier,
}

/// A priced offer: its terms and how long they hold. In JSON (the signed token's payload) the
/// terms' fields stand beside `created_at` and `expires_at`, as one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    #[serde(flatten)]
    pub terms: QuoteTerms,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Quote {
    /// A quote is expired from `expires_at` on (`now >= expires_at`).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// `Err(TokenExpired)` once the quote has expired.
    pub fn check_not_expired(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.is_expired(now) {
            Err(DomainError::TokenExpired)
        } else {
            Ok(())
        }
    }
}

/// Validates a quote request and prices it. Currencies are checked first (source, then target),
/// then that they differ, then the amount.
pub fn create_quote(
    req: &QuoteRequest,
    rates: &RateTable,
    policy: &PricingPolicy,
    quote_id: String,
    now: DateTime<Utc>,
    ttl: chrono::Duration,
) -> Result<Quote, DomainError> {
    let source = currency(&req.source_currency)?;
    let target = currency(&req.target_currency)?;
    if source == target {
        return Err(DomainError::SameCurrency);
    }
    let amount = parse_amount(&req.amount, source)?;
    let tier = req.customer_tier.unwrap_or_default();
    let pricing = price(rates, policy, source, target, amount, tier)?;
    Ok(Quote {
        terms: QuoteTerms {
            quote_id,
            source_currency: source,
            target_currency: target,
            amount,
            rate: pricing.rate,
            fee: pricing.fee,
            target_amount: pricing.target_amount,
            base_currency: rates.base_currency()?,
            base_amount: pricing.base_amount,
            customer_tier: tier,
        },
        created_at: now,
        expires_at: now + ttl,
    })
}

/// Body of the `201` answer to `POST /quotes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteResponse {
    pub quote_id: String,
    pub source_currency: Currency,
    pub target_currency: Currency,
    pub amount: String,
    pub rate: String,
    pub fee: String,
    pub target_amount: String,
    pub base_currency: Currency,
    pub base_amount: String,
    pub customer_tier: CustomerTier,
    /// RFC 3339, UTC (`Z`).
    pub expires_at: String,
    pub token: String,
}

impl QuoteResponse {
    pub fn new(quote: &Quote, token: String) -> Self {
        let t = &quote.terms;
        QuoteResponse {
            quote_id: t.quote_id.clone(),
            source_currency: t.source_currency,
            target_currency: t.target_currency,
            amount: format_amount(t.amount, t.source_currency),
            rate: t.rate.to_string(),
            fee: format_amount(t.fee, t.source_currency),
            target_amount: format_amount(t.target_amount, t.target_currency),
            base_currency: t.base_currency,
            base_amount: format_amount(t.base_amount, t.base_currency),
            customer_tier: t.customer_tier,
            expires_at: rfc3339(quote.expires_at),
            token,
        }
    }
}

/// RFC 3339 in UTC with `Z`, with as many fractional digits as needed (none for whole seconds).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pricing::tests::rates;

    pub(crate) fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    pub(crate) fn request(source: &str, target: &str, amount: &str) -> QuoteRequest {
        QuoteRequest {
            source_currency: source.into(),
            target_currency: target.into(),
            amount: amount.into(),
            customer_tier: None,
        }
    }

    pub(crate) fn quote(source: &str, target: &str, amount: &str) -> Quote {
        let ttl = chrono::Duration::minutes(15);
        create_quote(
            &request(source, target, amount),
            &rates(),
            &PricingPolicy::default(),
            "q-1".into(),
            t0(),
            ttl,
        )
        .unwrap()
    }

    #[test]
    fn creates_a_priced_quote() {
        let q = quote("USD", "EUR", "1000");
        assert_eq!(q.terms.amount.to_string(), "1000.00");
        assert_eq!(q.terms.rate.to_string(), "0.912285");
        assert_eq!(q.terms.fee.to_string(), "2.50");
        assert_eq!(q.terms.target_amount.to_string(), "910.00");
        assert_eq!(q.terms.customer_tier, CustomerTier::Standard);
        assert_eq!(q.expires_at - q.created_at, chrono::Duration::minutes(15));
    }

    #[test]
    fn request_is_strict_json() {
        let ok: QuoteRequest =
            serde_json::from_str(r#"{"source_currency":"USD","target_currency":"EUR","amount":"10","customer_tier":"premium"}"#)
                .unwrap();
        assert_eq!(ok.customer_tier, Some(CustomerTier::Premium));
        let no_tier: QuoteRequest = serde_json::from_str(
            r#"{"source_currency":"USD","target_currency":"EUR","amount":"10"}"#,
        )
        .unwrap();
        assert_eq!(no_tier.customer_tier, None);
        assert!(
            serde_json::from_str::<QuoteRequest>(
                r#"{"source_currency":"USD","target_currency":"EUR","amount":"10","extra":1}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<QuoteRequest>(
                r#"{"source_currency":"USD","target_currency":"EUR","amount":"10","customer_tier":"gold"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn rejects_bad_requests_with_their_own_codes() {
        let policy = PricingPolicy::default();
        let ttl = chrono::Duration::minutes(15);
        let mk = |r: QuoteRequest| {
            create_quote(&r, &rates(), &policy, "q".into(), t0(), ttl)
                .unwrap_err()
                .code()
        };
        assert_eq!(mk(request("XXX", "EUR", "10")), "unknown_currency");
        assert_eq!(mk(request("USD", "eur", "10")), "unknown_currency");
        assert_eq!(mk(request("USD", "USD", "10")), "same_currency");
        assert_eq!(mk(request("USD", "EUR", "-10")), "invalid_amount");
        assert_eq!(mk(request("JPY", "EUR", "10.5")), "invalid_amount");
    }

    #[test]
    fn response_formats_amounts() {
        let q = quote("JPY", "USD", "150000");
        let r = QuoteResponse::new(&q, "tok".into());
        assert_eq!(r.amount, "150000");
        assert_eq!(r.fee, "375");
        assert_eq!(r.expires_at, "2026-11-01T12:15:00Z");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["customer_tier"], "standard");
        assert_eq!(json["token"], "tok");
        assert!(json["target_amount"].is_string());
    }

    #[test]
    fn quote_json_keeps_scale() {
        let q = quote("USD", "JPY", "10");
        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(json["amount"], "10.00");
        assert_eq!(json["fee"], "0.03");
        assert_eq!(json["created_at"], "2026-11-01T12:00:00Z");
        let back: Quote = serde_json::from_value(json).unwrap();
        assert_eq!(back, q);
        assert_eq!(back.terms.amount.scale(), 2);
    }
}
