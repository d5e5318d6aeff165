//! What a response's rate-limit headers say about the account that sent it.
//!
//! Two families (pools-notes §2):
//! - subscription windows, `anthropic-ratelimit-unified-{5h,7d,7d_opus,…}-{status,reset}` plus the
//!   aggregate `anthropic-ratelimit-unified-{status,reset,representative-claim}`: a rejected
//!   5h or 7d window binds every model of the account; any other window binds some models only;
//! - per-bucket limits, `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{remaining,reset}`
//!   and `x-ratelimit-{remaining,reset}-{requests,tokens}`.
//!
//! Whether *any* of these (or `retry-after`) is present is itself the signal that tells a real
//! limit from a transient one: Claude Code treats a 429 without quota headers as temporary, and
//! better-ccflare#301 saw exactly that shape (`x-should-retry: true` and nothing else).

use std::time::Duration;

use super::reset;

/// The most windows kept from one response; headers beyond are ignored (client input never
/// reaches here, but an upstream should not be able to grow this either).
const MAX_WINDOWS: usize = 16;

/// The 5 h window's reset is believed up to 6 h ahead (sub2api's bound).
const FIVE_HOUR_BOUND: Duration = Duration::from_secs(6 * 3600);

/// Window statuses that mean "no more requests until the reset" (better-ccflare's hard set).
const REJECTED: &[&str] = &[
    "rejected",
    "rate_limited",
    "blocked",
    "queueing_hard",
    "payment_required",
];

/// A rejected quota window and when it resets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedWindow {
    /// The window as the provider names it: `5h`, `7d`, `7d_opus`, or `unified` for the
    /// aggregate status.
    pub name: String,
    /// Time until it resets, if announced (bounded by [`reset::MAX_RESET`], and 6 h for `5h`).
    pub reset: Option<Duration>,
}

/// The facts in one response's rate-limit headers, relative to the moment it was received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimitFacts {
    /// `retry-after`, or any header whose name starts with `anthropic-ratelimit-` or
    /// `x-ratelimit-`.
    pub quota_headers: bool,
    pub retry_after: Option<Duration>,
    /// Rejected windows that bind the whole account (`5h`, `7d`, the aggregate).
    pub account_windows: Vec<RejectedWindow>,
    /// Rejected windows that bind some models only (`7d_opus`, `7d_sonnet`, `7d_oi`, …).
    pub model_windows: Vec<RejectedWindow>,
    /// Per-bucket limits: the latest reset among buckets with nothing remaining.
    pub exhausted_bucket_reset: Option<Duration>,
    /// Remaining requests and tokens as last reported (the smallest across a family's buckets),
    /// for `most_remaining`.
    pub remaining_requests: Option<u64>,
    pub remaining_tokens: Option<u64>,
}

#[derive(Default)]
struct Window {
    name: String,
    rejected: bool,
    reset: Option<Duration>,
}

#[derive(Default)]
struct Bucket {
    remaining: Option<u64>,
    reset: Option<Duration>,
}

