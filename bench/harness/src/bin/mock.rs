//! Mock LLM upstream for benchmarks: Anthropic `POST /v1/messages` and OpenAI
//! `POST /v1/chat/completions` (also `/chat/completions`), JSON or SSE (by `"stream":true` in the
//! body), on one thread, HTTP/1.1 keep-alive, `TCP_NODELAY`.
//!
//! Behaviour (defaults from flags, changed at run time with
//! `POST /_mock/config?chunks=N&interval_us=N&latency_us=N&pad=N`, overridden per request by
//! `x-mock-chunks`, `x-mock-interval-us`, `x-mock-latency-us` headers):
//! - `latency_us`: wait before the response head;
//! - `chunks`: number of text deltas in a stream; `interval_us`: pause between events;
//! - every text delta is `ts:<unix nanos when written>;` plus `pad` filler bytes, so a client can
//!   compute each event's delivery delay (same host, same clock).
//!
//! `GET /_mock/stats` returns the number of requests answered.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

type Body = UnsyncBoxBody<Bytes, Infallible>;

static CHUNKS: AtomicU64 = AtomicU64::new(20);
static INTERVAL_US: AtomicU64 = AtomicU64::new(0);
static LATENCY_US: AtomicU64 = AtomicU64::new(0);
static PAD: AtomicU64 = AtomicU64::new(16);
static SERVED: AtomicU64 = AtomicU64::new(0);

const ANTHROPIC_JSON: &str = r#"{"id":"msg_bench01","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"text","text":"Hello! This is a benchmark response from the mock upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":14}}"#;
const OPENAI_JSON: &str = r#"{"id":"chatcmpl-bench01","object":"chat.completion","created":1700000000,"model":"gpt-bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! This is a benchmark response from the mock upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":14,"total_tokens":26}}"#;

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn parse_flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listen: SocketAddr = parse_flag(&args, "--listen")
        .unwrap_or_else(|| "127.0.0.1:18000".into())
        .parse()
        .expect("--listen IP:PORT");
    for (flag, cell) in [
        ("--chunks", &CHUNKS),
        ("--interval-us", &INTERVAL_US),
        ("--latency-us", &LATENCY_US),
        ("--pad", &PAD),
    ] {
        if let Some(v) = parse_flag(&args, flag) {
            cell.store(v.parse().expect("number"), Ordering::Relaxed);
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(serve(listen));
}

async fn serve(listen: SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket.bind(listen).expect("bind");
    let listener = socket.listen(4096).expect("listen");
    eprintln!("bench-mock listening on {listen}");
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(tcp), service_fn(handle))
                .await;
        });
    }
}

fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.parse().ok()
}

fn full(status: StatusCode, ct: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed_unsync());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, http::HeaderValue::from_static(ct));
    r
}

