//! The local endpoints' protections against the browser, for every route (API, `/_local/`,
//! console):
//! - `Host` must be an IP literal (the bound address among them), a loopback name or a name
//!   given with `--allowed-host`: a page on another site cannot reach the runtime through DNS rebinding
//!   (its requests carry the attacker's name as `Host`);
//! - state-changing requests (POST, PUT, PATCH, DELETE) must be `application/json` — a form or a
//!   "simple" cross-site `fetch` cannot send that without a CORS preflight, which is never
//!   granted — and, when they carry an `Origin`, come from the runtime's own origin;
//! - when the runtime is bound to a non-loopback address, the console and `/_local/` writes need
//!   the start-up token: header `x-eventpay-token`, or cookie `eventpay_token`, which the console
//!   page sets when opened as `/console/?token=…`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use eventpay_core::api::ApiError;

use super::error::HttpError;

pub const TOKEN_HEADER: &str = "x-eventpay-token";
pub const TOKEN_COOKIE: &str = "eventpay_token";

/// What the guard lets through.
#[derive(Debug, Clone)]
pub struct Guard {
    allowed_hosts: Arc<[String]>,
    /// Required for the console and `/_local/` writes when set (always set off loopback).
    token: Option<Arc<str>>,
}

impl Guard {
    pub fn new(allowed_hosts: &[String], token: Option<String>) -> Guard {
        Guard {
            allowed_hosts: allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            token: token.map(Into::into),
        }
    }

    /// Checks one request: `Ok(true)` when it passed by the token in its query string (the
    /// answer then sets the token's cookie).
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<bool, ApiError> {
        self.check_host(headers)?;
        let host = header_str(headers, header::HOST);
        let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let by_query = self.check_token(path, query, headers, writes)?;
        if writes {
            check_json(headers)?;
            check_same_origin(headers, host)?;
        }
        Ok(by_query)
    }

    /// The `Host` rule alone (for requests no route matches: they get 404 or 405, not 415).
    pub fn check_host(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let host = header_str(headers, header::HOST);
        if self.host_allowed(host) {
            return Ok(());
        }
        Err(ApiError::new(
            403,
            "forbidden_host",
            format!(
                "this runtime answers only to its own address or an --allowed-host name, not Host {:?}",
                host.chars().take(100).collect::<String>()
            ),
        ))
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        // An IP literal cannot be a rebound name: the browser sends the name the page used.
        name == "localhost"
            || name.ends_with(".localhost")
            || name.parse::<IpAddr>().is_ok()
            || self.allowed_hosts.contains(&name)
    }

    /// The token rule; `Ok(true)` when the query string carried it.
    fn check_token(
        &self,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        writes: bool,
    ) -> Result<bool, ApiError> {
        let Some(token) = &self.token else {
            return Ok(false);
        };
        let console = path == "/console" || path.starts_with("/console/");
        if !(console || (writes && path.starts_with("/_local/"))) {
            return Ok(false);
        }
        let given = |t: &str| same_secret(t, token);
        let by_header = Some(header_str(headers, TOKEN_HEADER)).filter(|t| !t.is_empty());
        if by_header.is_some_and(given) || cookie(headers, TOKEN_COOKIE).is_some_and(given) {
            return Ok(false);
        }
        if console && query_param(query, "token").is_some_and(given) {
            return Ok(true);
        }
        Err(ApiError::new(
            401,
            "token_required",
            "the console and /_local/ writes need the token printed at start-up (header x-eventpay-token, or open /console/?token=…)",
        ))
    }

    /// The cookie that keeps a console page's later requests authorised.
    pub fn cookie_header(&self) -> Option<HeaderValue> {
        let token = self.token.as_ref()?;
        HeaderValue::from_str(&format!(
            "{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
        ))
        .ok()
    }
}

/// The middleware in front of everything, matched route or not: [`Guard::check_host`].
pub async fn host_guard(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    match guard.check_host(req.headers()) {
        Err(e) => HttpError(e).into_response(),
        Ok(()) => next.run(req).await,
    }
}

