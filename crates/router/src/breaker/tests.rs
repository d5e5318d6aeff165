use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

const S: fn(u64) -> Duration = Duration::from_secs;

fn config(streak: u32) -> BreakerConfig {
    BreakerConfig {
        consecutive_failures: streak,
        failure_rate_percent: 0,
        min_requests: 10,
        window: S(60),
        open_for: S(30),
    }
}

fn fail(b: &Arc<Breaker>) {
    b.try_acquire(Instant::now())
        .expect("closed")
        .failure(Instant::now());
}

fn succeed(b: &Arc<Breaker>) {
    b.try_acquire(Instant::now())
        .expect("closed")
        .success(Instant::now());
}

#[tokio::test(start_paused = true)]
async fn opens_after_consecutive_failures_and_a_success_breaks_the_streak() {
    let b = Breaker::new(config(3), Instant::now());
    fail(&b);
    fail(&b);
    succeed(&b);
    fail(&b);
    fail(&b);
    assert_eq!(b.state(Instant::now()), BreakerState::Closed);
    fail(&b);
    let until = Instant::now() + S(30);
    assert_eq!(b.state(Instant::now()), BreakerState::Open { until });
    assert_eq!(
        b.try_acquire(Instant::now()).map(|_| ()),
        Err(Refused { until: Some(until) })
    );
    assert_eq!(b.times_opened(), 1);
}

#[tokio::test(start_paused = true)]
async fn opens_on_a_failure_rate_over_the_window_and_forgets_old_failures() {
    let cfg = BreakerConfig {
        consecutive_failures: 0,
        failure_rate_percent: 50,
        min_requests: 10,
        ..config(0)
    };
    let b = Breaker::new(cfg, Instant::now());
    // Four failures, then the window moves past them.
    for _ in 0..4 {
        fail(&b);
    }
    tokio::time::advance(S(61)).await;
    // 5 of 10 in the window now: the four old ones are gone, so this opens only at the tenth.
    for i in 0..9 {
        if i % 2 == 0 {
            fail(&b);
        } else {
            succeed(&b);
        }
        assert_eq!(b.state(Instant::now()), BreakerState::Closed, "attempt {i}");
    }
    succeed(&b);
    assert_eq!(b.state(Instant::now()), BreakerState::Closed);
    fail(&b);
    assert!(matches!(b.state(Instant::now()), BreakerState::Open { .. }));
}

#[tokio::test(start_paused = true)]
async fn half_opens_after_the_delay_with_one_trial_that_closes_on_success() {
    let b = Breaker::new(config(1), Instant::now());
    fail(&b);
    tokio::time::advance(S(29)).await;
    assert!(b.try_acquire(Instant::now()).is_err());
    tokio::time::advance(S(1)).await;
    assert_eq!(
        b.state(Instant::now()),
        BreakerState::HalfOpen { trial_out: false }
    );
    let trial = b.try_acquire(Instant::now()).expect("the trial");
    assert!(trial.is_trial());
    assert_eq!(
        b.try_acquire(Instant::now()).map(|_| ()),
        Err(Refused { until: None })
    );
    assert_eq!(b.recovered_at(), None);
    trial.success(Instant::now());
    assert_eq!(b.state(Instant::now()), BreakerState::Closed);
    assert_eq!(b.recovered_at(), Some(Instant::now()));
    let p = b.try_acquire(Instant::now()).expect("closed");
    assert!(!p.is_trial());
}

#[tokio::test(start_paused = true)]
async fn a_failed_trial_opens_it_again_for_the_whole_delay() {
    let b = Breaker::new(config(1), Instant::now());
    fail(&b);
    tokio::time::advance(S(30)).await;
    b.try_acquire(Instant::now())
        .expect("trial")
        .failure(Instant::now());
    assert_eq!(
        b.state(Instant::now()),
        BreakerState::Open {
            until: Instant::now() + S(30)
        }
    );
    assert_eq!(b.times_opened(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_trial_gives_its_slot_back() {
    let b = Breaker::new(config(1), Instant::now());
    fail(&b);
    tokio::time::advance(S(30)).await;
    // The trial's request is cancelled (the client hung up): its future is dropped mid-flight.
    let b2 = Arc::clone(&b);
    let request = async move {
        let _permit = b2.try_acquire(Instant::now()).expect("the trial");
        std::future::pending::<()>().await;
    };
    let cancelled = tokio::time::timeout(S(5), request).await;
    assert!(cancelled.is_err());
    assert_eq!(
        b.state(Instant::now()),
        BreakerState::HalfOpen { trial_out: false }
    );
    let next = b.try_acquire(Instant::now()).expect("a new trial");
    assert!(next.is_trial());
}

#[tokio::test(start_paused = true)]
async fn a_request_begun_before_the_breaker_opened_cannot_close_it() {
    let b = Breaker::new(config(2), Instant::now());
    let slow = b.try_acquire(Instant::now()).expect("closed");
    fail(&b);
    fail(&b);
    slow.success(Instant::now());
    assert!(matches!(b.state(Instant::now()), BreakerState::Open { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_fails_after_it_was_committed_counts_as_a_failure() {
    let b = Breaker::new(config(1), Instant::now());
    // The permit travels with the response body; the failure comes 40 s into the stream.
    let permit = b.try_acquire(Instant::now()).expect("closed");
    tokio::time::advance(S(40)).await;
    assert_eq!(b.state(Instant::now()), BreakerState::Closed);
    permit.failure(Instant::now());
    assert!(matches!(b.state(Instant::now()), BreakerState::Open { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_ordinary_permit_counts_for_nothing() {
    let b = Breaker::new(config(1), Instant::now());
    for _ in 0..10 {
        drop(b.try_acquire(Instant::now()).expect("closed"));
    }
    assert_eq!(b.state(Instant::now()), BreakerState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_callers_at_half_open_get_exactly_one_trial() {
    const CALLERS: usize = 64;
    let cfg = BreakerConfig {
        open_for: Duration::ZERO,
        ..config(1)
    };
    let b = Breaker::new(cfg, Instant::now());
    fail(&b);
    let trials = Arc::new(AtomicUsize::new(0));
    let asked = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let counted = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CALLERS {
        let (b, trials, asked, counted) = (
            Arc::clone(&b),
            Arc::clone(&trials),
            Arc::clone(&asked),
            Arc::clone(&counted),
        );
        tasks.spawn(async move {
            asked.wait().await;
            // Every caller holds what it got until all have asked.
            let permit = b.try_acquire(Instant::now());
            if permit.as_ref().is_ok_and(Permit::is_trial) {
                trials.fetch_add(1, Ordering::SeqCst);
            }
            counted.wait().await;
            drop(permit);
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("task");
    }
    assert_eq!(trials.load(Ordering::SeqCst), 1);
    // The trial was dropped without a verdict: the slot is free again.
    assert_eq!(
        b.state(Instant::now()),
        BreakerState::HalfOpen { trial_out: false }
    );
}

#[tokio::test(start_paused = true)]
async fn a_reset_closes_an_open_breaker_and_voids_its_trial() {
    let b = Breaker::new(config(1), Instant::now());
    fail(&b);
    tokio::time::advance(S(30)).await;
    let trial = b.try_acquire(Instant::now()).expect("trial");
    b.reset();
    assert_eq!(b.state(Instant::now()), BreakerState::Closed);
    // The trial's late failure belongs to the state before the reset.
    trial.failure(Instant::now());
    assert_eq!(b.state(Instant::now()), BreakerState::Closed);
}
