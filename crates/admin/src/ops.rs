//! Operations: `/status`, `/metrics`, reloading the configuration and putting an endpoint back
//! in service.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use serde_json::{Value, json};

use crate::AdminState;
use crate::error::ApiError;
use crate::secrets::reload_json;

/// `GET /status`: version, config source and reload errors, log queue, tasks, and each
/// endpoint's health, cooldown and proxy.
pub(crate) async fn status(State(state): State<AdminState>) -> Json<Value> {
    Json(state.control().status())
}

/// `GET /metrics`: Prometheus text format 0.0.4.
pub(crate) async fn metrics(State(state): State<AdminState>) -> Response {
    let mut resp = state.control().metrics().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// `POST /api/admin/reload`: re-reads the configuration file (and the secrets it refers to).
pub(crate) async fn reload(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let r = state.0.reloader.reload().await;
    match r {
        Err(e) => Err(ApiError::BadRequest(format!(
            "the configuration was not reloaded, the running one stays:\n{e}"
        ))),
        ok => Ok(Json(reload_json(&ok))),
    }
}

/// `POST /api/admin/endpoints/{name}/reset`: clears an endpoint's cooldown and failure counts,
/// so it takes traffic at once.
pub(crate) async fn reset_endpoint(
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let live = state.control().live();
    if !live.config.endpoints.iter().any(|e| e.name == name) {
        return Err(ApiError::NotFound(format!("no endpoint named {name:?}")));
    }
    state.control().reset_health(&name);
    Ok(Json(json!({"reset": name})))
}
