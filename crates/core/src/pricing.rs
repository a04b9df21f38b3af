//! Mid-market rates, spreads by amount band and customer tier, fees.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::money::{Currency, currency, round_minor};

/// Decimal places of a customer rate.
pub const RATE_DECIMALS: u32 = 6;

/// Mid-market rates: units of each currency per one unit of `base` (the format of
/// `spec/rates.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateTable {
    pub base: String,
    pub as_of: String,
    pub rates: BTreeMap<String, Decimal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateFile {
    #[serde(default)]
    #[allow(dead_code)]
    comment: Option<String>,
    base: String,
    as_of: String,
    rates: BTreeMap<String, String>,
}

impl RateTable {
    /// Parses and validates a rate file: rates are decimal strings, every rate is greater than
    /// zero, every currency (and the base) is known, the base's own rate (if listed) is 1, and
    /// `as_of` is an RFC 3339 timestamp. A `"comment"` key is allowed.
    pub fn from_json(text: &str) -> Result<RateTable, DomainError> {
        let file: RateFile =
            serde_json::from_str(text).map_err(|e| DomainError::InvalidRates(e.to_string()))?;
        let invalid = |msg: String| Err(DomainError::InvalidRates(msg));
        if currency(&file.base).is_err() {
            return invalid(format!(
                "base currency {:?} is not a supported currency",
                file.base
            ));
        }
        if chrono::DateTime::parse_from_rfc3339(&file.as_of).is_err() {
            return invalid(format!(
                "as_of {:?} is not an RFC 3339 timestamp",
                file.as_of
            ));
        }
        let mut rates = BTreeMap::new();
        for (code, text) in file.rates {
            if currency(&code).is_err() {
                return invalid(format!(
                    "rate for {code:?}, which is not a supported currency"
                ));
            }
            let rate = match Decimal::from_str(&text) {
                Ok(rate) if text.trim() == text => rate,
                _ => {
                    return invalid(format!(
                        "rate for {code} is {text:?}, which is not a decimal number"
                    ));
                }
            };
            if rate <= Decimal::ZERO {
                return invalid(format!(
                    "rate for {code} is {text}; rates must be greater than zero"
                ));
            }
            if code == file.base && rate != Decimal::ONE {
                return invalid(format!(
                    "the base currency {code} must have rate 1, not {text}"
                ));
            }
            rates.insert(code, rate);
        }
        Ok(RateTable {
            base: file.base,
            as_of: file.as_of,
            rates,
        })
    }

    /// Units of `c` per one unit of the base currency (the base itself is 1).
    fn per_base(&self, c: Currency) -> Result<Decimal, DomainError> {
        if c.code == self.base {
            return Ok(Decimal::ONE);
        }
        self.rates
            .get(c.code)
            .copied()
            .ok_or_else(|| DomainError::UnknownCurrency(c.code.to_string()))
    }

    /// The base currency: the one limits and pricing bands are expressed in.
    pub fn base_currency(&self) -> Result<Currency, DomainError> {
        currency(&self.base)
    }

    /// `amount` of `c` in the base currency at the mid-market rate, rounded half away from zero
    /// to the base currency's minor units.
    pub fn to_base(&self, amount: Decimal, c: Currency) -> Result<Decimal, DomainError> {
        let base = self.base_currency()?;
        let per_base = self.per_base(c)?;
        let converted = amount.checked_div(per_base).ok_or_else(|| {
            DomainError::InvalidAmount(format!("{amount} {c} is too large to convert"))
        })?;
        Ok(round_minor(converted, base))
    }

    /// Mid-market rate: units of `target` per one unit of `source`, crossed via the base currency
    /// (full `Decimal` precision, trailing zeros removed). A currency without a rate is
    /// [`DomainError::UnknownCurrency`].
    pub fn mid_rate(&self, source: Currency, target: Currency) -> Result<Decimal, DomainError> {
        let s = self.per_base(source)?;
        let t = self.per_base(target)?;
        let mid = t.checked_div(s).ok_or_else(|| {
            DomainError::InvalidRates(format!("cannot cross {} and {}", source, target))
        })?;
        Ok(mid.normalize())
    }
}

/// Customer tier, chosen by the client in the quote request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerTier {
    #[default]
    Standard,
    Premium,
}

impl CustomerTier {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerTier::Standard => "standard",
            CustomerTier::Premium => "premium",
        }
    }
}

/// A spread band: applies to amounts (in base-currency units, see [`RateTable::to_base`]) from
/// `from` up to the next band's `from` (exclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpreadBand {
    pub from: Decimal,
    pub standard_bps: u32,
    pub premium_bps: u32,
}

