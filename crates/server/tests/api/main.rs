//! The query API (`/api/…`) over a real store (SQLite, or PostgreSQL with
//! `SWITCHBOARD_TEST_STORE=postgres`: `scripts/test.sh` runs both) filled with hand-made records: every filter,
//! pagination, statistics, exports round-tripping, reports, the OpenAPI document checked against
//! the routes and against real responses, and the live feed. (Who may call it: `tests/door.rs`.)
#![expect(
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly"
)]

use std::collections::BTreeSet;
use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use chrono::{DateTime, TimeZone, Utc};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use switchboard_gateway::AppState;
use switchboard_store::{AttemptRecord, LogRecord, Store, WriterOptions};
use tower::ServiceExt;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Fixture: 25 requests over three days.

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0)
        .single()
        .expect("valid time")
}

fn minutes(m: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::minutes(m)
}

const DAY: i64 = 24 * 60;

/// A recognisable id per label (its bytes, zero-padded) keeps failures readable.
fn id_of(label: &str) -> Uuid {
    let mut bytes = [0u8; 16];
    for (b, c) in bytes.iter_mut().zip(label.bytes()) {
        *b = c;
    }
    Uuid::from_bytes(bytes)
}

fn base(label: &str, at: DateTime<Utc>) -> LogRecord {
    let mut r = LogRecord::new("POST", "/v1/messages", "anthropic");
    r.id = id_of(label);
    r.started_at = at;
    r.client_addr = Some("127.0.0.1:50000".into());
    r.status = 200;
    r.outcome = "ok".parse().expect("outcome");
    r
}

/// `(label, record)` for every fixture request.
fn fixture() -> Vec<(String, LogRecord)> {
    let mut out = Vec::new();

    let mut a = base("a", minutes(0));
    a.client_key = Some("alice".into());
    a.requested_model = Some("claude-sonnet-4".into());
    a.routed_model = Some("claude-sonnet-4".into());
    a.endpoint = Some("anthropic".into());
    a.stream = true;
    a.input_tokens = 100;
    a.output_tokens = 50;
    a.cache_read_input_tokens = 300;
    a.cache_creation_input_tokens = 100;
    a.cost_usd = Some(0.01);
    a.latency_ms = 1000;
    a.ttfb_ms = Some(200);
    a.stop_reason = Some("end_turn".into());
    a.user_agent = Some("claude-cli/1.0".into());
    a.session_id = Some("sess-1".into());
    a.attempts = vec![AttemptRecord {
        endpoint: "anthropic".into(),
        model: Some("claude-sonnet-4".into()),
        status: Some(200),
        latency_ms: 990,
        error: None,
        disposition: "ok".parse().expect("disposition"),
        offset_ms: None,
        first_byte_ms: None,
        stream_ms: None,
        error_class: None,
    }];
    out.push(("a".to_owned(), a));

    let mut b = base("b", minutes(10));
    b.path = "/v1/chat/completions".into();
    b.client_dialect = "openai".into();
    b.client_key = Some("bob".into());
    b.requested_model = Some("gpt-4o".into());
    b.routed_model = Some("gpt-4o".into());
    b.endpoint = Some("openai".into());
    b.input_tokens = 200;
    b.output_tokens = 20;
    b.cost_usd = Some(0.02);
    b.latency_ms = 500;
    b.ttfb_ms = Some(500);
    out.push(("b".to_owned(), b));

    let mut c = base("c", minutes(70));
    c.client_key = Some("alice".into());
    c.requested_model = Some("sonnet".into());
    c.routed_model = Some("claude-sonnet-4".into());
    c.endpoint = Some("anthropic".into());
    c.stream = true;
    c.status = 503;
    c.outcome = "exhausted".parse().expect("outcome");
    c.error = Some("all endpoints failed: overloaded_error".into());
    c.latency_ms = 3000;
    c.attempts = vec![
        AttemptRecord {
            endpoint: "anthropic".into(),
            model: Some("claude-sonnet-4".into()),
            status: Some(529),
            latency_ms: 1400,
            error: Some("overloaded_error".into()),
            disposition: "retry".parse().expect("disposition"),
            offset_ms: None,
            first_byte_ms: None,
            stream_ms: None,
            error_class: None,
        },
        AttemptRecord {
            endpoint: "anthropic".into(),
            model: Some("claude-sonnet-4".into()),
            status: None,
            latency_ms: 1500,
            error: Some("timeout".into()),
            disposition: "next".parse().expect("disposition"),
            offset_ms: None,
            first_byte_ms: None,
            stream_ms: None,
            error_class: None,
        },
    ];
    out.push(("c".to_owned(), c));

    let mut d = base("d", minutes(DAY + 5));
    d.path = "/v1/chat/completions".into();
    d.client_dialect = "openai".into();
    d.requested_model = Some("gpt-4o".into());
    d.routed_model = Some("gpt-4o".into());
    d.endpoint = Some("openai".into());
    d.status = 400;
    d.outcome = "client_error".parse().expect("outcome");
    // Commas, quotes and a newline: CSV must quote this and read it back intact.
    d.error = Some("invalid_request_error: \"max_tokens\", too LARGE\nsecond line".into());
    d.latency_ms = 50;
    out.push(("d".to_owned(), d));

    let mut e = base("e", minutes(DAY + 30));
    e.client_key = Some("bob".into());
    e.requested_model = Some("claude-haiku-x".into());
    e.routed_model = Some("claude-haiku-x".into());
    e.endpoint = Some("anthropic".into());
    e.stream = true;
    e.outcome = "partial".parse().expect("outcome");
    e.error = Some("stream broken: upstream reset".into());
    e.input_tokens = 10;
    e.output_tokens = 5;
    e.latency_ms = 8000;
    e.ttfb_ms = Some(300);
    out.push(("e".to_owned(), e));

    for i in 0..20i64 {
        let label = format!("f{i:02}");
        let mut f = base(&label, minutes(2 * DAY) + chrono::Duration::seconds(i));
        f.path = "/v1/chat/completions".into();
        f.client_dialect = "openai".into();
        f.client_key = Some("carol".into());
        f.requested_model = Some("filler".into());
        f.routed_model = Some("filler".into());
        f.endpoint = Some("openai".into());
        f.input_tokens = 1;
        f.output_tokens = 1;
        f.cost_usd = Some(0.001);
        f.latency_ms = u64::try_from(i).expect("small") * 10;
        f.ttfb_ms = Some(5);
        out.push((label, f));
    }
    out
}

