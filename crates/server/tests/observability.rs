//! Observability end to end: cost per request, `/metrics` after proxied requests, audit capture
//! with secrets masked across a failover chain, retention and the audit size cap, the request log
//! file, lost log records showing in `/metrics`, and the database locked or stalled while
//! serving.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use switchboard_gateway::{AppState, maintenance};
use switchboard_store::{AuditBundle, AuditEntry, AuditKind, LogRecord, Store, WriterOptions};
use switchboard_test_support::sse;
use switchboard_test_support::{MockUpstream, Reply, TestGateway};
use tokio_util::sync::CancellationToken;

const CLIENT_KEY: &str = "sk-client-key-0123456789abcdef";
const UPSTREAM_KEY: &str = "sk-ant-upstream-SECRET-0123456789abcdef";
const COOKIE: &str = "session=cookie-SECRET-0123456789";

/// Sonnet 4.5 with 10 input, 42 output, 3,068 cache-write and 6,289 cache-read tokens:
/// 10 × 3 + 42 × 15 + 3,068 × 3.75 + 6,289 × 0.30 = 14,051.7 µ$.
const SONNET_COST: f64 = 0.014_051_7;

fn message(model: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

fn sonnet_stream() -> Reply {
    Reply::sse(sse::anthropic_text_with_cache(
        "claude-sonnet-4-5",
        &["Hello", " world"],
        10,
        42,
        3068,
        6289,
    ))
}

/// The value of the sample named exactly `series` (name and labels).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    })
}

async fn metrics(gw: &TestGateway) -> String {
    let resp = gw.admin_get("/metrics").send().await.expect("metrics");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4")
    );
    resp.text().await.expect("metrics body")
}

/// Anthropic splits cache writes by TTL in `usage.cache_creation`; 1-hour writes cost more.
/// Sonnet 4.5, non-streaming, 10 input, 42 output, 3,068 writes (3,000 of them for 1 h),
/// 6,289 reads: 10 × 3 + 42 × 15 + 68 × 3.75 + 3,000 × 6 + 6,289 × 0.30 = 20,801.7 µ$.
#[tokio::test]
async fn one_hour_cache_writes_are_priced_at_their_own_rate() {
    let mut body: Value =
        serde_json::from_str(&sse::anthropic_message("claude-sonnet-4-5", "hi", 10, 42))
            .expect("json");
    body["usage"]["cache_creation_input_tokens"] = json!(3068);
    body["usage"]["cache_read_input_tokens"] = json!(6289);
    body["usage"]["cache_creation"] =
        json!({"ephemeral_5m_input_tokens": 68, "ephemeral_1h_input_tokens": 3000});
    let up = MockUpstream::start(Reply::json(200, body.to_string())).await;
    let gw = TestGateway::builder()
        .endpoint("primary", "anthropic", &up.url(), "")
        .start()
        .await;
    let resp = gw
        .post("/v1/messages", &message("claude-sonnet-4-5", false))
        .await;
    assert_eq!(resp.status(), 200);
    let got: Value = resp.json().await.expect("json");
    assert_eq!(
        got["usage"]["cache_creation"]["ephemeral_1h_input_tokens"], 3000,
        "the client sees the upstream's usage unchanged"
    );
    let rows = gw.wait_for_logs(1).await;
    assert_eq!(rows[0].cache_creation_input_tokens, 3068);
    let cost = rows[0].cost_usd.expect("sonnet has a price");
    assert!((cost - 0.020_801_7).abs() < 1e-12, "{cost}");
}

