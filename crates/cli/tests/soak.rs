//! A bounded soak of the real binary: minutes of mixed traffic with injected faults, then proof
//! that nothing stayed behind and nothing went unlogged.
//!
//! `switchboard serve` runs with three endpoints (two Anthropic, one OpenAI-compatible and
//! translated) in front of mock upstreams that fail on cue: 529, 500 and 429 answers that fail
//! over, connections reset before the headers and in mid-stream, streams that pause (shorter than
//! every timeout, so the client gets pings), upstreams that never answer (first-byte timeout), and
//! clients that hang up mid-stream. Clients speak both dialects, streamed and not, 32 at a time.
//!
//! After a warm-up the gateway's resident memory, open file descriptors and live tasks are
//! sampled (the baseline), then the traffic runs in two halves, each followed by a pause. After
//! the second, all three must be back (see the bounds below); after SIGTERM, the SQLite log must
//! hold exactly one complete row per request sent, matched by `x-switchboard-request-id`.
//!
//! `SWITCHBOARD_SOAK_SECS` sets the traffic time (default 150; 20 is a quick local run).

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use switchboard_store::{LogRecord, Query, SqliteStore, Store as _};
use switchboard_test_support::sse;
use switchboard_test_support::{MockUpstream, Recorded, Reply, Step};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Requests in flight at once.
const CONCURRENCY: usize = 32;
/// Open descriptors the gateway may hold beyond its baseline after the soak: the SQLite pool may
/// have opened more of its 4 connections under load (3 descriptors each: database, WAL, shared
/// memory). Pooled upstream connections are not counted: the mocks close them before sampling.
const FD_SLACK: usize = 4 * 3;
/// Resident memory the gateway may hold beyond its baseline after the soak. What may
/// legitimately grow is bounded and small: SQLite's page cache (the writer's connection caches
/// the pages it touched, a few MiB for this database), freed memory the allocator has not yet
/// handed back (jemalloc's background thread purges it after a second: `.cargo/config.toml`),
/// and the log queue's high-water mark. A leak of 1 KiB per request (about 30,000 requests
/// at the default duration) exceeds it. Measured on a 2-core machine: +1.3 MiB.
const RSS_LIMIT_KIB: u64 = 24 * 1024;
/// Growth of resident memory from the end of the first half to the end of the second: the same
/// traffic again must find the memory the first half left. Measured: +0.25 MiB.
const RSS_GROWTH_LIMIT_KIB: u64 = 8 * 1024;
const MODEL: &str = "claude-sonnet-4-5";

fn soak_duration() -> Duration {
    let secs = std::env::var("SWITCHBOARD_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(150);
    Duration::from_secs(secs)
}

/// What the client asks for; the primary mock reads it from the request and misbehaves on cue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Case {
    Stream,
    Json,
    OpenAiStream,
    OpenAiJson,
    /// 529 twice (a retry), then the secondary.
    Overloaded,
    /// 500 twice, then the secondary.
    ServerError,
    /// 429: the primary cools down for `cooldown`, the request moves on at once.
    RateLimited,
    ResetBeforeHeaders,
    /// Two events, then the connection breaks: the client gets an error event.
    ResetMidStream,
    /// Pauses of 300 ms between events: pings, then the whole answer.
    SlowStream,
    /// The client reads the first bytes of a slow stream and hangs up.
    ClientHangsUp,
    /// The primary never answers (first-byte timeout, twice), then the secondary.
    Silent,
    /// Primary and secondary both fail: the translated OpenAI endpoint answers.
    BothDown,
}

