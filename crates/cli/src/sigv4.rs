//! AWS Signature Version 4 for `eventpay smoke --sigv4`, the request signing API Gateway checks
//! when the API's authorization is `iam`. Written on the workspace's hmac and sha2 crates: the
//! maintained signing crate (aws-sigv4) pulls in the AWS SDK runtime crates, which the CLI keeps
//! out of its dependency tree. Held to cases of AWS's published SigV4 test suite (tests below).

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// AWS credentials as the SDKs read them from the environment.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        write!(f, "Credentials({})", self.access_key_id)
    }
}

impl Credentials {
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the optional AWS_SESSION_TOKEN.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(access_key_id), Some(secret_access_key)) => Ok(Credentials {
                access_key_id,
                secret_access_key,
                session_token: var("AWS_SESSION_TOKEN"),
            }),
            _ => anyhow::bail!(
                "--sigv4 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials) in the environment, e.g. from `aws configure export-credentials --format env`"
            ),
        }
    }
}

/// The parts of a request that are signed.
pub struct Request<'a> {
    pub method: &'a str,
    /// Host header value (with the port when it is not the scheme's default).
    pub host: &'a str,
    /// The URI path as sent, already percent-encoded.
    pub path: &'a str,
    /// The query string as sent (without `?`), already percent-encoded.
    pub query: &'a str,
    /// Further headers to sign (name, value).
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so new_from_slice cannot fail here.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// URI-encodes one path segment with SigV4's unreserved set. Applied to the already-encoded
/// path, this is the double encoding every service but S3 expects.
fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The headers to add to the request: `x-amz-date`, `x-amz-security-token` (temporary
/// credentials) and `authorization`.
pub fn sign(
    req: &Request<'_>,
    creds: &Credentials,
    region: &str,
    service: &str,
    at: DateTime<Utc>,
) -> Vec<(String, String)> {
    let amz_date = at.format("%Y%m%dT%H%M%SZ").to_string();
    let date = at.format("%Y%m%d").to_string();
    let mut added = vec![("x-amz-date".to_owned(), amz_date.clone())];
    if let Some(token) = &creds.session_token {
        added.push(("x-amz-security-token".to_owned(), token.clone()));
    }

    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .chain(added.iter())
        .map(|(k, v)| {
            // Trimmed, inner runs of spaces collapsed.
            let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (k.to_ascii_lowercase(), value)
        })
        .chain(std::iter::once(("host".to_owned(), req.host.to_owned())))
        .collect();
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let path = if req.path.is_empty() { "/" } else { req.path };
    let canonical_uri = path
        .split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/");
    let canonical_request = format!(
        "{}\n{canonical_uri}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        req.method,
        canonical_query(req.query),
        sha256_hex(req.body)
    );

    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = [date.as_str(), region, service, "aws4_request"]
        .iter()
        .fold(
            format!("AWS4{}", creds.secret_access_key).into_bytes(),
            |k, part| hmac(&k, part),
        );
    let signature = hex(&hmac(&key, &string_to_sign));
    added.push((
        "authorization".to_owned(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    // The AWS SigV4 test suite's credentials, time, region and service.
    fn suite(method: &str, query: &str, headers: &[(&str, &str)]) -> String {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let req = Request {
            method,
            host: "example.amazonaws.com",
            path: "/",
            query,
            headers: &headers,
            body: b"",
        };
        let at = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap();
        let signed = sign(&req, &creds, "us-east-1", "service", at);
        assert_eq!(
            signed[0],
            ("x-amz-date".to_owned(), "20150830T123600Z".to_owned())
        );
        signed.last().unwrap().1.clone()
    }

    const SCOPE: &str =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

    #[test]
    fn get_vanilla() {
        assert_eq!(
            suite("GET", "", &[]),
            format!(
                "{SCOPE}, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            )
        );
    }

    #[test]
    fn post_vanilla() {
        assert_eq!(
            suite("POST", "", &[]),
            format!(
                "{SCOPE}, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
            )
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        assert_eq!(
            suite("GET", "Param2=value2&Param1=value1", &[]),
            format!(
                "{SCOPE}, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
            )
        );
    }

    #[test]
    fn post_header_value_case() {
        assert_eq!(
            suite("POST", "", &[("My-Header1", "VALUE1")]),
            format!(
                "{SCOPE}, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"
            )
        );
    }

    #[test]
    fn session_token_is_sent_and_signed() {
        let creds = Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "secret".into(),
            session_token: Some("token".into()),
        };
        let req = Request {
            method: "GET",
            host: "abc.execute-api.eu-west-1.amazonaws.com",
            path: "/v1/payments/p%201",
            query: "",
            headers: &[],
            body: b"",
        };
        let signed = sign(&req, &creds, "eu-west-1", "execute-api", Utc::now());
        assert_eq!(
            signed[1],
            ("x-amz-security-token".to_owned(), "token".to_owned())
        );
        assert!(
            signed[2]
                .1
                .contains("SignedHeaders=host;x-amz-date;x-amz-security-token")
        );
        assert_eq!(encode_segment("p%201"), "p%25201");
        assert_eq!(format!("{creds:?}"), "Credentials(AKID)");
    }
}
