//! The console's JSON endpoints (`/console/api/...`). Lists are paginated on the server by a
//! `before` cursor (the row's sequence number), newest first; every error is the usual
//! `{"error": {"code", "message"}}`.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use eventpay_core::PaymentStore;
use eventpay_core::api::{ApiError, parse_body};
use eventpay_patterns::Pattern;
use eventpay_states::StateMachine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Console;
use super::timeline;
use crate::db::{Durability, now_millis};
use crate::http::api::read_limited;
use crate::http::error::HttpError;
use crate::trace::COUNTERS;
use crate::{executions, queue, store, trace};

const DEFAULT_PAGE: u32 = 25;
const MAX_PAGE: u32 = 200;
/// A console run of a state machine may wait this long (Wait states really wait).
const RUN_LIMIT: Duration = Duration::from_secs(10);
const PEEK: u32 = 50;
const PEEK_BODY: usize = 4096;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

fn bad(code: &'static str, message: impl Into<String>) -> HttpError {
    HttpError(ApiError::bad_request(code, message))
}

struct Page {
    status: Option<String>,
    query: Option<String>,
    before: i64,
    limit: u32,
}

fn page(q: ListQuery, statuses: &[&str]) -> Result<Page, HttpError> {
    let status = q.status.filter(|s| !s.is_empty());
    if let Some(s) = &status
        && !statuses.contains(&s.as_str())
    {
        return Err(bad(
            "invalid_status",
            format!("status must be one of {}", statuses.join(", ")),
        ));
    }
    let before = match q.before.filter(|b| !b.is_empty()) {
        None => i64::MAX,
        Some(b) => b
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad("invalid_cursor", "before must be a positive integer"))?,
    };
    let limit = match q.limit.filter(|l| !l.is_empty()) {
        None => DEFAULT_PAGE,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| bad("invalid_limit", format!("limit must be 1 to {MAX_PAGE}")))?,
    };
    let query = q.q.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(Page {
        status,
        query,
        before,
        limit,
    })
}

fn query_error(e: axum::extract::rejection::QueryRejection) -> HttpError {
    bad("invalid_query", e.body_text())
}

/// The running configuration: stages, rules, the state machine, spec files.
pub async fn overview(State(c): State<Console>) -> Response {
    let matched = COUNTERS.snapshot().rules;
    let spec = c.spec.get();
    let rules: Vec<Value> = spec
        .rules
        .iter()
        .map(|r| {
            let mut v = json!(r);
            v["matched"] = json!(matched.get(&r.name).copied().unwrap_or(0));
            v
        })
        .collect();
    Json(json!({
        "data_dir": c.data_dir.display().to_string(),
        "durability": match c.durability { Durability::Normal => "normal", Durability::Full => "full" },
        "queue": c.queue.name,
        "dead_letter_queue": c.queue.dead_letter_queue,
        "max_receive_count": c.queue.max_receive_count,
        "state_machine": executions::STATE_MACHINE_NAME,
        "definition": spec.definition,
        "rules": rules,
        "spec_files": spec.files,
        "spec": *c.spec_status.get(),
    }))
    .into_response()
}

const PAYMENT_STATUSES: [&str; 5] = ["PENDING", "PROCESSING", "SETTLED", "REJECTED", "FAILED"];
const EXECUTION_STATUSES: [&str; 5] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

pub async fn payments(
    State(c): State<Console>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let Query(q) = q.map_err(query_error)?;
    let p = page(q, &PAYMENT_STATUSES)?;
    let limit = p.limit;
    let mut items =
        c.db.read(move |conn| {
            store::search_lines(
                conn,
                p.status.as_deref(),
                p.query.as_deref(),
                p.before,
                limit + 1,
            )
        })
        .await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = more
        .then(|| items.last().map(|i| i.seq.to_string()))
        .flatten();
    Ok(Json(json!({ "items": items, "next_before": next })).into_response())
}

pub async fn timeline(
    State(c): State<Console>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let payment = c
        .store
        .get(&id)
        .await?
        .ok_or_else(|| HttpError(ApiError::not_found(format!("no payment {id:?}"))))?;
    let pid = id.clone();
    let (hops, execution) =
        c.db.read(move |conn| {
            let hops = trace::hops(conn, &pid)?;
            let execution = match timeline::execution_name(&hops) {
                Some(name) => executions::line_with_history(conn, &name)?,
                None => None,
            };
            Ok((hops, execution))
        })
        .await?;
    let rules: Vec<(String, String)> = c
        .spec
        .get()
        .rules
        .iter()
        .map(|r| (r.name.clone(), r.target.clone()))
        .collect();
    Ok(Json(timeline::build(&payment, &hops, execution.as_ref(), &rules)).into_response())
}

