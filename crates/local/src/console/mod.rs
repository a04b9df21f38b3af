//! The web console served by `eventpay up` under `/console/`: the flow with live figures, the
//! payments with their causal timeline, executions drawn as graphs, queues and the dead-letter
//! queue, rules and the pattern / state-machine tools, notifications and the audit log. Every
//! asset is compiled into the binary (nothing is fetched at run time); the pages read the JSON
//! endpoints under `/console/api/` and the live figures from one server-sent-events stream.
//!
//! This module also has the request middleware (`observe`) that gives each request its trace id
//! (from `traceparent` / `X-Amzn-Trace-Id`, or a new one), counts it, and logs one line per
//! request.

mod api;
mod live;
mod timeline;

use std::path::{Path, PathBuf};
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use eventpay_core::TraceId;

use crate::db::{Db, Durability};
use crate::queue::QueueConfig;
use crate::reload::{Current, SpecStatus};
use crate::spec::{RULES_DIR, SETTLEMENT_FILE, Spec};
use crate::store::SqliteStore;
use crate::trace::{self, COUNTERS, RequestContext};

pub use live::{Live, Sampler};

/// One spec file as loaded: the console shows which version is live.
#[derive(Debug, Clone, Serialize)]
pub struct SpecFile {
    pub file: String,
    /// The first 12 hex digits of the file's SHA-256.
    pub sha256: String,
    pub bytes: u64,
}

/// One rule as the console shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub name: String,
    pub file: String,
    pub description: Option<String>,
    pub event_pattern: Value,
    pub target: String,
}

/// The configuration as the console shows it; replaced whole when `--watch` reloads `spec/`.
#[derive(Debug, Clone)]
pub struct SpecView {
    pub rules: Vec<RuleView>,
    /// The state machine definition as written in `spec/` (placeholders unfilled).
    pub definition: Value,
    pub files: Vec<SpecFile>,
}

impl SpecView {
    pub fn of(spec: &Spec, spec_dir: &Path) -> SpecView {
        let rules = spec.rules.iter().map(|r| rule_view(spec_dir, r)).collect();
        let definition = std::fs::read_to_string(spec_dir.join(SETTLEMENT_FILE))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        SpecView {
            rules,
            definition,
            files: spec_files(spec_dir),
        }
    }
}

fn rule_view(spec_dir: &Path, r: &crate::spec::Rule) -> RuleView {
    let raw: Value = std::fs::read_to_string(&r.file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    RuleView {
        name: r.name.clone(),
        file: display_name(spec_dir, &r.file),
        description: raw
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        event_pattern: raw.get("event_pattern").cloned().unwrap_or(Value::Null),
        target: raw
            .pointer("/target/kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }
}

/// What the console knows about the running configuration.
#[derive(Clone)]
pub struct Console {
    pub db: Db,
    pub store: SqliteStore,
    pub queue: QueueConfig,
    pub spec: Current<SpecView>,
    /// Which version of each spec file is live, and the last reload's outcome.
    pub spec_status: Current<SpecStatus>,
    /// The state machine versions, to tell whether an execution can be redriven.
    pub definitions: crate::definitions::Definitions,
    pub data_dir: PathBuf,
    pub durability: Durability,
    pub live: Live,
}

fn display_name(spec_dir: &Path, file: &Path) -> String {
    let name = file.strip_prefix(spec_dir).unwrap_or(file);
    format!("spec/{}", name.display())
}

/// Every file of `spec/` with its digest, rules included.
pub fn spec_files(spec_dir: &Path) -> Vec<SpecFile> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(spec_dir)
        .into_iter()
        .flatten()
        .chain(
            std::fs::read_dir(spec_dir.join(RULES_DIR))
                .into_iter()
                .flatten(),
        )
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            let digest = Sha256::digest(&bytes);
            let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
            Some(SpecFile {
                file: display_name(spec_dir, &p),
                sha256: hex,
                bytes: bytes.len() as u64,
            })
        })
        .collect()
}

