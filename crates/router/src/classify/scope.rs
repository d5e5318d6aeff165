//! Failure scopes: how far a failure reaches, and so what it puts out of service.
//!
//! | scope | examples | cooldown |
//! |---|---|---|
//! | [`Scope::Request`] | a 429 without quota headers, prompt too long, content filter, a client error | none |
//! | [`Scope::Model`] | a model-scoped window (`7d_opus`), a per-bucket limit | the model on that account, until the reset |
//! | [`Scope::Account`] | an exhausted 5 h / 7 d window; revoked credentials; no credit | the whole account, until the reset plus jitter |
//! | [`Scope::Provider`] | 5xx, 529, connect, timeout, a broken response | none here: the breaker counts it |
//!
//! The rules follow the gateways that pool accounts (pools-notes §2.2, §8.2): CLIProxyAPI's
//! scopes, better-ccflare's "no quota headers means transient", sub2api's bounds.

use std::time::Duration;

use tokio::time::Instant;

use super::quota::RateLimitFacts;
use super::{FailureKind, UpstreamError};

/// How far a failure reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// This request only: nothing is cooled down.
    Request,
    /// The requested model on this account.
    Model,
    /// Every model on this account.
    Account,
    /// The provider behind the account is failing: a transient fault, counted by the breaker.
    Provider,
}

impl Scope {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Model => "model",
            Self::Account => "account",
            Self::Provider => "provider",
        }
    }
}

/// What the attempt loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Retry on the same account after backoff.
    RetrySame,
    /// Try the next account now.
    Next,
    /// Give the upstream's answer to the client unchanged.
    ReturnToClient,
}

/// The classifier's answer for one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub scope: Scope,
    pub action: Action,
    /// Out of service (at `scope`) until then; never set for [`Scope::Request`] or
    /// [`Scope::Provider`].
    pub cooldown_until: Option<Instant>,
    /// Why, in a few words, for `/status` and the attempt log.
    pub reason: &'static str,
}

/// The cooldown settings the classifier needs (from `[routing]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CooldownPolicy {
    /// A limit or credential failure that names no reset.
    pub default_cooldown: Duration,
    /// The longest cooldown for anything but an announced quota window: a 24 h `retry-after`
    /// must not freeze an account.
    pub max_cooldown: Duration,
}

impl Default for CooldownPolicy {
    fn default() -> Self {
        Self {
            default_cooldown: Duration::from_secs(60),
            max_cooldown: Duration::from_secs(30 * 60),
        }
    }
}

/// Bodies are searched for these (lowercased) to tell a prompt that is too long.
const PROMPT_TOO_LONG: &[&str] = &[
    "prompt is too long",
    "context_length_exceeded",
    "maximum context length",
    "input is too long",
];
const CONTENT_FILTER: &[&str] = &[
    "content_filter",
    "content_policy_violation",
    "content filter",
];
/// Anthropic answers an account without credit with a 400 `invalid_request_error`.
const NO_CREDIT: &[&str] = &["credit balance is too low"];

fn body_says(body: &[u8], needles: &[&str]) -> bool {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    needles.iter().any(|n| text.contains(n))
}