#[tokio::test]
async fn requests_are_priced_and_counted_in_metrics() {
    let up = MockUpstream::start(sonnet_stream()).await;
    up.push(sonnet_stream());
    up.push(Reply::json(
        200,
        sse::anthropic_message("my-local-model", "hi", 7, 3),
    ));
    let gw = TestGateway::builder()
        .endpoint("primary", "anthropic", &up.url(), "")
        .start()
        .await;
    let body = gw
        .post("/v1/messages", &message("claude-sonnet-4-5", true))
        .await
        .text()
        .await
        .expect("body");
    assert!(body.contains("message_stop"), "{body}");
    let resp = gw
        .post("/v1/messages", &message("my-local-model", false))
        .await;
    assert_eq!(resp.status(), 200);
    let _ = resp.text().await;

    let rows = gw.wait_for_logs(2).await;
    let by_model = |m: &str| {
        rows.iter()
            .find(|r| r.requested_model.as_deref() == Some(m))
            .expect("row")
    };
    let priced = by_model("claude-sonnet-4-5");
    let cost = priced.cost_usd.expect("sonnet has a price");
    assert!((cost - SONNET_COST).abs() < 1e-12, "{cost}");
    assert_eq!(
        by_model("my-local-model").cost_usd,
        None,
        "unknown, not zero"
    );

    let m = metrics(&gw).await;
    let ok = r#"switchboard_requests_total{endpoint="primary",model="claude-sonnet-4-5",status_class="2xx",outcome="ok"}"#;
    assert_eq!(sample(&m, ok), Some(1.0), "{m}");
    let tokens = |kind: &str| {
        sample(
            &m,
            &format!(
                r#"switchboard_tokens_total{{endpoint="primary",model="claude-sonnet-4-5",kind="{kind}"}}"#
            ),
        )
    };
    assert_eq!(tokens("input"), Some(10.0));
    assert_eq!(tokens("output"), Some(42.0));
    assert_eq!(tokens("cache_creation"), Some(3068.0));
    assert_eq!(tokens("cache_read"), Some(6289.0));
    let total = sample(
        &m,
        r#"switchboard_cost_usd_total{endpoint="primary",model="claude-sonnet-4-5"}"#,
    )
    .expect("cost sample");
    assert!((total - SONNET_COST).abs() < 1e-12, "{total}");
    assert_eq!(
        sample(
            &m,
            r#"switchboard_unpriced_requests_total{endpoint="primary",model="other"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &m,
            r#"switchboard_cost_usd_total{endpoint="primary",model="other"}"#
        ),
        None,
        "no cost series for a model never priced"
    );
    assert_eq!(
        sample(
            &m,
            r#"switchboard_unpriced_requests_total{endpoint="primary",model="claude-sonnet-4-5"}"#
        ),
        None
    );
    assert_eq!(
        sample(
            &m,
            r#"switchboard_request_duration_seconds_count{endpoint="primary"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &m,
            r#"switchboard_request_duration_seconds_bucket{endpoint="primary",le="+Inf"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&m, r#"switchboard_ttfb_seconds_count{endpoint="primary"}"#),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &m,
            r#"switchboard_upstream_attempts_total{endpoint="primary",disposition="ok"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&m, r#"switchboard_endpoint_healthy{endpoint="primary"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&m, "switchboard_log_records_dropped_total"),
        Some(0.0)
    );
    assert!(sample(&m, "switchboard_in_flight_requests").is_some());
    assert!(sample(&m, "switchboard_runtime_alive_tasks").is_some_and(|n| n >= 1.0));
    assert_eq!(sample(&m, "switchboard_log_write_retries_total"), Some(0.0));
    assert!(sample(&m, "switchboard_log_records_written_total").is_some());
}

fn everything_stored(entries: &[AuditEntry]) -> String {
    let mut all = String::new();
    for e in entries {
        all.push_str(&format!("{e:?}"));
        all.push_str(&String::from_utf8_lossy(&e.body_bytes()));
    }
    all
}

#[tokio::test]
async fn audit_captures_every_attempt_and_the_stream_with_secrets_masked() {
    let failing = MockUpstream::start(Reply::error(529, "overloaded_error", "busy")).await;
    let good = MockUpstream::start(sonnet_stream()).await;
    let gw = TestGateway::builder()
        .routing("max_retries = 0\nfailure_cooldown = \"0s\"\n")
        .endpoint(
            "first",
            "anthropic",
            &failing.url(),
            &format!("api_key = \"{UPSTREAM_KEY}\""),
        )
        .endpoint("second", "anthropic", &good.url(), "")
        .start()
        .await;
    let resp = gw
        .http
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", CLIENT_KEY)
        .header("cookie", COOKIE)
        .header("anthropic-version", "2023-06-01")
        .json(&message("claude-sonnet-4-5", true))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.expect("body");
    assert!(body.contains("Hello"), "{body}");
    let row = gw.wait_for_logs(1).await.remove(0);
    assert_eq!(row.attempts.len(), 2, "{:?}", row.attempts);
    // Keep `stopped` alive: it owns the data directory.
    let stopped = gw.shutdown().await;
    let store = &stopped.store;

    let entries = store.get_audit(row.id).await.expect("audit");
    let kinds: Vec<AuditKind> = entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            AuditKind::ClientRequest,
            AuditKind::UpstreamRequest,
            AuditKind::UpstreamResponse,
            AuditKind::UpstreamRequest,
            AuditKind::UpstreamResponse,
            AuditKind::ClientResponse,
        ]
    );
    let header = |e: &AuditEntry, n: &str| {
        e.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    let client = &entries[0];
    assert_eq!(client.method.as_deref(), Some("POST"));
    assert_eq!(client.url.as_deref(), Some("/v1/messages"));
    assert_eq!(
        header(client, "x-api-key").as_deref(),
        Some("sk-client-…cdef")
    );
    assert_eq!(header(client, "cookie").as_deref(), Some("session=co…6789"));
    let sent: Value = serde_json::from_slice(&client.body_bytes()).expect("json");
    assert_eq!(sent["model"], "claude-sonnet-4-5");

    // Attempt 0: the endpoint's own key (masked), and its 529.
    let (req0, resp0) = (&entries[1], &entries[2]);
    assert_eq!(
        (req0.attempt, req0.endpoint.as_deref()),
        (Some(0), Some("first"))
    );
    assert_eq!(
        req0.url.as_deref(),
        Some(format!("{}/v1/messages", failing.url()).as_str())
    );
    assert_eq!(
        header(req0, "x-api-key").as_deref(),
        Some("sk-ant-ups…cdef")
    );
    assert_eq!((resp0.attempt, resp0.status), (Some(0), Some(529)));
    assert!(String::from_utf8_lossy(&resp0.body_bytes()).contains("overloaded_error"));

    // Attempt 1: the client's key passed through (masked); the stream, chunk by chunk, in time.
    let (req1, resp1) = (&entries[3], &entries[4]);
    assert_eq!(
        (req1.attempt, req1.endpoint.as_deref()),
        (Some(1), Some("second"))
    );
    assert_eq!(
        header(req1, "x-api-key").as_deref(),
        Some("sk-client-…cdef")
    );
    assert_eq!(resp1.status, Some(200));
    assert!(resp1.body.len() > 1);
    assert_eq!(resp1.offsets_ms.len(), resp1.body.len());
    assert!(resp1.offsets_ms.windows(2).all(|w| w[0] <= w[1]));
    let upstream_text = String::from_utf8_lossy(&resp1.body_bytes()).into_owned();
    assert!(
        upstream_text.starts_with("event: message_start"),
        "{upstream_text}"
    );
    assert!(upstream_text.contains("message_stop"));

    // What the client got, as sent.
    let out = &entries[5];
    assert_eq!(out.status, Some(200));
    assert_eq!(out.offsets_ms.len(), out.body.len());
    assert_eq!(String::from_utf8_lossy(&out.body_bytes()), body);

    let all = everything_stored(&entries);
    for secret in [CLIENT_KEY, UPSTREAM_KEY, COOKIE, "SECRET-0123456789"] {
        assert!(!all.contains(secret), "{secret} is stored in the audit log");
    }
}

