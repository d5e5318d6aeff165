//! The behaviour every [`Store`] must show. Each case takes a fresh, migrated, empty store;
//! `store_suite!` in `main.rs` runs every case against every backend.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use switchboard_store::{
    BreakdownBy, Bucket, LogRecord, Query, StatusClass, Store, StoreError, WriterOptions,
    spawn_writer,
};
use uuid::Uuid;

use crate::support::{at, attempt, record, t0};

pub(crate) async fn round_trip_preserves_every_field(store: Arc<dyn Store>) {
    let full = LogRecord {
        id: Uuid::now_v7(),
        started_at: t0() + Duration::microseconds(123_456),
        client_addr: Some("127.0.0.1:5555".into()),
        client_key: Some("alice".into()),
        client_user: Some("alice@example.com".into()),
        client_team: Some("platform".into()),
        user_agent: Some("claude-cli/1.0.0".into()),
        session_id: Some("3f1c-session".into()),
        method: "POST".into(),
        path: "/v1/chat/completions".into(),
        client_dialect: "openai".into(),
        requested_model: Some("gpt-4o".into()),
        routed_model: Some("kimi-k2".into()),
        endpoint: Some("moonshot".into()),
        stream: true,
        status: 502,
        outcome: "exhausted".parse().expect("outcome"),
        error: Some("all endpoints failed: ünïcödé ✓ 'quoted' \"double\"".into()),
        stop_reason: Some("end_turn".into()),
        ttfb_ms: Some(123),
        latency_ms: 4567,
        input_tokens: 1 << 40,
        output_tokens: 2,
        cache_creation_input_tokens: 3,
        cache_read_input_tokens: 4,
        cost_usd: Some(0.012_345),
        request_bytes: 5,
        response_bytes: 6,
        attempts: vec![
            switchboard_store::AttemptRecord {
                error: Some("overloaded".into()),
                offset_ms: Some(0),
                first_byte_ms: Some(1 << 40),
                error_class: Some("529 overloaded_error".into()),
                ..attempt("primary", Some(529), "retry")
            },
            switchboard_store::AttemptRecord {
                model: None,
                error: Some("timeout after 30s".into()),
                ..attempt("primary", None, "next")
            },
            switchboard_store::AttemptRecord {
                offset_ms: Some(3000),
                first_byte_ms: Some(50),
                stream_ms: Some(1500),
                ..attempt("moonshot", Some(200), "ok")
            },
        ],
        replay_of: Some(Uuid::now_v7()),
    };
    let mut minimal = LogRecord::new("GET", "/v1/models", "anthropic");
    minimal.started_at = t0();
    store
        .insert_batch(&[full.clone(), minimal.clone()])
        .await
        .expect("insert");

    assert_eq!(store.get(full.id).await.expect("get"), Some(full.clone()));
    assert_eq!(store.get(minimal.id).await.expect("get"), Some(minimal));
    assert_eq!(store.get(Uuid::now_v7()).await.expect("get"), None);
    assert_eq!(store.count().await.expect("count"), 2);
    let page = store.list(&Query::default()).await.expect("list");
    assert_eq!(
        page.records.first(),
        Some(&full),
        "list returns attempts too"
    );
}

pub(crate) async fn upsert_replaces_record_and_attempts(store: Arc<dyn Store>) {
    let mut started = record(0);
    started.status = 0;
    started.outcome = "in_progress".parse().expect("outcome");
    started.attempts = vec![attempt("primary", None, "retry")];
    store
        .insert_batch(std::slice::from_ref(&started))
        .await
        .expect("insert started");

    let mut completed = started.clone();
    completed.status = 200;
    completed.outcome = "ok".parse().expect("outcome");
    completed.output_tokens = 99;
    completed.cost_usd = Some(0.5);
    completed.attempts = vec![
        attempt("primary", Some(529), "next"),
        attempt("backup", Some(200), "ok"),
    ];
    store
        .insert_batch(std::slice::from_ref(&completed))
        .await
        .expect("insert completed");
    assert_eq!(
        store.get(started.id).await.expect("get"),
        Some(completed.clone())
    );
    assert_eq!(store.count().await.expect("count"), 1);
    // Aggregates count the completed version only.
    let stats = store.stats(&Query::default()).await.expect("stats");
    let t = &stats.totals;
    assert_eq!(
        (t.requests, t.ok, t.output_tokens, t.unknown_cost_requests),
        (1, 1, 99, 0)
    );
    let pending = Query {
        outcome: Some("in_progress".parse().expect("outcome")),
        ..Query::default()
    };
    assert_eq!(
        store.stats(&pending).await.expect("stats").totals.requests,
        0
    );
    assert!(
        store
            .breakdown(&pending, BreakdownBy::Model)
            .await
            .expect("bd")
            .is_empty()
    );

    // Both versions in one batch: the later one wins. And fewer attempts than before.
    let mut again = completed.clone();
    again.attempts.truncate(1);
    again.outcome = "partial".parse().expect("outcome");
    store
        .insert_batch(&[completed, again.clone()])
        .await
        .expect("insert both versions");
    assert_eq!(store.get(again.id).await.expect("get"), Some(again));
    assert_eq!(store.count().await.expect("count"), 1);
}