impl Case {
    /// One cycle of traffic: mostly ordinary requests, a fault in about one in three.
    const CYCLE: [Self; 24] = [
        Self::Stream,
        Self::Json,
        Self::Stream,
        Self::OpenAiStream,
        Self::Overloaded,
        Self::Stream,
        Self::ClientHangsUp,
        Self::Json,
        Self::ResetMidStream,
        Self::Stream,
        Self::OpenAiJson,
        Self::ServerError,
        Self::Stream,
        Self::SlowStream,
        Self::Json,
        Self::ResetBeforeHeaders,
        Self::Stream,
        Self::OpenAiStream,
        Self::BothDown,
        Self::Stream,
        Self::ClientHangsUp,
        Self::Json,
        Self::Silent,
        Self::Stream,
    ];

    fn pick(i: usize) -> Self {
        // A 429 cools the primary down for 100 ms: now and then, not every cycle.
        if i % 500 == 250 {
            return Self::RateLimited;
        }
        Self::CYCLE[i % Self::CYCLE.len()]
    }

    fn name(self) -> String {
        format!("{self:?}")
    }

    fn from_body(body: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(body).ok()?;
        let start = text.find("case:")? + 5;
        let name: String = text[start..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        Self::CYCLE
            .iter()
            .chain([Self::RateLimited].iter())
            .copied()
            .find(|c| c.name() == name)
    }

    fn openai(self) -> bool {
        matches!(self, Self::OpenAiStream | Self::OpenAiJson)
    }

    fn stream(self) -> bool {
        !matches!(self, Self::Json | Self::OpenAiJson)
    }
}

fn anthropic_ok(stream: bool) -> Reply {
    if stream {
        Reply::sse(sse::anthropic_text(
            MODEL,
            &["Hello", " from", " the soak"],
            12,
            4,
        ))
    } else {
        Reply::json(
            200,
            sse::anthropic_message(MODEL, "Hello from the soak", 12, 4),
        )
    }
}

fn slow(frames: Vec<String>, pause: Duration) -> Reply {
    let mut steps = Vec::new();
    for f in frames {
        steps.push(Step::Bytes(f.into()));
        steps.push(Step::Delay(pause));
    }
    Reply::steps(steps)
}

fn wants_stream(r: &Recorded) -> bool {
    r.json()["stream"] == true
}

/// The primary: answers like Anthropic, except on cue.
fn primary(r: &Recorded) -> Reply {
    let stream = wants_stream(r);
    let Some(case) = Case::from_body(&r.body) else {
        return anthropic_ok(stream);
    };
    match case {
        Case::Overloaded | Case::BothDown => Reply::error(529, "overloaded_error", "busy"),
        Case::ServerError => Reply::error(500, "api_error", "internal"),
        Case::RateLimited => Reply::error(429, "rate_limit_error", "slow down"),
        Case::ResetBeforeHeaders => Reply::ResetBeforeHeaders,
        Case::Silent => Reply::Stall,
        Case::ResetMidStream if stream => {
            let frames = sse::anthropic_text(MODEL, &["cut", " off"], 12, 4);
            Reply::steps(vec![
                Step::Bytes(frames[0].clone().into()),
                Step::Bytes(frames[1].clone().into()),
                // Let those reach the gateway before the connection breaks.
                Step::Delay(Duration::from_millis(50)),
                Step::Reset,
            ])
        }
        Case::SlowStream if stream => slow(
            sse::anthropic_text(MODEL, &["slow", "ly"], 12, 4),
            Duration::from_millis(300),
        ),
        Case::ClientHangsUp if stream => slow(
            sse::anthropic_text(MODEL, &["a"; 20], 12, 20),
            Duration::from_millis(50),
        ),
        _ => anthropic_ok(stream),
    }
}

/// The secondary: every tenth answer is a 500 (a retry on the same endpoint); down on cue.
fn secondary(r: &Recorded, hits: &AtomicUsize) -> Reply {
    let stream = wants_stream(r);
    if Case::from_body(&r.body) == Some(Case::BothDown) {
        return Reply::error(503, "overloaded_error", "also busy");
    }
    if hits.fetch_add(1, Ordering::Relaxed) % 10 == 9 {
        return Reply::error(500, "api_error", "flaky");
    }
    anthropic_ok(stream)
}

/// The tertiary: an OpenAI-compatible endpoint (the gateway translates to and from it).
fn tertiary(r: &Recorded) -> Reply {
    if wants_stream(r) {
        Reply::sse(sse::openai_text(
            MODEL,
            &["Hello", " in", " translation"],
            12,
            3,
            0,
        ))
    } else {
        Reply::json(
            200,
            sse::openai_completion(MODEL, "Hello in translation", 12, 3),
        )
    }
}

/// What the client saw of one request.
#[derive(Debug)]
struct Seen {
    case: Case,
    status: u16,
}

#[derive(Default)]
struct Ledger {
    /// By log row id (`x-switchboard-request-id`).
    seen: HashMap<String, Seen>,
    /// Requests that got no answer, or no id.
    errors: Vec<String>,
    sent: usize,
}

/// Sends one request of `case` and reads its answer to the end (or hangs up, on cue).
async fn one(http: &reqwest::Client, base: &str, case: Case, ledger: &Mutex<Ledger>) {
    let content = format!("case:{}", case.name());
    let (path, body) = if case.openai() {
        (
            "/v1/chat/completions",
            serde_json::json!({"model": MODEL, "stream": case.stream(), "messages": [{"role": "user", "content": content}]}),
        )
    } else {
        (
            "/v1/messages",
            serde_json::json!({"model": MODEL, "max_tokens": 64, "stream": case.stream(), "messages": [{"role": "user", "content": content}]}),
        )
    };
    ledger.lock().sent += 1;
    let sent = http
        .post(format!("{base}{path}"))
        .header("x-api-key", "sk-soak-client-0123456789")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => {
            ledger.lock().errors.push(format!("{case:?}: {e}"));
            return;
        }
    };
    let status = resp.status().as_u16();
    let Some(id) = resp
        .headers()
        .get("x-switchboard-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        ledger
            .lock()
            .errors
            .push(format!("{case:?}: {status} without a request id"));
        return;
    };
    let read = if case == Case::ClientHangsUp {
        resp.chunk().await.map(drop)
    } else {
        async {
            while resp.chunk().await?.is_some() {}
            Ok(())
        }
        .await
    };
    let mut l = ledger.lock();
    if let Err(e) = read {
        l.errors.push(format!("{case:?}: body: {e}"));
    }
    l.seen.insert(id, Seen { case, status });
}

