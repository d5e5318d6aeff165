//! Error kinds a gateway reports, and their bodies in each client dialect.
//!
//! Anthropic: `{"type":"error","error":{"type":"rate_limit_error","message":"…"}}`.
//! OpenAI: `{"error":{"message":"…","type":"rate_limit_error","param":null,"code":"…"}}`.

use serde_json::json;

/// The error categories shared by the dialects, named after Anthropic's `error.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    RequestTooLarge,
    RateLimit,
    Api,
    Overloaded,
    Timeout,
}

impl ErrorKind {
    /// Anthropic's `error.type` string.
    #[must_use]
    pub fn anthropic_type(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request_error",
            Self::Authentication => "authentication_error",
            Self::Permission => "permission_error",
            Self::NotFound => "not_found_error",
            Self::RequestTooLarge => "request_too_large",
            Self::RateLimit => "rate_limit_error",
            Self::Api => "api_error",
            Self::Overloaded => "overloaded_error",
            Self::Timeout => "timeout_error",
        }
    }

    /// The HTTP status Anthropic uses for this kind.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::Authentication => 401,
            Self::Permission => 403,
            Self::NotFound => 404,
            Self::RequestTooLarge => 413,
            Self::RateLimit => 429,
            Self::Api => 500,
            Self::Overloaded => 529,
            Self::Timeout => 504,
        }
    }

    /// The kind an HTTP status stands for (used when an upstream's own body can't be read).
    #[must_use]
    pub fn from_status(status: u16) -> Self {
        match status {
            400 | 422 => Self::InvalidRequest,
            401 => Self::Authentication,
            403 => Self::Permission,
            404 => Self::NotFound,
            413 => Self::RequestTooLarge,
            429 => Self::RateLimit,
            503 | 529 => Self::Overloaded,
            504 | 408 => Self::Timeout,
            _ => Self::Api,
        }
    }

    /// Parse Anthropic's `error.type` string (also accepted from OpenAI-shaped bodies, whose
    /// `type` values overlap).
    #[must_use]
    pub fn from_type_str(s: &str) -> Option<Self> {
        Some(match s {
            "invalid_request_error" => Self::InvalidRequest,
            "authentication_error" => Self::Authentication,
            "permission_error" => Self::Permission,
            "not_found_error" => Self::NotFound,
            "request_too_large" => Self::RequestTooLarge,
            "rate_limit_error" | "rate_limit_exceeded" | "insufficient_quota" => Self::RateLimit,
            "api_error" | "server_error" => Self::Api,
            "overloaded_error" => Self::Overloaded,
            "timeout_error" => Self::Timeout,
            _ => return None,
        })
    }

    /// The OpenAI status for this kind: OpenAI has no 529, overload is a 503.
    #[must_use]
    pub fn openai_status(self) -> u16 {
        match self {
            Self::Overloaded => 503,
            other => other.status(),
        }
    }
}

/// Anthropic's error body.
#[must_use]
pub fn anthropic_body(kind: ErrorKind, message: &str) -> serde_json::Value {
    json!({"type": "error", "error": {"type": kind.anthropic_type(), "message": message}})
}

/// OpenAI's error body.
#[must_use]
pub fn openai_body(kind: ErrorKind, message: &str) -> serde_json::Value {
    let code = match kind {
        ErrorKind::RateLimit => json!("rate_limit_exceeded"),
        ErrorKind::Authentication => json!("invalid_api_key"),
        ErrorKind::NotFound => json!("model_not_found"),
        _ => serde_json::Value::Null,
    };
    json!({"error": {"message": message, "type": kind.anthropic_type(), "param": null, "code": code}})
}

/// The message and kind inside an error body of any dialect (Anthropic, OpenAI, Gemini — also
/// Gemini's array form `[{"error": …}]`). Returns `None` for bodies that aren't error-shaped.
#[must_use]
pub fn parse_any(body: &[u8]) -> Option<(Option<ErrorKind>, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let v = match v {
        serde_json::Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
        other => other,
    };
    let err = v.get("error")?;
    if let Some(s) = err.as_str() {
        return Some((None, s.to_owned()));
    }
    let message = err
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .to_owned();
    let kind = err
        .get("type")
        .and_then(|t| t.as_str())
        .and_then(ErrorKind::from_type_str)
        .or_else(|| {
            // Gemini: {"code": 429, "status": "RESOURCE_EXHAUSTED"}
            match err.get("status").and_then(|s| s.as_str()) {
                Some("RESOURCE_EXHAUSTED") => Some(ErrorKind::RateLimit),
                Some("UNAVAILABLE") => Some(ErrorKind::Overloaded),
                Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION") => Some(ErrorKind::InvalidRequest),
                Some("UNAUTHENTICATED") => Some(ErrorKind::Authentication),
                Some("PERMISSION_DENIED") => Some(ErrorKind::Permission),
                Some("NOT_FOUND") => Some(ErrorKind::NotFound),
                Some("DEADLINE_EXCEEDED") => Some(ErrorKind::Timeout),
                Some("INTERNAL") => Some(ErrorKind::Api),
                _ => None,
            }
        });
    Some((kind, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_dialects_error_shape() {
        let a = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(
            parse_any(a),
            Some((Some(ErrorKind::Overloaded), "Overloaded".into()))
        );
        let o = br#"{"error":{"message":"slow down","type":"rate_limit_exceeded","code":null}}"#;
        assert_eq!(
            parse_any(o),
            Some((Some(ErrorKind::RateLimit), "slow down".into()))
        );
        let g = br#"[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]"#;
        assert_eq!(
            parse_any(g),
            Some((Some(ErrorKind::RateLimit), "quota".into()))
        );
        assert_eq!(parse_any(b"not json"), None);
    }

    #[test]
    fn openai_has_no_529() {
        assert_eq!(ErrorKind::Overloaded.status(), 529);
        assert_eq!(ErrorKind::Overloaded.openai_status(), 503);
    }
}