/// 24 records, 10 minutes apart, varied on every filtered column.
fn filter_dataset() -> Vec<LogRecord> {
    (0..24_i64)
        .map(|i| {
            let mut r = record(i * 600);
            let (status, outcome, error) = match i % 6 {
                2 => (
                    429,
                    "upstream_error",
                    Some("Upstream 429: Rate Limit exceeded (100%_used)"),
                ),
                3 => (500, "exhausted", Some("connection reset by peer")),
                4 => (
                    400,
                    "client_error",
                    Some("invalid_request_error: bad max_tokens"),
                ),
                _ => (200, "ok", None),
            };
            r.status = status;
            r.outcome = outcome.parse().expect("outcome");
            r.error = error.map(Into::into);
            let requested = ["claude-sonnet", "claude-haiku", "gpt-4o"][(i % 3) as usize];
            r.requested_model = Some(requested.into());
            r.routed_model = match i % 3 {
                _ if i % 7 == 0 => None,
                1 => Some("kimi".into()),
                _ => Some(requested.into()),
            };
            r.endpoint = (i % 11 != 0).then(|| ["primary", "backup"][(i % 2) as usize].into());
            r.client_key = match i % 4 {
                0 => Some("alice".into()),
                1 => Some("bob".into()),
                _ => None,
            };
            // Alice's and Bob's keys belong to two users; Alice's is charged to a team.
            r.client_user = r.client_key.as_ref().map(|k| format!("{k}-user"));
            r.client_team = (i % 4 == 0).then(|| "platform".into());
            r.stream = (i / 2) % 2 == 0;
            r
        })
        .collect()
}

/// What `query` should select, computed in Rust.
fn matches(q: &Query, r: &LogRecord) -> bool {
    let class = |c: StatusClass| match c {
        StatusClass::Success => (200..300).contains(&r.status),
        StatusClass::ClientError => (400..500).contains(&r.status),
        StatusClass::ServerError => (500..600).contains(&r.status),
    };
    let text = |s: &String| {
        r.error
            .as_ref()
            .is_some_and(|e| e.to_lowercase().contains(&s.to_lowercase()))
    };
    q.from.is_none_or(|f| r.started_at >= f)
        && q.to.is_none_or(|t| r.started_at < t)
        && q.status_class.is_none_or(class)
        && q.outcome.as_ref().is_none_or(|o| &r.outcome == o)
        && q.model.as_ref().is_none_or(|m| {
            r.requested_model.as_ref() == Some(m) || r.routed_model.as_ref() == Some(m)
        })
        && q.endpoint
            .as_ref()
            .is_none_or(|e| r.endpoint.as_ref() == Some(e))
        && q.client_key
            .as_ref()
            .is_none_or(|k| r.client_key.as_ref() == Some(k))
        && q.client_user
            .as_ref()
            .is_none_or(|u| r.client_user.as_ref() == Some(u))
        && q.client_team
            .as_ref()
            .is_none_or(|t| r.client_team.as_ref() == Some(t))
        && q.stream.is_none_or(|s| r.stream == s)
        && q.search.as_ref().is_none_or(text)
}

