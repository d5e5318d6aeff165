//! The JSON query API under `/api/`: the request log, its statistics, a live feed, exports and
//! reports, described by the OpenAPI document at `/api/openapi.json`.
//!
//! - [`routes()`] is the one list of its routes: the control plane's route table mounts it, the
//!   OpenAPI document lists it, and tests check that the two agree.
//! - Every route takes the same filters (`params::FILTERS`), parsed in one place, so that a bad
//!   value is a 400 naming the parameter: `{"error": {"type", "message"}}`.
//! - Every route needs an admin (the door, `crate::door`).
//! - Handlers only read: the log store, and the live feed through the data plane's control
//!   handle. Nothing here is on the proxy's request path.

mod export;
mod live;
mod local;
mod openapi;
pub(crate) mod openapi_admin;
mod overview;
mod params;
mod report;
mod requests;
mod stats;

use axum::routing::{MethodRouter, get};

use crate::AdminState;
pub(crate) use crate::error::ApiError;
pub(crate) use requests::has_content;

/// One route of the API: its path (axum and OpenAPI share the `{param}` syntax) and handler.
/// Every route answers `GET` only.
pub(crate) struct Route {
    pub(crate) path: &'static str,
    pub(crate) handler: MethodRouter<AdminState>,
}

/// Every route of the query API. The control plane's table (`crate::routes`) mounts exactly
/// these and [`openapi`] documents them.
pub(crate) fn routes() -> Vec<Route> {
    let route = |path, handler| Route { path, handler };
    vec![
        route("/api/requests", get(requests::list)),
        route("/api/requests/{id}", get(requests::detail)),
        route("/api/stats", get(stats::totals)),
        route("/api/stats/timeseries", get(stats::timeseries)),
        route("/api/stats/breakdown", get(stats::breakdown)),
        route("/api/stats/heatmap", get(overview::heatmap)),
        route("/api/stats/failovers", get(overview::failovers)),
        route("/api/stats/cache", get(overview::cache)),
        route("/api/live", get(live::feed)),
        route("/api/export", get(export::export)),
        route("/api/report", get(report::report)),
        route("/api/openapi.json", get(openapi::document)),
    ]
}
