//! The payment's trace id on AWS (`eventpay_core::TraceId`): the span a function's work for one
//! payment runs in, so every JSON log line of that work names `trace_id` beside the invocation's
//! `requestId`, and the X-Ray annotation that makes the same id searchable in X-Ray
//! (`annotation.trace_id = "<id>"` in a filter expression).
//!
//! Lambda's active tracing records a segment for each invocation and runs an X-Ray daemon beside
//! the function. A function adds to that segment by sending the daemon, over UDP at
//! `AWS_XRAY_DAEMON_ADDRESS`, a segment document: the header line `{"format": "json",
//! "version": 1}` then one subsegment (`"type": "subsegment"`) whose `trace_id` and `parent_id`
//! are the `Root` and `Parent` of the invocation's `_X_AMZN_TRACE_ID`. Fire and forget: a lost
//! datagram, an unset variable or an unsampled request only mean no annotation, never a failed
//! invocation.

use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{SystemTime, UNIX_EPOCH};

use eventpay_core::TraceId;
use serde_json::json;
use tracing::Instrument;

/// Where Lambda's X-Ray daemon listens: `host:port`, or `udp:host:port tcp:host:port`.
pub const DAEMON_ADDRESS: &str = "AWS_XRAY_DAEMON_ADDRESS";
/// The invocation's X-Ray trace header, which the Lambda runtime sets for each invocation.
pub const TRACE_HEADER: &str = "_X_AMZN_TRACE_ID";
/// The line the daemon expects before each document.
pub const DOCUMENT_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

/// The invocation's place in X-Ray, from `Root=1-...;Parent=...;Sampled=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrayContext {
    pub root: String,
    pub parent: String,
    pub sampled: bool,
}

impl XrayContext {
    pub fn parse(header: &str) -> Option<XrayContext> {
        let (mut root, mut parent, mut sampled) = (None, None, false);
        for part in header.split(';') {
            match part.trim().split_once('=') {
                Some(("Root", v)) => root = Some(v.to_owned()),
                Some(("Parent", v)) => parent = Some(v.to_owned()),
                Some(("Sampled", v)) => sampled = v == "1",
                _ => {}
            }
        }
        Some(XrayContext {
            root: root?,
            parent: parent?,
            sampled,
        })
    }

    /// The current invocation's, if the runtime set one.
    pub fn from_env() -> Option<XrayContext> {
        std::env::var(TRACE_HEADER)
            .ok()
            .as_deref()
            .and_then(XrayContext::parse)
    }
}

/// The UDP address in an `AWS_XRAY_DAEMON_ADDRESS` value.
pub fn daemon_udp_address(value: &str) -> Option<&str> {
    // Tagged parts name each protocol; a lone untagged `host:port` serves both.
    let mut parts = value.split_whitespace();
    let udp = value
        .split_whitespace()
        .find_map(|p| p.strip_prefix("udp:"));
    udp.or_else(|| parts.next().filter(|p| !p.starts_with("tcp:")))
}

fn epoch_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The daemon's datagram: the header line, then a subsegment of the invocation's segment named
/// `name`, from `start` to `end`, annotated with the payment's trace id.
pub fn subsegment_document(
    ctx: &XrayContext,
    name: &str,
    trace: &TraceId,
    start: SystemTime,
    end: SystemTime,
) -> String {
    // A 64-bit id in 16 hex digits, unique within the trace.
    let id = &uuid::Uuid::new_v4().simple().to_string()[..16];
    let subsegment = json!({
        "name": name,
        "id": id,
        "trace_id": ctx.root,
        "parent_id": ctx.parent,
        "type": "subsegment",
        "start_time": epoch_seconds(start),
        "end_time": epoch_seconds(end),
        "annotations": { "trace_id": trace.as_str() },
    });
    format!("{DOCUMENT_HEADER}{subsegment}")
}

/// Sends one document to the daemon at `address` (one datagram; nothing is awaited back).
pub fn send(address: &str, document: &str) -> std::io::Result<()> {
    let to = address
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{address} resolves to nothing")))?;
    let from: SocketAddr = if to.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    UdpSocket::bind(from)?.send_to(document.as_bytes(), to)?;
    Ok(())
}