/// The middleware of the matched routes: refuses what [`Guard::check`] refuses, with the JSON
/// error body (so a wrong method is 405 and an unknown path 404 before any content-type rule).
pub async fn guard(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let checked = guard.check(
        req.method(),
        req.uri().path(),
        req.uri().query(),
        req.headers(),
    );
    match checked {
        Err(e) => HttpError(e).into_response(),
        Ok(false) => next.run(req).await,
        Ok(true) => {
            let mut response = next.run(req).await;
            if let Some(cookie) = guard.cookie_header() {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            response
        }
    }
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The name part of a `Host` value: `[::1]:8080` → `::1`, `localhost:8080` → `localhost`. The
/// port is not compared: a rebinding page's requests are told apart by their name, and a
/// forwarded port (a container's `-p 9000:8080`) must still work.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

fn check_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let json = header_str(headers, header::CONTENT_TYPE)
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if json {
        return Ok(());
    }
    Err(ApiError::new(
        415,
        "unsupported_media_type",
        "requests that change state must be sent as Content-Type: application/json",
    ))
}

fn check_same_origin(headers: &HeaderMap, host: &str) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let same = origin
        .to_str()
        .ok()
        .and_then(|o| o.strip_prefix("http://"))
        .is_some_and(|o| o.eq_ignore_ascii_case(host));
    if same {
        return Ok(());
    }
    Err(ApiError::new(
        403,
        "cross_origin",
        "requests that change state must come from this runtime's own origin",
    ))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Compares without stopping at the first difference (the token is a secret).
fn same_secret(given: &str, token: &str) -> bool {
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn loopback() -> Guard {
        Guard::new(&["pay.test".into()], None)
    }

    fn status(r: Result<bool, ApiError>) -> u16 {
        r.map_or_else(|e| e.status, |_| 200)
    }

    #[test]
    fn only_own_names_as_host() {
        let g = loopback();
        let get = |host: &str| {
            status(g.check(&Method::GET, "/payments", None, &headers(&[("host", host)])))
        };
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "10.1.2.3:9000",
            "pay.test:8080",
            "app.localhost",
        ] {
            assert_eq!(get(ok), 200, "{ok}");
        }
        for bad in [
            "attacker.example",
            "attacker.example:8080",
            "",
            "localhost.attacker.example",
            "pay.test.evil",
        ] {
            assert_eq!(get(bad), 403, "{bad:?}");
        }
        let e = g
            .check(&Method::GET, "/", None, &headers(&[("host", "evil")]))
            .unwrap_err();
        assert_eq!(e.code, "forbidden_host");
    }

    #[test]
    fn writes_are_same_origin_json() {
        let g = loopback();
        let post = |h: &[(&'static str, &str)]| {
            let mut all = vec![("host", "127.0.0.1:8080")];
            all.extend_from_slice(h);
            g.check(&Method::POST, "/_local/faults", None, &headers(&all))
        };
        let json = ("content-type", "application/json; charset=utf-8");
        assert_eq!(status(post(&[json])), 200);
        assert_eq!(
            status(post(&[json, ("origin", "http://127.0.0.1:8080")])),
            200
        );
        let e = post(&[("content-type", "text/plain")]).unwrap_err();
        assert_eq!((e.status, e.code), (415, "unsupported_media_type"));
        assert_eq!(status(post(&[])), 415);
        for origin in ["http://attacker.example", "null", "https://127.0.0.1:8080"] {
            let e = post(&[json, ("origin", origin)]).unwrap_err();
            assert_eq!((e.status, e.code), (403, "cross_origin"), "{origin}");
        }
        // Reads need neither.
        assert_eq!(
            status(g.check(
                &Method::GET,
                "/_local/faults",
                None,
                &headers(&[("host", "localhost")])
            )),
            200
        );
    }

    #[test]
    fn a_non_loopback_runtime_wants_its_token_for_the_console_and_local_writes() {
        let g = Guard::new(&[], Some("s3cret".into()));
        let host = ("host", "192.168.1.5:8080");
        let json = ("content-type", "application/json");
        let check = |m: &Method, path: &str, q: Option<&str>, h: &[(&'static str, &str)]| {
            let mut all = vec![host, json];
            all.extend_from_slice(h);
            g.check(m, path, q, &headers(&all))
        };
        let e = check(&Method::GET, "/console/", None, &[]).unwrap_err();
        assert_eq!((e.status, e.code), (401, "token_required"));
        assert_eq!(
            status(check(&Method::POST, "/_local/faults", None, &[])),
            401
        );
        assert_eq!(
            status(check(
                &Method::POST,
                "/_local/faults",
                None,
                &[("x-eventpay-token", "wrong")]
            )),
            401
        );
        assert_eq!(
            check(
                &Method::POST,
                "/_local/faults",
                None,
                &[("x-eventpay-token", "s3cret")]
            ),
            Ok(false)
        );
        assert_eq!(
            check(
                &Method::GET,
                "/console/api/overview",
                None,
                &[("cookie", "a=b; eventpay_token=s3cret")]
            ),
            Ok(false)
        );
        assert_eq!(
            check(&Method::GET, "/console/", Some("token=s3cret"), &[]),
            Ok(true)
        );
        assert_eq!(
            status(check(&Method::GET, "/console/", Some("token=nope"), &[])),
            401
        );
        // The public API and the inspection reads are not behind the token.
        assert_eq!(check(&Method::POST, "/quotes", None, &[]), Ok(false));
        assert_eq!(check(&Method::GET, "/_local/queues", None, &[]), Ok(false));
        let cookie = g.cookie_header().unwrap();
        assert!(
            cookie
                .to_str()
                .unwrap()
                .starts_with("eventpay_token=s3cret; Path=/; HttpOnly; SameSite=Strict")
        );
    }
}