/// Mixed traffic, `CONCURRENCY` at a time, for `duration`; request numbers start at `from`.
/// Returns the next request number.
async fn traffic(
    base: &str,
    from: usize,
    duration: Duration,
    ledger: &Arc<Mutex<Ledger>>,
) -> usize {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    let end = Instant::now() + duration;
    let mut i = from;
    while Instant::now() < end {
        let permit = slots.clone().acquire_owned().await.expect("semaphore");
        let (http, base, ledger) = (http.clone(), base.to_owned(), ledger.clone());
        let case = Case::pick(i);
        tasks.spawn(async move {
            one(&http, &base, case, &ledger).await;
            drop(permit);
        });
        i += 1;
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    // The client goes, and its connections to the gateway with it.
    drop(http);
    i
}

/// `GET path` on a fresh connection (closed after): the body.
/// The local admin credential the gateway made in its data directory (`/status` is behind the
/// door): read once the banner is out, as the CLI reads it.
static ADMIN_TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn get(addr: SocketAddr, path: &str) -> String {
    let token = ADMIN_TOKEN.get().expect("the gateway started");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("send");
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .expect("answered in time")
        .expect("read");
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

/// One look at the gateway process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    rss_kib: u64,
    fds: usize,
    tasks: u64,
}

async fn sample(pid: u32, addr: SocketAddr) -> Sample {
    let status: serde_json::Value =
        serde_json::from_str(&get(addr, "/status").await).expect("status JSON");
    let tasks = status["tasks"].as_u64().expect("tasks in /status");
    // Let the connection that asked close on the gateway's side too.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let proc = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let rss_kib = proc
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("proc fd")
        .count();
    Sample {
        rss_kib,
        fds,
        tasks,
    }
}

/// After traffic: the upstreams close their idle connections (as real ones do), the log queue
/// drains, and the counts stop moving. Returns the settled sample.
async fn settle(pid: u32, addr: SocketAddr, mocks: &[&MockUpstream]) -> Sample {
    for m in mocks {
        m.close_connections();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = sample(pid, addr).await;
    let mut same = 0;
    while same < 3 {
        assert!(
            Instant::now() < deadline,
            "the gateway never settled: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        let s = sample(pid, addr).await;
        let queued = serde_json::from_str::<serde_json::Value>(&get(addr, "/status").await)
            .expect("status")["log"]["queued"]
            .as_u64();
        if (s.fds, s.tasks) == (last.fds, last.tasks) && queued == Some(0) {
            same += 1;
        } else {
            same = 0;
        }
        last = s;
    }
    last
}

struct Gateway {
    child: Child,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `switchboard serve` on `home` and returns it with its address (from the banner).
fn start_gateway(home: &Path) -> (Gateway, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env("SWITCHBOARD_HOME", home)
        .env("HOME", home)
        .env_remove("SWITCHBOARD_CONFIG")
        .env_remove("SWITCHBOARD_TOKEN")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn switchboard");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line
                .trim()
                .strip_prefix("export ANTHROPIC_BASE_URL=http://")
            {
                let _ = tx.send(addr.to_owned());
            }
            // Keep draining so the gateway never blocks on a full pipe.
        }
    });
    let gw = Gateway { child };
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the banner within 30 s")
        .parse()
        .expect("host:port");
    let token = std::fs::read_to_string(home.join("admin.token")).expect("admin credential");
    let _ = ADMIN_TOKEN.set(token.trim().to_owned());
    (gw, addr)
}

fn all_rows(db: &Path) -> Vec<LogRecord> {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let store = SqliteStore::open(db).await.expect("open the log");
            let mut rows = Vec::new();
            let mut cursor = None;
            loop {
                let page = store
                    .list(&Query {
                        limit: Some(switchboard_store::MAX_LIMIT),
                        cursor,
                        ..Query::default()
                    })
                    .await
                    .expect("list");
                rows.extend(page.records);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => return rows,
                }
            }
        })
}

