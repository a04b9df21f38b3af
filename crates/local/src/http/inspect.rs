//! `/_local/...`: what happened inside the runtime — notifications sent, audit-log entries,
//! workflow executions with their history, queue depths — and the operator's levers (DLQ
//! redrive, injected faults). Shapes follow the AWS APIs people know where there is one.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::api::read_limited;
use super::error::HttpError;
use crate::db::now_millis;
use crate::queue;
use crate::tasks::FUNCTIONS;
use crate::workflow::execution_arn;
use eventpay_core::api::{ApiError, parse_body};

const MAX_ROWS: i64 = 1000;

pub async fn notifications(State(app): State<AppState>) -> Result<Response, HttpError> {
    let rows = app
        .db
        .read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, topic, subject, message, created_at FROM notifications ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![MAX_ROWS], |r| {
                Ok(json!({"id": r.get::<_, i64>(0)?, "topic_arn": r.get::<_, String>(1)?, "subject": r.get::<_, Option<String>>(2)?,
                          "message": r.get::<_, String>(3)?, "created_at": r.get::<_, String>(4)?}))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(json!({ "notifications": rows })).into_response())
}

pub async fn audit(State(app): State<AppState>) -> Result<Response, HttpError> {
    let rows = app
        .db
        .read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, rule, message, created_at FROM audit_log ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![MAX_ROWS], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, rule, message, at) = row?;
                let event: Value = serde_json::from_str(&message)?;
                out.push(json!({"id": id, "rule": rule, "event": event, "created_at": at}));
            }
            Ok(out)
        })
        .await?;
    Ok(Json(json!({ "entries": rows })).into_response())
}

/// Like ListExecutions.
pub async fn executions(State(app): State<AppState>) -> Result<Response, HttpError> {
    let rows = app
        .db
        .read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT execution_arn, name, state_machine_arn, status, start_date, stop_date FROM executions ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![MAX_ROWS], |r| {
                Ok(json!({"executionArn": r.get::<_, String>(0)?, "name": r.get::<_, String>(1)?,
                          "stateMachineArn": r.get::<_, String>(2)?, "status": r.get::<_, String>(3)?,
                          "startDate": r.get::<_, String>(4)?, "stopDate": r.get::<_, Option<String>>(5)?}))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(json!({ "executions": rows })).into_response())
}

/// Like DescribeExecution, with `events` as GetExecutionHistory returns them.
pub async fn execution(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let arn = if id.starts_with("arn:") {
        id.clone()
    } else {
        execution_arn(&id)
    };
    let found = app
        .db
        .read(move |c| {
            let row = c
                .query_row(
                    "SELECT execution_arn, name, state_machine_arn, status, input, start_date, stop_date, state FROM executions WHERE execution_arn = ?1",
                    params![arn],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?, r.get::<_, String>(5)?, r.get::<_, Option<String>>(6)?, r.get::<_, String>(7)?,
                        ))
                    },
                )
                .optional()?;
            let Some((arn, name, sm, status, input, start, stop, state)) = row else {
                return Ok(None);
            };
            let execution: eventpay_states::Execution = serde_json::from_str(&state)?;
            let mut stmt = c.prepare_cached("SELECT event FROM history WHERE execution_arn = ?1 ORDER BY id")?;
            let events = stmt
                .query_map(params![arn], |r| r.get::<_, String>(0))?
                .map(|e| Ok(serde_json::from_str::<Value>(&e?)?))
                .collect::<Result<Vec<_>, crate::error::LocalError>>()?;
            Ok(Some(json!({
                "executionArn": arn, "name": name, "stateMachineArn": sm, "status": status,
                "input": input, "output": execution.output().map(|o| o.to_string()),
                "error": execution.error(), "cause": execution.cause(),
                "startDate": start, "stopDate": stop, "events": events,
            })))
        })
        .await?;
    found
        .map(|v| Json(v).into_response())
        .ok_or_else(|| HttpError(ApiError::not_found(format!("no execution {id:?}"))))
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
        .write(move |tx| queue::send(tx, &queue, &message_id, &text, now_millis()))
        .await?;
    app.wakes.processor.notify_one();
    Ok(Json(json!({ "MessageId": id })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    function: String,
    failures: u32,
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
    app.faults.set(&req.function, req.failures);
    Ok(Json(json!({ "faults": app.faults.snapshot() })).into_response())
}

pub async fn faults(State(app): State<AppState>) -> Response {
    Json(json!({ "faults": app.faults.snapshot() })).into_response()
}
