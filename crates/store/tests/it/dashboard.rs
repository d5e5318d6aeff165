//! The dashboard's queries (failovers, time series per key, quarter hours, recent attempts),
//! part of the suite every backend runs (`main.rs`).

use std::sync::Arc;

use switchboard_store::{AttemptRecord, BreakdownBy, Bucket, Query, Store, Transition};

use crate::support::{at, attempt, record};

fn moved(
    secs: i64,
    chain: &[(&str, Option<u16>, &str, Option<&str>)],
) -> switchboard_store::LogRecord {
    let mut r = record(secs);
    r.attempts = chain
        .iter()
        .map(|(ep, status, disposition, class)| AttemptRecord {
            error_class: class.map(str::to_owned),
            ..attempt(ep, *status, disposition)
        })
        .collect();
    r.endpoint = chain.last().map(|(ep, ..)| (*ep).to_owned());
    r
}

pub(crate) async fn failovers_count_moves_between_endpoints(store: Arc<dyn Store>) {
    let limited = Some("429 rate_limit_error");
    store
        .insert_batch(&[
            moved(
                10,
                &[
                    ("a", Some(429), "cooldown", limited),
                    ("b", Some(200), "ok", None),
                ],
            ),
            moved(
                20,
                &[
                    ("a", Some(429), "cooldown", limited),
                    ("b", Some(200), "ok", None),
                ],
            ),
            // Retries on one endpoint are not failovers; the move after them is.
            moved(
                30,
                &[
                    ("a", Some(529), "retry", Some("529 overloaded_error")),
                    ("a", None, "next", Some("timeout")),
                    ("c", Some(200), "ok", None),
                ],
            ),
            moved(40, &[("a", Some(200), "ok", None)]),
            moved(
                50,
                &[
                    ("a", Some(500), "retry", None),
                    ("a", Some(200), "ok", None),
                ],
            ),
            // An old row without a class: its status is the reason.
            moved(
                60,
                &[("b", Some(503), "next", None), ("c", Some(200), "ok", None)],
            ),
        ])
        .await
        .expect("insert");
    let f = store
        .failovers(&Query::default(), 100)
        .await
        .expect("failovers");
    assert_eq!(f.requests_with_failover, 4);
    assert!(!f.truncated);
    assert_eq!(f.covered_from, None);
    let t = |from: &str, to: &str, reason: &str, disposition: &str, count| Transition {
        from: from.into(),
        to: to.into(),
        reason: reason.into(),
        disposition: disposition.into(),
        count,
    };
    assert_eq!(
        f.transitions,
        [
            t("a", "b", "429 rate_limit_error", "cooldown", 2),
            t("a", "c", "timeout", "next", 1),
            t("b", "c", "503", "next", 1),
        ]
    );
    // The filters apply: only the requests that ended on c.
    let to_c = store
        .failovers(
            &Query {
                endpoint: Some("c".into()),
                from: Some(at(25)),
                ..Query::default()
            },
            100,
        )
        .await
        .expect("failovers");
    assert_eq!(to_c.requests_with_failover, 2);
}

pub(crate) async fn failover_scan_stops_at_its_limit(store: Arc<dyn Store>) {
    let records: Vec<_> = (0..5)
        .map(|i| {
            moved(
                i * 10,
                &[("a", Some(529), "next", None), ("b", Some(200), "ok", None)],
            )
        })
        .collect();
    store.insert_batch(&records).await.expect("insert");
    let f = store
        .failovers(&Query::default(), 3)
        .await
        .expect("failovers");
    assert_eq!(f.requests_with_failover, 3);
    assert!(f.truncated);
    // The newest three: 40, 30, 20.
    assert_eq!(f.covered_from, Some(at(20)));
    assert_eq!(f.transitions.iter().map(|t| t.count).sum::<u64>(), 3);
}

pub(crate) async fn keyed_timeseries_sums_per_bucket_and_key(store: Arc<dyn Store>) {
    let mut rows = Vec::new();
    for (secs, ep, read) in [
        (0, "a", 10),
        (60, "b", 20),
        (3600, "a", 30),
        (3660, "a", 40),
    ] {
        let mut r = record(secs);
        r.endpoint = Some(ep.into());
        r.cache_read_input_tokens = read;
        r.input_tokens = 1;
        rows.push(r);
    }
    store.insert_batch(&rows).await.expect("insert");
    // Whole hours (rollups on SQLite) and a partial edge (raw rows).
    for from in [None, Some(at(30))] {
        let q = Query {
            from,
            ..Query::default()
        };
        let got: Vec<(i64, Option<String>, u64, u64)> = store
            .timeseries_by(&q, Bucket::Hour, BreakdownBy::Endpoint)
            .await
            .expect("keyed")
            .into_iter()
            .map(|b| {
                (
                    (b.start - at(0)).num_seconds(),
                    b.key,
                    b.totals.requests,
                    b.totals.cache_read_input_tokens,
                )
            })
            .collect();
        let mut want = vec![
            (0, Some("a".to_owned()), 1, 10),
            (0, Some("b".to_owned()), 1, 20),
            (3600, Some("a".to_owned()), 2, 70),
        ];
        if from.is_some() {
            want.remove(0);
        }
        assert_eq!(got, want, "from {from:?}");
    }
}

pub(crate) async fn quarter_hours_come_from_the_raw_rows(store: Arc<dyn Store>) {
    store
        .insert_batch(&[
            record(0),
            record(14 * 60),
            record(15 * 60),
            record(3600 + 31 * 60),
        ])
        .await
        .expect("insert");
    let got: Vec<(i64, u64)> = store
        .timeseries(&Query::default(), Bucket::QuarterHour)
        .await
        .expect("timeseries")
        .into_iter()
        .map(|b| ((b.start - at(0)).num_minutes(), b.totals.requests))
        .collect();
    assert_eq!(got, [(0, 2), (15, 1), (90, 1)]);
}

pub(crate) async fn recent_attempts_are_the_last_ones(store: Arc<dyn Store>) {
    let mut old = moved(0, &[("a", Some(200), "ok", None)]);
    old.latency_ms = 1;
    let mut r1 = moved(
        100,
        &[("a", Some(529), "next", None), ("b", Some(200), "ok", None)],
    );
    r1.latency_ms = 700;
    let mut r2 = moved(200, &[("a", Some(200), "ok", None)]);
    r2.latency_ms = 300;
    store.insert_batch(&[old, r1, r2]).await.expect("insert");
    let (attempts, more) = store.recent_attempts(at(50), 10).await.expect("recent");
    assert!(!more);
    let got: Vec<(String, &str, u64)> = attempts
        .iter()
        .map(|a| {
            (
                a.endpoint.clone(),
                a.disposition.as_str(),
                a.request_latency_ms,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a".to_owned(), "ok", 300),
            ("a".to_owned(), "next", 700),
            ("b".to_owned(), "ok", 700),
        ]
    );
    let (attempts, more) = store.recent_attempts(at(50), 1).await.expect("recent");
    assert!(more);
    assert_eq!(attempts.len(), 1);
}
