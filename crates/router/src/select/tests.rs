use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest};
use proptest::strategy::Strategy as _;

use super::*;

fn members(n: usize) -> Vec<Member> {
    (0..n)
        .map(|index| Member {
            index,
            weight: 1,
            ..Member::default()
        })
        .collect()
}

fn counts(sel: &Selector, eligible: &[Member], picks: usize) -> Vec<usize> {
    let mut c = vec![0; eligible.iter().map(|m| m.index + 1).max().unwrap_or(0)];
    for _ in 0..picks {
        c[sel.pick(eligible).expect("eligible")] += 1;
    }
    c
}

#[test]
fn priority_takes_the_first_and_returns_to_it_once_it_is_back() {
    let sel = Selector::new(Strategy::Priority, 1);
    let all = members(3);
    assert_eq!(sel.pick(&all), Some(0));
    assert_eq!(sel.pick(&all[1..]), Some(1));
    assert_eq!(sel.pick(&all), Some(0));
    assert_eq!(sel.pick(&[]), None);
}

#[test]
fn round_robin_spreads_evenly_and_skips_members_that_drop_out() {
    let sel = Selector::new(Strategy::RoundRobin, 1);
    let all = members(3);
    assert_eq!(counts(&sel, &all, 3000), vec![1000, 1000, 1000]);
    let two = [all[0], all[2]];
    assert_eq!(counts(&sel, &two, 1000), vec![500, 0, 500]);
}

#[test]
fn weighted_follows_the_weights_and_is_reproducible_from_its_seed() {
    let mut all = members(3);
    for (m, w) in all.iter_mut().zip([1, 2, 7]) {
        m.weight = w;
    }
    let c = counts(&Selector::new(Strategy::Weighted, 42), &all, 100_000);
    for (got, want) in c.iter().zip([10_000, 20_000, 70_000]) {
        assert!(got.abs_diff(want) < 1_000, "{c:?}");
    }
    let seq = |seed| {
        let s = Selector::new(Strategy::Weighted, seed);
        (0..50).map(|_| s.pick(&all)).collect::<Vec<_>>()
    };
    assert_eq!(seq(7), seq(7));
    assert_ne!(seq(7), seq(8));
}

#[test]
fn a_zero_weight_member_is_picked_only_when_it_is_all_there_is() {
    let mut all = members(2);
    all[0].weight = 0;
    let sel = Selector::new(Strategy::Weighted, 3);
    assert_eq!(counts(&sel, &all, 1000), vec![0, 1000]);
    assert_eq!(sel.pick(&all[..1]), Some(0));
}

#[tokio::test(start_paused = true)]
async fn lru_takes_the_never_used_then_the_least_recently_used() {
    let t0 = Instant::now();
    let mut all = members(3);
    all[0].last_used = Some(t0);
    all[1].last_used = Some(t0 - Duration::from_secs(5));
    let sel = Selector::new(Strategy::Lru, 1);
    assert_eq!(sel.pick(&all), Some(2));
    all[2].last_used = Some(t0);
    assert_eq!(sel.pick(&all), Some(1));
}

#[test]
fn least_used_counts_requests_or_tokens() {
    let mut all = members(3);
    for (m, (r, t)) in all.iter_mut().zip([(5, 100), (3, 900), (4, 50)]) {
        m.requests = r;
        m.tokens = t;
    }
    assert_eq!(
        Selector::new(Strategy::LeastUsed(Usage::Requests), 1).pick(&all),
        Some(1)
    );
    assert_eq!(
        Selector::new(Strategy::LeastUsed(Usage::Tokens), 1).pick(&all),
        Some(2)
    );
}

#[test]
fn most_remaining_prefers_unknown_then_the_most_left() {
    let mut all = members(3);
    all[0].remaining = Some(10);
    all[1].remaining = Some(900);
    let sel = Selector::new(Strategy::MostRemaining, 1);
    assert_eq!(sel.pick(&all), Some(2));
    all[2].remaining = Some(0);
    assert_eq!(sel.pick(&all), Some(1));
}

#[test]
fn oldest_first_goes_by_when_accounts_were_added() {
    let mut all = members(3);
    all[0].added = Some(300);
    all[1].added = Some(100);
    let sel = Selector::new(Strategy::OldestFirst, 1);
    assert_eq!(sel.pick(&all), Some(1));
    assert_eq!(sel.pick(&[all[0], all[2]]), Some(0));
}

