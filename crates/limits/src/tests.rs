//! The limit state on paused Tokio time: each limit refuses when it should and says how long to
//! wait, windows roll, and the overspend is bounded by what is in flight.

use std::time::Duration;

use switchboard_core::{KeyId, TeamId, UserId};
use tokio::time::{Instant, advance};

use crate::*;

const OPUS: &str = "claude-opus-4-1";
const SONNET: &str = "claude-sonnet-4-5";

fn budget(s: &str) -> Budget {
    s.parse().expect("budget")
}

fn key(name: &str, limits: Limits) -> KeySpec {
    KeySpec {
        id: KeyId::new(),
        name: name.into(),
        user: None,
        team: None,
        limits,
    }
}

fn cost(usd: f64) -> Usage {
    Usage {
        input_tokens: 100,
        output_tokens: 10,
        cost_usd: Some(usd),
        ..Usage::default()
    }
}

fn install(state: &InProcess, table: &Table) -> Installed {
    state.install(table, Instant::now())
}

#[tokio::test(start_paused = true)]
async fn concurrency_counts_requests_until_they_complete() {
    let state = InProcess::new();
    let k = key(
        "ci",
        Limits {
            concurrency: Some(2),
            ..Limits::default()
        },
    );
    let handles = install(
        &state,
        &Table {
            keys: vec![k.clone()],
            owners: vec![],
        },
    );
    let h = &handles.keys[&k.id];
    let a = state.admit(h, SONNET, Instant::now()).expect("first");
    let b = state.admit(h, SONNET, Instant::now()).expect("second");
    let refused = state.admit(h, SONNET, Instant::now()).expect_err("third");
    assert_eq!(
        refused,
        Refusal::Concurrency {
            key: "ci".into(),
            limit: 2
        }
    );
    assert_eq!(refused.retry_after(), Duration::from_secs(1));
    state.complete(a, SONNET, &cost(0.01), Instant::now());
    let c = state
        .admit(h, SONNET, Instant::now())
        .expect("a place freed");
    // A request that goes away without completing gives its place back too.
    drop(b);
    drop(c);
    assert_eq!(state.report(Instant::now())[0].in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn requests_per_minute_refuse_with_the_wait() {
    let state = InProcess::new();
    let k = key(
        "rpm",
        Limits {
            rpm: Some(2),
            ..Limits::default()
        },
    );
    let hs = install(
        &state,
        &Table {
            keys: vec![k.clone()],
            owners: vec![],
        },
    );
    let h = &hs.keys[&k.id];
    for _ in 0..2 {
        let a = state.admit(h, SONNET, Instant::now()).expect("within rpm");
        state.complete(a, SONNET, &cost(0.0), Instant::now());
    }
    let e = state.admit(h, SONNET, Instant::now()).expect_err("third");
    assert_eq!(e.retry_after(), Duration::from_secs(30));
    assert_eq!(
        e.to_string(),
        "Rate limit: the key rpm may use 2 requests per minute; retry in 30s."
    );
    advance(Duration::from_secs(30)).await;
    state.admit(h, SONNET, Instant::now()).expect("paid back");
}

#[tokio::test(start_paused = true)]
async fn tokens_per_minute_are_charged_when_requests_end() {
    let state = InProcess::new();
    let k = key(
        "tpm",
        Limits {
            tpm: Some(1000),
            ..Limits::default()
        },
    );
    let hs = install(
        &state,
        &Table {
            keys: vec![k.clone()],
            owners: vec![],
        },
    );
    let h = &hs.keys[&k.id];
    let a = state.admit(h, SONNET, Instant::now()).expect("first");
    // Cache reads are not counted: 900 + 300 + 300 = 1,500 tokens.
    let usage = Usage {
        input_tokens: 900,
        output_tokens: 300,
        cache_creation_input_tokens: 300,
        cache_read_input_tokens: 50_000,
        cost_usd: None,
    };
    state.complete(a, SONNET, &usage, Instant::now());
    let e = state.admit(h, SONNET, Instant::now()).expect_err("over");
    assert!(matches!(
        e,
        Refusal::Rate {
            unit: RateUnit::Tokens,
            limit: 1000,
            ..
        }
    ));
    advance(e.retry_after()).await;
    state.admit(h, SONNET, Instant::now()).expect("paid back");
}

#[tokio::test(start_paused = true)]
async fn each_budget_window_refuses_until_its_spend_leaves() {
    for (window, hours) in [("5h", 5), ("day", 24), ("week", 168), ("month", 720)] {
        let state = InProcess::new();
        let k = key(
            "b",
            Limits {
                budgets: vec![budget(&format!("1usd/{window}"))],
                ..Limits::default()
            },
        );
        let hs = install(
            &state,
            &Table {
                keys: vec![k.clone()],
                owners: vec![],
            },
        );
        let h = &hs.keys[&k.id];
        let start = Instant::now();
        let a = state.admit(h, SONNET, start).expect("under");
        state.complete(a, SONNET, &cost(0.6), start);
        let a = state.admit(h, SONNET, start).expect("still under");
        state.complete(a, SONNET, &cost(0.6), start);
        let Refusal::Budget(e) = state.admit(h, SONNET, start).expect_err(window) else {
            panic!("{window}: not a budget refusal");
        };
        let full = Duration::from_secs(hours * 3600);
        assert_eq!(e.frees_in, full, "{window}");
        assert_eq!(e.spent, 1_200_000_000);
        advance(full - Duration::from_secs(1)).await;
        assert!(state.admit(h, SONNET, Instant::now()).is_err(), "{window}");
        advance(Duration::from_secs(1)).await;
        state
            .admit(h, SONNET, Instant::now())
            .unwrap_or_else(|e| panic!("{window}: {e}"));
    }
}

#[tokio::test(start_paused = true)]
async fn token_budgets_count_tokens() {
    let state = InProcess::new();
    let k = key(
        "t",
        Limits {
            budgets: vec![budget("200tok/5h")],
            ..Limits::default()
        },
    );
    let hs = install(
        &state,
        &Table {
            keys: vec![k.clone()],
            owners: vec![],
        },
    );
    let h = &hs.keys[&k.id];
    for _ in 0..2 {
        let a = state.admit(h, SONNET, Instant::now()).expect("under");
        state.complete(a, SONNET, &cost(0.0), Instant::now()); // 110 tokens each
    }
    let Refusal::Budget(e) = state.admit(h, SONNET, Instant::now()).expect_err("over") else {
        panic!("not a budget refusal");
    };
    assert_eq!(e.spent, 220);
    assert_eq!(
        e.message(Some("14:35 UTC")),
        "Budget used up: this key (t) has spent 220 tokens of its 200 tokens per 5 hours (200tok/5h). It frees up in 5h 00m (at 14:35 UTC). Ask your Switchboard admin to raise it."
    );
}

#[tokio::test(start_paused = true)]
async fn a_family_budget_counts_and_refuses_only_its_models() {
    let state = InProcess::new();
    let k = key(
        "fam",
        Limits {
            budgets: vec![budget("opus:1usd/week"), budget("10usd/week")],
            ..Limits::default()
        },
    );
    let hs = install(
        &state,
        &Table {
            keys: vec![k.clone()],
            owners: vec![],
        },
    );
    let h = &hs.keys[&k.id];
    let a = state.admit(h, SONNET, Instant::now()).expect("sonnet");
    state.complete(a, SONNET, &cost(2.0), Instant::now());
    let a = state
        .admit(h, OPUS, Instant::now())
        .expect("opus: sonnet's spend is not opus's");
    state.complete(a, OPUS, &cost(1.0), Instant::now());
    let Refusal::Budget(e) = state.admit(h, OPUS, Instant::now()).expect_err("opus over") else {
        panic!("not a budget refusal");
    };
    assert_eq!(e.budget, budget("opus:1usd/week"));
    assert!(
        e.message(None).contains("for opus models"),
        "{}",
        e.message(None)
    );
    assert!(e.message(None).ends_with("or use another model."));
    state
        .admit(h, SONNET, Instant::now())
        .expect("other models go on");
    let report = state.report(Instant::now());
    let budgets = &report[0].budgets;
    assert_eq!(budgets[0].spent, 1_000_000_000);
    assert_eq!(budgets[1].spent, 3_000_000_000);
    assert_eq!(budgets[1].remaining, 7_000_000_000);
}

#[tokio::test(start_paused = true)]
async fn user_and_team_budgets_cap_their_keys_together() {
    let state = InProcess::new();
    let (alice, team) = (UserId::new(), TeamId::new());
    let mut a = key("a", Limits::default());
    a.user = Some(alice);
    let mut b = key("b", Limits::default());
    b.user = Some(alice);
    b.team = Some(team);
    let mut c = key("c", Limits::default());
    c.team = Some(team);
    let owners = vec![
        OwnerSpec {
            subject: Subject::User(alice),
            name: "alice".into(),
            budgets: vec![budget("1usd/day")],
        },
        OwnerSpec {
            subject: Subject::Team(team),
            name: "platform".into(),
            budgets: vec![budget("3usd/day")],
        },
    ];
    let table = Table {
        keys: vec![a.clone(), b.clone(), c.clone()],
        owners,
    };
    let hs = install(&state, &table);
    let now = Instant::now();
    let x = state.admit(&hs.keys[&a.id], SONNET, now).expect("a");
    state.complete(x, SONNET, &cost(1.0), now);
    // Alice's budget is spent through key a: her key b is refused too, naming her.
    let Refusal::Budget(e) = state.admit(&hs.keys[&b.id], SONNET, now).expect_err("b") else {
        panic!("not a budget refusal");
    };
    assert_eq!((e.subject, &*e.name), (Subject::User(alice), "alice"));
    assert!(
        e.message(None)
            .starts_with("Budget used up: user alice has spent $1.00 of its $1.00 per day")
    );
    let x = state.admit(&hs.keys[&c.id], SONNET, now).expect("c");
    state.complete(x, SONNET, &cost(3.0), now);
    let Refusal::Budget(e) = state.admit(&hs.keys[&c.id], SONNET, now).expect_err("c") else {
        panic!("not a budget refusal");
    };
    assert_eq!(&*e.name, "platform");
}

#[tokio::test(start_paused = true)]
async fn overspend_is_bounded_by_the_requests_in_flight() {
    let state = InProcess::new();
    let k = key(
        "load",
        Limits {
            budgets: vec![budget("1usd/day")],
            ..Limits::default()
        },
    );
    let hs = install(
        &state,
        &Table {
            keys: vec![k.clone()],
            owners: vec![],
        },
    );
    let h = &hs.keys[&k.id];
    // 64 requests start together, each costing 0.10: all are admitted (nothing spent yet) and
    // all are charged, 6.40 against 1.00. That is the bound: what was in flight.
    let now = Instant::now();
    let admitted: Vec<Admission> = (0..64)
        .map(|_| state.admit(h, SONNET, now).expect("nothing spent yet"))
        .collect();
    for a in admitted {
        state.complete(a, SONNET, &cost(0.1), now);
    }
    assert!(state.admit(h, SONNET, now).is_err());
    let spent = state.report(now)[0].budgets[0].spent;
    assert_eq!(spent, 6_400_000_000);
}

#[tokio::test(start_paused = true)]
async fn reinstalling_keeps_windows_and_places_and_seeds_only_new_windows() {
    let state = InProcess::new();
    let mut k = key(
        "k",
        Limits {
            budgets: vec![budget("1usd/day")],
            ..Limits::default()
        },
    );
    let table = |k: &KeySpec| Table {
        keys: vec![k.clone()],
        owners: vec![],
    };
    let first = install(&state, &table(&k));
    assert_eq!(first.fresh, vec![Subject::Key(k.id)]);
    let now = Instant::now();
    let mut history = [(now, SONNET, cost(0.25))].into_iter();
    state.seed(Subject::Key(k.id), Window::Day, &mut history, now);
    let held = state
        .admit(&first.keys[&k.id], SONNET, now)
        .expect("in flight");
    // The amount changes and a weekly budget is added: the day's window is kept, the week's is
    // new and seeded alone.
    k.limits.budgets = vec![budget("2usd/day"), budget("5usd/week")];
    k.name = "renamed".into();
    let second = install(&state, &table(&k));
    assert_eq!(second.fresh, vec![Subject::Key(k.id)]);
    for window in [Window::Day, Window::Week] {
        let mut history = [(now, SONNET, cost(0.5))].into_iter();
        state.seed(Subject::Key(k.id), window, &mut history, now);
    }
    let r = &state.report(now)[0];
    assert_eq!(&*r.name, "renamed");
    assert_eq!(
        r.in_flight, 1,
        "the request admitted before is still counted"
    );
    assert_eq!(r.budgets[0].spent, 250_000_000, "day: seeded once");
    assert_eq!(r.budgets[1].spent, 500_000_000, "week: seeded now");
    state.complete(held, SONNET, &cost(1.0), now);
    assert_eq!(state.report(now)[0].budgets[0].spent, 1_250_000_000);
    // A key no longer in the table is gone from the state.
    let third = install(&state, &Table::default());
    assert!(third.keys.is_empty());
    assert!(state.report(now).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_key_without_limits_is_only_counted() {
    let state = InProcess::new();
    let k = key("free", Limits::default());
    let hs = install(
        &state,
        &Table {
            keys: vec![k.clone()],
            owners: vec![],
        },
    );
    for _ in 0..1000 {
        let a = state
            .admit(&hs.keys[&k.id], OPUS, Instant::now())
            .expect("no limit");
        state.complete(a, OPUS, &cost(0.001), Instant::now());
    }
    let r = &state.report(Instant::now())[0];
    assert_eq!(
        (r.requests, r.tokens, r.nanos, r.in_flight),
        (1000, 110_000, 1_000_000_000, 0)
    );
}
