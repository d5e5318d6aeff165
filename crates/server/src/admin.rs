//! Operational routes: health, status, and the small endpoints Claude Code calls at start-up.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;
use switchboard_config::AuthStyle;
use tokio::time::Instant;

use crate::state::AppState;

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

/// `GET /status`: version, config source, reload state, log queue, and every endpoint's health.
pub(crate) async fn status(State(state): State<AppState>) -> Response {
    axum::Json(status_json(&state)).into_response()
}

/// The `/status` document.
#[must_use]
pub fn status_json(state: &AppState) -> serde_json::Value {
    let live = state.live();
    let now = Instant::now();
    let names = live.config.endpoints.iter().map(|e| e.name.as_str());
    let health = state.health().snapshot(names, now);
    let env = state.0.egress.env();
    let endpoints: Vec<_> = live
        .config
        .endpoints
        .iter()
        .zip(health)
        .map(|(e, h)| {
            let state = if !e.enabled {
                "disabled"
            } else if h.cooldown_remaining.is_some() {
                "cooling_down"
            } else if h.consecutive_failures > 0 {
                "degraded"
            } else {
                "healthy"
            };
            // How its connections go out: `null` is direct.
            let proxy = crate::egress::proxy_for(e, &live.config.routing, env)
                .map(|p| json!({"url": p.url, "from": p.source.to_string()}));
            json!({
                "name": e.name,
                "kind": e.kind.as_str(),
                "base_url": e.base_url.as_str(),
                "preset": e.preset,
                "credentials": match (&e.api_key, e.auth) {
                    (None, _) => "pass-through".to_owned(),
                    (Some(k), AuthStyle::XApiKey) => format!("x-api-key {}", k.masked()),
                    (Some(k), AuthStyle::Bearer) => format!("bearer {}", k.masked()),
                    (Some(k), AuthStyle::GoogApiKey) => format!("x-goog-api-key {}", k.masked()),
                },
                "proxy": proxy,
                "state": state,
                "cooldown_remaining_s": h.cooldown_remaining.map(|d| d.as_secs_f64()),
                "cooldown_reason": h.cooldown_reason,
                "consecutive_failures": h.consecutive_failures,
                "successes": h.successes,
                "failures": h.failures,
                "last_error": h.last_error,
                "since_last_success_s": h.since_last_success.map(|d| d.as_secs_f64()),
            })
        })
        .collect();
    let log = state.log().stats();
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": state.0.started_at.to_rfc3339(),
        "uptime_s": state.0.started.elapsed().as_secs(),
        "listen": live.config.server.listen.to_string(),
        "config_source": live.config.source.to_string(),
        "config_loaded_at": live.loaded_at.to_rfc3339(),
        "reload": state.reload_status(),
        "data_dir": state.data_dir().display().to_string(),
        "in_flight": state.in_flight(),
        "served": state.0.served.load(std::sync::atomic::Ordering::Relaxed),
        "tasks": alive_tasks(),
        "log": {
            "queued": log.queued,
            "written": log.written,
            "dropped": log.dropped,
            "failed_batches": log.failed_batches,
            "lost": log.lost,
            "retries": log.retries,
            "last_error": log.last_error,
            "audit_written": log.audit_written,
            "audit_dropped": log.audit_dropped,
            "audit_lost": log.audit_lost,
        },
        "endpoints": endpoints,
        "opentelemetry": state.0.telemetry.status(),
    })
}

/// Tasks alive on the runtime serving this call (connections, streams, upstream connections,
/// background jobs): a leak shows as a count that never comes back down. `None` outside a
/// runtime.
pub(crate) fn alive_tasks() -> Option<usize> {
    tokio::runtime::Handle::try_current()
        .ok()
        .map(|h| h.metrics().num_alive_tasks())
}
