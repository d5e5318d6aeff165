//! How the control plane fails: `{"error": {"type", "message"}}` with the matching status, for
//! every caller (the dashboard, the CLI, scripts). The one place its errors become HTTP.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use switchboard_store::StoreError;

/// An error of the admin or query API.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// A query parameter is unknown or has a bad value; the message starts with its name.
    #[error("{name}: {message}")]
    BadParam { name: &'static str, message: String },
    /// A request body that is not what the route takes; the message says what is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// No admin credential came with the request, or it is not valid (any more).
    #[error(
        "sign in first: open the dashboard with `switchboard ui`, or send the local admin credential as `Authorization: Bearer`"
    )]
    Unauthorized,
    /// The user or password is wrong (one message for both, on purpose).
    #[error("wrong user name or password")]
    BadLogin,
    /// Signed in, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The `Host` header does not name this gateway (DNS rebinding guard).
    #[error(
        "this gateway does not answer to the host {0:?}: use http://127.0.0.1 or http://localhost, or list the name in `[admin] hosts`"
    )]
    ForeignHost(String),
    /// A state change without the session's CSRF token.
    #[error(
        "missing or wrong CSRF token: send the `csrf_token` of GET /api/admin/session as the `x-csrf-token` header"
    )]
    Csrf,
    /// Too many login attempts.
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after: Duration,
    },
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is there (a name taken, the last admin).
    #[error("{0}")]
    Conflict(String),
    /// The configuration file changed since the caller read it (`If-Match`).
    #[error(
        "the configuration file changed since you read it: review the diff and save again with the current version"
    )]
    VersionConflict {
        current_version: String,
        /// From the text the caller saw to the file's, when that text is remembered.
        diff: Option<String>,
    },
    /// The change would leave a configuration that does not load; the message lists why.
    #[error("{0}")]
    InvalidConfig(String),
    /// The store failed; the details go to the log, not to the caller.
    #[error("the database failed to answer")]
    Store(#[source] StoreError),
    /// Something else on the server's side failed; the message says what, never a secret.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub(crate) fn bad(name: &'static str, message: impl Into<String>) -> Self {
        Self::BadParam {
            name,
            message: message.into(),
        }
    }

    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadParam { .. } => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::Unauthorized | Self::BadLogin => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::ForeignHost(_) => (StatusCode::FORBIDDEN, "foreign_host"),
            Self::Csrf => (StatusCode::FORBIDDEN, "csrf"),
            Self::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::VersionConflict { .. } => (StatusCode::CONFLICT, "version_conflict"),
            Self::InvalidConfig(_) => (StatusCode::BAD_REQUEST, "invalid_config"),
            Self::Store(_) | Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor(_) => {
                Self::bad("cursor", "not a cursor returned by this API")
            }
            e => Self::Store(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Store(e) => tracing::error!(error = %e, "control plane: the store failed"),
            Self::Internal(e) => tracing::error!(error = %e, "control plane: internal error"),
            _ => {}
        }
        let (status, kind) = self.status();
        let mut body = json!({"error": {"type": kind, "message": self.to_string()}});
        if let Self::VersionConflict {
            current_version,
            diff,
        } = &self
        {
            body["current_version"] = json!(current_version);
            body["diff"] = json!(diff);
        }
        let mut resp = (status, axum::Json(body)).into_response();
        if let Self::Throttled { retry_after, .. } = &self {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::try_from(secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
