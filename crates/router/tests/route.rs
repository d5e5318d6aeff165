//! The attempt loop against a scripted upstream, with paused time: backoff spacing, cooldowns and
//! their expiry are checked exactly, without sleeping.
#![expect(
    clippy::result_large_err,
    reason = "the scripted upstream builds UpstreamErrors inline, as the real one does"
)]

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use switchboard_router::{
    AttemptCtx, FailureKind, Health, Policy, RouteError, Target, Upstream, UpstreamError, route,
};
use tokio::time::Instant;

struct Ep {
    name: &'static str,
    creds: bool,
}

impl Target for Ep {
    fn name(&self) -> &str {
        self.name
    }
    fn has_own_credentials(&self) -> bool {
        self.creds
    }
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Ok,
    Status(u16),
    RateLimited(u64),
    Connect,
    BadSignature,
}

/// Replies per endpoint from a script; records when each call happened.
#[derive(Default)]
struct Script {
    steps: Mutex<HashMap<&'static str, VecDeque<Step>>>,
    calls: Mutex<Vec<(String, Duration, AttemptCtx)>>,
    t0: Option<Instant>,
}

impl Script {
    fn new(steps: &[(&'static str, &[Step])]) -> Self {
        Self {
            steps: Mutex::new(
                steps
                    .iter()
                    .map(|(n, s)| (*n, s.iter().copied().collect()))
                    .collect(),
            ),
            calls: Mutex::default(),
            t0: Some(Instant::now()),
        }
    }
    fn calls(&self) -> Vec<(String, Duration)> {
        self.calls
            .lock()
            .iter()
            .map(|(n, t, _)| (n.clone(), *t))
            .collect()
    }
}

impl Upstream<Ep> for Script {
    type Response = &'static str;
    async fn send(&self, target: &Ep, ctx: AttemptCtx) -> Result<&'static str, UpstreamError> {
        let t = self.t0.expect("t0").elapsed();
        self.calls.lock().push((target.name.to_owned(), t, ctx));
        let step = self
            .steps
            .lock()
            .get_mut(target.name)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Step::Ok);
        let status = |status: u16, retry_after: Option<Duration>, body: &'static str| {
            Err(UpstreamError {
                endpoint: target.name.into(),
                kind: FailureKind::Status {
                    status,
                    retry_after,
                    content_type: None,
                    body: Bytes::from_static(body.as_bytes()),
                },
                message: format!("HTTP {status}"),
            })
        };
        match step {
            Step::Ok => Ok(target.name),
            Step::Status(s) => status(s, None, "{}"),
            Step::RateLimited(secs) => status(429, Some(Duration::from_secs(secs)), "{}"),
            Step::BadSignature => status(
                400,
                None,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"messages.1.content.0: Invalid `signature` in `thinking` block"}}"#,
            ),
            Step::Connect => Err(UpstreamError {
                endpoint: target.name.into(),
                kind: FailureKind::Connect,
                message: "connection refused".into(),
            }),
        }
    }
}

fn policy() -> Policy {
    Policy {
        max_retries: 5,
        backoff_initial: Duration::from_secs(1),
        backoff_max: Duration::from_secs(10),
        default_cooldown: Duration::from_secs(1800),
        failure_cooldown: Duration::ZERO,
    }
}

