//! The JSON query API under `/api/`: the request log, its statistics, a live feed, exports and
//! reports, described by the OpenAPI document at `/api/openapi.json`.
//!
//! - `routes()` is the one list of routes: `router()` mounts it, the OpenAPI document lists it,
//!   and tests check that the two agree ([`paths`] exposes it to them).
//! - Every route takes the same filters (`params::FILTERS`), parsed in one place, so that a bad
//!   value is a 400 naming the parameter: `{"error": {"type", "message"}}`.
//! - Until admin login exists, `guard()` admits only loopback peers and, when the gateway has an
//!   `auth_token`, only callers that present it.
//! - Handlers only read: the store through [`AppState::store`], the live feed through
//!   [`AppState::request_events`]. Nothing here is on the proxy's request path.

mod error;
mod export;
mod live;
mod openapi;
mod params;
mod report;
mod requests;
mod stats;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use switchboard_store::Store;

pub(crate) use self::error::ApiError;
use crate::state::AppState;

/// One route of the API: its path (axum and OpenAPI share the `{param}` syntax) and handler.
/// Every route answers `GET` only.
struct Route {
    path: &'static str,
    handler: MethodRouter<AppState>,
}

/// Every route of the query API. [`router`] mounts exactly these and [`openapi`] documents
/// exactly these.
fn routes() -> Vec<Route> {
    let route = |path, handler| Route { path, handler };
    vec![
        route("/api/requests", get(requests::list)),
        route("/api/requests/{id}", get(requests::detail)),
        route("/api/stats", get(stats::totals)),
        route("/api/stats/timeseries", get(stats::timeseries)),
        route("/api/stats/breakdown", get(stats::breakdown)),
        route("/api/live", get(live::feed)),
        route("/api/export", get(export::export)),
        route("/api/report", get(report::report)),
        route("/api/openapi.json", get(openapi::document)),
    ]
}

/// The paths of every query API route, as registered (each answers `GET`). Public so that tests
/// can check the OpenAPI document against it.
#[must_use]
pub fn paths() -> Vec<&'static str> {
    routes().into_iter().map(|r| r.path).collect()
}

/// The query API routes, behind [`guard`].
pub(crate) fn router(state: AppState) -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, r| router.route(r.path, r.handler))
        .route_layer(middleware::from_fn_with_state(state, guard))
}

/// Admits loopback peers only, and only with the gateway's auth token when one is configured.
/// A request without a peer address (an in-process `oneshot`) counts as loopback.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer
        && !ip.to_canonical().is_loopback()
    {
        return ApiError::Forbidden.into_response();
    }
    if crate::proxy::check_auth(&state.live(), req.headers()).is_err() {
        return ApiError::Unauthorized.into_response();
    }
    next.run(req).await
}

/// The log store, or 503 when the gateway runs without one.
fn store(state: &AppState) -> Result<Arc<dyn Store>, ApiError> {
    state.store().ok_or(ApiError::NoStore)
}