fn label_of(id: &str) -> String {
    fixture()
        .into_iter()
        .find(|(_, r)| r.id.to_string() == id)
        .map_or_else(|| format!("?{id}"), |(l, _)| l)
}

fn labels(spec: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for part in spec.split_whitespace() {
        if part == "f*" {
            out.extend((0..20).map(|i| format!("f{i:02}")));
        } else {
            out.insert(part.to_owned());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Harness.

struct Api {
    app: Router,
    state: AppState,
    store: Arc<dyn Store>,
    admin_token: String,
    _running: switchboard_server::Running,
    _test_store: switchboard_test_support::TestStore,
    _dir: tempfile::TempDir,
}

async fn api_with(server_toml: &str, populate: bool) -> Api {
    let dir = tempfile::tempdir().expect("temp dir");
    let toml = format!("[server]\nlisten = \"127.0.0.1:0\"\n{server_toml}\n");
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, toml).expect("write config");
    let test_store = switchboard_test_support::TestStore::open(dir.path()).await;
    let store = test_store.store.clone();
    if populate {
        let records: Vec<LogRecord> = fixture().into_iter().map(|(_, r)| r).collect();
        store.insert_batch(&records).await.expect("insert");
    }
    let mut options = switchboard_server::Options::new(
        switchboard_server::ConfigFile::new(Some(path)),
        dir.path().to_path_buf(),
    );
    options.stores = switchboard_server::Stores::Given {
        log: store.clone(),
        admin: test_store.admin.clone(),
    };
    options.watch = false;
    // The fixture is from 2025: a retention run of its own would delete it before it is read.
    options.jobs = false;
    options.writer = WriterOptions::default();
    let running = switchboard_server::start(options)
        .await
        .expect("gateway starts");
    let admin_token = switchboard_auth::LocalCredential::read(dir.path())
        .expect("credential")
        .token()
        .expose()
        .to_owned();
    Api {
        app: running.router(),
        state: running.state.clone(),
        store,
        admin_token,
        _running: running,
        _test_store: test_store,
        _dir: dir,
    }
}

async fn api() -> Api {
    api_with("", true).await
}

impl Api {
    /// Sends `req` as the local admin on loopback (what the CLI does), unless it already
    /// carries a `Host` or credentials of its own.
    async fn send(&self, mut req: Request<Body>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
        let h = req.headers_mut();
        if !h.contains_key(header::HOST) {
            h.insert(header::HOST, "127.0.0.1:8787".parse().expect("host"));
        }
        if !h.contains_key(header::AUTHORIZATION) && !h.contains_key(header::COOKIE) {
            let bearer = format!("Bearer {}", self.admin_token);
            h.insert(header::AUTHORIZATION, bearer.parse().expect("bearer"));
        }
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, headers, body)
    }

    async fn get_raw(&self, uri: &str) -> (StatusCode, http::HeaderMap, Vec<u8>) {
        self.send(Request::get(uri).body(Body::empty()).expect("request"))
            .await
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (status, headers, body) = self.get_raw(uri).await;
        assert_eq!(
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{uri}"
        );
        let v = serde_json::from_slice(&body).expect("json body");
        (status, v)
    }

    async fn ok(&self, uri: &str) -> Value {
        let (status, v) = self.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {v}");
        v
    }

    /// Every record of the filtered list, following next_cursor.
    async fn all_pages(&self, uri: &str) -> (Vec<Value>, usize) {
        let mut records = Vec::new();
        let mut pages = 0;
        let sep = if uri.contains('?') { '&' } else { '?' };
        let mut next = uri.to_owned();
        loop {
            let page = self.ok(&next).await;
            pages += 1;
            records.extend(page["records"].as_array().expect("records").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => next = format!("{uri}{sep}cursor={c}"),
                None => return (records, pages),
            }
            assert!(pages < 100, "pagination does not end");
        }
    }

    async fn labels(&self, query: &str) -> BTreeSet<String> {
        let uri = format!("/api/requests?limit=1000&{query}");
        let page = self.ok(&uri).await;
        page["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| label_of(r["id"].as_str().expect("id")))
            .collect()
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

mod export;
mod live;
mod openapi;
mod queries;
