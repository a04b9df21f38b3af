//! Currencies, strict amount parsing, commercial rounding and formatting.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{DomainError, shown};

/// A supported ISO 4217 currency and its number of minor units (decimal places).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    pub code: &'static str,
    pub minor_units: u32,
}

const CURRENCIES: &[Currency] = &[
    Currency {
        code: "USD",
        minor_units: 2,
    },
    Currency {
        code: "EUR",
        minor_units: 2,
    },
    Currency {
        code: "GBP",
        minor_units: 2,
    },
    Currency {
        code: "JPY",
        minor_units: 0,
    },
    Currency {
        code: "CHF",
        minor_units: 2,
    },
    Currency {
        code: "CAD",
        minor_units: 2,
    },
    Currency {
        code: "AUD",
        minor_units: 2,
    },
    Currency {
        code: "INR",
        minor_units: 2,
    },
];

/// The codes of every supported currency, in table order.
pub const SUPPORTED_CURRENCIES: &[&str] = &["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "INR"];

/// The largest accepted amount, in units of the currency: 1,000,000,000,000.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// Looks up a currency by its exact upper-case ISO 4217 code.
pub fn currency(code: &str) -> Result<Currency, DomainError> {
    CURRENCIES
        .iter()
        .find(|c| c.code == code)
        .copied()
        .ok_or_else(|| DomainError::UnknownCurrency(code.chars().take(40).collect()))
}

/// Every supported currency.
pub fn currencies() -> &'static [Currency] {
    CURRENCIES
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        currency(&code).map_err(serde::de::Error::custom)
    }
}

/// Parses a client-supplied amount strictly: ASCII digits with an optional single `.` followed by
/// at least one digit; no sign, exponent, spaces, separators or leading zeros (`"0.50"` yes,
/// `"00001"` no: one amount has one spelling). The amount must be greater than
/// zero, at most [`MAX_AMOUNT`], and have at most `currency.minor_units` decimals. The result has
/// exactly the currency's scale (`"1000"` USD → `1000.00`).
pub fn parse_amount(text: &str, currency: Currency) -> Result<Decimal, DomainError> {
    let malformed = || {
        DomainError::InvalidAmount(format!(
            "{} is not a plain decimal number (digits with an optional '.', e.g. \"1000.00\")",
            shown(text)
        ))
    };
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
        return Err(malformed());
    }
    if int_part.len() > 1 && int_part.starts_with('0') {
        return Err(DomainError::InvalidAmount(format!(
            "{} has a leading zero: write it without (e.g. \"1.00\", \"0.50\")",
            shown(text)
        )));
    }
    let frac = frac_part.unwrap_or("");
    let decimals = frac.len() as u32;
    if decimals > currency.minor_units {
        return Err(DomainError::InvalidAmount(format!(
            "{} has {decimals} decimal places but {} allows at most {}",
            shown(text),
            currency.code,
            currency.minor_units
        )));
    }
    let int_digits = int_part.trim_start_matches('0');
    // 13 digits hold up to 9,999,999,999,999; anything longer is certainly above MAX_AMOUNT.
    if int_digits.len() > 13 {
        return Err(too_large(text, currency));
    }
    let mut mantissa: i128 = 0;
    for b in int_digits.bytes().chain(frac.bytes()) {
        mantissa = mantissa * 10 + i128::from(b - b'0');
    }
    let mut value = Decimal::from_i128_with_scale(mantissa, decimals);
    if value.is_zero() {
        return Err(DomainError::InvalidAmount(format!(
            "{} must be greater than zero",
            shown(text)
        )));
    }
    if value > MAX_AMOUNT {
        return Err(too_large(text, currency));
    }
    value.rescale(currency.minor_units);
    Ok(value)
}

fn too_large(text: &str, currency: Currency) -> DomainError {
    DomainError::InvalidAmount(format!(
        "{} exceeds the maximum of {} {}",
        shown(text),
        format_amount(MAX_AMOUNT, currency),
        currency.code
    ))
}

