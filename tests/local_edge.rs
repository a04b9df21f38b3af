//! The server's edge against the built binary, over raw TCP and HTTP: clients that stall (half a
//! request head, a body shorter than its Content-Length, a SIGTERM while they hang on), JSON
//! error bodies for what axum and tower-http refuse, the guard against browsers (foreign Host,
//! cross-origin or non-JSON writes, the token), strict JSON and amounts, owner-only files.
//! Timings are bounds with generous slack (the machine is noisy), never exact.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, assert_error, client, eventually};

/// How long past a configured timeout a test waits before calling it missed.
const SLACK: Duration = Duration::from_secs(20);

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// Sends `bytes` on a new connection and reads until the server closes it (or `within`
/// passes); returns what came back and whether the server closed the connection.
fn raw(s: &Server, bytes: &[u8], within: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(addr(s)).expect("connect");
    stream.write_all(bytes).expect("send");
    stream.set_read_timeout(Some(within)).expect("read timeout");
    let mut got = Vec::new();
    let closed = loop {
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

/// The status and JSON body of a raw HTTP/1.1 answer.
fn parse_answer(text: &str) -> (u16, Value) {
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no body in {text:?}"));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status, serde_json::from_str(body).expect("JSON body"))
}

#[test]
fn a_half_sent_request_head_is_cut_off_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--header-timeout-secs", "2"]);
    let started = Instant::now();
    let (got, closed) = raw(
        &s,
        b"POST /quotes HTTP/1.1\r\nHost: localhost\r\n",
        Duration::from_secs(2) + SLACK,
    );
    assert!(closed, "still open after {:?}: {got:?}", started.elapsed());
    // An idle keep-alive connection goes the same way once its answer is sent.
    let (got, closed) = raw(
        &s,
        b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n",
        Duration::from_secs(2) + SLACK,
    );
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(closed, "idle keep-alive connection kept");
}

#[test]
fn past_the_connection_cap_a_client_waits_for_a_free_connection() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &["--max-connections", "1", "--header-timeout-secs", "2"],
    );
    // The one connection allowed, taken by a client that sends nothing.
    let idle = TcpStream::connect(addr(&s)).expect("connect");
    let started = Instant::now();
    let (got, _) = raw(
        &s,
        b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2) + SLACK,
    );
    // Answered once the idle connection was cut off by the header timeout, not before.
    assert!(got.starts_with("HTTP/1.1 200"), "{got:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "answered after {:?} although the only connection was taken",
        started.elapsed()
    );
    drop(idle);
}

#[test]
fn a_body_shorter_than_its_content_length_is_a_408_with_a_json_body() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--body-timeout-secs", "2"]);
    let (got, _) = raw(
        &s,
        b"POST /quotes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"amount\"",
        Duration::from_secs(2) + SLACK,
    );
    let (status, body) = parse_answer(&got);
    assert_error((status, body), 408, "request_timeout");
}