/// Records in list order: `(started_at, id)` descending.
fn newest_first(records: &[LogRecord]) -> Vec<Uuid> {
    let mut sorted: Vec<&LogRecord> = records.iter().collect();
    sorted.sort_by_key(|r| std::cmp::Reverse((r.started_at, r.id)));
    sorted.iter().map(|r| r.id).collect()
}

pub(crate) async fn every_filter_selects_what_it_says(store: Arc<dyn Store>) {
    let data = filter_dataset();
    store.insert_batch(&data).await.expect("insert");
    let s = |v: &str| Some(v.to_owned());
    let queries = [
        Query::default(),
        Query {
            from: Some(at(3600)),
            ..Query::default()
        },
        Query {
            to: Some(at(3600)),
            ..Query::default()
        },
        Query {
            from: Some(at(1200)),
            to: Some(at(6000)),
            ..Query::default()
        },
        // Whole hours in the middle, partial hours at both ends.
        Query {
            from: Some(at(1200)),
            to: Some(at(12_300)),
            ..Query::default()
        },
        Query {
            from: Some(at(1201)),
            to: Some(at(12_300)),
            status_class: Some(StatusClass::Success),
            model: s("claude-sonnet"),
            ..Query::default()
        },
        Query {
            status_class: Some(StatusClass::Success),
            ..Query::default()
        },
        Query {
            status_class: Some(StatusClass::ClientError),
            ..Query::default()
        },
        Query {
            status_class: Some(StatusClass::ServerError),
            ..Query::default()
        },
        Query {
            outcome: Some(switchboard_core::Outcome::UpstreamError),
            ..Query::default()
        },
        Query {
            model: s("kimi"),
            ..Query::default()
        },
        Query {
            model: s("claude-haiku"),
            ..Query::default()
        },
        Query {
            model: s("gpt-4o"),
            ..Query::default()
        },
        Query {
            endpoint: s("backup"),
            ..Query::default()
        },
        Query {
            client_key: s("alice"),
            ..Query::default()
        },
        Query {
            client_user: s("bob-user"),
            ..Query::default()
        },
        Query {
            client_team: s("platform"),
            from: Some(at(1200)),
            to: Some(at(12_300)),
            ..Query::default()
        },
        Query {
            stream: Some(true),
            ..Query::default()
        },
        Query {
            stream: Some(false),
            ..Query::default()
        },
        Query {
            search: s("rate limit"),
            ..Query::default()
        },
        Query {
            search: s("100%_"),
            ..Query::default()
        },
        Query {
            search: s("%"),
            ..Query::default()
        },
        Query {
            search: s("_"),
            ..Query::default()
        },
        Query {
            search: s("no such text"),
            ..Query::default()
        },
        Query {
            from: Some(at(600)),
            status_class: Some(StatusClass::ClientError),
            client_key: s("alice"),
            ..Query::default()
        },
        Query {
            model: s("claude-sonnet"),
            stream: Some(true),
            endpoint: s("primary"),
            ..Query::default()
        },
    ];
    for q in queries {
        let expected: Vec<LogRecord> = data.iter().filter(|r| matches(&q, r)).cloned().collect();
        let page = store
            .list(&Query {
                limit: Some(1000),
                ..q.clone()
            })
            .await
            .expect("list");
        let got: Vec<Uuid> = page.records.iter().map(|r| r.id).collect();
        assert_eq!(got, newest_first(&expected), "list {q:?}");
        let stats = store.stats(&q).await.expect("stats");
        assert_eq!(stats.totals.requests, expected.len() as u64, "stats {q:?}");
        let by_day = store.timeseries(&q, Bucket::Day).await.expect("timeseries");
        let total: u64 = by_day.iter().map(|b| b.totals.requests).sum();
        assert_eq!(total, expected.len() as u64, "timeseries {q:?}");
        let groups = store
            .breakdown(&q, BreakdownBy::Endpoint)
            .await
            .expect("breakdown");
        let total: u64 = groups.iter().map(|g| g.totals.requests).sum();
        assert_eq!(total, expected.len() as u64, "breakdown {q:?}");
        for by in [BreakdownBy::ClientUser, BreakdownBy::ClientTeam] {
            let groups = store.breakdown(&q, by).await.expect("breakdown");
            for g in &groups {
                let want = expected
                    .iter()
                    .filter(|r| {
                        let v = match by {
                            BreakdownBy::ClientUser => &r.client_user,
                            _ => &r.client_team,
                        };
                        v == &g.key
                    })
                    .count();
                assert_eq!(g.totals.requests, want as u64, "breakdown {by:?} {q:?}");
            }
            let total: u64 = groups.iter().map(|g| g.totals.requests).sum();
            assert_eq!(total, expected.len() as u64, "breakdown {by:?} {q:?}");
        }
    }
    // The filters above are not vacuous.
    let kimi = Query {
        model: s("kimi"),
        ..Query::default()
    };
    assert!(data.iter().filter(|r| matches(&kimi, r)).count() >= 4);
}

