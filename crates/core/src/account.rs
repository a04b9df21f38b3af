//! Account identifiers compared as identities: one canonical spelling per account, made before a
//! payment is stored and before every comparison (the beneficiary blocklist included), so that an
//! account cannot be disguised by how it is written.
//!
//! The canonical form of a raw value:
//! 1. Unicode NFKC (full-width `ＡＣＣ－１` is `ACC-1`, ligatures and compatibility forms unfold);
//! 2. format characters (general category `Cf`: zero-width space and joiners, BOM, soft hyphen,
//!    bidi controls) and white space are removed: neither is part of any account scheme's
//!    identifier (IBANs are written in groups of four for people, stored without spaces);
//! 3. dash punctuation (category `Pd`: hyphen, en dash, minus-like dashes) is the ASCII `-`;
//! 4. upper case (IBAN and the other schemes are case-insensitive and canonically upper case),
//!    then NFKC again, since case mapping can leave a string unnormalised.
//!
//! A value that looks like an IBAN (two letters, two digits, 11 to 30 letters or digits) must
//! carry valid ISO 13616 check digits (mod 97), or it is refused.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::DomainError;

/// Internal ledger accounts start with these (canonical form); a party's account may not.
pub const RESERVED_ACCOUNT_PREFIXES: &[&str] = &["FEES:", "FX:"];

/// The canonical spelling of an account identifier (see the module doc). Infallible and
/// idempotent: `canonical_account(&canonical_account(x)) == canonical_account(x)`.
pub fn canonical_account(raw: &str) -> String {
    // Case mapping may produce a new compatibility form, or turn a combining mark into a letter
    // (U+0345 becomes U+0399) that reorders what follows: repeat the steps until nothing changes.
    // Real identifiers settle in one or two passes; the bound only guards against pathological
    // input.
    let mut current = unfold(raw);
    for _ in 0..8 {
        let next = unfold(&current.to_uppercase());
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// NFKC, without format characters and white space, dashes as `-`.
fn unfold(s: &str) -> String {
    let visible = |c: &char| !c.is_whitespace() && c.general_category() != GeneralCategory::Format;
    // Invisible characters go before normalisation too: one between two combining marks would
    // otherwise block their canonical reordering, and the disguised spelling would stay apart.
    let stripped: String = s.chars().filter(visible).collect();
    stripped
        .nfkc()
        .filter(visible)
        .map(|c| match c.general_category() {
            GeneralCategory::DashPunctuation => '-',
            _ => c,
        })
        .collect()
}

/// Whether `canonical` (already canonical) has the shape of an IBAN: country code, check digits,
/// 11 to 30 basic-bank-account letters or digits (15 to 34 characters in all).
pub fn looks_like_iban(canonical: &str) -> bool {
    let b = canonical.as_bytes();
    (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// ISO 13616 check: move the first four characters to the end, letters become 10..35, and the
/// number must be 1 modulo 97 (computed piecewise, it has up to 68 digits).
pub fn iban_checksum_ok(canonical: &str) -> bool {
    let (head, tail) = canonical.split_at(4.min(canonical.len()));
    let mut remainder: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        remainder = if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        };
    }
    remainder == 1
}

/// Checks and canonicalises the account of `field` (e.g. `beneficiary.account`): non-empty once
/// canonical, not an internal ledger account, valid check digits when it looks like an IBAN.
pub fn normalize_account(field: &str, raw: &str) -> Result<String, DomainError> {
    let account = canonical_account(raw);
    if account.is_empty() {
        return Err(DomainError::field(
            field,
            "must not be empty (white space and invisible characters do not count)",
        ));
    }
    if let Some(prefix) = RESERVED_ACCOUNT_PREFIXES
        .iter()
        .find(|p| account.starts_with(**p))
    {
        return Err(DomainError::field(
            field,
            format!(
                "{account:?} starts with {prefix:?}, which is reserved for internal ledger accounts"
            ),
        ));
    }
    if looks_like_iban(&account) && !iban_checksum_ok(&account) {
        return Err(DomainError::field(
            field,
            format!("{account:?} looks like an IBAN but its check digits are wrong"),
        ));
    }
    Ok(account)
}

/// Whether two raw account values name the same account.
pub fn same_account(a: &str, b: &str) -> bool {
    canonical_account(a) == canonical_account(b)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Spellings of the account `ACC-EVIL` that must all be that account.
    pub(crate) const SPELLINGS_OF_ACC_EVIL: &[&str] = &[
        "ACC-EVIL",
        "ACC\u{200b}-EVIL",
        "\u{feff}ACC-EVIL",
        "acc-evil",
        "ACC\u{ff0d}EVIL",
        "ＡＣＣ－ＥＶＩＬ",
        " ACC - EVIL ",
        "ACC\u{2010}EVIL",
        "ACC\u{2013}EVIL",
        "A\u{00ad}CC-EVIL",
        "ACC-EVIL\u{202e}",
        "ACC\u{2060}-EV\u{200d}IL",
        "Acc-Evil\u{3000}",
    ];

    #[test]
    fn spellings_of_one_account_are_one_account() {
        for spelling in SPELLINGS_OF_ACC_EVIL {
            assert_eq!(canonical_account(spelling), "ACC-EVIL", "{spelling:?}");
            assert!(same_account(spelling, "acc-evil"), "{spelling:?}");
        }
        assert!(!same_account("ACC-EVIL", "ACC-EVIL2"));
        assert_eq!(canonical_account("ﬁ-1"), "FI-1", "ligatures unfold");
        assert_eq!(canonical_account("straße"), "STRASSE");
    }

    #[test]
    fn ibans_are_checked_when_they_look_like_one() {
        assert_eq!(
            normalize_account("a", "gb29 nwbk 6016 1331 9268 19").unwrap(),
            "GB29NWBK60161331926819"
        );
        assert!(normalize_account("a", "FR7630006000011234567890189").is_ok());
        assert!(normalize_account("a", "DE89370400440532013000").is_ok());
        let err = normalize_account("beneficiary.account", "GB28NWBK60161331926819").unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        assert!(err.to_string().contains("check digits"), "{err}");
        // Not IBAN-shaped: taken as it is.
        assert!(looks_like_iban("GB29NWBK60161331926819"));
        assert!(!looks_like_iban("ACC-1"));
        assert!(!looks_like_iban("GB29NWBK"));
        assert!(normalize_account("a", "ACC-1").is_ok());
    }

    #[test]
    fn empty_and_reserved_are_refused() {
        assert!(normalize_account("a", "\u{200b}\u{feff} ").is_err());
        for reserved in ["fees:USD", "FX:EUR", "ｆｘ:EUR", "f\u{200b}x:EUR"] {
            let err = normalize_account("a", reserved).unwrap_err();
            assert!(err.to_string().contains("reserved"), "{reserved}: {err}");
        }
    }
}