const INDEX_HTML: &str = include_str!("../../console-assets/index.html");
const APP_JS: &str = include_str!("../../console-assets/app.js");
const APP_CSS: &str = include_str!("../../console-assets/app.css");
const GRAPH_JS: &str = include_str!("../../console-assets/graph.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The page shell: every console path serves it, so a payment's page has its own URL.
async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// The console's routes (all behind the guard: the token applies to its pages too), the API's
/// router beside them, and the `Host` rule in front of everything (the edge adds the rest:
/// `crate::http::edge::layers`).
pub fn app(api: Router, console: Console, guard: crate::http::guard::Guard) -> Router {
    let console_routes = Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(index))
        .route(
            "/console/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/console/assets/graph.js",
            get(|| async { asset("text/javascript; charset=utf-8", GRAPH_JS) }),
        )
        .route(
            "/console/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route("/console/api/overview", get(api::overview))
        .route("/console/api/live", get(live::stream))
        .route("/console/api/payments", get(api::payments))
        .route("/console/api/payments/{id}/timeline", get(api::timeline))
        .route("/console/api/executions", get(api::executions))
        .route("/console/api/executions/{name}", get(api::execution))
        .route("/console/api/queues", get(api::queues))
        .route("/console/api/test-pattern", post(api::test_pattern))
        .route(
            "/console/api/run-state-machine",
            post(api::run_state_machine),
        )
        .route("/console/api/{*rest}", get(api::no_such_endpoint))
        .route("/console/{*rest}", get(index))
        .route_layer(middleware::from_fn_with_state(
            guard.clone(),
            crate::http::guard::guard,
        ))
        .with_state(console);
    api.merge(console_routes)
        .route("/", get(|| async { Redirect::temporary("/console/") }))
        .layer(middleware::from_fn_with_state(
            guard,
            crate::http::guard::host_guard,
        ))
}

/// The trace id of a request: the client's W3C `traceparent` or X-Ray `X-Amzn-Trace-Id`
/// ([`eventpay_core::TraceId`], the rule the Lambdas use too), else a new one.
pub fn trace_id(headers: &HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    TraceId::of_request(header("traceparent"), header("x-amzn-trace-id")).to_string()
}

/// Gives the request its trace id (answered in `traceparent`), counts it, and logs one line.
pub async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = trace_id(req.headers());
    let ctx = RequestContext {
        trace_id: id.clone(),
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        started_at: trace::now_micros(),
    };
    let (method, path) = (ctx.method.clone(), ctx.path.clone());
    let quiet_path = path.starts_with("/console");
    if !quiet_path {
        COUNTERS.add(&COUNTERS.requests, 1);
    }
    let span = tracing::info_span!("request", trace_id = %id);
    let mut response = trace::with_request(ctx, next.run(req))
        .instrument(span)
        .await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = response.status();
    // The console's own assets and polling would drown the API's lines.
    if !quiet_path || status.is_server_error() {
        tracing::info!(trace_id = %id, "{method} {path} {} {ms:.1}ms", status.as_u16());
    }
    let span_id = &uuid::Uuid::new_v4().simple().to_string()[..16];
    if let Ok(v) = HeaderValue::from_str(&format!("00-{id}-{span_id}-01")) {
        response.headers_mut().insert("traceparent", v);
    }
    if status == StatusCode::NOT_FOUND && path == "/favicon.ico" {
        return StatusCode::NO_CONTENT.into_response();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn trace_id_comes_from_traceparent_or_xray_or_is_new() {
        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        assert_eq!(
            trace_id(&headers(&[("traceparent", tp)])),
            "0af7651916cd43dd8448eb211c80319c"
        );
        let xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(
            trace_id(&headers(&[("x-amzn-trace-id", xray)])),
            "5759e988bd862e3fe1be46a994272793"
        );
        let bad = "00-00000000000000000000000000000000-b7ad6b7169203331-01";
        let fresh = trace_id(&headers(&[("traceparent", bad)]));
        assert_eq!(fresh.len(), 32);
        assert_ne!(fresh, "00000000000000000000000000000000");
    }
}
