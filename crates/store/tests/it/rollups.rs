//! SQLite's hourly rollups stay equal to the rows they sum: new rows are added by the writer a
//! group at a time, replaced and deleted rows move through triggers. After every kind of change
//! the rollup table must match one recomputed from `requests`.

use std::sync::Arc;

use switchboard_core::Outcome;
use switchboard_store::{LogRecord, SqliteStore, Store};
use uuid::Uuid;

use crate::support::{at, open_sqlite, record};

/// `request_rollups` as stored, and as migration 0002 would compute it from `requests` now.
pub(crate) const STORED: &str = "SELECT hour, requested_model, routed_model, endpoint, client_key, status, \
     outcome, stream, requests, ok, input_tokens, output_tokens, cache_creation_input_tokens, \
     cache_read_input_tokens, cost_usd, unknown_cost_requests, ttfb_requests \
     FROM request_rollups ORDER BY 1, 2, 3, 4, 5, 6, 7, 8";
const RECOMPUTED: &str = "SELECT started_at / 3600000000 * 3600000000, \
     COALESCE(requested_model, ''), COALESCE(routed_model, ''), COALESCE(endpoint, ''), \
     COALESCE(client_key, ''), status, outcome, stream, COUNT(*), SUM(outcome = 'ok'), \
     SUM(input_tokens), SUM(output_tokens), SUM(cache_creation_input_tokens), \
     SUM(cache_read_input_tokens), TOTAL(cost_usd), COUNT(*) - COUNT(cost_usd), COUNT(ttfb_ms) \
     FROM requests GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8";

pub(crate) type Row = (
    (i64, String, String, String, String, i64, String, bool),
    [i64; 6],
    f64,
    [i64; 2],
);

pub(crate) async fn rows(store: &SqliteStore, sql: &str) -> Vec<Row> {
    use sqlx::Row as _;
    sqlx::query(sql)
        .fetch_all(store.pool())
        .await
        .expect("query rollups")
        .iter()
        .map(|r| {
            let i = |n: usize| r.try_get::<i64, _>(n).expect("integer column");
            let s = |n: usize| r.try_get::<String, _>(n).expect("text column");
            (
                (i(0), s(1), s(2), s(3), s(4), i(5), s(6), i(7) != 0),
                [i(8), i(9), i(10), i(11), i(12), i(13)],
                r.try_get::<f64, _>(14).expect("cost"),
                [i(15), i(16)],
            )
        })
        .collect()
}

pub(crate) async fn assert_exact(store: &SqliteStore, step: &str) {
    let stored = rows(store, STORED).await;
    let recomputed = rows(store, RECOMPUTED).await;
    assert_eq!(stored.len(), recomputed.len(), "{step}: groups differ");
    for (s, r) in stored.iter().zip(&recomputed) {
        assert_eq!((&s.0, s.1, s.3), (&r.0, r.1, r.3), "{step}");
        assert!((s.2 - r.2).abs() < 1e-9, "{step}: cost {} vs {}", s.2, r.2);
    }
}

/// Varied over every rollup key column and every summed one, across three hours.
pub(crate) fn varied(i: i64) -> LogRecord {
    let mut r = record(i * 400);
    r.id = Uuid::now_v7();
    r.requested_model = ["claude-sonnet", "claude-haiku"][(i % 2) as usize]
        .to_owned()
        .into();
    r.routed_model = (i % 5 != 0).then(|| "routed".to_owned());
    r.endpoint = (i % 7 != 0).then(|| format!("ep-{}", i % 3));
    r.client_key = (i % 4 == 0).then(|| "alice".to_owned());
    (r.status, r.outcome) = match i % 5 {
        1 => (429, Outcome::UpstreamError),
        2 => (400, Outcome::ClientError),
        _ => (200, Outcome::Ok),
    };
    r.stream = i % 3 == 0;
    r.input_tokens = 10 * i as u64;
    r.output_tokens = 3 * i as u64;
    r.cache_creation_input_tokens = (i % 2) as u64 * 100;
    r.cache_read_input_tokens = (i % 3) as u64 * 50;
    r.cost_usd = (i % 6 != 0).then_some(0.001 * i as f64);
    r.ttfb_ms = (i % 4 != 1).then_some(i as u64);
    r
}

#[tokio::test]
async fn rollups_equal_the_rows_after_inserts_replacements_and_deletes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_sqlite(&dir.path().join("log.db")).await;
    let first: Vec<LogRecord> = (0..30).map(varied).collect();
    store.insert_batch(&first).await.expect("insert");
    assert_exact(&store, "new rows").await;

    // Replacements (moving between groups) mixed with new rows and a duplicate in one batch.
    let mut batch: Vec<LogRecord> = first
        .iter()
        .step_by(4)
        .map(|r| {
            let mut r = r.clone();
            r.outcome = "partial".parse().expect("outcome");
            r.status = 502;
            r.output_tokens += 7;
            r.cost_usd = None;
            r
        })
        .collect();
    batch.extend((30..40).map(varied));
    let mut twice = varied(40);
    batch.push(twice.clone());
    twice.input_tokens = 999;
    batch.push(twice);
    store.insert_batch(&batch).await.expect("insert mixed");
    assert_exact(&store, "replacements and new rows").await;
    assert_eq!(store.count().await.expect("count"), 41);

    let store: Arc<dyn Store> = Arc::new(store);
    let deleted = store.delete_older_than(at(4_000)).await.expect("retention");
    assert!(deleted > 0);
    let sqlite = SqliteStore::open(&dir.path().join("log.db"))
        .await
        .expect("reopen");
    assert_exact(&sqlite, "after retention").await;
}
