//! The query API on a large request log: generates a SQLite log of `--rows` requests (default
//! 1,000,000) spread over the last 30 days, with prompt text for every tenth one (as audit would
//! store it), serves it with the real gateway on loopback, and times the HTTP answers of
//! `/api/stats`, the first page of `/api/requests`, the time series and the breakdowns under
//! each filter. Also times log ingestion: records through the writer into a fresh database.
//!
//! `bench-querylog [--rows N] [--dir DIR] [--repeat N] [--ingest N]`
//!
//! The database is kept in DIR (default bench/out/querylog) and regenerated only when its row
//! count differs. Prints a Markdown table; bench/querylog.sh runs it in release mode.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use switchboard_server::{ConfigFile, Options, Stores};
use switchboard_store::{LogRecord, SqliteStore, Store, WriterOptions};

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Fills `requests` (one attempt each, and their hourly rollups) and `prompt_text` (every
/// tenth request, FTS through the triggers) in SQL: going through the writer would time the
/// writer, not the reads.
async fn generate(store: &SqliteStore, rows: i64) {
    let span = 30 * 86_400 * 1_000_000_i64;
    let start = (Utc::now() - chrono::Duration::days(30)).timestamp_micros();
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1 - 1)
         INSERT INTO requests (id, started_at, client_addr, client_key, user_agent, session_id,
           method, path, client_dialect, requested_model, routed_model, endpoint, stream, status,
           outcome, error, stop_reason, ttfb_ms, latency_ms, input_tokens, output_tokens,
           cache_creation_input_tokens, cache_read_input_tokens, cost_usd, request_bytes,
           response_bytes, replay_of, failovers)
         SELECT
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
           1000, 5000, NULL, CASE WHEN n % 50 = 0 THEN 1 ELSE 0 END
         FROM seq",
    )
    .bind(rows)
    .bind(start)
    .bind(span)
    .execute(store.pool())
    .await
    .expect("generate requests");
    // The writer adds new rows to the hourly rollups itself (once per group per batch); rows
    // inserted in SQL are summed here, as the migration that created the table does.
    sqlx::query(
        "INSERT INTO request_rollups
         SELECT started_at / 3600000000 * 3600000000, COALESCE(requested_model, ''),
                COALESCE(routed_model, ''), COALESCE(endpoint, ''), COALESCE(client_key, ''),
                status, outcome, stream, COUNT(*), SUM(outcome = 'ok'), SUM(input_tokens),
                SUM(output_tokens), SUM(cache_creation_input_tokens), SUM(cache_read_input_tokens),
                TOTAL(cost_usd), COUNT(*) - COUNT(cost_usd), COUNT(ttfb_ms)
         FROM requests GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
    )
    .execute(store.pool())
    .await
    .expect("generate rollups");
    sqlx::query(
        "INSERT INTO attempts (request_id, seq, endpoint, model, status, latency_ms, error,
           disposition, offset_ms, first_byte_ms, stream_ms, error_class)
         SELECT id, 0, endpoint, routed_model, status, latency_ms, error,
           CASE WHEN failovers > 0 THEN 'next' ELSE 'ok' END, 0, latency_ms / 2, NULL,
           CASE WHEN failovers > 0 THEN '529 overloaded_error' END
         FROM requests",
    )
    .execute(store.pool())
    .await
    .expect("generate attempts");
    // The exhausted ones (one in fifty) failed over once: a second attempt on another endpoint.
    sqlx::query(
        "INSERT INTO attempts (request_id, seq, endpoint, model, status, latency_ms, error,
           disposition, offset_ms, first_byte_ms, stream_ms, error_class)
         SELECT id, 1, 'endpoint-backup', routed_model, 200, 100, NULL, 'ok',
           latency_ms, 50, latency_ms / 2, NULL
         FROM requests WHERE failovers > 0",
    )
    .execute(store.pool())
    .await
    .expect("generate failover attempts");
    // ~300 bytes of prompt per audited request; one request in a thousand mentions a "flaky
    // integration test", so the search has something rare to find.
    sqlx::query(
        "INSERT INTO prompt_text (request_id, created_at, text)
         SELECT id, started_at,
           CASE WHEN rowid % 10000 = 0 THEN 'please fix the flaky integration test in ci'
                ELSE 'refactor module ' || (rowid % 997) END
           || ' ' || hex(randomblob(140))
         FROM requests WHERE rowid % 10 = 0",
    )
    .execute(store.pool())
    .await
    .expect("generate prompt text");
}