#[tokio::test]
async fn audit_off_stores_no_bodies() {
    let up = MockUpstream::start(sonnet_stream()).await;
    let gw = TestGateway::builder()
        .endpoint("primary", "anthropic", &up.url(), "")
        .extra("[audit]\nenabled = false\n")
        .start()
        .await;
    let _ = gw
        .post("/v1/messages", &message("claude-sonnet-4-5", true))
        .await
        .text()
        .await;
    let row = gw.wait_for_logs(1).await.remove(0);
    // Keep `stopped` alive: it owns the data directory.
    let stopped = gw.shutdown().await;
    let store = &stopped.store;
    assert!(store.get_audit(row.id).await.expect("audit").is_empty());
    assert_eq!(store.audit_size().await.expect("size"), 0);
}

/// Bytes that don't compress.
fn noise(seed: u64, len: usize) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect::<Vec<u8>>()
        .into()
}

async fn logged_with_audit(store: &dyn Store, hours_ago: i64, seed: u64) -> LogRecord {
    let mut r = LogRecord::new("POST", "/v1/messages", "anthropic");
    r.started_at = chrono::Utc::now() - chrono::Duration::hours(hours_ago);
    r.status = 200;
    r.outcome = "ok".parse().expect("outcome");
    store.insert_batch(&[r.clone()]).await.expect("insert");
    let mut e = AuditEntry::new(AuditKind::ClientRequest);
    e.body = vec![noise(seed, 20_000)];
    store
        .insert_audit(&[AuditBundle {
            request_id: r.id,
            created_at: r.started_at,
            entries: vec![e],
        }])
        .await
        .expect("insert audit");
    r
}