impl SpreadBand {
    pub fn bps(&self, tier: CustomerTier) -> u32 {
        match tier {
            CustomerTier::Standard => self.standard_bps,
            CustomerTier::Premium => self.premium_bps,
        }
    }
}

/// Pricing rules: spread by amount band (in the base currency) and tier, fee rate by tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingPolicy {
    /// Ascending by `from`; the first band should start at 0.
    pub bands: Vec<SpreadBand>,
    /// Fee as a fraction of the amount (0.0025 = 0.25%).
    pub standard_fee_rate: Decimal,
    pub premium_fee_rate: Decimal,
    /// Minimum fee in source-currency units.
    pub min_fee: Decimal,
}

impl Default for PricingPolicy {
    fn default() -> Self {
        let band = |from: i64, standard_bps, premium_bps| SpreadBand {
            from: Decimal::from(from),
            standard_bps,
            premium_bps,
        };
        PricingPolicy {
            bands: vec![
                band(0, 100, 50),
                band(10_000, 60, 30),
                band(100_000, 40, 20),
            ],
            standard_fee_rate: Decimal::new(25, 4),
            premium_fee_rate: Decimal::new(10, 4),
            min_fee: Decimal::ZERO,
        }
    }
}

impl PricingPolicy {
    /// Spread in basis points for `base_amount` (base-currency units): the band with the largest
    /// `from` not above it. No matching band means no spread.
    pub fn spread_bps(&self, base_amount: Decimal, tier: CustomerTier) -> u32 {
        self.bands
            .iter()
            .filter(|b| b.from <= base_amount)
            .max_by_key(|b| b.from)
            .map_or(0, |b| b.bps(tier))
    }

    pub fn fee_rate(&self, tier: CustomerTier) -> Decimal {
        match tier {
            CustomerTier::Standard => self.standard_fee_rate,
            CustomerTier::Premium => self.premium_fee_rate,
        }
    }
}

/// The figures of one conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    pub mid_rate: Decimal,
    pub spread_bps: u32,
    /// Customer rate: target units per source unit, [`RATE_DECIMALS`] places.
    pub rate: Decimal,
    /// In source currency, at its minor-unit scale.
    pub fee: Decimal,
    /// In target currency, at its minor-unit scale.
    pub target_amount: Decimal,
    /// `amount` in the base currency at the mid-market rate: what chose the band.
    pub base_amount: Decimal,
}