#[test]
fn fill_first_stays_where_it_moved_when_an_earlier_member_recovers() {
    let sel = Selector::new(Strategy::FillFirst, 1);
    let all = members(3);
    assert_eq!(sel.pick(&all), Some(0));
    assert_eq!(sel.pick(&all), Some(0));
    // Member 0 fails and drops out: fill member 1 now.
    assert_eq!(sel.pick(&all[1..]), Some(1));
    // Member 0 is back; keep filling member 1.
    assert_eq!(sel.pick(&all), Some(1));
}

#[test]
fn lowest_latency_never_picks_the_slowest_and_favours_the_fastest() {
    let mut all = members(3);
    for (m, ms) in all.iter_mut().zip([200, 50, 900]) {
        m.ttfb = Some(Duration::from_millis(ms));
    }
    let c = counts(&Selector::new(Strategy::LowestLatency, 9), &all, 30_000);
    // Each pick compares two different members; the fastest wins both its pairs (2/3 of the
    // time), the middle one wins against the slowest (1/3), the slowest never wins.
    assert_eq!(c[2], 0, "{c:?}");
    assert!(c[1].abs_diff(20_000) < 600, "{c:?}");
    assert!(c[0].abs_diff(10_000) < 600, "{c:?}");
}

#[test]
fn a_member_with_unknown_latency_is_tried() {
    let mut all = members(2);
    all[0].ttfb = Some(Duration::from_millis(10));
    assert_eq!(
        Selector::new(Strategy::LowestLatency, 1).pick(&all),
        Some(1)
    );
}

#[test]
fn tiers_spread_within_the_first_and_fall_to_the_next() {
    let mut all = members(4);
    for (m, tier) in all.iter_mut().zip([1, 1, 2, 2]) {
        m.tier = tier;
    }
    let sel = Selector::new(Strategy::RoundRobin, 1);
    assert_eq!(counts(&sel, &all, 100), vec![50, 50, 0, 0]);
    assert_eq!(counts(&sel, &all[2..], 100), vec![0, 0, 50, 50]);
    assert_eq!(counts(&sel, &all[1..], 10), vec![0, 10, 0, 0]);
}

#[test]
fn ewma_moves_toward_new_samples() {
    let mut e = Ewma::new(0.5);
    assert_eq!(e.get(), None);
    e.observe(Duration::from_millis(100));
    e.observe(Duration::from_millis(300));
    assert_eq!(e.get(), Some(Duration::from_millis(200)));
}

#[test]
fn strategies_parse_from_their_config_names() {
    for name in STRATEGY_NAMES {
        assert!(name.parse::<Strategy>().is_ok(), "{name}");
    }
    let err = "fastest".parse::<Strategy>().expect_err("unknown");
    assert!(err.to_string().contains("round_robin"), "{err}");
}

fn strategy() -> impl proptest::strategy::Strategy<Value = Strategy> {
    proptest::sample::select(STRATEGY_NAMES).prop_map(|n| n.parse().expect("known"))
}

proptest! {
    #[test]
    fn every_strategy_picks_an_eligible_member_of_the_best_tier(
        s in strategy(),
        seed in any::<u64>(),
        spec in proptest::collection::vec((0u32..3, 0u32..5, any::<Option<u16>>(), 0u64..100), 1..8),
    ) {
        let eligible: Vec<Member> = spec
            .iter()
            .enumerate()
            .map(|(i, (tier, weight, ms, n))| Member {
                index: i * 2, // gaps: the indices of ineligible members are absent
                tier: *tier,
                weight: *weight,
                requests: *n,
                tokens: n * 7,
                remaining: ms.map(u64::from),
                ttfb: ms.map(|m| Duration::from_millis(m.into())),
                added: ms.map(u64::from),
                last_used: None,
            })
            .collect();
        let sel = Selector::new(s, seed);
        let best = eligible.iter().map(|m| m.tier).min();
        for _ in 0..4 {
            let picked = sel.pick(&eligible).expect("non-empty");
            let m = eligible.iter().find(|m| m.index == picked);
            prop_assert!(m.is_some(), "{:?} picked {} not in the eligible set", s, picked);
            prop_assert_eq!(m.map(|m| m.tier), best);
        }
    }
}