#[tokio::test]
async fn retention_deletes_old_requests_and_audit_and_enforces_the_size_cap() {
    let gw = TestGateway::builder()
        .endpoint("primary", "anthropic", "http://127.0.0.1:9", "")
        .extra("[storage]\nretention = \"1d\"\n[audit]\nretention = \"2d\"\nmax_bytes = 30000\n")
        .start()
        .await;
    let store = gw.store.clone();
    let old = logged_with_audit(store.as_ref(), 72, 1).await;
    let yesterday = logged_with_audit(store.as_ref(), 36, 2).await;
    let recent: Vec<LogRecord> = [(3, 3), (2, 4), (1, 5)]
        .iter()
        .map(|&(h, seed)| logged_with_audit(store.as_ref(), h, seed))
        .collect::<futures::future::JoinAll<_>>()
        .await;

    let report = maintenance::run_once(&gw.state, store.as_ref())
        .await
        .expect("maintenance");
    assert_eq!(report.requests_deleted, 2, "{report:?}");
    // The day-old request's audit goes with it, though audit alone would keep it for 2 days.
    assert_eq!(report.audit_entries_deleted, 2, "{report:?}");
    assert!(report.audit_bytes <= 30_000, "{report:?}");
    assert!(report.audit_bytes_freed >= 2 * 20_000, "{report:?}");
    for gone in [&old, &yesterday] {
        assert!(store.get(gone.id).await.expect("get").is_none());
        assert!(store.get_audit(gone.id).await.expect("audit").is_empty());
    }
    // Size cap: only the newest request's audit fits; its rows all stay.
    let kept: Vec<bool> = futures::future::join_all(
        recent
            .iter()
            .map(|r| async { !store.get_audit(r.id).await.expect("audit").is_empty() }),
    )
    .await;
    assert_eq!(kept, [false, false, true]);
    for r in &recent {
        assert!(store.get(r.id).await.expect("get").is_some());
    }
    let m = metrics(&gw).await;
    assert_eq!(
        sample(&m, "switchboard_audit_stored_bytes"),
        Some(report.audit_bytes as f64)
    );
}

#[tokio::test]
async fn log_file_gets_one_line_per_request() {
    let up = MockUpstream::start(sonnet_stream()).await;
    let gw = TestGateway::builder()
        .endpoint("primary", "anthropic", &up.url(), "")
        .extra("[log_file]\nenabled = true\n")
        .start()
        .await;
    let stop = CancellationToken::new();
    let jobs = maintenance::spawn(gw.state.clone(), gw.store.clone(), stop.clone());
    let _ = gw
        .post("/v1/messages", &message("claude-sonnet-4-5", true))
        .await
        .text()
        .await;
    let row = gw.wait_for_logs(1).await.remove(0);
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), jobs)
        .await
        .expect("jobs stop")
        .expect("jobs");
    let path = gw.state.data_dir().join("logs").join(format!(
        "switchboard-{}.log",
        row.started_at.format("%Y-%m-%d")
    ));
    let text = std::fs::read_to_string(&path).expect("log file");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line = lines[0];
    assert!(line.contains(&row.id.to_string()), "{line}");
    assert!(
        line.contains(
            "POST /v1/messages 200 ok primary claude-sonnet-4-5→claude-sonnet-4-5 \
             in=10 out=42 cw=3068 cr=6289 cost=$0.014052"
        ),
        "{line}"
    );
    assert!(line.ends_with("ms"), "{line}");
}