/// Prices a conversion of `amount` (source currency): the band is chosen by the amount in the
/// base currency ([`RateTable::to_base`]), then
/// `rate = round(mid × (1 − spread), 6 dp)`, `fee = round_minor(amount × fee_rate, source)`
/// (at least `min_fee`), `target_amount = round_minor((amount − fee) × rate, target)`.
/// All roundings are half away from zero.
pub fn price(
    rates: &RateTable,
    policy: &PricingPolicy,
    source: Currency,
    target: Currency,
    amount: Decimal,
    tier: CustomerTier,
) -> Result<Pricing, DomainError> {
    if source == target {
        return Err(DomainError::SameCurrency);
    }
    if amount <= Decimal::ZERO {
        return Err(DomainError::InvalidAmount(format!(
            "{amount} {source} must be greater than zero"
        )));
    }
    let overflow =
        || DomainError::InvalidAmount(format!("{amount} {source} is too large to convert"));
    let mid_rate = rates.mid_rate(source, target)?;
    let base_amount = rates.to_base(amount, source)?;
    let spread_bps = policy.spread_bps(base_amount, tier);
    let factor = Decimal::ONE - Decimal::new(i64::from(spread_bps), 4);
    let mut rate = mid_rate
        .checked_mul(factor)
        .ok_or_else(overflow)?
        .round_dp_with_strategy(RATE_DECIMALS, RoundingStrategy::MidpointAwayFromZero);
    rate.rescale(RATE_DECIMALS);
    let raw_fee = amount
        .checked_mul(policy.fee_rate(tier))
        .ok_or_else(overflow)?;
    let fee = round_minor(raw_fee.max(policy.min_fee), source);
    let net = amount - fee;
    if net <= Decimal::ZERO {
        return Err(DomainError::InvalidAmount(format!(
            "{amount} {source} is too small: the fee of {fee} {source} leaves nothing to convert"
        )));
    }
    let target_amount = round_minor(net.checked_mul(rate).ok_or_else(overflow)?, target);
    if target_amount <= Decimal::ZERO {
        return Err(DomainError::InvalidAmount(format!(
            "{amount} {source} is too small: it converts to less than one minor unit of {target}"
        )));
    }
    Ok(Pricing {
        mid_rate,
        spread_bps,
        rate,
        fee,
        target_amount,
        base_amount,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const SPEC_RATES: &str = include_str!("../../../spec/rates.json");

    pub(crate) fn rates() -> RateTable {
        RateTable::from_json(SPEC_RATES).unwrap()
    }
    fn c(code: &str) -> Currency {
        currency(code).unwrap()
    }
    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn reads_the_spec_rate_file() {
        let t = rates();
        assert_eq!(t.base, "USD");
        assert_eq!(t.as_of, "2026-11-01T00:00:00Z");
        assert_eq!(t.rates["JPY"], d("151.37"));
        assert_eq!(t.rates.len(), 8);
    }

    #[test]
    fn rejects_bad_rate_files() {
        let cases = [
            ("not json", "expected"),
            (
                r#"{"base":"USD","as_of":"2026-11-01T00:00:00Z","rates":{"EUR":"0"}}"#,
                "greater than zero",
            ),
            (
                r#"{"base":"USD","as_of":"2026-11-01T00:00:00Z","rates":{"EUR":"-1"}}"#,
                "greater than zero",
            ),
            (
                r#"{"base":"USD","as_of":"2026-11-01T00:00:00Z","rates":{"EUR":"abc"}}"#,
                "not a decimal",
            ),
            (
                r#"{"base":"USD","as_of":"2026-11-01T00:00:00Z","rates":{"EUR":0.9}}"#,
                "expected a string",
            ),
            (
                r#"{"base":"USD","as_of":"2026-11-01T00:00:00Z","rates":{"XXX":"1"}}"#,
                "\"XXX\"",
            ),
            (
                r#"{"base":"XXX","as_of":"2026-11-01T00:00:00Z","rates":{}}"#,
                "base currency",
            ),
            (r#"{"base":"USD","as_of":"yesterday","rates":{}}"#, "as_of"),
            (
                r#"{"base":"USD","as_of":"2026-11-01T00:00:00Z","rates":{"USD":"2"}}"#,
                "must have rate 1",
            ),
            (
                r#"{"base":"USD","as_of":"2026-11-01T00:00:00Z","rates":{},"extra":1}"#,
                "unknown field",
            ),
        ];
        for (text, needle) in cases {
            let err = RateTable::from_json(text).unwrap_err();
            assert_eq!(err.code(), "invalid_rates");
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn mid_rate_crosses_via_base() {
        let t = rates();
        assert_eq!(t.mid_rate(c("USD"), c("EUR")).unwrap(), d("0.9215"));
        assert_eq!(t.mid_rate(c("USD"), c("USD")).unwrap(), Decimal::ONE);
        assert_eq!(
            t.mid_rate(c("EUR"), c("USD")).unwrap().round_dp(10),
            d("1.0851871948")
        );
        let eur_jpy = t.mid_rate(c("EUR"), c("JPY")).unwrap();
        assert_eq!(eur_jpy.round_dp(6), d("164.264786"));
        let mut partial = t.clone();
        partial.rates.remove("INR");
        assert_eq!(
            partial.mid_rate(c("USD"), c("INR")),
            Err(DomainError::UnknownCurrency("INR".into()))
        );
    }

    #[test]
    fn default_policy_table() {
        let p = PricingPolicy::default();
        let std = CustomerTier::Standard;
        let pre = CustomerTier::Premium;
        assert_eq!(p.spread_bps(d("0.01"), std), 100);
        assert_eq!(p.spread_bps(d("9999.99"), std), 100);
        assert_eq!(p.spread_bps(d("9999.99"), pre), 50);
        assert_eq!(p.spread_bps(d("10000.00"), std), 60);
        assert_eq!(p.spread_bps(d("10000.00"), pre), 30);
        assert_eq!(p.spread_bps(d("99999.99"), std), 60);
        assert_eq!(p.spread_bps(d("100000.00"), std), 40);
        assert_eq!(p.spread_bps(d("100000.00"), pre), 20);
        assert_eq!(p.fee_rate(std), d("0.0025"));
        assert_eq!(p.fee_rate(pre), d("0.0010"));
    }

    #[test]
    fn bands_are_chosen_in_the_base_currency() {
        let t = rates();
        let p = PricingPolicy::default();
        let spread = |source: &str, amount: &str| {
            price(
                &t,
                &p,
                c(source),
                c(if source == "USD" { "EUR" } else { "USD" }),
                d(amount),
                CustomerTier::Standard,
            )
            .unwrap()
        };
        // 100 JPY and 10,000 JPY (about 66 USD) are both in the first band.
        assert_eq!(spread("JPY", "100").spread_bps, 100);
        assert_eq!(spread("JPY", "10000").spread_bps, 100);
        // 1,513,700 JPY is exactly 10,000.00 USD at 151.37.
        assert_eq!(spread("JPY", "1513699").base_amount.to_string(), "9999.99");
        assert_eq!(spread("JPY", "1513699").spread_bps, 100);
        assert_eq!(spread("JPY", "1513700").base_amount.to_string(), "10000.00");
        assert_eq!(spread("JPY", "1513700").spread_bps, 60);
        assert_eq!(spread("JPY", "15137000").spread_bps, 40);
        // In the base currency itself nothing is converted.
        assert_eq!(
            spread("USD", "10000.00").base_amount.to_string(),
            "10000.00"
        );
        assert_eq!(spread("USD", "9999.99").spread_bps, 100);
        assert_eq!(t.to_base(d("1"), c("USD")).unwrap().to_string(), "1.00");
        assert_eq!(t.base_currency().unwrap().code, "USD");
    }

    #[test]
    fn a_rate_table_in_another_base_prices_in_that_base() {
        let eur = RateTable::from_json(
            r#"{"base":"EUR","as_of":"2026-11-01T00:00:00Z","rates":{"USD":"1.0852","JPY":"164.26"}}"#,
        )
        .unwrap();
        let p = price(
            &eur,
            &PricingPolicy::default(),
            c("JPY"),
            c("USD"),
            d("1642600"),
            CustomerTier::Standard,
        )
        .unwrap();
        assert_eq!(p.base_amount.to_string(), "10000.00");
        assert_eq!(p.spread_bps, 60);
    }

    #[test]
    fn prices_usd_to_eur() {
        let p = price(
            &rates(),
            &PricingPolicy::default(),
            c("USD"),
            c("EUR"),
            d("1000.00"),
            CustomerTier::Standard,
        )
        .unwrap();
        assert_eq!(p.mid_rate, d("0.9215"));
        assert_eq!(p.spread_bps, 100);
        assert_eq!(p.rate.to_string(), "0.912285");
        assert_eq!(p.fee.to_string(), "2.50");
        // (1000.00 - 2.50) * 0.912285 = 910.0042875 -> 910.00
        assert_eq!(p.target_amount.to_string(), "910.00");

        let p = price(
            &rates(),
            &PricingPolicy::default(),
            c("USD"),
            c("JPY"),
            d("10000.00"),
            CustomerTier::Premium,
        )
        .unwrap();
        assert_eq!(p.spread_bps, 30);
        assert_eq!(p.rate.to_string(), "150.915890"); // 151.37 * 0.997
        assert_eq!(p.fee.to_string(), "10.00");
        // 9990.00 * 150.915890 = 1507649.7411 -> 1507650 (JPY, 0 decimals)
        assert_eq!(p.target_amount.to_string(), "1507650");
    }

    #[test]
    fn fee_rounds_half_away_from_zero() {
        // 0.25% of 1.00 = 0.0025 -> 0.00; of 2.00 = 0.005 -> 0.01
        let pr = |a: &str| {
            price(
                &rates(),
                &PricingPolicy::default(),
                c("USD"),
                c("EUR"),
                d(a),
                CustomerTier::Standard,
            )
        };
        assert_eq!(pr("1.00").unwrap().fee.to_string(), "0.00");
        assert_eq!(pr("2.00").unwrap().fee.to_string(), "0.01");
    }

    #[test]
    fn refuses_same_currency_and_dust() {
        let t = rates();
        let p = PricingPolicy::default();
        assert_eq!(
            price(
                &t,
                &p,
                c("USD"),
                c("USD"),
                d("10.00"),
                CustomerTier::Standard
            ),
            Err(DomainError::SameCurrency)
        );
        let err = price(
            &t,
            &p,
            c("INR"),
            c("USD"),
            d("0.01"),
            CustomerTier::Standard,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("less than one minor unit of USD"),
            "{err}"
        );
        let big_fee = PricingPolicy {
            min_fee: d("5"),
            ..PricingPolicy::default()
        };
        let err = price(
            &t,
            &big_fee,
            c("USD"),
            c("EUR"),
            d("5.00"),
            CustomerTier::Standard,
        )
        .unwrap_err();
        assert!(err.to_string().contains("leaves nothing"), "{err}");
    }
}
