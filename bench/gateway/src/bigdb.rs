//! A large request log with audit data, for the idle-memory scenario (`bench/idle_memory.py`):
//! `--rows` requests (default 1,000,000) through the store's own batch and audit writes, each
//! with the audit data of the bench's small passthrough request (client request, forwarded
//! request, upstream answer, client answer: headers, a ~120-byte body and a ~300-byte answer,
//! the prompt text searchable), spread evenly over the last 15 days, so that a gateway started
//! on it finds one day of audit data past the default 14-day retention.
//!
//! `bench-bigdb [--rows N] [--dir DIR]` — kept in DIR (default bench/out/bigdb) and generated
//! again only when its row count differs.

use std::path::PathBuf;
use std::time::Instant;

use bytes::Bytes;
use chrono::{Duration, Utc};
use switchboard_store::{AuditBundle, AuditEntry, AuditKind, LogRecord, SqliteStore, Store};

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The audit data the gateway captures for the bench's small request `i`.
fn bundle(r: &LogRecord, i: u64) -> AuditBundle {
    let body = Bytes::from(format!(
        "{{\"model\":\"claude-opus-5-5\",\"max_tokens\":256,\"messages\":[{{\"role\":\"user\",\
         \"content\":\"Say hello in one short sentence, number {i}.\"}}]}}"
    ));
    let answer = Bytes::from(format!(
        "{{\"id\":\"msg_{i:016x}\",\"type\":\"message\",\"role\":\"assistant\",\
         \"model\":\"claude-opus-5-5\",\"content\":[{{\"type\":\"text\",\"text\":\"Hello! \
         Nice to meet you; how can I help today?\"}}],\"stop_reason\":\"end_turn\",\
         \"usage\":{{\"input_tokens\":14,\"output_tokens\":12}}}}"
    ));
    let mut client = AuditEntry::new(AuditKind::ClientRequest);
    client.method = Some("POST".into());
    client.url = Some("/v1/messages".into());
    client.headers = headers(&[
        ("host", "127.0.0.1:18200"),
        ("content-type", "application/json"),
        ("x-api-key", "sk-bench…ench"),
        ("content-length", "120"),
    ]);
    client.body = vec![body.clone()];
    let mut forwarded = AuditEntry::new(AuditKind::UpstreamRequest);
    forwarded.attempt = Some(0);
    forwarded.endpoint = Some("mock".into());
    forwarded.method = Some("POST".into());
    forwarded.url = Some("http://127.0.0.1:18000/v1/messages".into());
    forwarded.headers = headers(&[
        ("content-type", "application/json"),
        ("x-api-key", "sk-bench…ench"),
        ("content-length", "120"),
    ]);
    forwarded.body = vec![body];
    let mut upstream = AuditEntry::new(AuditKind::UpstreamResponse);
    upstream.attempt = Some(0);
    upstream.endpoint = Some("mock".into());
    upstream.status = Some(200);
    upstream.headers = headers(&[
        ("content-type", "application/json"),
        ("content-length", "300"),
        ("date", "Mon, 07 Dec 2026 06:00:00 GMT"),
    ]);
    upstream.body = vec![answer.clone()];
    let mut answered = AuditEntry::new(AuditKind::ClientResponse);
    answered.status = Some(200);
    answered.headers = upstream.headers.clone();
    answered.body = vec![answer];
    AuditBundle {
        request_id: r.id,
        created_at: r.started_at,
        entries: vec![client, forwarded, upstream, answered],
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows: u64 = flag(&args, "--rows").map_or(1_000_000, |v| v.parse().expect("--rows N"));
    let dir = PathBuf::from(flag(&args, "--dir").unwrap_or_else(|| "bench/out/bigdb".into()));
    std::fs::create_dir_all(&dir).expect("dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let path = dir.join(switchboard_store::SQLITE_FILE_NAME);
        if path.exists() {
            let store = SqliteStore::open(&path).await.expect("open");
            store.migrate().await.expect("migrate");
            if store.count().await.expect("count") == rows {
                eprintln!("{}: {rows} requests already", path.display());
                return;
            }
            drop(store);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        let store = SqliteStore::open(&path).await.expect("open");
        store.migrate().await.expect("migrate");
        let t = Instant::now();
        let span = Duration::days(15);
        let start = Utc::now() - span;
        let step = span / i32::try_from(rows.max(1)).expect("rows fit an i32");
        let mut template = LogRecord::new("POST", "/v1/messages", "anthropic");
        template.requested_model = Some("claude-opus-5-5".into());
        template.routed_model = Some("claude-opus-5-5".into());
        template.endpoint = Some("mock".into());
        template.client_addr = Some("127.0.0.1".into());
        template.user_agent = Some("bench-load".into());
        template.status = 200;
        template.outcome = "ok".parse().expect("the ok outcome");
        template.stop_reason = Some("end_turn".into());
        template.latency_ms = 1;
        template.input_tokens = 14;
        template.output_tokens = 12;
        template.request_bytes = 120;
        template.response_bytes = 300;
        let batch = 2_000;
        let mut i = 0;
        while i < rows {
            let n = batch.min(rows - i);
            let records: Vec<LogRecord> = (i..i + n)
                .map(|k| {
                    let mut r = template.clone();
                    r.started_at = start + step * i32::try_from(k).expect("fits");
                    r.id = uuid::Uuid::now_v7();
                    r
                })
                .collect();
            let bundles: Vec<AuditBundle> = records
                .iter()
                .zip(i..)
                .map(|(r, k)| bundle(r, k))
                .collect();
            store.insert_batch(&records).await.expect("records");
            store.insert_audit(&bundles).await.expect("audit");
            i += n;
            if i % 100_000 == 0 {
                eprintln!("{i} requests, {:.0} s", t.elapsed().as_secs_f64());
            }
        }
        store.index_prompt_texts().await.expect("index");
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(store.pool())
            .await
            .expect("checkpoint");
        eprintln!(
            "generated {rows} requests in {:.0} s, audit {} bytes",
            t.elapsed().as_secs_f64(),
            store.audit_size().await.expect("size")
        );
    });
}
