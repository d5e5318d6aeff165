//! Read-path timings on a large SQLite log. Ignored by default; run with
//! `cargo test -p switchboard-store --test it -- --ignored --nocapture bench`.
//!
//! `SWITCHBOARD_BENCH_ROWS` (default 1,000,000) sets the size; `SWITCHBOARD_BENCH_DIR` keeps the
//! database between runs (it is generated only when its row count differs).

use std::sync::Arc;

use chrono::{Duration, Utc};
use switchboard_store::{BreakdownBy, Bucket, Query, SqliteStore, StatusClass, Store};
use tokio::time::Instant;

/// Fills `requests` (and one attempt per request) with `rows` synthetic requests spread over the
/// last 30 days, in SQL: going through `insert_batch` would time the writer, not the reads.
async fn generate(store: &SqliteStore, rows: i64) {
    let span = 30 * 86_400 * 1_000_000_i64;
    let start = (Utc::now() - Duration::days(30)).timestamp_micros();
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1 - 1)
         INSERT INTO requests SELECT
           randomblob(16), ?2 + n * (?3 / ?1), '127.0.0.1:5000', 'key-' || (n % 10),
           'claude-cli/1.0', NULL, 'POST', '/v1/messages', 'anthropic',
           'model-' || (n % 5), CASE WHEN n % 7 = 0 THEN 'fallback' ELSE 'model-' || (n % 5) END,
           'endpoint-' || (n % 3), n % 2,
           CASE WHEN n % 50 = 0 THEN 529 WHEN n % 97 = 0 THEN 400 ELSE 200 END,
           CASE WHEN n % 50 = 0 THEN 'exhausted' WHEN n % 97 = 0 THEN 'client_error' ELSE 'ok' END,
           CASE WHEN n % 50 = 0 THEN 'upstream overloaded (529)' END, 'end_turn',
           CASE WHEN n % 2 = 0 THEN abs(random()) % 3000 END, 200 + abs(random()) % 60000,
           abs(random()) % 50000, abs(random()) % 4000, abs(random()) % 1000,
           abs(random()) % 100000,
           CASE WHEN n % 13 = 0 THEN NULL ELSE (abs(random()) % 10000) / 100000.0 END,
           1000, 5000
         FROM seq",
    )
    .bind(rows)
    .bind(start)
    .bind(span)
    .execute(store.pool())
    .await
    .expect("generate requests");
    sqlx::query(
        "INSERT INTO attempts SELECT id, 0, endpoint, routed_model, status, latency_ms, error, 'ok'
         FROM requests",
    )
    .execute(store.pool())
    .await
    .expect("generate attempts");
}

async fn time<T, F: std::future::Future<Output = T>>(label: &str, f: impl Fn() -> F) {
    let mut best = std::time::Duration::MAX;
    let mut first = None;
    for _ in 0..3 {
        let t = Instant::now();
        f().await;
        let took = t.elapsed();
        first.get_or_insert(took);
        best = best.min(took);
    }
    eprintln!(
        "{label:<44} first {:>8.1} ms   best {:>8.1} ms",
        first.unwrap_or_default().as_secs_f64() * 1e3,
        best.as_secs_f64() * 1e3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: generates a large database"]
async fn bench_read_path_on_a_large_log() {
    let rows: i64 = std::env::var("SWITCHBOARD_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var("SWITCHBOARD_BENCH_DIR")
        .map_or_else(|_| tmp.path().to_owned(), std::path::PathBuf::from);
    let store = SqliteStore::open(&dir.join("bench.db"))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    if store.count().await.expect("count") != u64::try_from(rows).expect("positive") {
        sqlx::query("DELETE FROM requests")
            .execute(store.pool())
            .await
            .expect("clear");
        sqlx::query("DELETE FROM attempts")
            .execute(store.pool())
            .await
            .expect("clear");
        let t = Instant::now();
        generate(&store, rows).await;
        eprintln!(
            "generated {rows} rows in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let store: Arc<dyn Store> = Arc::new(store);
    let now = Utc::now();
    let all = Query::default();
    let day = Query {
        from: Some(now - Duration::days(1)),
        ..Query::default()
    };
    let week = Query {
        from: Some(now - Duration::days(7)),
        ..Query::default()
    };
    let model = Query {
        model: Some("model-3".into()),
        ..Query::default()
    };
    let errors = Query {
        status_class: Some(StatusClass::ServerError),
        ..Query::default()
    };
    let key_day = Query {
        client_key: Some("key-4".into()),
        ..day.clone()
    };
    let search = Query {
        search: Some("overloaded".into()),
        ..Query::default()
    };
    let cases: [(&str, &Query); 7] = [
        ("all", &all),
        ("last 24h", &day),
        ("last 7d", &week),
        ("model", &model),
        ("5xx", &errors),
        ("client key, 24h", &key_day),
        ("search", &search),
    ];
    for (name, q) in cases {
        time(&format!("stats + first page: {name}"), || async {
            store.stats(q).await.expect("stats");
            store.list(q).await.expect("list");
        })
        .await;
        time(&format!("  stats: {name}"), || async {
            store.stats(q).await.expect("stats")
        })
        .await;
        time(&format!("  list: {name}"), || async {
            store.list(q).await.expect("list")
        })
        .await;
    }
    time("timeseries hour, 7d", || async {
        store.timeseries(&week, Bucket::Hour).await.expect("ts")
    })
    .await;
    time("timeseries day, all", || async {
        store.timeseries(&all, Bucket::Day).await.expect("ts")
    })
    .await;
    time("breakdown model, 24h", || async {
        store.breakdown(&day, BreakdownBy::Model).await.expect("bd")
    })
    .await;
    time("breakdown client key, all", || async {
        store
            .breakdown(&all, BreakdownBy::ClientKey)
            .await
            .expect("bd")
    })
    .await;
    time("count", || async { store.count().await.expect("count") }).await;
}