pub async fn executions(
    State(c): State<Console>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let Query(q) = q.map_err(query_error)?;
    let p = page(q, &EXECUTION_STATUSES)?;
    let limit = p.limit;
    let mut items = c
        .db
        .read(move |conn| executions::list_lines(conn, p.status.as_deref(), p.before, limit + 1))
        .await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = more
        .then(|| items.last().map(|i| i.seq.to_string()))
        .flatten();
    Ok(Json(json!({ "items": items, "next_before": next })).into_response())
}

pub async fn execution(
    State(c): State<Console>,
    Path(name): Path<String>,
) -> Result<Response, HttpError> {
    let key = name.rsplit(':').next().unwrap_or_default().to_owned();
    let definitions = c.definitions.clone();
    let found =
        c.db.read(move |conn| {
            let found = executions::line_with_history(conn, &key)?;
            let redrive = executions::redrive_fields(conn, &definitions, &key)?;
            // The definition it runs on: after a `--watch` reload, an execution in flight
            // goes on with the version it started on, and its graph must be that one.
            let version = executions::version_of(conn, &key)?;
            let text = match &version {
                Some(digest) => crate::definitions::text_of(conn, digest)?,
                None => None,
            };
            Ok(found.map(|f| (f, redrive, version, text)))
        })
        .await?;
    let ((line, events), redrive, version, text) =
        found.ok_or_else(|| HttpError(ApiError::not_found(format!("no execution {name:?}"))))?;
    let possible = redrive.get("redriveStatus").and_then(Value::as_str) == Some("REDRIVABLE");
    let reason = redrive
        .get("redriveStatusReason")
        .and_then(Value::as_str)
        .unwrap_or("RedriveExecution continues it from the state where it stopped, with that state's input");
    let current = c.definitions.current().digest;
    let own = text.and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let is_current = version.as_deref().is_none_or(|v| *v == *current);
    Ok(Json(json!({
        "execution": line,
        "events": events,
        // Its own version's definition (placeholders filled, as it runs); the live one only
        // for an execution from before versions were recorded, which runs on that.
        "definition": own.unwrap_or_else(|| c.spec.get().definition.clone()),
        "definition_version": version,
        "definition_current": is_current,
        "redrive": { "possible": possible, "reason": reason },
    }))
    .into_response())
}

pub async fn queues(State(c): State<Console>) -> Result<Response, HttpError> {
    let cfg = c.queue.clone();
    let (stats, messages, dead) =
        c.db.read(move |conn| {
            Ok((
                queue::stats(conn, &cfg, now_millis())?,
                queue::peek(conn, &cfg.name, PEEK, PEEK_BODY)?,
                queue::peek(conn, &cfg.dead_letter_queue, PEEK, PEEK_BODY)?,
            ))
        })
        .await?;
    Ok(Json(json!({
        "queues": [stats],
        "messages": messages,
        "dead_letter_messages": dead,
        "max_receive_count": c.queue.max_receive_count,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternTest {
    event_pattern: Value,
    event: Value,
}

/// `events test-pattern`: does the pattern match the event?
pub async fn test_pattern(body: Body) -> Result<Response, HttpError> {
    let (t, _) = parse_body::<PatternTest>(&read_limited(body).await?)?;
    let pattern = Pattern::from_value(&t.event_pattern)
        .map_err(|e| bad("invalid_event_pattern", e.to_string()))?;
    Ok(Json(json!({ "Result": pattern.matches(&t.event) })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    definition: Value,
    #[serde(default)]
    input: Option<Value>,
}

/// `states run`: runs a service-free machine to its end (bounded in time).
pub async fn run_state_machine(body: Body) -> Result<Response, HttpError> {
    let (r, _) = parse_body::<RunRequest>(&read_limited(body).await?)?;
    let machine = StateMachine::from_value(&r.definition)
        .map_err(|e| bad("invalid_definition", e.to_string()))?;
    let input = r.input.unwrap_or_else(|| json!({}));
    let report = tokio::time::timeout(
        RUN_LIMIT,
        eventpay_states::run_service_free(&machine, input),
    )
    .await
    .map_err(|_| {
        bad(
            "run_too_long",
            format!(
                "the execution did not end within {} s (use `eventpay states run` for long waits)",
                RUN_LIMIT.as_secs()
            ),
        )
    })?;
    Ok(Json(report).into_response())
}

pub async fn no_such_endpoint() -> HttpError {
    HttpError(ApiError::not_found("no such console endpoint"))
}
