//! SQLite's request-log writer: batches go in through a connection of their own (rusqlite, on a
//! blocking thread) and come out through sqlx. What one writes the other must read back through
//! every query; a batch is all or nothing; a database that refuses writes fails the batch with
//! SQLite's own message.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use switchboard_store::{
    AttemptRecord, BreakdownBy, Bucket, LogRecord, Query, SqliteStore, Store, WriterOptions,
    spawn_writer,
};

use crate::rollups::{STORED, assert_exact, rows, varied};
use crate::support::{attempt, open_sqlite, t0};

/// Record `i` of a batch: spread over a few hours, every optional field both set and unset
/// (empty and non-ASCII text too), zero to three attempts.
fn rich(i: i64) -> LogRecord {
    let mut r = varied(i);
    r.started_at = t0() + chrono::Duration::microseconds(i * 97_000_003);
    r.client_addr = (i % 2 == 0).then(|| format!("10.0.0.{i}:4000"));
    r.user_agent = (i % 3 == 0).then(String::new);
    r.session_id = (i % 5 == 1).then(|| format!("session-ünïcödé-{i}"));
    r.error = (r.status >= 400).then(|| format!("upstream said 'no' ✗ #{i}"));
    r.stop_reason = (i % 2 == 1).then(|| "end_turn".to_owned());
    r.request_bytes = 1000 + i as u64;
    r.response_bytes = u64::MAX - i as u64;
    r.attempts = (0..i % 4)
        .map(|n| AttemptRecord {
            error: (n % 2 == 0).then(|| format!("attempt {n} failed")),
            latency_ms: (n * 10) as u64,
            ..attempt(
                &format!("ep-{n}"),
                (n != 1).then_some(500 + n as u16),
                "next",
            )
        })
        .collect();
    r
}

/// Saturated like every stored counter.
fn stored(mut r: LogRecord) -> LogRecord {
    r.response_bytes = r.response_bytes.min(i64::MAX as u64);
    r
}

#[tokio::test]
async fn a_batch_from_the_writer_reads_back_through_every_query() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open_sqlite(&dir.path().join("log.db")).await);
    // 150 rows: statements of 64, 64, 16, 4, 1 and 1 rows.
    let records: Vec<LogRecord> = (0..150).map(rich).collect();
    let (log, writer) = spawn_writer(store.clone(), 1000, WriterOptions::default());
    for r in &records {
        log.send(r.clone());
    }
    writer.shutdown().await;
    assert_eq!(log.stats().written, 150);
    let records: Vec<LogRecord> = records.into_iter().map(stored).collect();

    for r in &records {
        assert_eq!(store.get(r.id).await.expect("get").as_ref(), Some(r));
    }
    // Every page, newest first, with attempts in order.
    let mut listed = Vec::new();
    let mut query = Query {
        limit: Some(40),
        ..Query::default()
    };
    loop {
        let page = store.list(&query).await.expect("list");
        listed.extend(page.records);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    let mut newest_first = records.clone();
    newest_first.sort_by_key(|r| std::cmp::Reverse((r.started_at, r.id)));
    assert_eq!(listed, newest_first);

    let stats = store.stats(&Query::default()).await.expect("stats");
    let t = &stats.totals;
    assert_eq!(t.requests, 150);
    assert_eq!(
        t.ok,
        records.iter().filter(|r| r.outcome == "ok").count() as u64
    );
    assert_eq!(
        t.input_tokens,
        records.iter().map(|r| r.input_tokens).sum::<u64>()
    );
    assert_eq!(
        t.unknown_cost_requests,
        records.iter().filter(|r| r.cost_usd.is_none()).count() as u64
    );
    let hours = store
        .timeseries(&Query::default(), Bucket::Hour)
        .await
        .expect("timeseries");
    assert!(hours.len() > 1, "{hours:?}");
    assert_eq!(hours.iter().map(|b| b.totals.requests).sum::<u64>(), 150);
    let mut by_endpoint: BTreeMap<Option<String>, u64> = BTreeMap::new();
    for r in &records {
        *by_endpoint.entry(r.endpoint.clone()).or_default() += r.output_tokens;
    }
    let breakdown = store
        .breakdown(&Query::default(), BreakdownBy::Endpoint)
        .await
        .expect("breakdown");
    let got: BTreeMap<Option<String>, u64> = breakdown
        .iter()
        .map(|b| (b.key.clone(), b.totals.output_tokens))
        .collect();
    assert_eq!(got, by_endpoint);
    let search = Query {
        search: Some("said 'no'".into()),
        ..Query::default()
    };
    assert_eq!(
        store.stats(&search).await.expect("search").totals.requests,
        records.iter().filter(|r| r.error.is_some()).count() as u64
    );
    assert_exact(&store, "after the writer's batch").await;

    // Stored as sqlx stores them: 16-byte blob ids, integer times and flags, real costs.
    let with_cost = records
        .iter()
        .find(|r| r.cost_usd.is_some())
        .expect("a record with a cost");
    let types: (String, i64, String, String, String, String, String) = sqlx::query_as(
        "SELECT typeof(r.id), length(r.id), typeof(r.started_at), typeof(r.stream), \
         typeof(r.status), typeof(r.cost_usd), typeof(a.request_id) \
         FROM requests r JOIN attempts a ON a.request_id = r.id WHERE r.id = ?",
    )
    .bind(with_cost.id)
    .fetch_one(store.pool())
    .await
    .expect("column types");
    assert_eq!(
        types,
        (
            "blob".into(),
            16,
            "integer".into(),
            "integer".into(),
            "integer".into(),
            "real".into(),
            "blob".into()
        )
    );
}