pub(crate) async fn keyset_pagination_has_no_gaps_or_duplicates(store: Arc<dyn Store>) {
    // Three records per second, so pages split ties on started_at.
    let mut data: Vec<LogRecord> = (0..237).map(|i| record(i / 3)).collect();
    for (i, r) in data.iter_mut().enumerate() {
        r.stream = i % 4 == 0;
    }
    for chunk in data.rchunks(50) {
        store.insert_batch(chunk).await.expect("insert");
    }
    for (base, page_size) in [
        (Query::default(), 10),
        (
            Query {
                stream: Some(true),
                ..Query::default()
            },
            7,
        ),
    ] {
        let expected: Vec<LogRecord> = data.iter().filter(|r| matches(&base, r)).cloned().collect();
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = store
                .list(&Query {
                    limit: Some(page_size),
                    cursor: cursor.clone(),
                    ..base.clone()
                })
                .await
                .expect("list");
            pages += 1;
            assert!(page.records.len() <= page_size as usize);
            seen.extend(page.records.iter().map(|r| r.id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
            assert!(pages < 1000, "pagination does not terminate");
        }
        assert_eq!(seen, newest_first(&expected), "pages of {base:?}");
        assert_eq!(pages, expected.len().div_ceil(page_size as usize));
    }
    let page = store
        .list(&Query {
            limit: Some(0),
            ..Query::default()
        })
        .await
        .expect("list");
    assert_eq!(page.records.len(), 1, "limit is clamped to at least 1");
    let err = store
        .list(&Query {
            cursor: Some("garbage".into()),
            ..Query::default()
        })
        .await
        .expect_err("bad cursor");
    assert!(matches!(err, StoreError::InvalidCursor(_)), "{err:?}");
}

pub(crate) async fn stats_match_hand_computed_values(store: Arc<dyn Store>) {
    let data: Vec<LogRecord> = (1..=20_u64)
        .map(|i| {
            let mut r = record(i64::try_from(i).expect("small"));
            r.latency_ms = i * 10;
            r.ttfb_ms = (i % 2 == 0).then_some(i);
            if i % 5 == 0 {
                r.outcome = "upstream_error".parse().expect("outcome");
                r.status = 502;
            }
            r.input_tokens = i * 100;
            r.output_tokens = i;
            r.cache_creation_input_tokens = 5;
            r.cache_read_input_tokens = if i <= 10 { 1000 } else { 0 };
            r.cost_usd = (i % 4 != 0).then_some(0.25);
            r
        })
        .collect();
    store.insert_batch(&data).await.expect("insert");

    let stats = store.stats(&Query::default()).await.expect("stats");
    let t = &stats.totals;
    assert_eq!((t.requests, t.ok, t.errors), (20, 16, 4));
    assert_eq!(stats.success_rate, Some(0.8));
    assert_eq!(t.input_tokens, 21_000);
    assert_eq!(t.output_tokens, 210);
    assert_eq!(t.cache_creation_input_tokens, 100);
    assert_eq!(t.cache_read_input_tokens, 10_000);
    assert!((t.cost_usd - 3.75).abs() < 1e-9, "cost {}", t.cost_usd);
    assert_eq!(t.unknown_cost_requests, 5);
    // Nearest rank: p50 of 20 is the 10th, p95 the 19th, p99 the 20th.
    assert_eq!(
        (
            stats.latency_ms.p50,
            stats.latency_ms.p95,
            stats.latency_ms.p99
        ),
        (Some(100), Some(190), Some(200))
    );
    // ttfb over the 10 even records 2..=20: 5th, 10th, 10th.
    assert_eq!(
        (stats.ttfb_ms.p50, stats.ttfb_ms.p95, stats.ttfb_ms.p99),
        (Some(10), Some(20), Some(20))
    );

    // Percentiles follow the filter: records 11..=20.
    let later = store
        .stats(&Query {
            from: Some(at(11)),
            ..Query::default()
        })
        .await
        .expect("stats");
    assert_eq!(later.totals.requests, 10);
    assert_eq!(
        (
            later.latency_ms.p50,
            later.latency_ms.p95,
            later.latency_ms.p99
        ),
        (Some(150), Some(200), Some(200))
    );
    // ttfb 12, 14, 16, 18, 20: ranks 3, 5, 5.
    assert_eq!(
        (later.ttfb_ms.p50, later.ttfb_ms.p95, later.ttfb_ms.p99),
        (Some(16), Some(20), Some(20))
    );

    let none = store
        .stats(&Query {
            from: Some(at(10_000)),
            ..Query::default()
        })
        .await
        .expect("stats");
    assert_eq!(none.totals, switchboard_store::Totals::default());
    assert_eq!(none.success_rate, None);
    assert_eq!(none.latency_ms, switchboard_store::Percentiles::default());
    assert_eq!(none.ttfb_ms, switchboard_store::Percentiles::default());
}

pub(crate) async fn timeseries_buckets_by_utc_hour_and_day(store: Arc<dyn Store>) {
    let day = 86_400;
    let mut data: Vec<LogRecord> = [0, 1800, 3599, 4500, day - 3600, day + 13 * 3600 + 1800]
        .into_iter()
        .map(record)
        .collect();
    data[1].outcome = "exhausted".parse().expect("outcome");
    data[2].input_tokens = 7;
    data[2].cost_usd = Some(1.5);
    store.insert_batch(&data).await.expect("insert");

    let hours = store
        .timeseries(&Query::default(), Bucket::Hour)
        .await
        .expect("hours");
    let got: Vec<_> = hours.iter().map(|b| (b.start, b.totals.requests)).collect();
    let utc = |d, h| {
        Utc.with_ymd_and_hms(2025, 1, d, h, 0, 0)
            .single()
            .expect("valid")
    };
    assert_eq!(
        got,
        vec![
            (utc(15, 10), 3),
            (utc(15, 11), 1),
            (utc(16, 9), 1),
            (utc(16, 23), 1)
        ]
    );
    let first = &hours[0].totals;
    assert_eq!((first.ok, first.errors, first.input_tokens), (2, 1, 7));
    assert!((first.cost_usd - 1.5).abs() < 1e-9);
    assert_eq!(first.unknown_cost_requests, 2);

    let days = store
        .timeseries(&Query::default(), Bucket::Day)
        .await
        .expect("days");
    let got: Vec<_> = days.iter().map(|b| (b.start, b.totals.requests)).collect();
    assert_eq!(got, vec![(utc(15, 0), 4), (utc(16, 0), 2)]);

    let filtered = store
        .timeseries(
            &Query {
                from: Some(at(3600)),
                ..Query::default()
            },
            Bucket::Day,
        )
        .await
        .expect("filtered");
    let got: Vec<_> = filtered
        .iter()
        .map(|b| (b.start, b.totals.requests))
        .collect();
    assert_eq!(got, vec![(utc(15, 0), 1), (utc(16, 0), 2)]);
}

pub(crate) async fn breakdowns_group_sum_and_compute_cache_ratio(store: Arc<dyn Store>) {
    let mut a = record(0);
    a.client_key = Some("alice".into());
    (
        a.input_tokens,
        a.cache_read_input_tokens,
        a.cache_creation_input_tokens,
    ) = (100, 300, 100);
    a.cost_usd = Some(1.0);
    let mut b = record(1);
    b.client_key = Some("bob".into());
    b.input_tokens = 100;
    b.outcome = "upstream_error".parse().expect("outcome");
    let mut c = record(2);
    c.requested_model = Some("claude-haiku".into());
    c.routed_model = Some("kimi".into());
    c.endpoint = Some("backup".into());
    c.client_key = Some("alice".into());
    c.input_tokens = 50;
    c.cost_usd = Some(0.5);
    let mut d = record(3);
    d.requested_model = Some("gpt-4o".into());
    d.routed_model = None;
    d.endpoint = None;
    d.status = 400;
    d.outcome = "client_error".parse().expect("outcome");
    store.insert_batch(&[a, b, c, d]).await.expect("insert");

    let by_model = store
        .breakdown(&Query::default(), BreakdownBy::Model)
        .await
        .expect("by model");
    let keys: Vec<_> = by_model
        .iter()
        .map(|g| (g.key.as_deref(), g.totals.requests))
        .collect();
    assert_eq!(
        keys,
        vec![
            (Some("claude-sonnet"), 2),
            (Some("gpt-4o"), 1),
            (Some("kimi"), 1)
        ]
    );
    let sonnet = &by_model[0];
    assert_eq!((sonnet.totals.errors, sonnet.totals.input_tokens), (1, 200));
    assert_eq!(sonnet.totals.unknown_cost_requests, 1);
    assert!((sonnet.totals.cost_usd - 1.0).abs() < 1e-9);
    // 300 / (200 + 300 + 100)
    assert_eq!(sonnet.cache_hit_ratio, Some(0.5));
    assert_eq!(by_model[1].cache_hit_ratio, None, "no prompt tokens");
    assert_eq!(by_model[2].cache_hit_ratio, Some(0.0));

    let by_endpoint = store
        .breakdown(&Query::default(), BreakdownBy::Endpoint)
        .await
        .expect("by endpoint");
    let keys: Vec<_> = by_endpoint
        .iter()
        .map(|g| (g.key.as_deref(), g.totals.requests))
        .collect();
    assert_eq!(
        keys,
        vec![(Some("primary"), 2), (Some("backup"), 1), (None, 1)]
    );

    let by_key = store
        .breakdown(
            &Query {
                outcome: Some("ok".parse().expect("outcome")),
                ..Query::default()
            },
            BreakdownBy::ClientKey,
        )
        .await
        .expect("by key");
    let keys: Vec<_> = by_key
        .iter()
        .map(|g| (g.key.as_deref(), g.totals.requests))
        .collect();
    assert_eq!(keys, vec![(Some("alice"), 2)]);
}

pub(crate) async fn retention_deletes_only_older_records(store: Arc<dyn Store>) {
    let data: Vec<LogRecord> = [-7200, -3600, -1, 0, 10].into_iter().map(record).collect();
    store.insert_batch(&data).await.expect("insert");
    assert_eq!(store.delete_older_than(t0()).await.expect("delete"), 3);
    assert_eq!(store.count().await.expect("count"), 2);
    let stats = store.stats(&Query::default()).await.expect("stats");
    assert_eq!(stats.totals.requests, 2);
    let hours = store
        .timeseries(&Query::default(), Bucket::Hour)
        .await
        .expect("ts");
    assert_eq!(hours.len(), 1, "emptied buckets disappear: {hours:?}");
    for r in &data[..3] {
        assert_eq!(store.get(r.id).await.expect("get"), None);
    }
    for r in &data[3..] {
        assert_eq!(store.get(r.id).await.expect("get").as_ref(), Some(r));
    }
    assert_eq!(store.delete_older_than(t0()).await.expect("delete"), 0);
    // Old ids come back without their old attempts.
    let mut again = data[0].clone();
    again.attempts.clear();
    store
        .insert_batch(std::slice::from_ref(&again))
        .await
        .expect("reinsert");
    assert_eq!(store.get(again.id).await.expect("get"), Some(again));
}

pub(crate) async fn migrate_is_idempotent(store: Arc<dyn Store>) {
    store.migrate().await.expect("second migrate");
    assert_eq!(store.count().await.expect("count"), 0);
    assert_eq!(
        store
            .list(&Query::default())
            .await
            .expect("list")
            .next_cursor,
        None
    );
    assert!(
        store
            .timeseries(&Query::default(), Bucket::Hour)
            .await
            .expect("ts")
            .is_empty()
    );
    assert!(
        store
            .breakdown(&Query::default(), BreakdownBy::Model)
            .await
            .expect("bd")
            .is_empty()
    );
}

pub(crate) async fn writer_drains_everything_on_shutdown(store: Arc<dyn Store>) {
    let opts = WriterOptions {
        batch_size: 64,
        ..WriterOptions::default()
    };
    let (sender, handle) = spawn_writer(Arc::clone(&store), 4096, opts);
    let records: Vec<LogRecord> = (0..1000).map(record).collect();
    for r in &records {
        sender.send(r.clone());
    }
    // The completed version of the first 100 follows the started one.
    for r in &records[..100] {
        let mut done = r.clone();
        done.output_tokens = 7;
        sender.send(done);
    }
    handle.shutdown().await;
    assert_eq!(store.count().await.expect("count"), 1000);
    let stats = sender.stats();
    assert_eq!(
        (
            stats.written,
            stats.queued,
            stats.dropped,
            stats.failed_batches
        ),
        (1100, 0, 0, 0)
    );
    let first = store
        .get(records[0].id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(first.output_tokens, 7);
    let last = store
        .get(records[999].id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(&last, &records[999]);
    // Sending after shutdown is harmless and counted.
    sender.send(record(5000));
    assert_eq!(sender.stats().dropped, 1);
}

pub(crate) use crate::dashboard::{
    failover_scan_stops_at_its_limit, failovers_count_moves_between_endpoints,
    keyed_timeseries_sums_per_bucket_and_key, quarter_hours_come_from_the_raw_rows,
    recent_attempts_are_the_last_ones,
};

pub(crate) async fn sessions_sum_their_requests_with_first_and_last_seen(store: Arc<dyn Store>) {
    // Two Claude Code sessions over more than an hour (whole hours are where SQLite reads its
    // rollups, which have no session), and a request without one.
    let session = |secs: i64, id: &str, input: u64, cost: Option<f64>| {
        let mut r = record(secs);
        r.session_id = Some(id.into());
        r.input_tokens = input;
        r.output_tokens = 10;
        r.cost_usd = cost;
        r
    };
    let mut failed = session(4000, "s-1", 5, None);
    failed.outcome = "upstream_error".parse().expect("outcome");
    failed.status = 502;
    store
        .insert_batch(&[
            session(-30, "s-1", 100, Some(0.25)),
            session(60, "s-2", 40, Some(0.5)),
            failed,
            session(7300, "s-1", 300, Some(0.75)),
            record(7400),
        ])
        .await
        .expect("insert");
    let rows = store
        .breakdown(&Query::default(), BreakdownBy::Session)
        .await
        .expect("sessions");
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.key.as_deref(),
                r.totals.requests,
                r.totals.errors,
                r.totals.input_tokens,
                r.totals.output_tokens,
                r.totals.cost_usd,
                r.totals.unknown_cost_requests,
                r.first_seen,
                r.last_seen,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Some("s-1"),
                3,
                1,
                405,
                30,
                1.0,
                1,
                Some(at(-30)),
                Some(at(7300))
            ),
            (
                Some("s-2"),
                1,
                0,
                40,
                10,
                0.5,
                0,
                Some(at(60)),
                Some(at(60))
            ),
        ],
        "most recent first, the request without a session left out"
    );
    // Filters apply, and a session filters the other queries too.
    let q = Query {
        from: Some(at(0)),
        to: Some(at(7200)),
        ..Query::default()
    };
    let rows = store
        .breakdown(&q, BreakdownBy::Session)
        .await
        .expect("sessions");
    let keys: Vec<_> = rows
        .iter()
        .map(|r| (r.key.as_deref(), r.totals.requests))
        .collect();
    assert_eq!(keys, [(Some("s-1"), 1), (Some("s-2"), 1)]);
    let one = Query {
        session: Some("s-1".into()),
        ..Query::default()
    };
    assert_eq!(store.list(&one).await.expect("list").records.len(), 3);
    let stats = store.stats(&one).await.expect("stats");
    assert_eq!(stats.totals.requests, 3);
    assert_eq!(stats.totals.input_tokens, 405);
    let by_hour = store
        .timeseries(&one, Bucket::Hour)
        .await
        .expect("timeseries");
    assert_eq!(by_hour.iter().map(|b| b.totals.requests).sum::<u64>(), 3);
    let by_model = store
        .breakdown(&one, BreakdownBy::Model)
        .await
        .expect("breakdown");
    assert_eq!(by_model.len(), 1);
    assert_eq!(by_model[0].totals.requests, 3);
    assert_eq!(by_model[0].first_seen, None, "only sessions say when");
}
