//! The data plane's open routes: the gateway's liveness, and the small endpoints Claude Code
//! calls at start-up before it has credentials.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

/// `HEAD /api/hello`: Claude Code's unauthenticated connectivity preflight.
pub(crate) async fn hello() -> StatusCode {
    StatusCode::OK
}

/// `POST /api/event_logging/batch`: accepted and dropped.
pub(crate) async fn event_logging() -> Response {
    (StatusCode::OK, axum::Json(json!({}))).into_response()
}

/// `GET /health`.
pub(crate) async fn health() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}