#[tokio::test]
async fn lost_log_records_show_in_metrics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = switchboard_store::open(None, dir.path())
        .await
        .expect("store");
    let (log, writer) = switchboard_store::spawn_writer(store, 1, WriterOptions::default());
    // A stopped writer refuses everything: each record is dropped and counted.
    writer.shutdown().await;
    for _ in 0..3 {
        log.send(LogRecord::new("POST", "/v1/messages", "anthropic"));
    }
    let state = AppState::new(
        switchboard_config::default_config(),
        log,
        dir.path().to_path_buf(),
    )
    .expect("state");
    let m = switchboard_gateway::Control::new(&state).metrics();
    assert_eq!(
        sample(&m, "switchboard_log_records_dropped_total"),
        Some(3.0),
        "{m}"
    );
}

#[tokio::test]
async fn audit_cuts_bodies_at_the_per_request_cap() {
    let up = MockUpstream::start(Reply::json(
        200,
        sse::anthropic_message("claude-sonnet-4-5", "ok", 1, 1),
    ))
    .await;
    let gw = TestGateway::builder()
        .endpoint("primary", "anthropic", &up.url(), "")
        .extra("[audit]\nmax_request_bytes = 16\n")
        .start()
        .await;
    let resp = gw
        .post("/v1/messages", &message("claude-sonnet-4-5", false))
        .await;
    assert_eq!(resp.status(), 200);
    let _ = resp.text().await;
    let row = gw.wait_for_logs(1).await.remove(0);
    let stopped = gw.shutdown().await;
    let store: &Arc<dyn Store> = &stopped.store;
    let entries = store.get_audit(row.id).await.expect("audit");
    // The per-request cap cut the first body and left nothing for the rest.
    assert_eq!(entries[0].body_bytes().len(), 16);
    assert!(entries[0].truncated);
    assert!(entries.iter().skip(1).all(|e| e.body.is_empty()));
}

// ---- the database locked or stalled while serving -------------------------------------------
//
// Another connection takes SQLite's write lock (`BEGIN EXCLUSIVE`, as a backup tool or a
// `sqlite3` shell in a transaction would) while requests keep coming. The gateway keeps
// answering at full speed; what it cannot log is counted in `/status` and `/metrics`; rows
// already stored are untouched; and once the lock goes, logging resumes by itself. (A read-only
// file can't be staged the same way here: the tests run as root, which writes regardless.)

/// Holds SQLite's write lock on `path` until dropped (or [`release`]d).
async fn lock_database(path: &std::path::Path) -> sqlx::SqliteConnection {
    use sqlx::Connection as _;
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_secs(5));
    let mut conn = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("second connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .expect("take the write lock");
    conn
}

async fn release(mut conn: sqlx::SqliteConnection) {
    sqlx::query("ROLLBACK")
        .execute(&mut conn)
        .await
        .expect("release the lock");
}

/// Sends a request and returns the id of its log row (from `x-switchboard-request-id`); it must
/// be answered 200, well within `within`.
async fn served(gw: &TestGateway, stream: bool, within: Duration) -> uuid::Uuid {
    let start = tokio::time::Instant::now();
    let resp = gw
        .post("/v1/messages", &message("claude-sonnet-4-5", stream))
        .await;
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-switchboard-request-id"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("a uuid");
    let body = resp.text().await.expect("body");
    assert!(body.contains("Hello"), "{body}");
    assert!(start.elapsed() < within, "took {:?}", start.elapsed());
    id
}

