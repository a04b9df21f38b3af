//! `/_local/...`: what happened inside the runtime — notifications sent, audit-log entries,
//! workflow executions with their history, queue depths — and the operator's levers (DLQ
//! redrive, injected faults). Shapes follow the AWS APIs people know where there is one.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::api::read_limited;
use super::error::HttpError;
use crate::db::now_millis;
use crate::tasks::FUNCTIONS;
use crate::{audit, executions, forwarder, notify, queue, retention, stream};
use eventpay_core::TaskErrorName;
use eventpay_core::api::{ApiError, parse_body};

const MAX_ROWS: i64 = 1000;
/// SQS's largest message body: a peek shows bodies whole.
const MAX_BODY: usize = 262_144;

pub async fn notifications(State(app): State<AppState>) -> Result<Response, HttpError> {
    let rows = app.db.read(|c| notify::list(c, MAX_ROWS)).await?;
    Ok(Json(json!({ "notifications": rows })).into_response())
}

pub async fn audit(State(app): State<AppState>) -> Result<Response, HttpError> {
    let rows = app.db.read(|c| audit::list(c, MAX_ROWS)).await?;
    Ok(Json(json!({ "entries": rows })).into_response())
}

/// Like ListExecutions (`?status=RUNNING|SUCCEEDED|FAILED|...`).
pub async fn executions(
    State(app): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, HttpError> {
    let status = params
        .iter()
        .find(|(k, _)| k == "status")
        .map(|(_, v)| v.clone());
    let rows = app
        .db
        .read(move |c| executions::list(c, status.as_deref(), MAX_ROWS))
        .await?;
    Ok(Json(json!({ "executions": rows })).into_response())
}

/// Like DescribeExecution, with `events` as GetExecutionHistory returns them.
pub async fn execution(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let key = id.clone();
    let definitions = app.workflows.definitions().clone();
    let found = app
        .db
        .read(move |c| executions::describe(c, &definitions, &key))
        .await?;
    found
        .map(|v| Json(v).into_response())
        .ok_or_else(|| HttpError(ApiError::not_found(format!("no execution {id:?}"))))
}

/// Like RedriveExecution: `{"redriveDate"}`; 404 for an unknown execution, 409
/// `execution_not_redrivable` with DescribeExecution's reason otherwise.
pub async fn redrive_execution(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    match app.workflows.redrive(&id).await? {
        Ok(date) => Ok(Json(json!({ "redriveDate": date.to_rfc3339() })).into_response()),
        Err(executions::NotRedriven::NotFound) => Err(HttpError(ApiError::not_found(format!(
            "no execution {id:?}"
        )))),
        Err(executions::NotRedriven::NotRedrivable(reason)) => Err(HttpError(ApiError::new(
            409,
            "execution_not_redrivable",
            reason,
        ))),
    }
}

/// What the runtime has done and holds: the writer's commits, the engine's counters, the
/// queue, the stream's backlog, the database's size.
pub async fn figures(State(app): State<AppState>) -> Result<Response, HttpError> {
    let cfg = app.queue.clone();
    let (queue, stream_waiting, free_pages, page_count, page_size) = app
        .db
        .read(move |c| {
            let pragma = |p: &str| -> Result<u64, crate::error::LocalError> {
                Ok(c.query_row(&format!("PRAGMA {p}"), [], |r| r.get::<_, i64>(0))? as u64)
            };
            Ok((
                queue::stats(c, &cfg, now_millis())?,
                stream::waiting(c, forwarder::CONSUMER)?,
                retention::free_pages(c)?,
                pragma("page_count")?,
                pragma("page_size")?,
            ))
        })
        .await?;
    Ok(Json(json!({
        "writer": app.db.writer_figures(),
        "cpu": crate::profile::figures(),
        "engine": app.workflows.figures(),
        "queue": queue,
        "stream_waiting": stream_waiting,
        "refused_messages": crate::processor::REFUSED.load(std::sync::atomic::Ordering::Relaxed),
        "database": {"pages": page_count, "free_pages": free_pages, "page_size": page_size},
    }))
    .into_response())
}

/// The stuck-payment sweeper's findings since start (`crate::sweeper`).
pub async fn stuck(State(app): State<AppState>) -> Response {
    Json(app.sweeper.listing()).into_response()
}

pub async fn queues(State(app): State<AppState>) -> Result<Response, HttpError> {
    let cfg = app.queue.clone();
    let stats = app
        .db
        .read(move |c| queue::stats(c, &cfg, now_millis()))
        .await?;
    Ok(Json(json!({ "queues": [stats] })).into_response())
}

pub async fn redrive(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, HttpError> {
    if name != app.queue.name {
        return Err(HttpError(ApiError::not_found(format!(
            "no queue named {name:?}"
        ))));
    }
    let cfg = app.queue.clone();
    let moved = app
        .db
        .write(move |tx| queue::redrive(tx, &cfg, now_millis()))
        .await?;
    app.wakes.processor.notify_one();
    Ok(Json(json!({ "moved": moved })).into_response())
}

/// Messages of the queue or its dead-letter queue (body, receive count, times) without
/// receiving them, oldest first: `?max=N` (10 by default, at most 1000).
pub async fn peek_messages(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, HttpError> {
    let max = match params.iter().find(|(k, _)| k == "max") {
        None => 10,
        Some((_, v)) => v.parse::<u32>().map_err(|_| {
            HttpError(ApiError::bad_request(
                "invalid_max",
                format!("max must be a whole number, not {v:?}"),
            ))
        })?,
    };
    if name != app.queue.name && name != app.queue.dead_letter_queue {
        return Err(HttpError(ApiError::not_found(format!(
            "no queue named {name:?}"
        ))));
    }
    let max = max.clamp(1, MAX_ROWS as u32);
    let key = name.clone();
    let messages = app
        .db
        .read(move |c| queue::peek(c, &key, max, MAX_BODY))
        .await?;
    Ok(Json(json!({ "queue": name, "messages": messages })).into_response())
}

/// Like SQS SendMessage: puts a raw message on the queue (e.g. to watch a poison message go to
/// the dead-letter queue).
pub async fn send_message(
    State(app): State<AppState>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, HttpError> {
    if name != app.queue.name {
        return Err(HttpError(ApiError::not_found(format!(
            "no queue named {name:?}"
        ))));
    }
    let bytes = read_limited(body).await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
        HttpError(ApiError::bad_request(
            "invalid_message",
            "the message body must be UTF-8 text",
        ))
    })?;
    let id = uuid::Uuid::new_v4().to_string();
    let (queue, message_id) = (app.queue.name.clone(), id.clone());
    app.db
        .write(move |tx| {
            let msg = queue::Outgoing {
                message_id: &message_id,
                body: &text,
                trace_id: None,
            };
            queue::send(tx, &queue, &msg, now_millis())
        })
        .await?;
    app.wakes.processor.notify_one();
    Ok(Json(json!({ "MessageId": id })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    function: String,
    failures: u32,
    /// A task error name of the contract (`eventpay_core::TaskErrorName`); `Store.Unavailable`
    /// when absent.
    #[serde(default)]
    error: Option<String>,
}

/// Makes the next `failures` invocations of a settlement function fail.
pub async fn set_fault(State(app): State<AppState>, body: Body) -> Result<Response, HttpError> {
    let (req, _) = parse_body::<FaultRequest>(&read_limited(body).await?)?;
    if !FUNCTIONS.contains(&req.function.as_str()) {
        return Err(HttpError(ApiError::bad_request(
            "unknown_function",
            format!(
                "function {:?} is not one of {}",
                req.function,
                FUNCTIONS.join(", ")
            ),
        )));
    }
    let error = match req.error.as_deref() {
        None => TaskErrorName::StoreUnavailable,
        Some(name) => TaskErrorName::parse(name).ok_or_else(|| {
            HttpError(ApiError::bad_request(
                "unknown_error",
                format!(
                    "error {name:?} is not one of {}",
                    TaskErrorName::ALL.map(TaskErrorName::as_str).join(", ")
                ),
            ))
        })?,
    };
    app.faults.set(&req.function, req.failures, error);
    Ok(Json(json!({ "faults": app.faults.snapshot() })).into_response())
}

pub async fn faults(State(app): State<AppState>) -> Response {
    Json(json!({ "faults": app.faults.snapshot() })).into_response()
}
