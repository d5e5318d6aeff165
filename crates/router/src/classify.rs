//! Upstream failures and what the router does about each: the one place upstream status codes
//! and rate-limit headers are read.
//!
//! - [`classify`]: today's attempt loop's rules (retry, cool down, return);
//! - [`classify_scoped`]: the same failures with a [`Scope`] (request, model, account,
//!   provider), for pools: what a failure puts out of service and until when;
//! - [`RateLimitFacts`]: what a response's rate-limit headers say, read once;
//! - `reset`: the defensive parsers of announced reset times.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

mod quota;
pub(crate) mod reset;
mod scope;

pub use quota::{RateLimitFacts, RejectedWindow, is_quota_header};
pub use scope::{Action, CooldownPolicy, Scope, Verdict, classify_scoped};

/// Why an attempt failed.
#[derive(Debug, Clone)]
pub enum FailureKind {
    /// Could not connect (refused, DNS, TLS).
    Connect,
    /// No response head, or no first event, within the allowed time.
    Timeout,
    /// The upstream answered with a non-success status.
    Status {
        status: u16,
        /// When the upstream says it will accept requests again (`retry-after`,
        /// `anthropic-ratelimit-*-reset`), relative to the response.
        retry_after: Option<Duration>,
        content_type: Option<String>,
        /// The error body, capped (it is returned to the client for client errors).
        body: Bytes,
    },
    /// The connection broke or the response was malformed before anything reached the client.
    Protocol,
    /// The endpoint cannot express this request (a server tool, a call its dialect lacks): try
    /// the next endpoint without retrying or cooling this one down.
    Unsupported,
}

impl FailureKind {
    /// The kind in one word: `connect`, `timeout`, `status`, `protocol`, `unsupported`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Status { .. } => "status",
            Self::Protocol => "protocol",
            Self::Unsupported => "unsupported",
        }
    }
}

/// A failed attempt against one endpoint.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{endpoint}: {message}")]
pub struct UpstreamError {
    pub endpoint: String,
    pub kind: FailureKind,
    /// Human-readable cause, safe to log (never contains credentials).
    pub message: String,
}