/// Decides the scope of a failure and what it puts out of service.
///
/// `facts` are the failed response's rate-limit headers (default for a failure without a
/// response). `jitter` is added to quota-window resets so that accounts that reset together
/// are not all retried in the same second; the caller draws it (1–30 s, as CLIProxyAPI does).
#[must_use]
pub fn classify_scoped(
    err: &UpstreamError,
    facts: &RateLimitFacts,
    has_own_credentials: bool,
    now: Instant,
    policy: &CooldownPolicy,
    jitter: Duration,
) -> Verdict {
    let v = |scope, action, cooldown_until, reason| Verdict {
        scope,
        action,
        cooldown_until,
        reason,
    };
    let bounded = |d: Option<Duration>| {
        now + d
            .unwrap_or(policy.default_cooldown)
            .min(policy.max_cooldown)
    };
    let (status, body) = match &err.kind {
        FailureKind::Connect => return v(Scope::Provider, Action::RetrySame, None, "connect"),
        FailureKind::Timeout => return v(Scope::Provider, Action::RetrySame, None, "timeout"),
        FailureKind::Protocol => {
            return v(Scope::Provider, Action::RetrySame, None, "broken response");
        }
        FailureKind::Unsupported => return v(Scope::Request, Action::Next, None, "unsupported"),
        FailureKind::Status { status, body, .. } => (*status, body),
    };
    match status {
        429 => {
            if !facts.account_windows.is_empty() {
                let reset = latest(facts.account_reset(), facts.retry_after);
                let until = reset.map_or_else(|| bounded(None), |r| now + r) + jitter;
                v(
                    Scope::Account,
                    Action::Next,
                    Some(until),
                    "quota window exhausted",
                )
            } else if !facts.model_windows.is_empty() {
                let reset = latest(facts.model_reset(), facts.retry_after);
                let until = reset.map_or_else(|| bounded(None), |r| now + r) + jitter;
                v(
                    Scope::Model,
                    Action::Next,
                    Some(until),
                    "model quota window exhausted",
                )
            } else if !facts.quota_headers {
                v(
                    Scope::Request,
                    Action::Next,
                    None,
                    "rate limited without quota headers",
                )
            } else {
                let until = bounded(facts.retry_after.or(facts.exhausted_bucket_reset));
                v(Scope::Model, Action::Next, Some(until), "rate limited")
            }
        }
        401 | 403 if has_own_credentials => v(
            Scope::Account,
            Action::Next,
            Some(bounded(facts.retry_after)),
            "credentials rejected",
        ),
        402 if has_own_credentials => v(
            Scope::Account,
            Action::Next,
            Some(bounded(None)),
            "payment required",
        ),
        400 if has_own_credentials && body_says(body, NO_CREDIT) => v(
            Scope::Account,
            Action::Next,
            Some(bounded(None)),
            "no credit",
        ),
        529 => v(Scope::Provider, Action::RetrySame, None, "overloaded"),
        408 => v(Scope::Provider, Action::RetrySame, None, "request timeout"),
        s if s >= 500 => v(Scope::Provider, Action::RetrySame, None, "server error"),
        _ if body_says(body, PROMPT_TOO_LONG) => v(
            Scope::Request,
            Action::ReturnToClient,
            None,
            "prompt too long",
        ),
        _ if body_says(body, CONTENT_FILTER) => v(
            Scope::Request,
            Action::ReturnToClient,
            None,
            "content filter",
        ),
        _ => v(Scope::Request, Action::ReturnToClient, None, "client error"),
    }
}