fn eps() -> Vec<Ep> {
    vec![
        Ep {
            name: "a",
            creds: true,
        },
        Ep {
            name: "b",
            creds: true,
        },
        Ep {
            name: "c",
            creds: true,
        },
    ]
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[tokio::test(start_paused = true)]
async fn highest_priority_healthy_endpoint_serves() {
    let up = Script::new(&[]);
    let r = route(&eps(), &Health::new(), &policy(), &up)
        .await
        .expect("routed");
    assert_eq!((r.response, r.index), ("a", 0));
    assert_eq!(up.calls(), vec![("a".into(), Duration::ZERO)]);
}

#[tokio::test(start_paused = true)]
async fn retries_5xx_with_exponential_backoff_capped_then_moves_on() {
    let up = Script::new(&[(
        "a",
        &[
            Step::Status(500),
            Step::Status(529),
            Step::Status(502),
            Step::Status(503),
            Step::Connect,
            Step::Status(500),
        ],
    )]);
    let r = route(&eps(), &Health::new(), &policy(), &up)
        .await
        .expect("routed");
    assert_eq!(r.response, "b");
    // 1s, 2s, 4s, 8s, then capped at 10s: six attempts on `a` (1 + max_retries), then `b` at once.
    let want: Vec<(String, Duration)> = [0.0, 1.0, 3.0, 7.0, 15.0, 25.0]
        .iter()
        .map(|t| ("a".to_owned(), secs(*t)))
        .chain([("b".to_owned(), secs(25.0))])
        .collect();
    assert_eq!(up.calls(), want);
    let dispositions: Vec<_> = r.attempts.iter().map(|a| a.disposition.as_str()).collect();
    assert_eq!(
        dispositions,
        ["retry", "retry", "retry", "retry", "retry", "next", "ok"]
    );
}

#[tokio::test(start_paused = true)]
async fn moves_to_next_endpoint_on_429_without_retry_and_recovers_after_cooldown() {
    let health = Health::new();
    let up = Script::new(&[("a", &[Step::RateLimited(60)])]);
    let r = route(&eps(), &health, &policy(), &up)
        .await
        .expect("routed");
    assert_eq!(r.response, "b");
    assert_eq!(
        up.calls(),
        vec![("a".into(), Duration::ZERO), ("b".into(), Duration::ZERO)]
    );

    // While `a` cools down, requests go straight to `b`.
    tokio::time::advance(secs(59.0)).await;
    let r = route(&eps(), &health, &policy(), &up)
        .await
        .expect("routed");
    assert_eq!(r.response, "b");
    assert_eq!(r.attempts[0].disposition.as_str(), "skipped");

    // After the announced reset, `a` is back in service by itself.
    tokio::time::advance(secs(1.0)).await;
    let r = route(&eps(), &health, &policy(), &up)
        .await
        .expect("routed");
    assert_eq!(r.response, "a");
}

#[tokio::test(start_paused = true)]
async fn rate_limit_without_reset_time_uses_default_cooldown() {
    let health = Health::new();
    let up = Script::new(&[("a", &[Step::Status(429)])]);
    route(&eps(), &health, &policy(), &up)
        .await
        .expect("routed");
    let st = &health.snapshot(["a"].into_iter(), Instant::now())[0];
    assert_eq!(st.cooldown_remaining, Some(Duration::from_secs(1800)));
}

#[tokio::test(start_paused = true)]
async fn auth_failure_with_own_credentials_cools_down_but_passthrough_returns_to_client() {
    let health = Health::new();
    let up = Script::new(&[("a", &[Step::Status(401)])]);
    let r = route(&eps(), &health, &policy(), &up)
        .await
        .expect("routed");
    assert_eq!(r.response, "b");
    assert!(health.cooling_until("a", Instant::now()).is_some());

    let passthrough = vec![
        Ep {
            name: "p",
            creds: false,
        },
        Ep {
            name: "q",
            creds: false,
        },
    ];
    let up = Script::new(&[("p", &[Step::Status(401)])]);
    let err = route(&passthrough, &health, &policy(), &up)
        .await
        .expect_err("client error");
    assert!(matches!(err, RouteError::Client { ref error, .. } if error.status() == Some(401)));
    assert_eq!(up.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_returned_unchanged_without_failover() {
    for s in [400, 404, 413, 422] {
        let up = Script::new(&[("a", &[Step::Status(s)])]);
        let err = route(&eps(), &Health::new(), &policy(), &up)
            .await
            .expect_err("client error");
        assert!(matches!(err, RouteError::Client { ref error, .. } if error.status() == Some(s)));
        assert_eq!(up.calls().len(), 1, "status {s} must not fail over");
    }
}

#[tokio::test(start_paused = true)]
async fn all_rate_limited_reports_earliest_cooldown_end() {
    let health = Health::new();
    let up = Script::new(&[
        ("a", &[Step::RateLimited(300)]),
        ("b", &[Step::RateLimited(40)]),
        ("c", &[Step::RateLimited(90)]),
    ]);
    let t0 = Instant::now();
    let err = route(&eps(), &health, &policy(), &up)
        .await
        .expect_err("exhausted");
    match err {
        RouteError::Exhausted {
            all_cooling_until: Some(until),
            ref attempts,
        } => {
            assert_eq!(until - t0, Duration::from_secs(40));
            assert_eq!(attempts.len(), 3);
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = route(&eps(), &health, &policy(), &up)
        .await
        .expect_err("still exhausted")
        .to_string();
    assert!(
        msg.contains("a: cooling down")
            && msg.contains("b: cooling down")
            && msg.contains("c: cooling down"),
        "{msg}"
    );
}

#[tokio::test(start_paused = true)]
async fn all_failing_is_exhausted_without_cooldown_hint_and_names_each_endpoint() {
    let mut p = policy();
    p.max_retries = 1;
    let up = Script::new(&[
        ("a", &[Step::Status(529), Step::Status(529)]),
        ("b", &[Step::Connect, Step::Connect]),
        ("c", &[Step::RateLimited(10)]),
    ]);
    let err = route(&eps(), &Health::new(), &p, &up)
        .await
        .expect_err("exhausted");
    let msg = err.to_string();
    assert!(matches!(
        err,
        RouteError::Exhausted {
            all_cooling_until: None,
            ..
        }
    ));
    assert_eq!(
        msg,
        "all endpoints failed: a: HTTP 529 (2 attempts); b: connection refused (2 attempts); c: HTTP 429"
    );
}

#[tokio::test(start_paused = true)]
async fn failure_cooldown_spares_later_requests_the_backoff() {
    let mut p = policy();
    p.max_retries = 0;
    p.failure_cooldown = Duration::from_secs(30);
    let health = Health::new();
    let up = Script::new(&[("a", &[Step::Status(500)])]);
    assert_eq!(
        route(&eps(), &health, &p, &up)
            .await
            .expect("routed")
            .response,
        "b"
    );
    let r = route(&eps(), &health, &p, &up).await.expect("routed");
    assert_eq!(
        (r.response, r.attempts[0].disposition.as_str()),
        ("b", "skipped")
    );
    tokio::time::advance(secs(30.0)).await;
    assert_eq!(
        route(&eps(), &health, &p, &up)
            .await
            .expect("routed")
            .response,
        "a"
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_thinking_signature_is_repaired_once_on_the_same_endpoint() {
    let up = Script::new(&[("a", &[Step::BadSignature])]);
    let r = route(&eps(), &Health::new(), &policy(), &up)
        .await
        .expect("routed");
    assert_eq!(r.response, "a");
    let ctxs: Vec<bool> = up
        .calls
        .lock()
        .iter()
        .map(|(_, _, c)| c.strip_thinking)
        .collect();
    assert_eq!(ctxs, [false, true]);
    assert_eq!(r.attempts[0].disposition.as_str(), "repair");

    let up = Script::new(&[("a", &[Step::BadSignature, Step::BadSignature])]);
    let err = route(&eps(), &Health::new(), &policy(), &up)
        .await
        .expect_err("second rejection goes back");
    assert!(matches!(err, RouteError::Client { .. }));
}