/// Polls `/status` (bounded) until `cond` holds for its `log` section, and returns that section.
async fn log_status_when(gw: &TestGateway, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = gw.status().await["log"].clone();
        if cond(&log) {
            return log;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {log}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn counter(log: &Value, name: &str) -> u64 {
    assert!(log[name].is_u64(), "no {name} in {log}");
    log[name].as_u64().unwrap_or_default()
}

#[tokio::test]
async fn a_locked_database_loses_log_rows_but_never_a_request_and_recovers() {
    let up = MockUpstream::start(sonnet_stream()).await;
    up.respond_with(|r| {
        (r.json()["stream"] == false).then(|| {
            Reply::json(
                200,
                sse::anthropic_message("claude-sonnet-4-5", "Hello", 1, 1),
            )
        })
    });
    // A write waits 50 ms for the lock and is tried 3 times: a batch is given up in ~0.2 s
    // (in production: 5 s and 4 times).
    let gw = TestGateway::builder()
        .endpoint("primary", "anthropic", &up.url(), "")
        .sqlite_busy_timeout(Duration::from_millis(50))
        .writer(WriterOptions {
            flush_interval: Duration::from_millis(10),
            max_retries: 2,
            retry_backoff: Duration::from_millis(20),
            ..WriterOptions::default()
        })
        .start()
        .await;
    let prompt = Duration::from_secs(1);
    let mut before = Vec::new();
    for i in 0..3 {
        before.push(served(&gw, i % 2 == 0, prompt).await);
    }
    log_status_when(&gw, "3 rows written", |l| l["written"] == 3).await;
    let mut stored = Vec::new();
    for id in &before {
        stored.push(gw.store.get(*id).await.expect("get").expect("stored"));
    }

    let lock = lock_database(&gw.database()).await;
    let mut during = Vec::new();
    for i in 0..10 {
        during.push(served(&gw, i % 2 == 0, prompt).await);
    }
    // Every accepted record is accounted for: retried, then counted lost.
    let log = log_status_when(&gw, "the locked-out rows counted lost", |l| {
        l["queued"] == 0 && l["lost"] == 10
    })
    .await;
    assert_eq!(counter(&log, "written"), 3);
    assert_eq!(counter(&log, "dropped"), 0);
    assert!(counter(&log, "failed_batches") >= 1, "{log}");
    assert!(
        counter(&log, "retries") >= 2 * counter(&log, "failed_batches"),
        "{log}"
    );
    let last_error = log["last_error"].as_str().expect("last_error");
    assert!(last_error.contains("database is locked"), "{last_error}");
    let m = metrics(&gw).await;
    assert_eq!(sample(&m, "switchboard_log_records_lost_total"), Some(10.0));
    assert_eq!(
        sample(&m, "switchboard_log_batches_failed_total"),
        Some(counter(&log, "failed_batches") as f64)
    );
    assert_eq!(
        sample(&m, "switchboard_log_write_retries_total"),
        Some(counter(&log, "retries") as f64)
    );
    assert_eq!(
        sample(
            &m,
            r#"switchboard_requests_total{endpoint="primary",model="claude-sonnet-4-5",status_class="2xx",outcome="ok"}"#
        ),
        Some(13.0),
        "metrics count every request, logged or not"
    );

    release(lock).await;
    let mut after = Vec::new();
    for i in 0..2 {
        after.push(served(&gw, i % 2 == 0, prompt).await);
    }
    log_status_when(&gw, "logging to resume", |l| l["written"] == 5).await;
    for (id, row) in before.iter().zip(&stored) {
        let now = gw.store.get(*id).await.expect("get").expect("still stored");
        assert_eq!(&now, row, "a row stored before the lock changed");
    }
    for id in &during {
        assert!(gw.store.get(*id).await.expect("get").is_none());
    }
    for id in &after {
        let row = gw.store.get(*id).await.expect("get").expect("logged again");
        assert_eq!((row.status, row.outcome.as_str()), (200, "ok"));
    }
    assert_eq!(gw.store.count().await.expect("count"), 5);
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut lock_free_connection(&gw.database()).await)
        .await
        .expect("integrity_check");
    assert_eq!(check, "ok");
}

/// A database that refuses writes (opened read-only; a file made read-only can't be staged here:
/// the tests run as root) loses its log rows, counted, and never a request.
#[tokio::test]
async fn a_read_only_database_loses_log_rows_but_never_a_request() {
    let up = MockUpstream::start(sonnet_stream()).await;
    let gw = TestGateway::builder()
        .endpoint("primary", "anthropic", &up.url(), "")
        .sqlite_read_only()
        .writer(WriterOptions {
            flush_interval: Duration::from_millis(10),
            max_retries: 1,
            retry_backoff: Duration::from_millis(10),
            ..WriterOptions::default()
        })
        .start()
        .await;
    for _ in 0..6 {
        served(&gw, true, Duration::from_secs(1)).await;
    }
    let log = log_status_when(&gw, "the refused rows counted lost", |l| {
        l["queued"] == 0 && l["lost"] == 6
    })
    .await;
    assert_eq!((counter(&log, "written"), counter(&log, "dropped")), (0, 0));
    let last_error = log["last_error"].as_str().expect("last_error");
    assert!(last_error.contains("readonly"), "{last_error}");
    let m = metrics(&gw).await;
    assert_eq!(sample(&m, "switchboard_log_records_lost_total"), Some(6.0));
    assert_eq!(gw.store.count().await.expect("count"), 0);
}

async fn lock_free_connection(path: &std::path::Path) -> sqlx::SqliteConnection {
    use sqlx::Connection as _;
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("connection")
}

#[tokio::test]
async fn a_full_log_queue_drops_rows_but_never_a_request() {
    let up = MockUpstream::start(sonnet_stream()).await;
    // The writer waits on the lock for as long as the test holds it: a stalled database. With
    // room for two records in the queue and one in the writer's hands (batches of one, so how
    // many it takes doesn't depend on timing), the rest of the traffic can't be queued.
    let gw = TestGateway::builder()
        .endpoint("primary", "anthropic", &up.url(), "")
        .sqlite_busy_timeout(Duration::from_secs(30))
        .log_queue(2)
        .writer(WriterOptions {
            batch_size: 1,
            flush_interval: Duration::from_millis(10),
            ..WriterOptions::default()
        })
        .start()
        .await;
    let lock = lock_database(&gw.database()).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(served(&gw, true, Duration::from_secs(1)).await);
    }
    let log = gw.status().await["log"].clone();
    let (dropped, queued) = (counter(&log, "dropped"), counter(&log, "queued"));
    assert!(dropped > 0, "{log}");
    assert_eq!(dropped + queued, 10, "{log}");
    assert_eq!(counter(&log, "written"), 0);
    let m = metrics(&gw).await;
    assert_eq!(
        sample(&m, "switchboard_log_records_dropped_total"),
        Some(dropped as f64)
    );
    assert_eq!(
        sample(&m, "switchboard_log_queue_depth"),
        Some(queued as f64)
    );

    // The database comes back: what was queued is written, nothing more is lost.
    release(lock).await;
    let log = log_status_when(&gw, "the queue to drain", |l| l["queued"] == 0).await;
    assert_eq!(counter(&log, "written"), queued);
    assert_eq!(
        (counter(&log, "dropped"), counter(&log, "lost")),
        (dropped, 0)
    );
    let mut stored = 0;
    for id in &ids {
        stored += u64::from(gw.store.get(*id).await.expect("get").is_some());
    }
    assert_eq!(stored, queued);
}