/// Rounds to the currency's minor units, half away from zero ("commercial rounding"); the result
/// always has exactly `minor_units` decimal places.
pub fn round_minor(value: Decimal, currency: Currency) -> Decimal {
    let mut rounded =
        value.round_dp_with_strategy(currency.minor_units, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(currency.minor_units);
    if rounded.is_zero() {
        rounded.set_sign_positive(true);
    }
    rounded
}

/// Formats at the currency's scale: `"1000.00"`, JPY `"1000"`.
pub fn format_amount(value: Decimal, currency: Currency) -> String {
    round_minor(value, currency).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn usd() -> Currency {
        currency("USD").unwrap()
    }
    fn jpy() -> Currency {
        currency("JPY").unwrap()
    }
    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn currency_lookup_is_exact() {
        assert_eq!(
            usd(),
            Currency {
                code: "USD",
                minor_units: 2
            }
        );
        assert_eq!(jpy().minor_units, 0);
        for code in SUPPORTED_CURRENCIES {
            assert_eq!(currency(code).unwrap().code, *code);
        }
        assert_eq!(SUPPORTED_CURRENCIES.len(), currencies().len());
        for bad in ["usd", "Usd", " USD", "USD ", "", "XXX", "US"] {
            assert_eq!(
                currency(bad),
                Err(DomainError::UnknownCurrency(bad.to_string())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn currency_serde_is_the_code() {
        assert_eq!(serde_json::to_string(&usd()).unwrap(), "\"USD\"");
        assert_eq!(serde_json::from_str::<Currency>("\"JPY\"").unwrap(), jpy());
        assert!(serde_json::from_str::<Currency>("\"jpy\"").is_err());
    }

    #[test]
    fn max_amount_is_one_trillion() {
        assert_eq!(MAX_AMOUNT, d("1000000000000"));
    }

    #[test]
    fn parse_accepts_plain_decimals_at_currency_scale() {
        assert_eq!(parse_amount("1000", usd()).unwrap().to_string(), "1000.00");
        assert_eq!(
            parse_amount("1000.5", usd()).unwrap().to_string(),
            "1000.50"
        );
        assert_eq!(parse_amount("0.01", usd()).unwrap().to_string(), "0.01");
        assert_eq!(parse_amount("0.50", usd()).unwrap().to_string(), "0.50");
        assert_eq!(parse_amount("1000", jpy()).unwrap().to_string(), "1000");
        assert_eq!(
            parse_amount("1000000000000", usd()).unwrap().to_string(),
            "1000000000000.00"
        );
        assert_eq!(
            parse_amount("1000000000000.00", usd()).unwrap().to_string(),
            "1000000000000.00"
        );
    }

    #[test]
    fn parse_rejects_everything_else() {
        for bad in [
            "", " ", "1 000", " 10", "10 ", "-10", "+10", "1e3", "1E3", "1,000.00", "1.2.3", ".5",
            "5.", "abc", "１０", "0x10", "NaN", "inf", "10.0\n",
        ] {
            let err = parse_amount(bad, usd()).unwrap_err();
            assert_eq!(err.code(), "invalid_amount", "{bad:?}");
        }
        assert!(
            parse_amount("0", usd())
                .unwrap_err()
                .to_string()
                .contains("greater than zero")
        );
        assert!(parse_amount("0.00", usd()).is_err());
        let e = parse_amount("12.345", usd()).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid amount: \"12.345\" has 3 decimal places but USD allows at most 2"
        );
        assert!(parse_amount("1.0", jpy()).is_err());
        assert!(
            parse_amount("1000000000000.01", usd())
                .unwrap_err()
                .to_string()
                .contains("exceeds the maximum")
        );
        assert!(parse_amount("1000000000001", jpy()).is_err());
        assert!(parse_amount(&"9".repeat(40), usd()).is_err());
        for leading in ["00001", "007.10", "00.50", "01"] {
            let e = parse_amount(leading, usd()).unwrap_err();
            assert_eq!(e.code(), "invalid_amount", "{leading:?}");
            assert!(e.to_string().contains("leading zero"), "{e}");
        }
        assert!(parse_amount(&format!("{}1", "0".repeat(500)), usd()).is_err());
    }

    #[test]
    fn rounding_is_half_away_from_zero_at_minor_scale() {
        assert_eq!(round_minor(d("1.005"), usd()).to_string(), "1.01");
        assert_eq!(round_minor(d("1.004999"), usd()).to_string(), "1.00");
        assert_eq!(round_minor(d("-1.005"), usd()).to_string(), "-1.01");
        assert_eq!(round_minor(d("2.5"), jpy()).to_string(), "3");
        assert_eq!(round_minor(d("3.5"), jpy()).to_string(), "4");
        assert_eq!(round_minor(d("7"), usd()).to_string(), "7.00");
        assert_eq!(round_minor(d("-0.001"), usd()).to_string(), "0.00");
    }

    #[test]
    fn formatting() {
        assert_eq!(format_amount(d("1000"), usd()), "1000.00");
        assert_eq!(format_amount(d("1000.00"), jpy()), "1000");
        assert_eq!(format_amount(d("0.125"), usd()), "0.13");
    }
}
