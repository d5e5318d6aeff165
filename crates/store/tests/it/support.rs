//! Fresh stores for each test, and record builders.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use switchboard_store::{AttemptRecord, LogRecord, SqliteStore, Store};
use uuid::Uuid;

/// A fixed instant the suite's records are placed around (2025-01-15 10:00:00 UTC).
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 15, 10, 0, 0)
        .single()
        .expect("valid date")
}

/// `t0 + secs` seconds.
pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

/// A completed, successful request at `t0 + secs`, with a random v4 id (ids must be unique, and
/// tests that care about order among equal timestamps sort by id themselves).
pub(crate) fn record(secs: i64) -> LogRecord {
    let mut r = LogRecord::new("POST", "/v1/messages", "anthropic");
    r.id = Uuid::new_v4();
    r.started_at = at(secs);
    r.requested_model = Some("claude-sonnet".into());
    r.routed_model = Some("claude-sonnet".into());
    r.endpoint = Some("primary".into());
    r.status = 200;
    r.outcome = "ok".parse().expect("outcome");
    r.latency_ms = 100;
    r.attempts = vec![attempt("primary", Some(200), "ok")];
    r
}

pub(crate) fn attempt(endpoint: &str, status: Option<u16>, disposition: &str) -> AttemptRecord {
    AttemptRecord {
        endpoint: endpoint.into(),
        model: Some("claude-sonnet".into()),
        status,
        latency_ms: 42,
        error: None,
        disposition: disposition.parse().expect("disposition"),
        offset_ms: None,
        first_byte_ms: None,
        stream_ms: None,
        error_class: None,
    }
}

/// A SQLite store at `path`, opened and migrated.
pub(crate) async fn open_sqlite(path: &Path) -> SqliteStore {
    let store = SqliteStore::open(path).await.expect("open");
    store.migrate().await.expect("migrate");
    store
}

/// Runs `case` against a migrated SQLite store in a fresh temporary directory.
pub(crate) async fn with_sqlite<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let store = switchboard_store::open(None, dir.path())
        .await
        .expect("open sqlite store");
    case(store).await;
}

/// Runs `case` against a migrated Postgres store in a schema of its own, dropped afterwards
/// (also when the case panics). Skips, or fails under `SWITCHBOARD_REQUIRE_POSTGRES=1`, when
/// the server cannot be reached.
pub(crate) async fn with_postgres<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_postgres_store(|store| case(Arc::new(store))).await;
}

/// [`with_postgres`] with the store itself, for cases that reach its pool.
pub(crate) async fn with_postgres_store<F, Fut>(case: F)
where
    F: FnOnce(switchboard_store::PostgresStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    use sqlx::Connection as _;
    use sqlx::postgres::{PgConnectOptions, PgConnection};

    let url = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let required = std::env::var("SWITCHBOARD_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let options: PgConnectOptions = url.parse().expect("SWITCHBOARD_TEST_POSTGRES_URL parses");
    let connect = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        PgConnection::connect_with(&options),
    )
    .await;
    let mut admin = match connect {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return skip_or_fail(required, &e.to_string()),
        Err(_) => return skip_or_fail(required, "connect timed out"),
    };

    let schema = format!("sb_test_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create test schema");
    let store = switchboard_store::PostgresStore::connect_with(
        options.options([("search_path", schema.as_str())]),
    )
    .await
    .expect("connect postgres store");
    store.migrate().await.expect("migrate postgres store");
    // Run the case as its own task so a failing assertion still lets us drop the schema.
    let result = tokio::spawn(case(store)).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .expect("drop test schema");
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn skip_or_fail(required: bool, why: &str) {
    assert!(
        !required,
        "SWITCHBOARD_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {why}"
    );
    eprintln!(
        "SKIPPED: PostgreSQL is unreachable ({why}); set SWITCHBOARD_TEST_POSTGRES_URL, or \
         SWITCHBOARD_REQUIRE_POSTGRES=1 to make this a failure"
    );
}