fn latest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn err(status: u16, body: &'static str) -> UpstreamError {
        UpstreamError {
            endpoint: "a".into(),
            kind: FailureKind::Status {
                status,
                retry_after: None,
                content_type: None,
                body: Bytes::from_static(body.as_bytes()),
            },
            message: String::new(),
        }
    }

    fn facts(h: &[(&str, &str)]) -> RateLimitFacts {
        RateLimitFacts::from_headers(h.iter().copied(), 1_785_510_565.0)
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    /// The failure, its headers, own credentials; the scope, action and cooldown wanted.
    type Case<'a> = (
        UpstreamError,
        &'a RateLimitFacts,
        bool,
        Scope,
        Action,
        Option<Instant>,
    );

    #[test]
    fn each_failure_gets_its_scope_action_and_cooldown() {
        let now = Instant::now();
        let p = CooldownPolicy {
            default_cooldown: S(60),
            max_cooldown: S(1800),
        };
        let jitter = S(7);
        let five_hour = facts(&[
            ("anthropic-ratelimit-unified-5h-status", "rejected"),
            ("anthropic-ratelimit-unified-5h-reset", "1785518400"),
            ("retry-after", "7835"),
        ]);
        let opus_week = facts(&[
            ("anthropic-ratelimit-unified-7d_opus-status", "rejected"),
            ("anthropic-ratelimit-unified-7d_opus-reset", "1785600000"),
        ]);
        let bucket = facts(&[
            ("anthropic-ratelimit-tokens-remaining", "0"),
            ("anthropic-ratelimit-tokens-reset", "2026-07-31T15:10:35Z"),
        ]);
        let huge_retry = facts(&[("retry-after", "86400")]);
        let none = RateLimitFacts::default();
        let bare = facts(&[("x-should-retry", "true")]);
        let at = |d: Duration| Some(now + d);
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            (err(429, ""), &five_hour, true, Scope::Account, Action::Next, at(S(7835 + 7))),
            (err(429, ""), &opus_week, true, Scope::Model, Action::Next, at(S(89_435 + 7))),
            (err(429, ""), &bucket, true, Scope::Model, Action::Next, at(S(70))),
            (err(429, ""), &huge_retry, true, Scope::Model, Action::Next, at(S(1800))),
            (err(429, ""), &bare, true, Scope::Request, Action::Next, None),
            (err(429, ""), &none, false, Scope::Request, Action::Next, None),
            (err(401, ""), &none, true, Scope::Account, Action::Next, at(S(60))),
            (err(403, ""), &none, true, Scope::Account, Action::Next, at(S(60))),
            (err(401, ""), &none, false, Scope::Request, Action::ReturnToClient, None),
            (err(402, ""), &none, true, Scope::Account, Action::Next, at(S(60))),
            (err(400, r#"{"error":{"message":"Your credit balance is too low to access the Anthropic API."}}"#), &none, true, Scope::Account, Action::Next, at(S(60))),
            (err(400, r#"{"error":{"message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#), &none, true, Scope::Request, Action::ReturnToClient, None),
            (err(400, r#"{"error":{"code":"context_length_exceeded"}}"#), &none, true, Scope::Request, Action::ReturnToClient, None),
            (err(400, r#"{"error":{"code":"content_filter"}}"#), &none, true, Scope::Request, Action::ReturnToClient, None),
            (err(404, ""), &none, true, Scope::Request, Action::ReturnToClient, None),
            (err(500, ""), &none, true, Scope::Provider, Action::RetrySame, None),
            (err(503, ""), &none, true, Scope::Provider, Action::RetrySame, None),
            (err(529, ""), &none, true, Scope::Provider, Action::RetrySame, None),
            (err(408, ""), &none, true, Scope::Provider, Action::RetrySame, None),
        ];
        for (e, f, creds, scope, action, until) in &cases {
            let got = classify_scoped(e, f, *creds, now, &p, jitter);
            assert_eq!(
                (got.scope, got.action, got.cooldown_until),
                (*scope, *action, *until),
                "status {:?} ({}) creds {creds}",
                e.status(),
                got.reason
            );
        }
        for (kind, reason) in [
            (FailureKind::Connect, "connect"),
            (FailureKind::Timeout, "timeout"),
            (FailureKind::Protocol, "broken response"),
        ] {
            let e = UpstreamError {
                endpoint: "a".into(),
                kind,
                message: String::new(),
            };
            let got = classify_scoped(&e, &none, true, now, &p, jitter);
            assert_eq!(
                got,
                Verdict {
                    scope: Scope::Provider,
                    action: Action::RetrySame,
                    cooldown_until: None,
                    reason
                }
            );
        }
    }

    #[test]
    fn an_exhausted_window_is_not_capped_by_the_max_cooldown() {
        let now = Instant::now();
        let p = CooldownPolicy {
            default_cooldown: S(60),
            max_cooldown: S(60),
        };
        let week = facts(&[
            ("anthropic-ratelimit-unified-7d-status", "rejected"),
            ("anthropic-ratelimit-unified-7d-reset", "1785600000"),
        ]);
        let got = classify_scoped(&err(429, ""), &week, true, now, &p, Duration::ZERO);
        assert_eq!(got.cooldown_until, Some(now + S(89_435)));
    }
}