#[test]
fn soak_with_faults_returns_to_baseline_and_logs_every_request_once() {
    let wall = Instant::now();
    let duration = soak_duration();
    let home = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (a, b, c) = rt.block_on(async {
        let a = MockUpstream::start(anthropic_ok(true)).await;
        a.respond_with(|r| Some(primary(r)));
        let b = MockUpstream::start(anthropic_ok(true)).await;
        let hits = AtomicUsize::new(0);
        b.respond_with(move |r| Some(secondary(r, &hits)));
        let c = MockUpstream::start(anthropic_ok(true)).await;
        c.respond_with(|r| Some(tertiary(r)));
        (a, b, c)
    });
    let config = format!(
        r#"[server]
listen = "127.0.0.1:0"
shutdown_grace = "10s"

[[endpoints]]
name = "primary"
kind = "anthropic"
base_url = "{}"

[[endpoints]]
name = "secondary"
kind = "anthropic"
base_url = "{}"

[[endpoints]]
name = "tertiary"
kind = "openai"
base_url = "{}/v1"
api_key = "sk-soak-tertiary-0123456789"

[routing]
max_retries = 1
backoff = {{ initial = "5ms", max = "20ms" }}
cooldown = "100ms"
failure_cooldown = "0s"
first_byte_timeout = "1s"
idle_timeout = "2s"
keepalive_interval = "100ms"
"#,
        a.url(),
        b.url(),
        c.url()
    );
    std::fs::write(home.path().join("config.toml"), config).expect("config");
    let (mut gw, addr) = start_gateway(home.path());
    let pid = gw.child.id();
    let base = format!("http://{addr}");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mocks = [&a, &b, &c];

    let (baseline, mid, after, requests) = rt.block_on(async {
        // Warm-up: every case at least once, every lazy allocation made.
        let n = traffic(&base, 0, Duration::from_secs(5), &ledger).await;
        let baseline = settle(pid, addr, &mocks).await;
        let half = duration / 2;
        let n = traffic(&base, n, half, &ledger).await;
        let mid = settle(pid, addr, &mocks).await;
        let n = traffic(&base, n, duration - half, &ledger).await;
        let after = settle(pid, addr, &mocks).await;
        let status: serde_json::Value =
            serde_json::from_str(&get(addr, "/status").await).expect("status");
        assert_eq!(
            (&status["log"]["dropped"], &status["log"]["lost"]),
            (&serde_json::json!(0), &serde_json::json!(0)),
            "{status}"
        );
        (baseline, mid, after, n)
    });
    eprintln!(
        "soak: {requests} requests in {duration:?} of traffic; baseline {baseline:?}, after the first half {mid:?}, after {after:?}; cancelled upstream streams {}",
        a.cancelled() + b.cancelled() + c.cancelled()
    );
    assert!(
        after.fds <= baseline.fds + FD_SLACK,
        "file descriptors leaked: {baseline:?} → {after:?}"
    );
    assert!(
        after.tasks <= baseline.tasks,
        "tasks leaked: {baseline:?} → {after:?}"
    );
    assert!(
        after.rss_kib <= baseline.rss_kib + RSS_LIMIT_KIB,
        "memory did not come back: {baseline:?} → {after:?}"
    );
    assert!(
        after.rss_kib <= mid.rss_kib + RSS_GROWTH_LIMIT_KIB,
        "memory grew with traffic: {mid:?} → {after:?}"
    );

    // Graceful stop flushes the log; then every request has its one row.
    let term = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = gw.child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit within 30 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(0));
    drop(rt);

    let ledger = Arc::try_unwrap(ledger)
        .map_err(|_| "ledger still shared")
        .expect("ledger")
        .into_inner();
    assert!(
        ledger.errors.is_empty(),
        "{} requests failed on the client side, e.g. {:?}",
        ledger.errors.len(),
        &ledger.errors[..ledger.errors.len().min(5)]
    );
    assert_eq!(ledger.sent, requests);
    assert_eq!(ledger.seen.len(), requests, "one id per request");

    let rows = all_rows(&home.path().join("switchboard.db"));
    assert_eq!(rows.len(), requests, "one row per request");
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        let id = r.id.to_string();
        let seen = ledger.seen.get(&id);
        assert!(seen.is_some(), "a row for no request: {r:?}");
        let seen = seen.expect("checked");
        assert_eq!(r.status, seen.status, "{:?}: {r:?}", seen.case);
        assert!(
            matches!(r.outcome.as_str(), "ok" | "partial" | "client_closed"),
            "{:?}: {r:?}",
            seen.case
        );
        assert!(!r.attempts.is_empty(), "{:?}: {r:?}", seen.case);
        assert_eq!(
            r.endpoint.as_deref(),
            r.attempts.last().map(|a| a.endpoint.as_str()),
            "{r:?}"
        );
        assert!(r.latency_ms >= r.ttfb_ms.unwrap_or(0), "{r:?}");
        assert!(r.ttfb_ms.is_some() || r.outcome.as_str() != "ok", "{r:?}");
        *outcomes.entry(r.outcome.to_string()).or_default() += 1;
    }
    eprintln!(
        "soak: outcomes {outcomes:?}; wall time {:?}",
        wall.elapsed()
    );
    for outcome in ["ok", "partial", "client_closed"] {
        assert!(
            outcomes.contains_key(outcome),
            "no {outcome} rows: {outcomes:?}"
        );
    }
}