#[tokio::test]
async fn a_failed_batch_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_sqlite(&dir.path().join("log.db")).await;
    let first: Vec<LogRecord> = (0..20).map(rich).collect();
    store.insert_batch(&first).await.expect("insert");
    let rollups = rows(&store, STORED).await;

    // The batch's last attempt is refused, after its rows were upserted and the replaced rows'
    // attempts deleted.
    sqlx::query(
        "CREATE TRIGGER poison BEFORE INSERT ON attempts WHEN NEW.endpoint = 'poison' \
         BEGIN SELECT RAISE(ABORT, 'poisoned attempt'); END",
    )
    .execute(store.pool())
    .await
    .expect("create trigger");
    let mut batch: Vec<LogRecord> = first
        .iter()
        .step_by(3)
        .map(|r| {
            let mut r = r.clone();
            r.outcome = "partial".parse().expect("outcome");
            r.status = 502;
            r.attempts = vec![attempt("other", Some(502), "returned")];
            r
        })
        .collect();
    batch.extend((100..170).map(rich));
    if let Some(last) = batch.last_mut() {
        last.attempts.push(attempt("poison", None, "next"));
    }
    let error = store
        .insert_batch(&batch)
        .await
        .expect_err("the poisoned batch fails")
        .to_string();
    assert!(error.contains("poisoned attempt"), "{error}");
    assert!(error.contains("(code: "), "{error}");

    assert_eq!(store.count().await.expect("count"), 20);
    for r in &first {
        assert_eq!(store.get(r.id).await.expect("get"), Some(stored(r.clone())));
    }
    assert_eq!(rows(&store, STORED).await, rollups);
    assert_exact(&store, "after the failed batch").await;

    // The writer connection is fit for the next batch.
    sqlx::query("DROP TRIGGER poison")
        .execute(store.pool())
        .await
        .expect("drop trigger");
    if let Some(last) = batch.last_mut() {
        last.attempts.pop();
    }
    store.insert_batch(&batch).await.expect("insert again");
    assert_eq!(store.count().await.expect("count"), 90);
    for r in &batch {
        assert_eq!(store.get(r.id).await.expect("get"), Some(stored(r.clone())));
    }
    assert_exact(&store, "after the batch went in").await;
}

#[tokio::test]
async fn a_locked_database_fails_the_batch_until_the_lock_goes() {
    use sqlx::Connection as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("log.db");
    let store = SqliteStore::open_with_busy_timeout(&path, Duration::from_millis(50))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    let mut lock = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
    )
    .await
    .expect("second connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .expect("take the write lock");
    let batch: Vec<LogRecord> = (0..5).map(rich).collect();
    let error = store
        .insert_batch(&batch)
        .await
        .expect_err("locked out")
        .to_string();
    assert!(error.contains("(code: 5) database is locked"), "{error}");
    sqlx::query("ROLLBACK")
        .execute(&mut lock)
        .await
        .expect("release the lock");
    store.insert_batch(&batch).await.expect("insert");
    assert_eq!(store.count().await.expect("count"), 5);
}

#[tokio::test]
async fn a_read_only_store_refuses_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("log.db");
    drop(open_sqlite(&path).await);
    let store = SqliteStore::open_read_only(&path).await.expect("open");
    let error = store
        .insert_batch(&[rich(1)])
        .await
        .expect_err("read-only")
        .to_string();
    assert!(error.contains("readonly"), "{error}");
    assert_eq!(store.count().await.expect("count"), 0);
}

#[tokio::test]
async fn concurrent_batches_take_turns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open_sqlite(&dir.path().join("log.db")).await);
    let tasks: Vec<_> = (0..4_i64)
        .map(|t| {
            let store = store.clone();
            let batch: Arc<[LogRecord]> = (0..50).map(|i| rich(t * 50 + i)).collect();
            tokio::spawn(async move { store.insert_batch_shared(batch).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("insert");
    }
    assert_eq!(store.count().await.expect("count"), 200);
    assert_exact(&store, "after concurrent batches").await;
}
