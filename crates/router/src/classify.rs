//! Upstream failures and what the router does about each.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

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

/// The reset time a rate-limited response announces, from `retry-after` (seconds or HTTP date is
/// not supported: seconds only, as Anthropic and OpenAI send) or the earliest
/// `anthropic-ratelimit-*-reset` (RFC 3339), relative to `now_unix` (seconds since the epoch).
#[must_use]
pub fn parse_retry_after<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    now_unix: f64,
) -> Option<Duration> {
    let mut best: Option<Duration> = None;
    let mut keep_min = |d: Duration| {
        best = Some(best.map_or(d, |b| b.min(d)));
    };
    let mut retry_after = None;
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if name == "retry-after" {
            if let Ok(secs) = value.trim().parse::<f64>()
                && secs.is_finite()
                && secs >= 0.0
            {
                retry_after = Some(Duration::from_secs_f64(secs.min(86_400.0)));
            }
        } else if name.starts_with("anthropic-ratelimit-")
            && name.ends_with("-reset")
            && let Some(at) = parse_rfc3339_unix(value.trim())
        {
            keep_min(Duration::from_secs_f64(
                (at - now_unix).clamp(0.0, 86_400.0),
            ));
        }
    }
    // retry-after is the server's explicit instruction: it wins over the reset headers.
    retry_after.or(best)
}

/// Minimal RFC 3339 parser (`2026-11-22T10:00:30Z`, with optional fraction and offset) to unix
/// seconds. Anthropic sends UTC with `Z`.
fn parse_rfc3339_unix(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let digits: String = r.chars().take_while(char::is_ascii_digit).collect();
        frac = format!("0.{digits}").parse().ok()?;
        rest = &r[digits.len()..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o.get(1..3)?.parse::<i64>().ok()? * 3600
                + o.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    #[expect(
        clippy::cast_precision_loss,
        reason = "unix seconds fit f64 exactly for centuries"
    )]
    Some((days * 86_400 + h * 3600 + mi * 60 + sec - offset) as f64 + frac)
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
        let now = parse_rfc3339_unix("2026-11-22T10:00:00Z").expect("parse");
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

    #[test]
    fn rfc3339_matches_known_epoch() {
        assert_eq!(parse_rfc3339_unix("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_rfc3339_unix("2000-03-01T00:00:00+01:00"),
            Some(951_865_200.0)
        );
        assert_eq!(parse_rfc3339_unix("garbage"), None);
    }
}