async fn handle(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let headers = req.headers().clone();
    let method = req.method().clone();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    if path == "/_mock/config" {
        for kv in query.split('&') {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let cell = match k {
                "chunks" => &CHUNKS,
                "interval_us" => &INTERVAL_US,
                "latency_us" => &LATENCY_US,
                "pad" => &PAD,
                _ => continue,
            };
            if let Ok(v) = v.parse() {
                cell.store(v, Ordering::Relaxed);
            }
        }
        return Ok(full(StatusCode::OK, "application/json", config_json()));
    }
    if path == "/_mock/stats" || path == "/health" {
        let s = format!(
            "{{\"served\":{},\"config\":{}}}",
            SERVED.load(Ordering::Relaxed),
            config_json()
        );
        return Ok(full(StatusCode::OK, "application/json", s));
    }
    if method == http::Method::GET && path.ends_with("/models") {
        return Ok(full(
            StatusCode::OK,
            "application/json",
            r#"{"object":"list","data":[{"id":"gpt-bench","object":"model","created":0,"owned_by":"bench"}]}"#,
        ));
    }
    let openai = path.ends_with("/chat/completions");
    let anthropic = path.ends_with("/v1/messages") || path.ends_with("/messages");
    if !openai && !anthropic {
        return Ok(full(
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"error":{"type":"not_found","message":"mock: unknown path"}}"#,
        ));
    }
    SERVED.fetch_add(1, Ordering::Relaxed);
    let latency =
        header_u64(&headers, "x-mock-latency-us").unwrap_or(LATENCY_US.load(Ordering::Relaxed));
    if latency > 0 {
        tokio::time::sleep(Duration::from_micros(latency)).await;
    }
    let stream = memchr::memmem::find(&body, b"\"stream\":true").is_some()
        || memchr::memmem::find(&body, b"\"stream\": true").is_some();
    if !stream {
        let b = if openai { OPENAI_JSON } else { ANTHROPIC_JSON };
        return Ok(full(StatusCode::OK, "application/json", b));
    }
    let chunks = header_u64(&headers, "x-mock-chunks").unwrap_or(CHUNKS.load(Ordering::Relaxed));
    let interval = Duration::from_micros(
        header_u64(&headers, "x-mock-interval-us").unwrap_or(INTERVAL_US.load(Ordering::Relaxed)),
    );
    let pad = "x".repeat(usize::try_from(PAD.load(Ordering::Relaxed)).unwrap_or(16));
    let events = if openai {
        openai_events(chunks, pad)
    } else {
        anthropic_events(chunks, pad)
    };
    // The head events and the first token go out at once (time to first token is the gateway's
    // alone); the pause comes before every later event.
    let first_paced = if openai { 2 } else { 3 };
    let s = futures::stream::iter(events.into_iter().enumerate()).then(move |(i, ev)| async move {
        if i >= first_paced && !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
        Ok::<_, Infallible>(Frame::data(Bytes::from(ev.render())))
    });
    let mut r = Response::new(StreamBody::new(s).boxed_unsync());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    Ok(r)
}

fn config_json() -> String {
    format!(
        "{{\"chunks\":{},\"interval_us\":{},\"latency_us\":{},\"pad\":{}}}",
        CHUNKS.load(Ordering::Relaxed),
        INTERVAL_US.load(Ordering::Relaxed),
        LATENCY_US.load(Ordering::Relaxed),
        PAD.load(Ordering::Relaxed)
    )
}

/// One SSE event; text deltas get their timestamp when rendered (just before being written).
enum Ev {
    Fixed(String),
    AnthropicDelta(String),
    OpenAiDelta(String),
}

impl Ev {
    fn render(self) -> String {
        match self {
            Self::Fixed(s) => s,
            Self::AnthropicDelta(pad) => format!(
                "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"ts:{};{pad}\"}}}}\n\n",
                now_nanos()
            ),
            Self::OpenAiDelta(pad) => format!(
                "data: {{\"id\":\"chatcmpl-bench01\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-bench\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"ts:{};{pad}\"}},\"finish_reason\":null}}]}}\n\n",
                now_nanos()
            ),
        }
    }
}

fn anthropic_events(chunks: u64, pad: String) -> Vec<Ev> {
    let mut v = vec![
        Ev::Fixed("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-5-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n".into()),
        Ev::Fixed("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".into()),
    ];
    for _ in 0..chunks {
        v.push(Ev::AnthropicDelta(pad.clone()));
    }
    v.push(Ev::Fixed(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n".into(),
    ));
    v.push(Ev::Fixed(format!("event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{}}}}}\n\n", chunks + 1)));
    v.push(Ev::Fixed(
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into(),
    ));
    v
}

fn openai_events(chunks: u64, pad: String) -> Vec<Ev> {
    let mut v = vec![Ev::Fixed("data: {\"id\":\"chatcmpl-bench01\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-bench\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n".into())];
    for _ in 0..chunks {
        v.push(Ev::OpenAiDelta(pad.clone()));
    }
    v.push(Ev::Fixed("data: {\"id\":\"chatcmpl-bench01\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-bench\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n".into()));
    v.push(Ev::Fixed(format!("data: {{\"id\":\"chatcmpl-bench01\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-bench\",\"choices\":[],\"usage\":{{\"prompt_tokens\":12,\"completion_tokens\":{},\"total_tokens\":{}}}}}\n\n", chunks + 1, chunks + 13)));
    v.push(Ev::Fixed("data: [DONE]\n\n".into()));
    v
}