/// Events that reach the gateway together go to the client in one write (a burst of five is one
/// chunk, sent with the response head); events that come apart are forwarded apart, each as it
/// arrives. Read from the audit of what the client was sent, chunk by chunk.
#[tokio::test]
async fn events_arriving_together_are_forwarded_together_and_paced_ones_one_by_one() {
    use switchboard_test_support::Step;
    let frames = sse::anthropic_text("claude-sonnet-4-5", &["a", "b", "c", "d"], 10, 4);
    let bytes = |i: usize| Step::Bytes(Bytes::from(frames[i].clone()));
    let pause = || Step::Delay(Duration::from_millis(80));
    let mut steps: Vec<Step> = (0..=4).map(bytes).collect();
    steps.extend([pause(), bytes(5), pause(), bytes(6), pause()]);
    steps.extend((7..=9).map(bytes));
    let up = MockUpstream::start(Reply::steps(steps)).await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    let body = gw
        .post("/v1/messages", &message("claude-sonnet-4-5", true))
        .await
        .text()
        .await
        .expect("body");
    assert!(body.ends_with(&frames[9]), "{body}");
    let row = gw.wait_for_logs(1).await.remove(0);
    let stopped = gw.shutdown().await;
    let entries = stopped.store.get_audit(row.id).await.expect("audit");
    let out = entries
        .iter()
        .find(|e| e.kind == AuditKind::ClientResponse)
        .expect("client response");
    let chunks: Vec<String> = out
        .body
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert_eq!(
        chunks,
        [
            frames[..=4].concat(),
            frames[5].clone(),
            frames[6].clone(),
            frames[7..].concat()
        ],
        "{chunks:#?}"
    );
}
