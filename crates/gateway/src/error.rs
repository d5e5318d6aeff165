//! The one place errors become HTTP responses, rendered in the caller's dialect.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use switchboard_core::Outcome;
use switchboard_protocol::Dialect;
use switchboard_protocol::error::{ErrorKind, anthropic_body, openai_body};

/// An error the gateway itself answers with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The request is malformed; says what and where.
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "this gateway requires its auth token: send it as `x-api-key` or `Authorization: Bearer`"
    )]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    /// A browser page from another site (DNS rebinding, or a cross-site post).
    #[error(
        "requests from web pages at {0} are refused: a browser page may call this gateway only from its own origin or one in `[server] allowed_origins`"
    )]
    ForeignOrigin(String),
    /// A body type a cross-site form or `fetch` can send without asking.
    #[error("content-type {0:?} is not accepted: send the request body as application/json")]
    NotJson(String),
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    /// The client started a body and stopped sending it (`server.body_timeout`).
    #[error("request body stalled: no bytes for {0:?}")]
    BodyTimeout(Duration),
    /// Every endpoint is rate-limited or cooling down: retry after the earliest cooldown end.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Duration,
    },
    /// Every endpoint failed.
    #[error("{0}")]
    Overloaded(String),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::BadRequest(_) => ErrorKind::InvalidRequest,
            Self::Unauthorized => ErrorKind::Authentication,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::ForeignOrigin(_) => ErrorKind::Permission,
            Self::NotJson(_) => ErrorKind::InvalidRequest,
            Self::TooLarge(_) => ErrorKind::RequestTooLarge,
            Self::BodyTimeout(_) => ErrorKind::Timeout,
            Self::RateLimited { .. } => ErrorKind::RateLimit,
            Self::Overloaded(_) => ErrorKind::Overloaded,
            Self::Internal(_) => ErrorKind::Api,
        }
    }

    /// The log's outcome for a request that ends with this error: `exhausted` when no endpoint
    /// could serve, `upstream_error` when an upstream answered with something unusable,
    /// `rejected` when the gateway refused the request itself.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Self::RateLimited { .. } | Self::Overloaded(_) => Outcome::Exhausted,
            Self::Internal(_) => Outcome::UpstreamError,
            _ => Outcome::Rejected,
        }
    }

    /// The HTTP status this error is answered with, for the given dialect.
    pub(crate) fn status(&self, dialect: Dialect) -> u16 {
        if let Self::BodyTimeout(_) = self {
            // The client's fault, not an upstream timeout (504): 408 in every dialect.
            return 408;
        }
        match dialect {
            Dialect::OpenAiChat => self.kind().openai_status(),
            _ => self.kind().status(),
        }
    }

    /// Renders the error in the caller's dialect.
    pub(crate) fn render(&self, dialect: Dialect) -> Response {
        let kind = self.kind();
        let message = self.to_string();
        let body = match dialect {
            Dialect::OpenAiChat => openai_body(kind, &message),
            _ => anthropic_body(kind, &message),
        };
        let status =
            StatusCode::from_u16(self.status(dialect)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(body)).into_response();
        if let Self::BodyTimeout(_) = self {
            // The rest of the body may still come: the connection can't carry another request.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Self::RateLimited { retry_after, .. } = self {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::try_from(secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
