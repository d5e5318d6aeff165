//! How the query API fails: `{"error": {"type", "message"}}` with the matching status.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;
use switchboard_store::StoreError;

/// An error of the query API. Unlike the proxy's errors it has one shape for every caller.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// A query parameter is unknown or has a bad value; the message starts with its name.
    #[error("{name}: {message}")]
    BadParam { name: &'static str, message: String },
    #[error(
        "the query API requires the gateway's auth token: send it as `x-api-key` or `Authorization: Bearer`"
    )]
    Unauthorized,
    #[error("the query API answers only on loopback until admin login exists")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("this gateway runs without a log store")]
    NoStore,
    /// The store failed; the details go to the log, not to the caller.
    #[error("the log store failed to answer")]
    Store(#[source] StoreError),
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
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::NoStore => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
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
        if let Self::Store(e) = &self {
            tracing::error!(error = %e, "query API: log store failed");
        }
        let (status, kind) = self.status();
        let body = json!({"error": {"type": kind, "message": self.to_string()}});
        (status, axum::Json(body)).into_response()
    }
}
