//! Load generator for the benchmarks: HTTP/1.1 keep-alive over hyper, one connection per
//! concurrent worker, fixed request counts bounded by a wall-clock limit, latency histograms
//! (hdrhistogram), and for SSE responses time to first byte, time to first token and the delivery
//! delay of every event that carries a `ts:<unix nanos>;` stamp from `bench-mock`.
//!
//! With `--pid`, samples the CPU time (utime+stime from /proc/PID/stat, summed over the process
//! and its descendants) and memory (VmRSS, VmHWM) of the server under test around the measured
//! requests.
//!
//! ```text
//! bench-load run     --url URL --body FILE [-H 'k: v']... --requests N --concurrency C
//!                    [--warmup N] [--max-secs S] [--pid PID] [--label L]
//! bench-load streams --url URL --body FILE [-H 'k: v']... --n N [--max-secs S] [--pid PID]
//! ```
//! Prints one JSON object on stdout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderName, HeaderValue, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

#[derive(Clone)]
struct Target {
    authority: String,
    path: String,
    body: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn flag_num(args: &[String], name: &str, default: u64) -> u64 {
    flag(args, name).map_or(default, |v| v.parse().expect("number"))
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000_000, 3).expect("histogram")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_default();
    let url: Uri = flag(&args, "--url").expect("--url").parse().expect("url");
    let authority = url.authority().expect("url authority").to_string();
    let path = url
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    let body = match flag(&args, "--body") {
        Some(f) => Bytes::from(std::fs::read(&f).expect("read --body")),
        None => Bytes::new(),
    };
    let mut headers = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if a == "-H"
            && let Some(h) = args.get(i + 1)
        {
            let (k, v) = h.split_once(':').expect("-H 'name: value'");
            headers.push((
                HeaderName::try_from(k.trim()).expect("header name"),
                HeaderValue::try_from(v.trim()).expect("header value"),
            ));
        }
    }
    let target = Target {
        authority,
        path,
        body,
        headers,
    };
    let pid = flag(&args, "--pid").map(|p| p.parse::<u32>().expect("pid"));
    let max_secs = flag_num(&args, "--max-secs", 60);
    let label = flag(&args, "--label").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut out = match mode.as_str() {
        "run" => rt.block_on(run(
            target,
            flag_num(&args, "--requests", 1000),
            flag_num(&args, "--concurrency", 1),
            flag_num(&args, "--warmup", 100),
            Duration::from_secs(max_secs),
            pid,
        )),
        "streams" => rt.block_on(streams(
            target,
            flag_num(&args, "--n", 1000),
            Duration::from_secs(max_secs),
            pid,
        )),
        _ => {
            eprintln!("usage: bench-load run|streams --url URL ...");
            std::process::exit(2);
        }
    };
    out["label"] = json!(label);
    println!("{out}");
}

// ---------------------------------------------------------------- measurement of one request

#[derive(Default)]
struct Sample {
    ok: bool,
    total: Duration,
    ttfb: Option<Duration>,
    ttft: Option<Duration>,
    delays_ns: Vec<u64>,
}

