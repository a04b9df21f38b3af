//! Signed, expiring quote tokens:
//! `base64url(JSON of Quote) + "." + base64url(HMAC-SHA256(key, first part))`, both parts without
//! padding. The split ([`token_signing_input`], [`assemble_token`], [`split_token`]) lets another
//! MAC provider (e.g. AWS KMS `GenerateMac`/`VerifyMac` with `HMAC_SHA_256`) sign and verify the
//! same tokens.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::DomainError;
use crate::quote::Quote;

type HmacSha256 = Hmac<Sha256>;

/// Minimum signing key length in bytes (the HMAC-SHA256 output size).
pub const MIN_KEY_BYTES: usize = 32;

/// Longest token accepted; real tokens are well under 1 KiB.
pub const MAX_TOKEN_CHARS: usize = 4096;

/// An HMAC-SHA256 key of at least [`MIN_KEY_BYTES`] bytes. `Debug` never shows the key.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn new(bytes: impl AsRef<[u8]>) -> Result<SigningKey, DomainError> {
        let bytes = bytes.as_ref();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(DomainError::field(
                "signing_key",
                format!(
                    "is {} bytes long; at least {MIN_KEY_BYTES} bytes are required",
                    bytes.len()
                ),
            ));
        }
        Ok(SigningKey(bytes.to_vec()))
    }

    /// HMAC-SHA256 of `message` under this key.
    pub fn mac(&self, message: &[u8]) -> Vec<u8> {
        self.hmac(message).finalize().into_bytes().to_vec()
    }

    /// Constant-time check of `mac` against `message`.
    pub fn verify(&self, message: &[u8], mac: &[u8]) -> bool {
        self.hmac(message).verify_slice(mac).is_ok()
    }

    fn hmac(&self, message: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(message);
        mac
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(<{} bytes>)", self.0.len())
    }
}

/// The first part of a token: base64url (no padding) of the quote's JSON.
pub fn token_signing_input(quote: &Quote) -> String {
    let json = serde_json::to_vec(quote).expect("a Quote always serializes");
    URL_SAFE_NO_PAD.encode(json)
}

/// `signing_input + "." + base64url(mac)`.
pub fn assemble_token(signing_input: &str, mac: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// Signs a quote with a local key.
pub fn sign_quote(quote: &Quote, key: &SigningKey) -> String {
    let input = token_signing_input(quote);
    let mac = key.mac(input.as_bytes());
    assemble_token(&input, &mac)
}

/// Splits a token into its signing input and MAC without decoding the payload: check the MAC
/// over the input's bytes, then [`decode_token_payload`].
pub fn split_token_parts(token: &str) -> Result<(&str, Vec<u8>), DomainError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(DomainError::TokenMalformed);
    }
    let (input, mac) = token.split_once('.').ok_or(DomainError::TokenMalformed)?;
    if input.is_empty() || mac.is_empty() {
        return Err(DomainError::TokenMalformed);
    }
    // Canonical decoding (no padding, no stray trailing bits): one byte string has one encoding.
    let mac = URL_SAFE_NO_PAD
        .decode(mac)
        .map_err(|_| DomainError::TokenMalformed)?;
    Ok((input, mac))
}

/// Decodes a token's signing input into its quote (after its MAC was checked).
pub fn decode_token_payload(input: &str) -> Result<Quote, DomainError> {
    let json = URL_SAFE_NO_PAD
        .decode(input)
        .map_err(|_| DomainError::TokenMalformed)?;
    serde_json::from_slice(&json).map_err(|_| DomainError::TokenMalformed)
}

/// Splits a token into (signing input, MAC, decoded quote) — WITHOUT checking the MAC or the
/// expiry. For external verifiers: check the MAC over the signing input's bytes, then
/// [`Quote::check_not_expired`].
pub fn split_token(token: &str) -> Result<(String, Vec<u8>, Quote), DomainError> {
    let (input, mac) = split_token_parts(token)?;
    let quote = decode_token_payload(input)?;
    Ok((input.to_string(), mac, quote))
}

