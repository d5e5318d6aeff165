//! Simulations with paused time: scripted member outages, many sessions, every request through
//! `choose` as the attempt loop will do it.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::select::STRATEGY_NAMES;

const S: fn(u64) -> Duration = Duration::from_secs;

fn spec(strategy: Strategy, members: &[&str]) -> PoolSpec {
    PoolSpec {
        name: "p".into(),
        members: members
            .iter()
            .map(|a| MemberSpec {
                account: (*a).into(),
                tier: 1,
                weight: 1,
                added: None,
            })
            .collect(),
        strategy,
        affinity: Some(AffinityConfig::default()),
        breaker: BreakerConfig {
            consecutive_failures: 3,
            failure_rate_percent: 0,
            min_requests: 10,
            window: S(60),
            open_for: S(30),
        },
        usage_window: S(60),
        ramp: Duration::ZERO,
    }
}

/// Serves one request as the attempt loop will: choose, try, record, choose again. Returns the
/// members tried in order and whether it was served.
fn serve(
    pool: &Pool,
    cooldowns: &Cooldowns,
    affinity: &Affinity,
    session: Option<&str>,
    down: impl Fn(usize) -> bool,
) -> (Vec<usize>, bool) {
    let mut tried = Vec::new();
    loop {
        let now = Instant::now();
        match pool.choose(
            cooldowns,
            affinity,
            "claude-sonnet-4-5",
            session,
            &tried,
            now,
        ) {
            Choice::Member { index, permit } => {
                tried.push(index);
                if down(index) {
                    permit.failure(now);
                } else {
                    permit.success(now);
                    pool.record_served(index, Duration::from_millis(300), 1000, now);
                    return (tried, true);
                }
            }
            Choice::Exhausted { .. } => return (tried, false),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn sessions_stay_put_move_when_their_member_fails_and_do_not_snap_back() {
    let pool = Pool::new(
        spec(Strategy::RoundRobin, &["a", "b", "c"]),
        1,
        Instant::now(),
    );
    let (cooldowns, affinity) = (Cooldowns::new(), Affinity::new(AffinityConfig::default()));
    let t0 = Instant::now();
    // Member 1 fails every request from t = 100 s to t = 400 s.
    let down = |i: usize| {
        let t = Instant::now() - t0;
        i == 1 && t >= S(100) && t < S(400)
    };
    let sessions: Vec<String> = (0..60).map(|i| format!("session-{i}")).collect();
    let mut used: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut failed = 0;
    for tick in 0..600u64 {
        for (i, s) in sessions.iter().enumerate() {
            if i as u64 % 10 != tick % 10 {
                continue;
            }
            let (tried, served) = serve(&pool, &cooldowns, &affinity, Some(s), down);
            if !served {
                failed += 1;
            }
            used.entry(s)
                .or_default()
                .push(*tried.last().expect("one attempt at least"));
        }
        tokio::time::advance(S(1)).await;
    }
    assert_eq!(failed, 0, "two healthy members were always there");
    let first: HashMap<&str, usize> = used.iter().map(|(s, u)| (*s, u[0])).collect();
    let mut spread = [0; 3];
    for m in first.values() {
        spread[*m] += 1;
    }
    assert_eq!(
        spread,
        [20, 20, 20],
        "round robin binds new sessions evenly"
    );
    for (s, u) in &used {
        let distinct: Vec<usize> = u.iter().fold(Vec::new(), |mut acc, m| {
            if acc.last() != Some(m) {
                acc.push(*m);
            }
            acc
        });
        if first[s] == 1 {
            // Moved once, when member 1 failed, and never back after it recovered.
            assert_eq!(distinct.len(), 2, "{s}: {distinct:?}");
            assert_ne!(distinct[1], 1);
        } else {
            assert_eq!(distinct.len(), 1, "{s} stayed on its member: {distinct:?}");
        }
    }
    assert!(pool.breaker(1).expect("member 1").times_opened() >= 1);
}

#[tokio::test(start_paused = true)]
async fn a_recovered_member_takes_new_sessions_again() {
    let pool = Pool::new(
        spec(Strategy::RoundRobin, &["a", "b", "c"]),
        1,
        Instant::now(),
    );
    let (cooldowns, affinity) = (Cooldowns::new(), Affinity::new(AffinityConfig::default()));
    // Round robin reaches member 1 every third pick or so; it fails until its breaker opens.
    for _ in 0..12 {
        let (_, served) = serve(&pool, &cooldowns, &affinity, None, |i| i == 1);
        assert!(served);
    }
    assert!(matches!(
        pool.breaker(1).expect("b").state(Instant::now()),
        BreakerState::Open { .. }
    ));
    tokio::time::advance(S(30)).await;
    let mut landed = HashSet::new();
    for i in 0..30 {
        let (tried, served) = serve(
            &pool,
            &cooldowns,
            &affinity,
            Some(&format!("new-{i}")),
            |_| false,
        );
        assert!(served);
        landed.insert(tried[0]);
    }
    assert_eq!(landed.len(), 3, "member 1 is back in rotation: {landed:?}");
}

#[tokio::test(start_paused = true)]
async fn exhaustion_names_every_member_and_why() {
    let pool = Pool::new(
        spec(Strategy::Priority, &["a", "b", "c"]),
        1,
        Instant::now(),
    );
    let (cooldowns, affinity) = (Cooldowns::new(), Affinity::new(AffinityConfig::default()));
    let now = Instant::now();
    cooldowns.extend("a", None, now + S(600), "quota window exhausted", now);
    cooldowns.extend(
        "b",
        Some("claude-sonnet-4-5"),
        now + S(60),
        "model quota window exhausted",
        now,
    );
    for _ in 0..3 {
        let Choice::Member { index, permit } =
            pool.choose(&cooldowns, &affinity, "claude-sonnet-4-5", None, &[], now)
        else {
            panic!("c can serve");
        };
        assert_eq!(index, 2);
        permit.failure(now);
    }
    let Choice::Exhausted { skipped } =
        pool.choose(&cooldowns, &affinity, "claude-sonnet-4-5", None, &[], now)
    else {
        panic!("nothing can serve");
    };
    assert_eq!(
        skipped,
        vec![
            (
                0,
                Skip::Cooling {
                    until: now + S(600),
                    scope: Scope::Account,
                    reason: "quota window exhausted"
                }
            ),
            (
                1,
                Skip::Cooling {
                    until: now + S(60),
                    scope: Scope::Model,
                    reason: "model quota window exhausted"
                }
            ),
            (
                2,
                Skip::BreakerOpen {
                    until: Some(now + S(30))
                }
            ),
        ]
    );
    // Another model on b is not cooling.
    let Choice::Member { index, .. } =
        pool.choose(&cooldowns, &affinity, "claude-haiku-4-5", None, &[], now)
    else {
        panic!("b serves haiku");
    };
    assert_eq!(index, 1);
}

#[tokio::test(start_paused = true)]
async fn at_half_open_one_request_gets_the_trial_and_the_rest_go_elsewhere() {
    let pool = Pool::new(spec(Strategy::Priority, &["a", "b"]), 1, Instant::now());
    let (cooldowns, affinity) = (Cooldowns::new(), Affinity::new(AffinityConfig::default()));
    for _ in 0..3 {
        serve(&pool, &cooldowns, &affinity, None, |i| i == 0);
    }
    tokio::time::advance(S(30)).await;
    let now = Instant::now();
    let Choice::Member {
        index: 0,
        permit: trial,
    } = pool.choose(&cooldowns, &affinity, "m", None, &[], now)
    else {
        panic!("the trial goes to a");
    };
    assert!(trial.is_trial());
    // While the trial is out, priority falls through to b.
    for _ in 0..5 {
        let Choice::Member { index, .. } = pool.choose(&cooldowns, &affinity, "m", None, &[], now)
        else {
            panic!("b serves");
        };
        assert_eq!(index, 1);
    }
    trial.success(now);
    let Choice::Member { index, .. } = pool.choose(&cooldowns, &affinity, "m", None, &[], now)
    else {
        panic!("a is back");
    };
    assert_eq!(index, 0);
}

#[tokio::test(start_paused = true)]
async fn most_remaining_follows_the_reported_quota() {
    let pool = Pool::new(
        spec(Strategy::MostRemaining, &["a", "b"]),
        1,
        Instant::now(),
    );
    let (cooldowns, affinity) = (Cooldowns::new(), Affinity::new(AffinityConfig::default()));
    let facts = |n: &str| {
        RateLimitFacts::from_headers(
            [("anthropic-ratelimit-tokens-remaining", n)].into_iter(),
            0.0,
        )
    };
    pool.record_quota(0, &facts("5000"));
    pool.record_quota(1, &facts("90000"));
    let (tried, _) = serve(&pool, &cooldowns, &affinity, None, |_| false);
    assert_eq!(tried, vec![1]);
    pool.record_quota(1, &facts("10"));
    let (tried, _) = serve(&pool, &cooldowns, &affinity, None, |_| false);
    assert_eq!(tried, vec![0]);
}

mod properties {
    use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest};
    use proptest::strategy::Strategy as _;

    use super::*;

    proptest! {
        /// No strategy picks a member that is cooling, behind an open breaker or already tried
        /// while another member can serve; and when none can, every member is named.
        #[test]
        fn a_pool_never_picks_an_unavailable_member(
            strategy in proptest::sample::select(STRATEGY_NAMES).prop_map(|n| n.parse::<Strategy>().expect("known")),
            seed in any::<u64>(),
            states in proptest::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), 1..6),
            session in proptest::option::of(0u8..4),
        ) {
            let names: Vec<String> = (0..states.len()).map(|i| format!("m{i}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut sp = spec(strategy, &refs);
            sp.breaker.consecutive_failures = 1;
            let now = Instant::now();
            let pool = Pool::new(sp, seed, now);
            let (cooldowns, affinity) = (Cooldowns::new(), Affinity::new(AffinityConfig::default()));
            let mut tried = Vec::new();
            for (i, (cooling, open, was_tried)) in states.iter().enumerate() {
                if *cooling {
                    cooldowns.extend(&names[i], None, now + S(60), "x", now);
                }
                if *open {
                    pool.breaker(i).expect("member").try_acquire(now).expect("closed").failure(now);
                }
                if *was_tried {
                    tried.push(i);
                }
            }
            let session = session.map(|s| format!("s{s}"));
            let usable = |i: usize| !(states[i].0 || states[i].1 || states[i].2);
            match pool.choose(&cooldowns, &affinity, "m", session.as_deref(), &tried, now) {
                Choice::Member { index, .. } => prop_assert!(usable(index), "picked {}", index),
                Choice::Exhausted { skipped } => {
                    prop_assert!((0..states.len()).all(|i| !usable(i)));
                    let named: Vec<usize> = skipped.iter().map(|(i, _)| *i).collect();
                    prop_assert_eq!(named, (0..states.len()).collect::<Vec<_>>());
                }
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_recovered_member_takes_load_gradually() {
    let mut sp = spec(Strategy::RoundRobin, &["a", "b", "c"]);
    sp.ramp = S(100);
    let pool = Pool::new(sp, 5, Instant::now());
    let (cooldowns, affinity) = (Cooldowns::new(), Affinity::new(AffinityConfig::default()));
    // Open member 1's breaker, then let its trial succeed.
    for _ in 0..12 {
        serve(&pool, &cooldowns, &affinity, None, |i| i == 1);
    }
    tokio::time::advance(S(30)).await;
    let trial = loop {
        match pool.choose(&cooldowns, &affinity, "m", None, &[], Instant::now()) {
            Choice::Member { index: 1, permit } => break permit,
            Choice::Member { permit, .. } => permit.success(Instant::now()),
            Choice::Exhausted { .. } => panic!("a and c can serve"),
        }
    };
    trial.success(Instant::now());
    // Its share of 300 requests in each tenth of the ramp, then after it.
    let mut shares = Vec::new();
    for _ in 0..11 {
        let mut to_b = 0;
        for _ in 0..300 {
            let (tried, _) = serve(&pool, &cooldowns, &affinity, None, |_| false);
            if tried == [1] {
                to_b += 1;
            }
        }
        shares.push(to_b);
        tokio::time::advance(S(10)).await;
    }
    // A third of the traffic is its full share; it starts near a tenth of that.
    assert!(shares[0] < 30, "{shares:?}");
    assert!(shares[5] > shares[0] && shares[5] < 80, "{shares:?}");
    assert!(shares[10] > 90, "{shares:?}");
}

#[tokio::test(start_paused = true)]
async fn a_session_on_a_ramping_member_stays_on_it() {
    let mut sp = spec(Strategy::RoundRobin, &["a", "b"]);
    sp.ramp = S(100);
    let pool = Pool::new(sp, 5, Instant::now());
    let (cooldowns, affinity) = (Cooldowns::new(), Affinity::new(AffinityConfig::default()));
    for _ in 0..8 {
        serve(&pool, &cooldowns, &affinity, None, |i| i == 1);
    }
    tokio::time::advance(S(30)).await;
    let Choice::Member { index: 1, permit } =
        pool.choose(&cooldowns, &affinity, "m", Some("s"), &[], Instant::now())
    else {
        panic!("the trial goes to member 1 (a is bound elsewhere by round robin)");
    };
    permit.success(Instant::now());
    // Bound to member 1 as it came back: every later request of the session stays there.
    for _ in 0..200 {
        let (tried, _) = serve(&pool, &cooldowns, &affinity, Some("s"), |_| false);
        assert_eq!(tried, vec![1]);
    }
}

#[tokio::test(start_paused = true)]
async fn probes_visit_open_and_cooling_members_and_bring_them_back_gradually() {
    let mut sp = spec(Strategy::RoundRobin, &["a", "b", "c"]);
    sp.ramp = S(100);
    let pool = Pool::new(sp, 3, Instant::now());
    let (cooldowns, affinity) = (Cooldowns::new(), Affinity::new(AffinityConfig::default()));
    let probes = crate::Probes::new(S(60));
    let now = Instant::now();
    assert!(pool.probe_candidates(&cooldowns, now).is_empty());
    cooldowns.extend("a", None, now + S(3600), "quota window exhausted", now);
    cooldowns.extend("c", Some("m"), now + S(3600), "model window", now);
    for _ in 0..12 {
        serve(&pool, &cooldowns, &affinity, None, |i| i == 1);
    }
    // a cools account-wide and b's breaker is open; c's model cooldown is not the prober's.
    let due = pool.probe_candidates(&cooldowns, Instant::now());
    assert_eq!(due, vec![0, 1]);
    for i in due {
        let account = pool.account(i).expect("member");
        let guard = probes.try_start(account, Instant::now()).expect("a slot");
        assert!(probes.try_start(account, Instant::now()).is_none());
        pool.probe_succeeded(i, &cooldowns, Instant::now());
        drop(guard);
    }
    assert!(pool.probe_candidates(&cooldowns, Instant::now()).is_empty());
    assert_eq!(
        pool.breaker(1).expect("b").recovered_at(),
        Some(Instant::now()),
        "b comes back through the slow start"
    );
    assert!(cooldowns.cooling("a", "m", Instant::now()).is_none());
}