async fn connect(t: &Target) -> std::io::Result<SendRequest<Full<Bytes>>> {
    let tcp = tokio::net::TcpStream::connect(&t.authority).await?;
    tcp.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

fn request(t: &Target) -> Request<Full<Bytes>> {
    let mut b = Request::post(t.path.as_str())
        .header(header::HOST, t.authority.as_str())
        .header(header::CONTENT_TYPE, "application/json");
    for (k, v) in &t.headers {
        b = b.header(k, v);
    }
    b.body(Full::new(t.body.clone())).expect("request")
}

/// Finds every `ts:<digits>` in `chunk` and records now − ts.
fn stamp_delays(buf: &[u8], now: u128, out: &mut Vec<u64>) -> usize {
    let mut n = 0;
    for pos in memchr::memmem::find_iter(buf, b"ts:") {
        let digits = &buf[pos + 3..];
        let end = digits
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(digits.len());
        if end < 10 {
            continue;
        }
        if let Some(ts) = std::str::from_utf8(&digits[..end])
            .ok()
            .and_then(|s| s.parse::<u128>().ok())
        {
            out.push(u64::try_from(now.saturating_sub(ts)).unwrap_or(u64::MAX));
            n += 1;
        }
    }
    n
}

async fn one(send: &mut SendRequest<Full<Bytes>>, t: &Target) -> Sample {
    let mut s = Sample::default();
    if send.ready().await.is_err() {
        return s;
    }
    let t0 = Instant::now();
    let Ok(resp) = send.send_request(request(t)).await else {
        return s;
    };
    let status_ok = resp.status().is_success();
    let mut body = resp.into_body();
    // Bytes not yet ending in a complete event ("\n\n"); events are scanned once complete.
    let mut pending: Vec<u8> = Vec::new();
    let mut broke = false;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            broke = true;
            break;
        };
        let Some(d) = frame.data_ref() else { continue };
        let now = now_nanos();
        if s.ttfb.is_none() {
            s.ttfb = Some(t0.elapsed());
        }
        pending.extend_from_slice(d);
        if let Some(end) = memchr::memmem::rfind(&pending, b"\n\n") {
            let found = stamp_delays(&pending[..end], now, &mut s.delays_ns);
            if found > 0 && s.ttft.is_none() {
                s.ttft = Some(t0.elapsed());
            }
            pending.drain(..end + 2);
        }
    }
    s.total = t0.elapsed();
    s.ok = status_ok && !broke;
    s
}

// ---------------------------------------------------------------- /proc sampling

fn clk_tck() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// `pid` and all its descendants.
fn tree(root: u32) -> Vec<u32> {
    let mut parent = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(f) = stat_fields(pid)
                && let Some(pp) = f.get(1).and_then(|s| s.parse::<u32>().ok())
            {
                parent.push((pid, pp));
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parent.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out
}

/// Fields of /proc/PID/stat after the command name, starting with `state` (field 3).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn cpu_ticks(root: u32) -> u64 {
    tree(root)
        .into_iter()
        .filter_map(stat_fields)
        .map(|f| {
            let u: u64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0);
            let s: u64 = f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
            u + s
        })
        .sum()
}

/// Waits until the target is quiet: under 2 ms of CPU in a 100 ms window (its log writer has
/// caught up), at most [`SETTLE_CAP`]. Returns how long that took (the last window included).
async fn settle(pid: u32) -> Duration {
    let start = Instant::now();
    let mut prev = sched_ns(pid);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = sched_ns(pid);
        if now.saturating_sub(prev) < 2_000_000 || start.elapsed() >= SETTLE_CAP {
            return start.elapsed();
        }
        prev = now;
    }
}

/// The longest [`settle`] waits: a target that never goes quiet (a background loop) is not
/// charged more than this of it.
const SETTLE_CAP: Duration = Duration::from_secs(5);

