//! The attempt loop.

use std::future::Future;
use std::time::Duration;

use switchboard_core::AttemptDisposition;
use tokio::time::Instant;

use crate::classify::{Disposition, FailureKind, UpstreamError, classify};
use crate::health::Health;

/// Retry and cooldown settings for one request (from `[routing]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Retries on the same endpoint for transient failures (attempts = 1 + retries).
    pub max_retries: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Cooldown after a 429 or credential failure that names no reset time.
    pub default_cooldown: Duration,
    /// Cooldown after an endpoint exhausts its retries on transient failures, so the requests
    /// that follow don't each pay the whole backoff ladder again. Zero disables it.
    pub failure_cooldown: Duration,
}

/// An endpoint as the router sees it.
pub trait Target {
    fn name(&self) -> &str;
    /// Whether the endpoint uses its own configured credentials (a 401/403 then means the
    /// endpoint is broken, not the client).
    fn has_own_credentials(&self) -> bool;
}

impl<T: Target + ?Sized> Target for std::sync::Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn has_own_credentials(&self) -> bool {
        (**self).has_own_credentials()
    }
}

/// Per-attempt facts passed to the upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttemptCtx {
    /// 0 for the first attempt on this endpoint.
    pub retry: u32,
    /// Strip thinking blocks from the history: the endpoint rejected a signature it didn't issue.
    pub strip_thinking: bool,
}

/// Sends one attempt. Implementations return only once the request is committed: the response
/// head has arrived with a success status and, for streams, the first event is in hand. A failure
/// before that point is an [`UpstreamError`] and may fail over.
pub trait Upstream<T: Target + ?Sized> {
    type Response;
    fn send(
        &self,
        target: &T,
        ctx: AttemptCtx,
    ) -> impl Future<Output = Result<Self::Response, UpstreamError>>;
}

/// One attempt, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLog {
    pub endpoint: String,
    pub status: Option<u16>,
    /// When the attempt was sent (for a skipped endpoint: when it was passed over).
    pub started: Instant,
    pub latency: Duration,
    /// What kind of failure, in one word ([`FailureKind::as_str`]); `None` on success or skip.
    pub failure: Option<&'static str>,
    pub error: Option<String>,
    pub disposition: AttemptDisposition,
}

/// A committed response and how it was reached.
#[derive(Debug)]
pub struct Routed<R> {
    pub response: R,
    /// Index (priority) of the endpoint that answered.
    pub index: usize,
    pub attempts: Vec<AttemptLog>,
}

/// Why no endpoint served the request.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The request is at fault: the upstream's answer goes back to the client unchanged.
    #[error("{}", error)]
    Client {
        error: UpstreamError,
        attempts: Vec<AttemptLog>,
    },
    /// Every endpoint was tried (or is cooling down) and none could serve.
    #[error("all endpoints failed: {}", summary(attempts))]
    Exhausted {
        attempts: Vec<AttemptLog>,
        /// Set when every endpoint is cooling down (rate limits, credential failures): the
        /// earliest moment one of them returns to service.
        all_cooling_until: Option<Instant>,
    },
    #[error("no endpoints are configured")]
    NoEndpoints,
}

impl RouteError {
    #[must_use]
    pub fn attempts(&self) -> &[AttemptLog] {
        match self {
            Self::Client { attempts, .. } | Self::Exhausted { attempts, .. } => attempts,
            Self::NoEndpoints => &[],
        }
    }
}

/// One line per endpoint: what happened to it.
fn summary(attempts: &[AttemptLog]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < attempts.len() {
        let name = &attempts[i].endpoint;
        let n = attempts[i..]
            .iter()
            .take_while(|a| &a.endpoint == name)
            .count();
        let last = &attempts[i + n - 1];
        let what = last
            .error
            .clone()
            .unwrap_or_else(|| last.disposition.as_str().to_owned());
        if n > 1 {
            parts.push(format!("{name}: {what} ({n} attempts)"));
        } else {
            parts.push(format!("{name}: {what}"));
        }
        i += n;
    }
    parts.join("; ")
}

