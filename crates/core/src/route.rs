//! Who may call a route: the vocabulary of the route tables of both planes (the data plane's in
//! `switchboard-gateway`, the control plane's in `switchboard-admin`), which the assembled
//! gateway lists as one (`switchboard_server::routes`).

use serde::Serialize;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Access {
    /// Anyone who can reach the port: liveness, Claude Code's preflight and telemetry sink.
    Open,
    /// A client of the gateway: the gateway token (or a client key) when one is required, and
    /// never a browser page from another origin.
    Proxy,
    /// Anyone, through an allowed `Host` only: signing in to the control plane.
    Login,
    /// An authenticated admin through an allowed `Host`; a route that `mutates` also needs the
    /// session's CSRF token (when the admin came with a session cookie).
    Admin { mutates: bool },
    /// Any signed-in user, admin or member, as for [`Access::Admin`]; the route shows a member
    /// only their own data (their keys, their usage), and an admin everything.
    Member { mutates: bool },
}

/// One route of a table: method, path (axum's `{param}` syntax) and who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}
