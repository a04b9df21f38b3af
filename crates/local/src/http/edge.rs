//! The server's edge: how connections are accepted, timed and closed, and the layers every
//! request passes through before the routes.
//!
//! - hyper's HTTP/1 connection builder with a header read timeout (a client that sends half a
//!   request head, or nothing, is disconnected; hyper runs the same timer while a keep-alive
//!   connection waits for its next request, so it is the idle timeout too);
//! - tower-http's request body timeout (a body that stops arriving) and request timeout (the
//!   whole request, body included), both answered 408;
//! - a cap on open connections: past it, new connections wait in the listen backlog;
//! - graceful shutdown: stop accepting, let in-flight requests finish, close whatever is still
//!   open after the grace period;
//! - every 4xx/5xx that axum or tower-http answers without a JSON body (path and query
//!   rejections, 408, 413, …) is given the `{"error": {"code", "message"}}` body.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// The edge's limits (`eventpay up` flags of the same names).
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// How long a client has to send a request's head, and how long an idle keep-alive
    /// connection is kept.
    pub header_timeout: Duration,
    /// How long a request body may go without sending data.
    pub body_timeout: Duration,
    /// How long one request may take, reading its body included.
    pub request_timeout: Duration,
    /// Open connections at most; more wait to be accepted.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests before closing their connections.
    pub shutdown_grace: Duration,
    /// Names accepted as `Host` besides the bound address and loopback names.
    pub allowed_hosts: Vec<String>,
    /// When set, the console and `/_local/` writes require it (see `super::guard`).
    pub token: Option<String>,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(10),
            allowed_hosts: Vec::new(),
            token: None,
        }
    }
}

/// The token a runtime on `addr` needs: the one given, else a new one unless `addr` is loopback.
pub fn start_up_token(addr: std::net::SocketAddr, given: Option<String>) -> Option<String> {
    given.or_else(|| (!addr.ip().is_loopback()).then(|| uuid::Uuid::new_v4().simple().to_string()))
}

/// Wraps `app` in the request timeouts (inside `observe`, so a timed-out request is still
/// logged) and the JSON error bodies (outermost, so every answer is shaped).
pub fn layers(app: Router, edge: &EdgeConfig) -> Router {
    app.layer(RequestBodyTimeoutLayer::new(edge.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            edge.request_timeout,
        ))
        .layer(axum::middleware::from_fn(crate::console::observe))
        .layer(axum::middleware::map_response(json_errors))
}

/// Serves `app` on `listener` until `shutdown` completes, then closes as described above.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    edge: &EdgeConfig,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(edge.header_timeout);
    let permits = Arc::new(Semaphore::new(edge.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    close(graceful, connections, edge.shutdown_grace).await;
}

/// Lets open connections finish their requests for up to `grace`, then drops the rest.
async fn close(graceful: GracefulShutdown, mut connections: JoinSet<()>, grace: Duration) {
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(
                open = connections.len(),
                "shutdown grace of {grace:?} over: closing the connections still open"
            );
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// Gives a JSON error body to an error answer that has none.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim()
                .chars()
                .take(300)
                .collect::<String>()
        })
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text
    };
    let body = eventpay_core::api::error_body(code_of(status), &message).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// The error code of a status the routes did not answer themselves.
fn code_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        431 => "headers_too_large",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "bad_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    async fn answer(app: Router, uri: &str) -> (u16, serde_json::Value, String) {
        use tower::ServiceExt;
        let req = axum::http::Request::get(uri).body(Body::empty()).unwrap();
        let res = app.oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let ct = res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), ct)
    }

    #[tokio::test]
    async fn plain_error_answers_get_the_json_body() {
        let app = Router::new()
            .route(
                "/p/{id}",
                get(|axum::extract::Path(id): axum::extract::Path<String>| async move { id }),
            )
            .route("/t", get(|| async { (StatusCode::PAYLOAD_TOO_LARGE, "") }))
            .layer(axum::middleware::map_response(json_errors));
        let (status, body, ct) = answer(app.clone(), "/p/%FF").await;
        assert_eq!((status, ct.as_str()), (400, "application/json"));
        assert_eq!(body["error"]["code"], "bad_request");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Invalid URL"),
            "{body}"
        );
        let (status, body, _) = answer(app.clone(), "/t").await;
        assert_eq!(status, 413);
        assert_eq!(body["error"]["code"], "payload_too_large");
        assert_eq!(body["error"]["message"], "payload too large");
        let (status, body, _) = answer(app, "/nothing").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found"))
        );
    }
}