fn annotate(
    ctx: Option<XrayContext>,
    daemon: Option<String>,
    name: &str,
    trace: &TraceId,
    start: SystemTime,
) {
    // Unsampled, the invocation has no segment to hang the subsegment on.
    let Some(ctx) = ctx.filter(|c| c.sampled) else {
        return;
    };
    let Some(value) = daemon else {
        return;
    };
    let Some(address) = daemon_udp_address(&value) else {
        tracing::debug!(%value, "{DAEMON_ADDRESS} names no UDP address");
        return;
    };
    let document = subsegment_document(&ctx, name, trace, start, SystemTime::now());
    if let Err(error) = send(address, &document) {
        tracing::debug!(%error, %address, "the X-Ray subsegment was not sent");
    }
}

/// Runs a payment's work (`name`: what it is, e.g. the task's name) in its trace: inside a
/// span with `trace_id`, then annotates the invocation's X-Ray segment with it. Without a
/// trace id the work runs as it is.
pub async fn traced<F: Future>(name: &str, trace: Option<TraceId>, work: F) -> F::Output {
    let Some(trace) = trace else {
        return work.await;
    };
    // Read before the work: the runtime sets the variable anew for the next invocation.
    let ctx = XrayContext::from_env();
    let start = SystemTime::now();
    let out = work
        .instrument(tracing::info_span!("trace", trace_id = %trace))
        .await;
    annotate(ctx, std::env::var(DAEMON_ADDRESS).ok(), name, &trace, start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[test]
    fn the_trace_header_and_the_daemon_address_are_read() {
        let ctx = XrayContext::parse(HEADER).unwrap();
        assert_eq!(ctx.root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(ctx.parent, "53995c3f42cd8ad8");
        assert!(ctx.sampled);
        let unsampled = XrayContext::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
        );
        assert_eq!(unsampled.map(|c| c.sampled), Some(false));
        assert_eq!(
            XrayContext::parse("Root=1-5759e988-bd862e3fe1be46a994272793"),
            None
        );

        assert_eq!(
            daemon_udp_address("169.254.79.129:2000"),
            Some("169.254.79.129:2000")
        );
        assert_eq!(
            daemon_udp_address("tcp:127.0.0.1:2000 udp:127.0.0.1:2001"),
            Some("127.0.0.1:2001")
        );
        assert_eq!(daemon_udp_address("tcp:127.0.0.1:2000"), None);
        assert_eq!(daemon_udp_address(""), None);
    }

    /// What a daemon on a local UDP socket receives: the header line, then a subsegment of the
    /// invocation's segment annotated with the payment's trace id.
    #[test]
    fn the_daemon_receives_an_annotated_subsegment() {
        let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
        daemon
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let address = daemon.local_addr().unwrap().to_string();
        let ctx = XrayContext::parse(HEADER).unwrap();
        let trace = TraceId::parse("0af7651916cd43dd8448eb211c80319c").unwrap();
        let start = SystemTime::now();
        let end = start + Duration::from_millis(12);
        send(
            &address,
            &subsegment_document(&ctx, "validate", &trace, start, end),
        )
        .unwrap();

        let mut buf = [0u8; 65_536];
        let n = daemon.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(header).unwrap(),
            json!({"format": "json", "version": 1})
        );
        let doc: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(doc["type"], "subsegment");
        assert_eq!(doc["name"], "validate");
        assert_eq!(doc["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(doc["parent_id"], "53995c3f42cd8ad8");
        assert_eq!(doc["annotations"], json!({"trace_id": trace.as_str()}));
        let id = doc["id"].as_str().unwrap();
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        let (s, e) = (
            doc["start_time"].as_f64().unwrap(),
            doc["end_time"].as_f64().unwrap(),
        );
        assert!(s > 1.7e9 && (e - s - 0.012).abs() < 1e-3, "{s} {e}");
    }

    /// Nowhere to send, or nothing listening: the work's result is all the caller sees.
    #[tokio::test]
    async fn a_missing_daemon_never_fails_the_work() {
        let trace = TraceId::parse("0af7651916cd43dd8448eb211c80319c");
        assert_eq!(traced("t", trace.clone(), async { 7 }).await, 7);
        assert_eq!(traced("t", None, async { 8 }).await, 8);
        let trace = trace.unwrap();
        let now = SystemTime::now();
        for daemon in [
            None,
            Some("tcp:127.0.0.1:2000"),
            Some("127.0.0.1:9"),
            Some("nonsense"),
        ] {
            let daemon = daemon.map(str::to_owned);
            annotate(XrayContext::parse(HEADER), daemon, "t", &trace, now);
        }
    }
}
