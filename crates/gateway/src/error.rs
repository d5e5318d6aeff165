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
    #[error(
        "this gateway requires a client key: send it as `x-api-key` or `Authorization: Bearer` (an admin makes one with `switchboard keys create`)"
    )]
    KeyRequired,
    /// A credential shaped like a client key that this gateway does not know.
    #[error(
        "invalid client key: this gateway has no such key (check for a typo, or ask your Switchboard admin for a new one)"
    )]
    UnknownKey,
    #[error(
        "the client key {key} was revoked on {}: ask your Switchboard admin for a new one",
        .at.format("%Y-%m-%d %H:%M UTC")
    )]
    KeyRevoked {
        key: String,
        at: chrono::DateTime<chrono::Utc>,
    },
    #[error(
        "the client key {key} expired on {}: ask your Switchboard admin for a new one",
        .at.format("%Y-%m-%d %H:%M UTC")
    )]
    KeyExpired {
        key: String,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// The key's `models` do not take in the requested model.
    #[error("the key {key} may not use the model {model}: it may use {allowed}")]
    ModelNotAllowed {
        key: String,
        model: String,
        allowed: String,
    },
    /// None of the endpoints the key may use serves the request.
    #[error(
        "the key {key} may use only the endpoints {allowed}, and none of them can serve this request now"
    )]
    EndpointNotAllowed { key: String, allowed: String },
    /// The key's `clients` do not take in the request's `User-Agent`.
    #[error("the key {key} is not for this client (User-Agent {user_agent}): it is for {allowed}")]
    ClientNotAllowed {
        key: String,
        user_agent: String,
        allowed: String,
    },
    /// A rate, concurrency or budget limit of the key, its user or its team.
    #[error("{}", limited_message(.0))]
    Limited(Box<switchboard_limits::Refusal>),
    /// A body the gateway will not translate (`[server] max_json_depth`, `max_messages`…).
    #[error("{0}")]
    InputTooLarge(String),
    /// More or larger headers than `[server] max_headers`, `max_header_bytes` allow.
    #[error("{0}")]
    HeadersTooLarge(String),
    #[error("request body larger than {0} bytes (`[server] max_body_bytes`)")]
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
            Self::TooLarge(_) | Self::InputTooLarge(_) | Self::HeadersTooLarge(_) => {
                ErrorKind::RequestTooLarge
            }
            Self::KeyRequired
            | Self::UnknownKey
            | Self::KeyRevoked { .. }
            | Self::KeyExpired { .. } => ErrorKind::Authentication,
            Self::ModelNotAllowed { .. }
            | Self::EndpointNotAllowed { .. }
            | Self::ClientNotAllowed { .. } => ErrorKind::Permission,
            Self::Limited(r) => match **r {
                switchboard_limits::Refusal::Budget(_) => ErrorKind::Permission,
                _ => ErrorKind::RateLimit,
            },
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
        if let Self::HeadersTooLarge(_) = self {
            return 431;
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
        let retry_after = match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            Self::Limited(r) => Some(r.retry_after()),
            _ => None,
        };
        if let Some(retry_after) = retry_after {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::try_from(secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// A limit's refusal as the client reads it; a used-up budget says when it frees up, in UTC.
fn limited_message(r: &switchboard_limits::Refusal) -> String {
    match r {
        switchboard_limits::Refusal::Budget(e) => {
            let at = chrono::TimeDelta::from_std(e.frees_in)
                .ok()
                .map(|d| chrono::Utc::now() + d);
            let at = at.map(|t| {
                if t.date_naive() == chrono::Utc::now().date_naive() {
                    t.format("%H:%M UTC").to_string()
                } else {
                    t.format("%a %d %b %H:%M UTC").to_string()
                }
            });
            e.message(at.as_deref())
        }
        other => other.to_string(),
    }
}