struct Timing {
    first: Duration,
    median: Duration,
    max: Duration,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn time<F: std::future::Future<Output = ()>>(repeat: usize, f: impl Fn() -> F) -> Timing {
    let mut all = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        f().await;
        all.push(t.elapsed());
    }
    let first = all[0];
    all.sort();
    Timing {
        first,
        median: all[all.len() / 2],
        max: all[all.len() - 1],
    }
}

async fn get(http: &reqwest::Client, url: &str) {
    let resp = http.get(url).send().await.expect("request");
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    let body = resp.bytes().await.expect("body");
    assert!(!body.is_empty());
}

/// Records per second through `LogSender` → writer → a fresh SQLite database.
async fn ingest(dir: &std::path::Path, n: usize) -> f64 {
    let path = dir.join("ingest.db");
    let _ = std::fs::remove_file(&path);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.expect("open"));
    store.migrate().await.expect("migrate");
    let (log, writer) =
        switchboard_store::spawn_writer(store.clone(), 100_000, WriterOptions::default());
    let mut template = LogRecord::new("POST", "/v1/messages", "anthropic");
    template.requested_model = Some("claude-sonnet-4-5".into());
    template.routed_model = Some("claude-sonnet-4-5".into());
    template.endpoint = Some("primary".into());
    template.status = 200;
    template.outcome = "ok".parse().expect("outcome");
    template.input_tokens = 1200;
    template.output_tokens = 300;
    let t = Instant::now();
    for i in 0..n {
        let mut r = template.clone();
        r.id = uuid::Uuid::now_v7();
        r.started_at = Utc::now();
        log.send(r);
        // The queue is bounded and the point is its drain rate: never let it overflow.
        if i % 1000 == 0 {
            while log.stats().queued > 90_000 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    writer.shutdown().await;
    assert_eq!(log.stats().dropped, 0, "records were dropped");
    let took = t.elapsed();
    assert_eq!(store.count().await.expect("count"), n as u64);
    let _ = std::fs::remove_file(&path);
    n as f64 / took.as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows: i64 = flag(&args, "--rows").map_or(1_000_000, |v| v.parse().expect("--rows N"));
    let repeat: usize = flag(&args, "--repeat").map_or(7, |v| v.parse().expect("--repeat N"));
    let ingest_n: usize =
        flag(&args, "--ingest").map_or(200_000, |v| v.parse().expect("--ingest N"));
    let dir = PathBuf::from(flag(&args, "--dir").unwrap_or_else(|| "bench/out/querylog".into()));
    std::fs::create_dir_all(&dir).expect("dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(rows, repeat, ingest_n, dir));
}

async fn run(rows: i64, repeat: usize, ingest_n: usize, dir: PathBuf) {
    let store = SqliteStore::open(&dir.join(switchboard_store::SQLITE_FILE_NAME))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    if store.count().await.expect("count") != u64::try_from(rows).expect("positive") {
        for table in ["requests", "attempts", "prompt_text", "request_rollups"] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(store.pool())
                .await
                .expect("clear");
        }
        let t = Instant::now();
        generate(&store, rows).await;
        sqlx::query("VACUUM")
            .execute(store.pool())
            .await
            .expect("vacuum");
        eprintln!(
            "generated {rows} requests in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let store = Arc::new(store);
    let config = dir.join("querylog.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = \"127.0.0.1:0\"\n[audit]\nenabled = false\n",
    )
    .expect("write config");
    let mut options = Options::new(ConfigFile::new(Some(config)), dir.clone());
    options.stores = Stores::Given {
        log: store.clone(),
        admin: store.clone(),
    };
    options.watch = false;
    let running = switchboard_server::start(options)
        .await
        .expect("gateway starts");
    let base = running.url();
    // The query API is behind the admin door: come in as the local admin, as the CLI does.
    let token = std::fs::read_to_string(dir.join("admin.token")).expect("admin credential");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", token.trim()).parse().expect("header"),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client");

    let now = Utc::now();
    let since = |days: i64| {
        (now - chrono::Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let filters: Vec<(&str, String)> = vec![
        ("everything (30 days)", String::new()),
        ("last 24 h", format!("from={}", since(1))),
        ("last 7 days", format!("from={}", since(7))),
        ("one model", "model=model-3".into()),
        ("5xx", "status=5xx".into()),
        (
            "one client key, 24 h",
            format!("client_key=key-4&from={}", since(1)),
        ),
        (
            "streaming, 7 days",
            format!("stream=true&from={}", since(7)),
        ),
        ("q: error text", "q=overloaded".into()),
        ("q: rare prompt text", "q=flaky%20integration".into()),
    ];

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| filter | stats + first page: first / median / max (ms) | /api/stats median | /api/requests median |"
    );
    let _ = writeln!(table, "|---|---|---|---|");
    for (name, q) in &filters {
        let stats_url = format!("{base}/api/stats?{q}");
        let list_url = format!("{base}/api/requests?{q}");
        let both = time(repeat, || async {
            get(&http, &stats_url).await;
            get(&http, &list_url).await;
        })
        .await;
        let stats = time(repeat, || get(&http, &stats_url)).await;
        let list = time(repeat, || get(&http, &list_url)).await;
        let _ = writeln!(
            table,
            "| {name} | {:.1} / {:.1} / {:.1} | {:.1} | {:.1} |",
            ms(both.first),
            ms(both.median),
            ms(both.max),
            ms(stats.median),
            ms(list.median)
        );
    }
    let _ = writeln!(table);
    let _ = writeln!(table, "| other query | first / median / max (ms) |");
    let _ = writeln!(table, "|---|---|");
    let others = [
        (
            "time series by hour, 7 days",
            format!("{base}/api/stats/timeseries?bucket=hour&from={}", since(7)),
        ),
        (
            "time series by day, 30 days",
            format!("{base}/api/stats/timeseries?bucket=day"),
        ),
        (
            "breakdown by model, 24 h",
            format!("{base}/api/stats/breakdown?by=model&from={}", since(1)),
        ),
        (
            "breakdown by client key, 30 days",
            format!("{base}/api/stats/breakdown?by=client_key"),
        ),
        ("page 2 of the list", String::new()),
        (
            "time series by hour, 7 days, tz=Europe/Paris",
            format!(
                "{base}/api/stats/timeseries?bucket=hour&tz=Europe/Paris&from={}",
                since(7)
            ),
        ),
        (
            "time series by day, 30 days, tz=Asia/Kolkata (quarter hours)",
            format!("{base}/api/stats/timeseries?bucket=day&tz=Asia/Kolkata"),
        ),
        (
            "heatmap, 365 days, tz=Europe/Paris",
            format!("{base}/api/stats/heatmap?tz=Europe/Paris"),
        ),
        (
            "failovers, 30 days (20,000 of 20,000)",
            format!("{base}/api/stats/failovers"),
        ),
        ("failovers, 24 h", format!("{base}/api/stats/failovers?from={}", since(1))),
        (
            "cache ratio per endpoint by day, 30 days, tz=Europe/Paris",
            format!("{base}/api/stats/cache?bucket=day&tz=Europe/Paris"),
        ),
        (
            "cache ratio per endpoint by hour, 24 h",
            format!("{base}/api/stats/cache?bucket=hour&from={}", since(1)),
        ),
        ("endpoints with the last hour's figures", format!("{base}/api/admin/endpoints")),
        ("one request's detail", "DETAIL".to_owned()),
    ];
    for (name, url) in others {
        let url = if url == "DETAIL" {
            let first: serde_json::Value = http
                .get(format!("{base}/api/requests?limit=1"))
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("json");
            let id = first["records"][0]["id"].as_str().expect("a request");
            format!("{base}/api/requests/{id}")
        } else if url.is_empty() {
            let first: serde_json::Value = http
                .get(format!("{base}/api/requests"))
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("json");
            let cursor = first["next_cursor"].as_str().expect("a second page");
            format!("{base}/api/requests?cursor={cursor}")
        } else {
            url
        };
        let t = time(repeat, || get(&http, &url)).await;
        let _ = writeln!(
            table,
            "| {name} | {:.1} / {:.1} / {:.1} |",
            ms(t.first),
            ms(t.median),
            ms(t.max)
        );
    }
    running.shutdown().await;

    let rate = ingest(&dir, ingest_n).await;
    let _ = writeln!(table);
    let _ = writeln!(
        table,
        "Log ingestion: {ingest_n} records through the writer into a fresh SQLite database: {rate:.0} records/s."
    );
    let db_bytes = std::fs::metadata(dir.join(switchboard_store::SQLITE_FILE_NAME))
        .map(|m| m.len())
        .unwrap_or(0);
    let header = format!(
        "{rows} requests ({} prompt texts), database {:.0} MiB, {repeat} runs per figure, HTTP over loopback\n\n",
        rows / 10,
        db_bytes as f64 / (1024.0 * 1024.0)
    );
    let out = format!("{header}{table}");
    let _ = std::fs::write(dir.join("table.md"), &out);
    print!("{out}");
}