impl UpstreamError {
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match &self.kind {
            FailureKind::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Transient: retry on the same endpoint after backoff (5xx, 529, network errors).
    RetrySame,
    /// The endpoint can't serve for a while: cool it down until `until`, move to the next now.
    Cooldown { until: Instant },
    /// The request itself is at fault: return the upstream's answer to the client unchanged.
    ReturnToClient,
    /// This endpoint can't take the request; the next one may.
    Skip,
}

/// The routing rules, in one place.
///
/// - network errors, timeouts, broken responses, 5xx and 529 → retry on the same endpoint;
/// - 429 → cool down until the announced reset (or `default_cooldown`), move on;
/// - 401/403 from an endpoint with its own credentials → cool down, move on; with the client's
///   pass-through credentials the client is at fault → return;
/// - 408 → retry; other 4xx → return to the client.
#[must_use]
pub fn classify(
    err: &UpstreamError,
    has_own_credentials: bool,
    now: Instant,
    default_cooldown: Duration,
) -> Disposition {
    match &err.kind {
        FailureKind::Connect | FailureKind::Timeout | FailureKind::Protocol => {
            Disposition::RetrySame
        }
        FailureKind::Unsupported => Disposition::Skip,
        FailureKind::Status {
            status,
            retry_after,
            ..
        } => match *status {
            429 => Disposition::Cooldown {
                until: now + retry_after.unwrap_or(default_cooldown),
            },
            401 | 403 if has_own_credentials => Disposition::Cooldown {
                until: now + retry_after.unwrap_or(default_cooldown),
            },
            408 => Disposition::RetrySame,
            s if s >= 500 => Disposition::RetrySame,
            _ => Disposition::ReturnToClient,
        },
    }
}

/// The reset time a rate-limited response announces, from `retry-after` (seconds or an HTTP
/// date) or the earliest `anthropic-ratelimit-*-reset` (RFC 3339), relative to `now_unix`
/// (seconds since the epoch), at most a day.
#[must_use]
pub fn parse_retry_after<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    now_unix: f64,
) -> Option<Duration> {
    const DAY: Duration = Duration::from_secs(86_400);
    let mut best: Option<Duration> = None;
    let mut retry_after = None;
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if name == "retry-after" {
            retry_after = reset::retry_after(value, now_unix).map(|d| d.min(DAY));
        } else if name.starts_with("anthropic-ratelimit-")
            && name.ends_with("-reset")
            && let Some(at) = reset::parse_rfc3339_unix(value.trim())
        {
            let d = Duration::from_secs_f64((at - now_unix).clamp(0.0, DAY.as_secs_f64()));
            best = Some(best.map_or(d, |b| b.min(d)));
        }
    }
    // retry-after is the server's explicit instruction: it wins over the reset headers.
    retry_after.or(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16, retry_after: Option<u64>) -> UpstreamError {
        UpstreamError {
            endpoint: "e".into(),
            kind: FailureKind::Status {
                status: s,
                retry_after: retry_after.map(Duration::from_secs),
                content_type: None,
                body: Bytes::new(),
            },
            message: String::new(),
        }
    }

    #[test]
    fn routing_rules_table() {
        let now = Instant::now();
        let cd = Duration::from_secs(1800);
        let cases: &[(UpstreamError, bool, Disposition)] = &[
            (status(500, None), true, Disposition::RetrySame),
            (status(502, None), false, Disposition::RetrySame),
            (status(503, None), true, Disposition::RetrySame),
            (status(529, None), true, Disposition::RetrySame),
            (status(408, None), true, Disposition::RetrySame),
            (
                status(429, Some(7)),
                true,
                Disposition::Cooldown {
                    until: now + Duration::from_secs(7),
                },
            ),
            (
                status(429, None),
                false,
                Disposition::Cooldown { until: now + cd },
            ),
            (
                status(401, None),
                true,
                Disposition::Cooldown { until: now + cd },
            ),
            (
                status(403, None),
                true,
                Disposition::Cooldown { until: now + cd },
            ),
            (status(401, None), false, Disposition::ReturnToClient),
            (status(400, None), true, Disposition::ReturnToClient),
            (status(404, None), true, Disposition::ReturnToClient),
            (status(413, None), true, Disposition::ReturnToClient),
            (status(422, None), true, Disposition::ReturnToClient),
        ];
        for (err, creds, want) in cases {
            assert_eq!(
                classify(err, *creds, now, cd),
                *want,
                "status {:?} creds {creds}",
                err.status()
            );
        }
        for kind in [
            FailureKind::Connect,
            FailureKind::Timeout,
            FailureKind::Protocol,
        ] {
            let e = UpstreamError {
                endpoint: "e".into(),
                kind,
                message: String::new(),
            };
            assert_eq!(classify(&e, true, now, cd), Disposition::RetrySame);
        }
    }

    #[test]
    fn retry_after_header_wins_and_reset_headers_are_read() {
        let now = reset::parse_rfc3339_unix("2026-11-22T10:00:00Z").expect("parse");
        let h = [
            ("anthropic-ratelimit-requests-reset", "2026-11-22T10:00:30Z"),
            ("anthropic-ratelimit-tokens-reset", "2026-11-22T10:00:12.5Z"),
        ];
        assert_eq!(
            parse_retry_after(h.iter().copied(), now),
            Some(Duration::from_secs_f64(12.5))
        );
        let h2 = [
            ("Retry-After", "3"),
            ("anthropic-ratelimit-tokens-reset", "2026-11-22T10:00:12Z"),
        ];
        assert_eq!(
            parse_retry_after(h2.iter().copied(), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after([("retry-after", "soon")].iter().copied(), now),
            None
        );
    }
}