#[test]
fn a_body_that_trickles_past_the_request_timeout_is_a_408_with_a_json_body() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &["--request-timeout-secs", "2", "--body-timeout-secs", "60"],
    );
    let mut stream = TcpStream::connect(addr(&s)).expect("connect");
    stream
        .write_all(b"POST /quotes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n")
        .expect("send head");
    // One byte at a time, each well within the body timeout; stops once the server hangs up.
    let mut writer = stream.try_clone().expect("clone");
    let trickle = std::thread::spawn(move || {
        for _ in 0..400 {
            if writer.write_all(b" ").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    stream
        .set_read_timeout(Some(Duration::from_secs(2) + SLACK))
        .expect("read timeout");
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    let (status, body) = parse_answer(&String::from_utf8_lossy(&got));
    assert_error((status, body), 408, "request_timeout");
    drop(stream);
    let _ = trickle.join();
}

#[test]
fn sigterm_with_a_stalled_client_exits_within_the_grace_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(
        dir.path(),
        &["--header-timeout-secs", "600", "--shutdown-grace-secs", "2"],
    );
    let mut stalled = TcpStream::connect(addr(&s)).expect("connect");
    stalled
        .write_all(b"POST /quotes HTTP/1.1\r\nHost: x\r\n")
        .expect("send");
    // A request in flight when the signal comes: its head is read (the server asks for the
    // body with 100 Continue), its body not sent yet.
    let body = br#"{"source_currency":"USD","target_currency":"EUR","amount":"10.00"}"#;
    let mut in_flight = TcpStream::connect(addr(&s)).expect("connect");
    write!(
        in_flight,
        "POST /quotes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("send head");
    in_flight
        .set_read_timeout(Some(SLACK))
        .expect("read timeout");
    let mut continue_line = [0u8; 25];
    in_flight
        .read_exact(&mut continue_line)
        .expect("100 Continue");
    assert!(continue_line.starts_with(b"HTTP/1.1 100 Continue"));
    // The stalled connection is accepted too (connections are accepted in order).
    assert_eq!(s.get("/health").0, 200);
    let pid = s.child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    in_flight.write_all(body).expect("send body");
    let mut answer = String::new();
    let _ = in_flight.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer:?}");
    let deadline = Duration::from_secs(2) + SLACK;
    let status = eventually("exit after SIGTERM", deadline, || {
        s.child.try_wait().expect("try_wait")
    });
    assert!(status.success(), "{status}");
    drop(stalled);
}

#[test]
fn errors_the_routes_never_see_have_json_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let http = client();
    let json_of = |r: reqwest::blocking::Response| {
        let status = r.status().as_u16();
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("application/json"), "{status} {ct}");
        (status, r.json::<Value>().expect("JSON body"))
    };
    // An invalid percent-encoding (raw TCP: a client library might re-encode it).
    let (got, _) = raw(
        &s,
        b"GET /payments/%FF HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        SLACK,
    );
    assert_error(parse_answer(&got), 400, "bad_request");
    assert_error(
        json_of(http.get(s.url("/no/such/route")).send().unwrap()),
        404,
        "not_found",
    );
    assert_error(
        json_of(http.get(s.url("/quotes")).send().unwrap()),
        405,
        "method_not_allowed",
    );
    // A wrong method or an unknown path is that, whatever the content type.
    assert_error(
        json_of(http.delete(s.url("/quotes")).send().unwrap()),
        405,
        "method_not_allowed",
    );
    let unknown = http
        .post(s.url("/no/such/route"))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .unwrap();
    assert_error(json_of(unknown), 404, "not_found");
    let big = vec![b' '; 64 * 1024];
    let resp = http
        .post(s.url("/quotes"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .unwrap();
    assert_error(json_of(resp), 413, "payload_too_large");
}

#[test]
fn browsers_cannot_reach_the_runtime_from_another_site() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--allowed-host", "pay.test"]);
    let http = client();
    let fault = json!({"function": "eventpay-validate", "failures": 1}).to_string();
    let post = |headers: &[(&str, &str)]| {
        let mut req = http.post(s.url("/_local/faults")).body(fault.clone());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().unwrap();
        (r.status().as_u16(), r.json::<Value>().expect("JSON body"))
    };
    assert_error(
        post(&[("content-type", "text/plain")]),
        415,
        "unsupported_media_type",
    );
    assert_error(
        post(&[
            ("content-type", "application/json"),
            ("origin", "http://attacker.example"),
        ]),
        403,
        "cross_origin",
    );
    assert_error(
        post(&[
            ("content-type", "application/json"),
            ("host", "attacker.example"),
        ]),
        403,
        "forbidden_host",
    );
    let unrouted = http
        .get(s.url("/no/such/route"))
        .header("host", "attacker.example")
        .send()
        .unwrap();
    assert_eq!(unrouted.status().as_u16(), 403);
    let foreign = http
        .get(s.url("/payments"))
        .header("host", "attacker.example:80")
        .send()
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    let named = http
        .get(s.url("/health"))
        .header("host", "pay.test:8080")
        .send()
        .unwrap();
    assert_eq!(named.status().as_u16(), 200);
    // None of the refused writes set a fault.
    let (status, faults) = s.get("/_local/faults");
    assert_eq!(status, 200);
    assert!(
        !faults.to_string().contains("eventpay-validate"),
        "{faults}"
    );
}

#[test]
fn with_a_token_the_console_and_local_writes_need_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--token", "t0ken-e2e"]);
    let http = client();
    let faults = |token: Option<&str>| {
        let mut req = http
            .post(s.url("/_local/faults"))
            .header("content-type", "application/json")
            .body(json!({"function": "eventpay-validate", "failures": 0}).to_string());
        if let Some(t) = token {
            req = req.header("x-eventpay-token", t);
        }
        req.send().unwrap().status().as_u16()
    };
    assert_eq!(faults(None), 401);
    assert_eq!(faults(Some("wrong")), 401);
    assert_ne!(faults(Some("t0ken-e2e")), 401);
    assert_eq!(
        http.get(s.url("/console/api/overview"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    let page = http.get(s.url("/console/?token=t0ken-e2e")).send().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("eventpay_token=t0ken-e2e;"), "{cookie}");
    let with_cookie = http
        .get(s.url("/console/api/overview"))
        .header("cookie", "eventpay_token=t0ken-e2e")
        .send()
        .unwrap();
    assert_eq!(with_cookie.status().as_u16(), 200);
    // The public API is not behind the token.
    assert_eq!(s.get("/payments").0, 200);
}

#[test]
fn duplicate_keys_and_leading_zeros_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let dup =
        br#"{"source_currency":"USD","target_currency":"EUR","amount":"1.00","amount":"90000"}"#;
    assert_error(
        s.post_raw("/quotes", dup.to_vec(), None),
        400,
        "invalid_json",
    );
    assert_error(
        s.post(
            "/quotes",
            &json!({"source_currency": "USD", "target_currency": "EUR", "amount": "00001"}),
        ),
        422,
        "invalid_amount",
    );
    assert_eq!(
        s.post(
            "/quotes",
            &json!({"source_currency": "USD", "target_currency": "EUR", "amount": "0.50"}),
        )
        .0,
        201
    );
}

#[test]
fn the_database_and_its_wal_and_shm_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    s.pay("10.00", "ACC-MODE");
    for name in [
        "eventpay.sqlite3",
        "eventpay.sqlite3-wal",
        "eventpay.sqlite3-shm",
        "quote-signing.key",
    ] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
    }
}