/// On-CPU nanoseconds of every thread of the tree (/proc/PID/task/TID/schedstat), a finer
/// cross-check of the tick-based utime+stime.
fn sched_ns(root: u32) -> u64 {
    let mut total = 0;
    for p in tree(root) {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in dir.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                total += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

fn status_kb(root: u32, key: &str) -> u64 {
    tree(root)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

fn summary(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return Value::Null;
    }
    let us = |v: u64| (v as f64) / 1000.0;
    json!({
        "n": h.len(),
        "mean": h.mean() / 1000.0,
        "p50": us(h.value_at_quantile(0.50)),
        "p90": us(h.value_at_quantile(0.90)),
        "p99": us(h.value_at_quantile(0.99)),
        "p999": us(h.value_at_quantile(0.999)),
        "max": us(h.max()),
    })
}

// ---------------------------------------------------------------- fixed-count runs

struct Hists {
    total: Histogram<u64>,
    ttfb: Histogram<u64>,
    ttft: Histogram<u64>,
    delay: Histogram<u64>,
    ok: u64,
    errors: u64,
}

impl Hists {
    fn new() -> Self {
        Self {
            total: hist(),
            ttfb: hist(),
            ttft: hist(),
            delay: hist(),
            ok: 0,
            errors: 0,
        }
    }
    fn add(&mut self, s: &Sample) {
        if !s.ok {
            self.errors += 1;
            return;
        }
        self.ok += 1;
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
        let _ = self.total.record(ns(s.total));
        if let Some(d) = s.ttfb {
            let _ = self.ttfb.record(ns(d));
        }
        if let Some(d) = s.ttft {
            let _ = self.ttft.record(ns(d));
        }
        for d in &s.delays_ns {
            let _ = self.delay.record((*d).max(1));
        }
    }
    fn merge(&mut self, o: &Self) {
        let _ = self.total.add(&o.total);
        let _ = self.ttfb.add(&o.ttfb);
        let _ = self.ttft.add(&o.ttft);
        let _ = self.delay.add(&o.delay);
        self.ok += o.ok;
        self.errors += o.errors;
    }
}

/// Runs `n` requests over `conns` (one worker per connection), stopping at `deadline`.
async fn phase(
    conns: Vec<SendRequest<Full<Bytes>>>,
    t: &Target,
    n: u64,
    deadline: Instant,
) -> (Vec<SendRequest<Full<Bytes>>>, Hists) {
    let left = Arc::new(AtomicU64::new(n));
    let mut tasks = Vec::new();
    for mut send in conns {
        let t = t.clone();
        let left = left.clone();
        tasks.push(tokio::spawn(async move {
            let mut h = Hists::new();
            while Instant::now() < deadline
                && left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1))
                    .is_ok()
            {
                let s = one(&mut send, &t).await;
                if !s.ok {
                    // The connection may be gone: make a new one (bounded by the deadline).
                    if let Ok(c) = connect(&t).await {
                        send = c;
                    } else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                h.add(&s);
            }
            (send, h)
        }));
    }
    let mut all = Hists::new();
    let mut back = Vec::new();
    for task in tasks {
        if let Ok((send, h)) = task.await {
            all.merge(&h);
            back.push(send);
        }
    }
    (back, all)
}

async fn run(
    t: Target,
    requests: u64,
    concurrency: u64,
    warmup: u64,
    max: Duration,
    pid: Option<u32>,
) -> Value {
    let start = Instant::now();
    let deadline = start + max;
    let mut conns = Vec::new();
    for _ in 0..concurrency {
        match connect(&t).await {
            Ok(c) => conns.push(c),
            Err(e) => return json!({"error": format!("connect: {e}")}),
        }
    }
    let warm_deadline = Instant::now() + max / 4;
    let (conns, warm) = phase(conns, &t, warmup, warm_deadline).await;
    let tck = clk_tck();
    // Work the target deferred (a log writer catching up) belongs to the requests that caused
    // it: let the warm-up's finish before counting, and count the measured requests' own.
    if let Some(p) = pid {
        settle(p).await;
    }
    let cpu0 = pid.map(cpu_ticks);
    let ns0 = pid.map(sched_ns);
    let t0 = Instant::now();
    let (_conns, h) = phase(conns, &t, requests, deadline).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let drain = match pid {
        Some(p) => settle(p).await,
        None => Duration::ZERO,
    };
    let cpu1 = pid.map(cpu_ticks);
    let ns1 = pid.map(sched_ns);
    let cpu = match (cpu0, cpu1, ns0, ns1) {
        (Some(a), Some(b), Some(n0), Some(n1)) if h.ok > 0 => {
            let us = (b.saturating_sub(a) as f64) * 1e6 / tck as f64;
            json!({"ticks": b.saturating_sub(a), "cpu_us_per_req": us / h.ok as f64,
                   "drain_ms": drain.as_secs_f64() * 1e3,
                   "sched_us_per_req": n1.saturating_sub(n0) as f64 / 1e3 / h.ok as f64})
        }
        _ => Value::Null,
    };
    json!({
        "mode": "run",
        "concurrency": concurrency,
        "requested": requests,
        "ok": h.ok,
        "errors": h.errors,
        "warmup_errors": warm.errors,
        "elapsed_s": elapsed,
        "rps": h.ok as f64 / elapsed.max(1e-9),
        "latency_us": summary(&h.total),
        "ttfb_us": summary(&h.ttfb),
        "ttft_us": summary(&h.ttft),
        "event_delay_us": summary(&h.delay),
        "cpu": cpu,
        "rss_kb": pid.map(|p| status_kb(p, "VmRSS:")),
        "hwm_kb": pid.map(|p| status_kb(p, "VmHWM:")),
    })
}

// ---------------------------------------------------------------- many open streams

async fn streams(t: Target, n: u64, max: Duration, pid: Option<u32>) -> Value {
    let deadline = Instant::now() + max;
    let rss_idle = pid.map(|p| status_kb(p, "VmRSS:"));
    let opened = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..n {
        let t = t.clone();
        let opened = opened.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut h = Hists::new();
            let r = tokio::time::timeout_at(deadline.into(), async {
                let mut send = connect(&t).await.ok()?;
                send.ready().await.ok()?;
                let t0 = Instant::now();
                let resp = send.send_request(request(&t)).await.ok()?;
                let ok_status = resp.status().is_success();
                let mut body = resp.into_body();
                let mut s = Sample::default();
                let mut pending = Vec::new();
                let mut counted = false;
                while let Some(frame) = body.frame().await {
                    let frame = frame.ok()?;
                    let Some(d) = frame.data_ref() else { continue };
                    let now = now_nanos();
                    if !counted {
                        counted = true;
                        s.ttfb = Some(t0.elapsed());
                        opened.fetch_add(1, Ordering::Relaxed);
                    }
                    pending.extend_from_slice(d);
                    if let Some(end) = memchr::memmem::rfind(&pending, b"\n\n") {
                        stamp_delays(&pending[..end], now, &mut s.delays_ns);
                        pending.drain(..end + 2);
                    }
                }
                s.total = t0.elapsed();
                s.ok = ok_status;
                Some(s)
            })
            .await;
            match r {
                Ok(Some(s)) => h.add(&s),
                _ => h.errors += 1,
            }
            done.fetch_add(1, Ordering::Relaxed);
            h
        }));
        if i % 50 == 49 {
            tokio::task::yield_now().await;
        }
    }
    // Wait for every stream to be open, sampling the server's RSS meanwhile.
    let t0 = Instant::now();
    let mut peak_rss = 0;
    let mut all_open_s = None;
    let mut rss_all_open = None;
    while done.load(Ordering::Relaxed) < n && Instant::now() < deadline {
        if all_open_s.is_none() && opened.load(Ordering::Relaxed) >= n {
            all_open_s = Some(t0.elapsed().as_secs_f64());
            rss_all_open = pid.map(|p| status_kb(p, "VmRSS:"));
        }
        if let Some(p) = pid {
            peak_rss = peak_rss.max(status_kb(p, "VmRSS:"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut all = Hists::new();
    for task in tasks {
        if let Ok(h) = task.await {
            all.merge(&h);
        }
    }
    json!({
        "mode": "streams",
        "n": n,
        "opened": opened.load(Ordering::Relaxed),
        "ok": all.ok,
        "errors": all.errors,
        "all_open_after_s": all_open_s,
        "rss_idle_kb": rss_idle,
        "rss_all_open_kb": rss_all_open,
        "rss_peak_kb": if pid.is_some() { Some(peak_rss) } else { None },
        "hwm_kb": pid.map(|p| status_kb(p, "VmHWM:")),
        "ttfb_us": summary(&all.ttfb),
        "latency_us": summary(&all.total),
        "event_delay_us": summary(&all.delay),
    })
}