/// Verifies a token: `TokenMalformed` if it is not shaped like one, `TokenForged` if the MAC does
/// not match (constant-time comparison; checked before the payload is decoded), `TokenExpired`
/// when `now >= expires_at`.
pub fn verify_quote(
    token: &str,
    key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<Quote, DomainError> {
    let (input, mac) = split_token_parts(token)?;
    if !key.verify(input.as_bytes(), &mac) {
        return Err(DomainError::TokenForged);
    }
    let quote = decode_token_payload(input)?;
    quote.check_not_expired(now)?;
    Ok(quote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quote::tests::{quote, t0};

    fn key() -> SigningKey {
        SigningKey::new([7u8; 32]).unwrap()
    }

    #[test]
    fn key_length_is_enforced_and_hidden() {
        let err = SigningKey::new(b"short").unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        assert!(err.to_string().contains("5 bytes"), "{err}");
        assert!(SigningKey::new(vec![0u8; 32]).is_ok());
        assert!(SigningKey::new("0123456789abcdef0123456789abcdef").is_ok());
        assert_eq!(format!("{:?}", key()), "SigningKey(<32 bytes>)");
    }

    #[test]
    fn round_trip() {
        let q = quote("USD", "EUR", "1000");
        let token = sign_quote(&q, &key());
        assert!(!token.contains('='));
        assert_eq!(token.matches('.').count(), 1);
        assert_eq!(verify_quote(&token, &key(), t0()).unwrap(), q);
    }

    #[test]
    fn split_and_assemble_match_sign() {
        let q = quote("USD", "EUR", "1000");
        let token = sign_quote(&q, &key());
        let (input, mac, decoded) = split_token(&token).unwrap();
        assert_eq!(input, token_signing_input(&q));
        assert_eq!(mac, key().mac(input.as_bytes()));
        assert_eq!(mac.len(), 32);
        assert_eq!(decoded, q);
        assert_eq!(assemble_token(&input, &mac), token);
    }

    #[test]
    fn expiry_boundary() {
        let q = quote("USD", "EUR", "1000");
        let token = sign_quote(&q, &key());
        let just_before = q.expires_at - chrono::Duration::nanoseconds(1);
        assert!(verify_quote(&token, &key(), just_before).is_ok());
        assert_eq!(
            verify_quote(&token, &key(), q.expires_at),
            Err(DomainError::TokenExpired)
        );
        assert_eq!(
            verify_quote(&token, &key(), q.expires_at + chrono::Duration::seconds(1)),
            Err(DomainError::TokenExpired)
        );
    }

    #[test]
    fn wrong_key_or_altered_payload_is_forged() {
        let q = quote("USD", "EUR", "1000");
        let token = sign_quote(&q, &key());
        let other = SigningKey::new([8u8; 32]).unwrap();
        assert_eq!(
            verify_quote(&token, &other, t0()),
            Err(DomainError::TokenForged)
        );

        // A well-formed token for a better deal, with the original signature: forged.
        let mut better = q.clone();
        better.terms.target_amount *= rust_decimal::Decimal::TEN;
        let (_, mac, _) = split_token(&token).unwrap();
        let tampered = assemble_token(&token_signing_input(&better), &mac);
        assert_eq!(
            verify_quote(&tampered, &key(), t0()),
            Err(DomainError::TokenForged)
        );
    }

    #[test]
    fn malformed_tokens() {
        let q = quote("USD", "EUR", "1000");
        let token = sign_quote(&q, &key());
        let (input, mac_part) = token.split_once('.').unwrap();
        for bad in [
            String::new(),
            ".".into(),
            "abc".into(),
            input.to_string(),
            format!("{input}."),
            format!(".{mac_part}"),
            format!("{input}.{mac_part}="),
            format!("{input}.{mac_part}!"),
            "a".repeat(MAX_TOKEN_CHARS + 1),
        ] {
            assert_eq!(
                verify_quote(&bad, &key(), t0()),
                Err(DomainError::TokenMalformed),
                "{bad:?}"
            );
        }
        // Correctly signed garbage is not a quote: malformed, not Ok.
        let garbage = URL_SAFE_NO_PAD.encode(b"{\"hello\":1}");
        let signed = assemble_token(&garbage, &key().mac(garbage.as_bytes()));
        assert_eq!(
            verify_quote(&signed, &key(), t0()),
            Err(DomainError::TokenMalformed)
        );
        assert_eq!(
            split_token(&signed).unwrap_err(),
            DomainError::TokenMalformed
        );
    }
}