fn latest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn min_u64(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl RateLimitFacts {
    /// Reads the facts from response headers (names in any case), `now_unix` being when the
    /// response arrived.
    #[must_use]
    pub fn from_headers<'a>(
        headers: impl Iterator<Item = (&'a str, &'a str)>,
        now_unix: f64,
    ) -> Self {
        let mut facts = Self::default();
        let mut windows: Vec<Window> = Vec::new();
        // requests, tokens, input-tokens, output-tokens
        let mut buckets: [Bucket; 4] = Default::default();
        let mut claim: Option<String> = None;
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            if name == "retry-after" {
                facts.quota_headers = true;
                facts.retry_after = reset::retry_after(value, now_unix);
                continue;
            }
            if let Some(rest) = name.strip_prefix("anthropic-ratelimit-") {
                facts.quota_headers = true;
                if let Some(unified) = rest.strip_prefix("unified-") {
                    if unified == "representative-claim" {
                        claim = Some(value.trim().chars().take(32).collect());
                        continue;
                    }
                    let (win, field) = match unified {
                        "status" => ("unified", "status"),
                        "reset" => ("unified", "reset"),
                        other => match other.rsplit_once('-') {
                            Some((win, field @ ("status" | "reset"))) => (win, field),
                            _ => continue,
                        },
                    };
                    let Some(w) = window(&mut windows, win) else {
                        continue;
                    };
                    if field == "status" {
                        w.rejected = REJECTED.contains(&value.trim().to_ascii_lowercase().as_str());
                    } else {
                        w.reset = reset::reset_at(value, now_unix);
                    }
                } else if let Some((bucket, field)) = rest.rsplit_once('-') {
                    let i = match bucket {
                        "requests" => 0,
                        "tokens" => 1,
                        "input-tokens" => 2,
                        "output-tokens" => 3,
                        _ => continue,
                    };
                    match field {
                        "remaining" => buckets[i].remaining = value.trim().parse().ok(),
                        "reset" => buckets[i].reset = reset::reset_at(value, now_unix),
                        _ => {}
                    }
                }
            } else if let Some(rest) = name.strip_prefix("x-ratelimit-") {
                facts.quota_headers = true;
                let (field, bucket) = match rest.split_once('-') {
                    Some(pair) => pair,
                    None => continue,
                };
                let i = match bucket {
                    "requests" => 0,
                    "tokens" => 1,
                    _ => continue,
                };
                match field {
                    "remaining" => buckets[i].remaining = value.trim().parse().ok(),
                    "reset" => buckets[i].reset = reset::reset_after(value, now_unix),
                    _ => {}
                }
            }
        }
        // `overage` is extra usage being unavailable, not a quota window: on its own it says
        // nothing about when the account can serve again (better-ccflare fails such requests
        // over without benching the account).
        windows.retain(|w| w.rejected && w.name != "overage");
        let model_window_rejected = windows
            .iter()
            .any(|w| !matches!(w.name.as_str(), "5h" | "7d" | "unified"));
        let account_window_rejected = windows
            .iter()
            .any(|w| matches!(w.name.as_str(), "5h" | "7d"));
        for w in windows {
            let reset = if w.name == "5h" {
                w.reset.map(|r| r.min(FIVE_HOUR_BOUND))
            } else {
                w.reset
            };
            let account_wide = match w.name.as_str() {
                "5h" | "7d" => true,
                // The aggregate names the window that decided it; a model window's claim
                // (`seven_day_opus`) must not bench the whole account. Without a claim, it
                // follows the specific windows: account-wide unless only model windows are
                // rejected.
                "unified" => match claim.as_deref() {
                    Some(c) => matches!(c, "five_hour" | "seven_day"),
                    None => account_window_rejected || !model_window_rejected,
                },
                _ => false,
            };
            let rw = RejectedWindow {
                name: w.name,
                reset,
            };
            if account_wide {
                facts.account_windows.push(rw);
            } else {
                facts.model_windows.push(rw);
            }
        }
        for b in &buckets {
            if b.remaining == Some(0) {
                facts.exhausted_bucket_reset = latest(facts.exhausted_bucket_reset, b.reset);
            }
        }
        facts.remaining_requests = buckets[0].remaining;
        facts.remaining_tokens = buckets[1..]
            .iter()
            .fold(None, |acc, b| min_u64(acc, b.remaining));
        facts
    }

    /// The latest reset among the rejected account-wide windows (`None` if none is rejected or
    /// none announced a reset).
    #[must_use]
    pub fn account_reset(&self) -> Option<Duration> {
        self.account_windows
            .iter()
            .fold(None, |a, w| latest(a, w.reset))
    }

    /// The latest reset among the rejected model windows.
    #[must_use]
    pub fn model_reset(&self) -> Option<Duration> {
        self.model_windows
            .iter()
            .fold(None, |a, w| latest(a, w.reset))
    }
}