/// Tries `targets` in priority order under `policy`, updating `health`.
///
/// Success is *not* recorded here: a committed stream can still fail, so the caller records the
/// outcome when the response has been delivered.
///
/// # Errors
/// [`RouteError`] when the request must go back to the client or no endpoint could serve.
pub async fn route<T, U>(
    targets: &[T],
    health: &Health,
    policy: &Policy,
    upstream: &U,
) -> Result<Routed<U::Response>, RouteError>
where
    T: Target,
    U: Upstream<T>,
{
    if targets.is_empty() {
        return Err(RouteError::NoEndpoints);
    }
    let mut attempts = Vec::new();
    let mut all_cooling = true;
    let mut earliest: Option<Instant> = None;
    let note_cooldown = |until: Instant, earliest: &mut Option<Instant>| {
        *earliest = Some(earliest.map_or(until, |e: Instant| e.min(until)));
    };

    for (index, target) in targets.iter().enumerate() {
        let name = target.name();
        if let Some(until) = health.cooling_until(name, Instant::now()) {
            note_cooldown(until, &mut earliest);
            attempts.push(AttemptLog {
                endpoint: name.to_owned(),
                status: None,
                started: Instant::now(),
                latency: Duration::ZERO,
                failure: None,
                error: Some(format!(
                    "cooling down for {}s",
                    (until - Instant::now()).as_secs()
                )),
                disposition: AttemptDisposition::Skipped,
            });
            continue;
        }
        let mut ctx = AttemptCtx::default();
        let mut backoff = policy.backoff_initial;
        loop {
            let started = Instant::now();
            let result = upstream.send(target, ctx).await;
            let latency = started.elapsed();
            let err = match result {
                Ok(response) => {
                    attempts.push(AttemptLog {
                        endpoint: name.to_owned(),
                        status: Some(200),
                        started,
                        latency,
                        failure: None,
                        error: None,
                        disposition: AttemptDisposition::Ok,
                    });
                    return Ok(Routed {
                        response,
                        index,
                        attempts,
                    });
                }
                Err(e) => e,
            };
            let now = Instant::now();
            let log = |disposition| AttemptLog {
                endpoint: name.to_owned(),
                status: err.status(),
                started,
                latency,
                failure: Some(err.kind.as_str()),
                error: Some(err.message.clone()),
                disposition,
            };
            match classify(
                &err,
                target.has_own_credentials(),
                now,
                policy.default_cooldown,
            ) {
                Disposition::ReturnToClient => {
                    if !ctx.strip_thinking && is_thinking_signature_rejection(&err) {
                        attempts.push(log(AttemptDisposition::Repair));
                        tracing::info!(
                            endpoint = name,
                            "upstream rejected a thinking signature; retrying once without thinking blocks"
                        );
                        ctx.strip_thinking = true;
                        continue;
                    }
                    attempts.push(log(AttemptDisposition::Returned));
                    return Err(RouteError::Client {
                        error: err,
                        attempts,
                    });
                }
                Disposition::Skip => {
                    all_cooling = false;
                    attempts.push(log(AttemptDisposition::Unsupported));
                    break;
                }
                Disposition::Cooldown { until } => {
                    health.cool_down(name, until, &err.message);
                    note_cooldown(until, &mut earliest);
                    attempts.push(log(AttemptDisposition::Cooldown));
                    break;
                }
                Disposition::RetrySame => {
                    if ctx.retry < policy.max_retries {
                        attempts.push(log(AttemptDisposition::Retry));
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(policy.backoff_max);
                        ctx.retry += 1;
                        continue;
                    }
                    all_cooling = false;
                    if policy.failure_cooldown.is_zero() {
                        health.record_failure(name, &err.message);
                    } else {
                        health.cool_down(name, now + policy.failure_cooldown, &err.message);
                    }
                    attempts.push(log(AttemptDisposition::Next));
                    break;
                }
            }
        }
    }
    Err(RouteError::Exhausted {
        attempts,
        all_cooling_until: if all_cooling { earliest } else { None },
    })
}

/// An Anthropic 400 saying a thinking block's signature is invalid (a turn produced by another
/// provider or key). Stripping thinking from the history and retrying once fixes it.
fn is_thinking_signature_rejection(err: &UpstreamError) -> bool {
    match &err.kind {
        FailureKind::Status {
            status: 400, body, ..
        } => {
            let text = String::from_utf8_lossy(body);
            text.contains("signature") && text.contains("thinking")
        }
        _ => false,
    }
}
