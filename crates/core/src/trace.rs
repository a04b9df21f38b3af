//! The correlation id a payment carries from its HTTP request to its ledger: taken from the
//! client's W3C `traceparent` or AWS's `X-Amzn-Trace-Id` (API Gateway sets it when tracing is
//! on), else made up. It travels in the payment document, so every stream record, queue message,
//! event, execution input and task call of the payment holds it, and every log line about the
//! payment can name it. The same 32 hex digits in both forms: an X-Ray root `1-<8>-<24>` is its
//! 8 + 24 digits, as X-Ray itself maps W3C trace ids.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TraceId(String);

fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl TraceId {
    /// The client's trace id from the request headers' values, if one is well formed:
    /// `traceparent` first (version-traceid-parentid-flags, an all-zero id is invalid), then
    /// the `Root=` of `X-Amzn-Trace-Id`.
    pub fn from_headers(traceparent: Option<&str>, amzn_trace_id: Option<&str>) -> Option<TraceId> {
        traceparent
            .and_then(Self::from_traceparent)
            .or_else(|| amzn_trace_id.and_then(Self::from_xray))
    }

    fn from_traceparent(tp: &str) -> Option<TraceId> {
        let parts: Vec<&str> = tp.trim().split('-').collect();
        match parts.as_slice() {
            [version, id, parent, flags]
                if is_hex(version, 2)
                    && is_hex(id, 32)
                    && is_hex(parent, 16)
                    && is_hex(flags, 2)
                    && id.bytes().any(|b| b != b'0') =>
            {
                Some(TraceId(id.to_ascii_lowercase()))
            }
            _ => None,
        }
    }

    fn from_xray(header: &str) -> Option<TraceId> {
        let root = header
            .split(';')
            .find_map(|kv| kv.trim().strip_prefix("Root="))?;
        match root.split('-').collect::<Vec<_>>().as_slice() {
            ["1", time, id] if is_hex(time, 8) && is_hex(id, 24) => {
                Some(TraceId(format!("{time}{id}").to_ascii_lowercase()))
            }
            _ => None,
        }
    }

    /// An id in its own form (32 hex digits, not all zero), e.g. as stored or logged.
    pub fn parse(s: &str) -> Option<TraceId> {
        (is_hex(s, 32) && s.bytes().any(|b| b != b'0')).then(|| TraceId(s.to_ascii_lowercase()))
    }

    /// A new random id (for a request that brought none).
    pub fn random() -> TraceId {
        TraceId(uuid::Uuid::new_v4().simple().to_string())
    }

    /// The id of a payment stored before trace ids existed (or made by anything but the API):
    /// the first 32 hex digits of the SHA-256 of its id. Derived, not random, so every reader
    /// (the processor, the workflow, the console, a Lambda) names the same trace for it without
    /// writing it back.
    pub fn for_payment(payment_id: &str) -> TraceId {
        let digest = Sha256::digest(payment_id.as_bytes());
        let mut hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        // An all-zero id is invalid in both W3C and X-Ray; 2^-128 odds, but cheap to rule out.
        if hex.bytes().all(|b| b == b'0') {
            hex.replace_range(31.., "1");
        }
        TraceId(hex)
    }

    /// The client's id, or a new one.
    pub fn of_request(traceparent: Option<&str>, amzn_trace_id: Option<&str>) -> TraceId {
        Self::from_headers(traceparent, amzn_trace_id).unwrap_or_else(Self::random)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The X-Ray form of the id (`1-<8 hex>-<24 hex>`), to find the request's trace in X-Ray.
    pub fn xray_root(&self) -> String {
        format!("1-{}-{}", &self.0[..8], &self.0[8..])
    }
}

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_then_xray_then_none() {
        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let xr = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(
            TraceId::from_headers(Some(tp), Some(xr)).unwrap().as_str(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        let x = TraceId::from_headers(None, Some(xr)).unwrap();
        assert_eq!(x.as_str(), "5759e988bd862e3fe1be46a994272793");
        assert_eq!(x.xray_root(), "1-5759e988-bd862e3fe1be46a994272793");
        for bad in [
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
            "not a traceparent",
        ] {
            assert_eq!(TraceId::from_headers(Some(bad), None), None, "{bad}");
        }
        assert_eq!(TraceId::from_headers(None, Some("Root=2-1-2")), None);
        assert_eq!(TraceId::random().as_str().len(), 32);
        let id = TraceId::random();
        assert_eq!(TraceId::parse(id.as_str()), Some(id));
        assert_eq!(TraceId::parse("xyz"), None);
    }

    #[test]
    fn a_payment_without_one_has_a_derived_id() {
        let a = TraceId::for_payment("p-1");
        assert_eq!(a, TraceId::for_payment("p-1"), "deterministic");
        assert_ne!(a, TraceId::for_payment("p-2"));
        // sha256("p-1"), its first 16 bytes.
        assert_eq!(a.as_str(), "1dee6e3ec67dc8033b3363d93f46f1af");
        assert_eq!(TraceId::parse(a.as_str()), Some(a));
    }
}