/// Whether a response header reports the upstream account's own limits
/// (`anthropic-ratelimit-*`, `x-ratelimit-*`). Behind a pool these describe one member, not what
/// the client may send, so they are not passed on as if they were the pool's (Anthropic's own
/// apps gateway strips them too); `retry-after` is not one of them.
#[must_use]
pub fn is_quota_header(name: &str) -> bool {
    let starts = |prefix: &str| {
        name.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    starts("anthropic-ratelimit-") || starts("x-ratelimit-")
}

fn window<'w>(windows: &'w mut Vec<Window>, name: &str) -> Option<&'w mut Window> {
    if let Some(i) = windows.iter().position(|w| w.name == name) {
        return windows.get_mut(i);
    }
    if windows.len() >= MAX_WINDOWS || name.len() > 32 {
        return None;
    }
    windows.push(Window {
        name: name.to_owned(),
        ..Window::default()
    });
    windows.last_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_785_510_565.0; // 7835 s before the reset below

    fn facts(h: &[(&str, &str)]) -> RateLimitFacts {
        RateLimitFacts::from_headers(h.iter().copied(), NOW)
    }

    #[test]
    fn an_exhausted_five_hour_window_binds_the_account_until_its_reset() {
        // The real exhausted-5h 429 (better-ccflare retryable-429.test.ts).
        let f = facts(&[
            ("anthropic-ratelimit-unified-status", "rejected"),
            ("anthropic-ratelimit-unified-reset", "1785518400"),
            (
                "anthropic-ratelimit-unified-representative-claim",
                "five_hour",
            ),
            ("anthropic-ratelimit-unified-5h-status", "rejected"),
            ("anthropic-ratelimit-unified-5h-reset", "1785518400"),
            ("anthropic-ratelimit-unified-5h-utilization", "1.01"),
            ("anthropic-ratelimit-unified-7d-status", "allowed"),
            ("anthropic-ratelimit-unified-7d-reset", "1786006800"),
            ("retry-after", "7835"),
            ("x-should-retry", "true"),
        ]);
        assert!(f.quota_headers);
        assert_eq!(f.account_reset(), Some(Duration::from_secs(7835)));
        assert!(f.model_windows.is_empty());
        assert_eq!(f.retry_after, Some(Duration::from_secs(7835)));
    }

    #[test]
    fn a_model_window_alone_binds_only_the_model() {
        let f = facts(&[
            ("anthropic-ratelimit-unified-status", "rejected"),
            (
                "anthropic-ratelimit-unified-representative-claim",
                "seven_day_opus",
            ),
            ("anthropic-ratelimit-unified-7d_opus-status", "rejected"),
            ("anthropic-ratelimit-unified-7d_opus-reset", "1785600000"),
            ("anthropic-ratelimit-unified-5h-status", "allowed"),
        ]);
        assert!(f.account_windows.is_empty());
        assert_eq!(f.model_windows.len(), 2);
        assert_eq!(f.model_reset(), Some(Duration::from_secs(89_435)));
    }

    #[test]
    fn without_a_claim_the_aggregate_follows_the_specific_windows() {
        let model_only = facts(&[
            ("anthropic-ratelimit-unified-status", "rejected"),
            ("anthropic-ratelimit-unified-7d_sonnet-status", "rejected"),
            ("anthropic-ratelimit-unified-5h-status", "allowed"),
        ]);
        assert!(model_only.account_windows.is_empty(), "{model_only:?}");
        let aggregate_only = facts(&[
            ("anthropic-ratelimit-unified-status", "rejected"),
            ("anthropic-ratelimit-unified-reset", "1785518400"),
        ]);
        assert_eq!(
            aggregate_only.account_reset(),
            Some(Duration::from_secs(7835))
        );
    }

    #[test]
    fn a_rejected_overage_alone_benches_nothing() {
        let f = facts(&[
            ("anthropic-ratelimit-unified-overage-status", "rejected"),
            (
                "anthropic-ratelimit-unified-overage-disabled-reason",
                "out_of_credits",
            ),
            ("anthropic-ratelimit-unified-5h-status", "allowed"),
        ]);
        assert!(f.quota_headers);
        assert!(f.account_windows.is_empty() && f.model_windows.is_empty());
    }

    #[test]
    fn the_five_hour_reset_is_bounded_to_six_hours() {
        let f = facts(&[
            ("anthropic-ratelimit-unified-5h-status", "rejected"),
            ("anthropic-ratelimit-unified-5h-reset", "1795518400"),
        ]);
        assert_eq!(f.account_reset(), Some(FIVE_HOUR_BOUND));
    }

    #[test]
    fn quota_headers_are_recognised_in_any_case() {
        for (name, want) in [
            ("anthropic-ratelimit-unified-5h-status", true),
            ("Anthropic-RateLimit-Tokens-Remaining", true),
            ("X-RateLimit-Reset-Requests", true),
            ("retry-after", false),
            ("x-should-retry", false),
            ("anthropic-version", false),
        ] {
            assert_eq!(is_quota_header(name), want, "{name}");
        }
    }

    #[test]
    fn a_bare_429_has_no_quota_headers() {
        let f = facts(&[("x-should-retry", "true"), ("x-robots-tag", "none")]);
        assert_eq!(f, RateLimitFacts::default());
    }

    #[test]
    fn exhausted_buckets_and_remaining_are_read_from_both_families() {
        let f = facts(&[
            ("anthropic-ratelimit-requests-remaining", "12"),
            ("anthropic-ratelimit-requests-reset", "2026-07-31T15:10:00Z"),
            ("anthropic-ratelimit-input-tokens-remaining", "0"),
            (
                "anthropic-ratelimit-input-tokens-reset",
                "2026-07-31T15:10:35Z",
            ),
            ("anthropic-ratelimit-output-tokens-remaining", "800"),
        ]);
        assert_eq!(f.remaining_requests, Some(12));
        assert_eq!(f.remaining_tokens, Some(0));
        assert_eq!(f.exhausted_bucket_reset, Some(Duration::from_secs(70)));

        let o = facts(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "1m30s"),
            ("X-RateLimit-Remaining-Tokens", "4000"),
            ("x-ratelimit-reset-tokens", "6ms"),
        ]);
        assert_eq!(o.exhausted_bucket_reset, Some(Duration::from_secs(90)));
        assert_eq!(
            (o.remaining_requests, o.remaining_tokens),
            (Some(0), Some(4000))
        );
    }

    #[test]
    fn an_upstream_cannot_grow_the_window_list() {
        let names: Vec<String> = (0..100)
            .map(|i| format!("anthropic-ratelimit-unified-w{i}-status"))
            .collect();
        let h: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "rejected")).collect();
        let f = facts(&h);
        assert_eq!(f.model_windows.len(), MAX_WINDOWS);
    }
}
