//! OpenTelemetry trace export end to end: a gateway configured with `[opentelemetry]` exports to
//! an in-process OTLP/HTTP collector on loopback, and the spans it receives are checked — names,
//! kinds, parenting under the client's `traceparent`, GenAI attributes and token counts, one
//! child per failover attempt, and no secret or content anywhere in what was sent.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use parking_lot::Mutex;
use prost::Message;
use serde_json::{Value, json};
use switchboard_test_support::{MockUpstream, Reply, TestGateway, sse};

const CLIENT_KEY: &str = "sk-client-key-0123456789abcdef";
const UPSTREAM_KEY: &str = "sk-ant-upstream-SECRET-0123456789abcdef";
const OTLP_TOKEN: &str = "otlp-token-SECRET-0123456789abcdef";
const PROMPT: &str = "PROMPT-CANARY-what is in the box";
const ANSWER: &str = "ANSWER-CANARY";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// Sonnet 4.5 with 10 input, 42 output, 3,068 cache-write and 6,289 cache-read tokens.
const SONNET_COST: f64 = 0.014_051_7;

/// One export request as the collector got it.
struct Export {
    headers: HeaderMap,
    body: Bytes,
}

type Received = Arc<Mutex<Vec<Export>>>;

/// An OTLP/HTTP collector on 127.0.0.1, port 0, keeping every `/v1/traces` request.
async fn collector() -> (SocketAddr, Received) {
    async fn traces(
        State(got): State<Received>,
        headers: HeaderMap,
        body: Bytes,
    ) -> ([(&'static str, &'static str); 1], Vec<u8>) {
        got.lock().push(Export { headers, body });
        let answer =
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::default();
        (
            [("content-type", "application/x-protobuf")],
            answer.encode_to_vec(),
        )
    }
    let got = Received::default();
    let app = axum::Router::new()
        .route("/v1/traces", axum::routing::post(traces))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind collector");
    let addr = listener.local_addr().expect("collector address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, got)
}

/// Every span received so far, with the resource's `service.name`.
fn spans(got: &Received) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    for export in got.lock().iter() {
        let req = ExportTraceServiceRequest::decode(export.body.as_ref()).expect("protobuf");
        for rs in req.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| attr(&r.attributes, "service.name"))
                .and_then(|v| string(&v))
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for s in ss.spans {
                    out.push((service.clone(), s));
                }
            }
        }
    }
    out
}

fn attr(attrs: &[KeyValue], key: &str) -> Option<AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone())
}

fn string(v: &AnyValue) -> Option<String> {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn s(span: &Span, key: &str) -> Option<String> {
    attr(&span.attributes, key).and_then(|v| string(&v))
}

fn i(span: &Span, key: &str) -> Option<i64> {
    match attr(&span.attributes, key)?.value {
        Some(any_value::Value::IntValue(n)) => Some(n),
        _ => None,
    }
}

fn f(span: &Span, key: &str) -> Option<f64> {
    match attr(&span.attributes, key)?.value {
        Some(any_value::Value::DoubleValue(n)) => Some(n),
        _ => None,
    }
}

fn b(span: &Span, key: &str) -> Option<bool> {
    match attr(&span.attributes, key)?.value {
        Some(any_value::Value::BoolValue(n)) => Some(n),
        _ => None,
    }
}

fn strings(span: &Span, key: &str) -> Vec<String> {
    match attr(&span.attributes, key).and_then(|v| v.value) {
        Some(any_value::Value::ArrayValue(a)) => a.values.iter().filter_map(string).collect(),
        _ => Vec::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn port(url: &str) -> i64 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in URL")
}

fn message(stream: bool) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": stream,
        "messages": [{"role": "user", "content": PROMPT}]})
}

async fn send(gw: &TestGateway, traceparent: Option<&str>) -> String {
    let mut req = gw
        .http
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", CLIENT_KEY)
        .header("anthropic-version", "2023-06-01")
        .json(&message(true));
    if let Some(tp) = traceparent {
        req = req.header("traceparent", tp);
    }
    let resp = req.send().await.expect("request");
    assert_eq!(resp.status(), 200);
    resp.text().await.expect("body")
}

#[tokio::test]
async fn failover_is_exported_as_a_genai_span_with_attempt_children() {
    let (collector, got) = collector().await;
    let failing = MockUpstream::start(Reply::error(529, "overloaded_error", "busy")).await;
    let good = MockUpstream::start(Reply::sse(sse::anthropic_text_with_cache(
        "claude-sonnet-4-5",
        &[ANSWER, " world"],
        10,
        42,
        3068,
        6289,
    )))
    .await;
    let gw = TestGateway::builder()
        .routing("max_retries = 0\nfailure_cooldown = \"0s\"\n")
        .endpoint(
            "first",
            "anthropic",
            &failing.url(),
            &format!("api_key = \"{UPSTREAM_KEY}\""),
        )
        .endpoint("second", "anthropic", &good.url(), "")
        .extra(&format!(
            "[opentelemetry]\nendpoint = \"http://{collector}\"\nservice_name = \"gw-under-test\"\nheaders = {{ \"x-otlp-token\" = \"{OTLP_TOKEN}\" }}\n"
        ))
        .start()
        .await;

    let body = send(&gw, Some(&format!("00-{TRACE_ID}-{PARENT_ID}-01"))).await;
    assert!(body.contains(ANSWER), "{body}");
    let row = gw.wait_for_logs(1).await.remove(0);
    assert!(gw.state.flush_traces().await, "flush");

    let all = spans(&got);
    assert_eq!(all.len(), 3, "one request span and two attempts");
    for (service, span) in &all {
        assert_eq!(service, "gw-under-test");
        assert_eq!(hex(&span.trace_id), TRACE_ID, "in the client's trace");
    }
    let (_, req) = all
        .iter()
        .find(|(_, s)| s.kind == span::SpanKind::Server as i32)
        .expect("a server span");
    assert_eq!(req.name, "chat claude-sonnet-4-5");
    assert_eq!(
        hex(&req.parent_span_id),
        PARENT_ID,
        "child of the traceparent"
    );
    assert_eq!(s(req, "gen_ai.operation.name").as_deref(), Some("chat"));
    assert_eq!(s(req, "gen_ai.provider.name").as_deref(), Some("anthropic"));
    for key in ["gen_ai.request.model", "gen_ai.response.model"] {
        assert_eq!(s(req, key).as_deref(), Some("claude-sonnet-4-5"), "{key}");
    }
    assert_eq!(b(req, "gen_ai.request.stream"), Some(true));
    assert_eq!(strings(req, "gen_ai.response.finish_reasons"), ["end_turn"]);
    assert_eq!(
        i(req, "gen_ai.usage.input_tokens"),
        Some(10 + 3068 + 6289),
        "input includes cached tokens"
    );
    assert_eq!(i(req, "gen_ai.usage.output_tokens"), Some(42));
    assert_eq!(
        i(req, "gen_ai.usage.cache_creation.input_tokens"),
        Some(3068)
    );
    assert_eq!(i(req, "gen_ai.usage.cache_read.input_tokens"), Some(6289));
    assert!(f(req, "gen_ai.response.time_to_first_chunk").is_some());
    assert_eq!(s(req, "server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(i(req, "server.port"), Some(port(&good.url())));
    assert_eq!(i(req, "http.response.status_code"), Some(200));
    assert_eq!(s(req, "error.type"), None);
    assert_eq!(s(req, "switchboard.request_id"), Some(row.id.to_string()));
    assert_eq!(s(req, "switchboard.endpoint").as_deref(), Some("second"));
    assert_eq!(i(req, "switchboard.attempts"), Some(2));
    assert_eq!(b(req, "switchboard.stream"), Some(true));
    assert!(i(req, "switchboard.ttfb_ms").is_some());
    let cost = f(req, "switchboard.cost_usd").expect("cost");
    assert!((cost - SONNET_COST).abs() < 1e-12, "{cost}");
    assert_ne!(
        req.status.as_ref().map(|s| s.code),
        Some(status::StatusCode::Error as i32)
    );

    let mut attempts: Vec<&Span> = all
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.kind == span::SpanKind::Client as i32)
        .collect();
    attempts.sort_by_key(|s| i(s, "switchboard.attempt"));
    let [first, second] = attempts[..] else {
        unreachable!("two attempt spans, got {}", attempts.len())
    };
    for (a, n, endpoint, url) in [
        (first, 0, "first", failing.url()),
        (second, 1, "second", good.url()),
    ] {
        assert_eq!(a.name, format!("attempt {endpoint}"));
        assert_eq!(a.parent_span_id, req.span_id, "child of the request span");
        assert_eq!(i(a, "switchboard.attempt"), Some(n));
        assert_eq!(s(a, "switchboard.endpoint").as_deref(), Some(endpoint));
        assert_eq!(i(a, "server.port"), Some(port(&url)));
        assert!(i(a, "switchboard.latency_ms").is_some());
        assert!(a.start_time_unix_nano >= req.start_time_unix_nano);
        assert!(a.end_time_unix_nano <= req.end_time_unix_nano);
        assert!(s(a, "gen_ai.operation.name").is_none(), "one generation");
    }
    assert!(second.start_time_unix_nano >= first.end_time_unix_nano);
    assert_eq!(s(first, "switchboard.disposition").as_deref(), Some("next"));
    assert_eq!(i(first, "http.response.status_code"), Some(529));
    assert_eq!(s(first, "error.type").as_deref(), Some("529"));
    let first_status = first.status.as_ref().expect("status");
    assert_eq!(first_status.code, status::StatusCode::Error as i32);
    assert!(first_status.message.contains("529"), "{first_status:?}");
    assert_eq!(s(second, "switchboard.disposition").as_deref(), Some("ok"));
    assert_eq!(i(second, "http.response.status_code"), Some(200));
    assert_eq!(s(second, "error.type"), None);

    // Exports carry the configured headers, and nothing secret or private in their bodies.
    {
        let exports = got.lock();
        assert!(!exports.is_empty());
        for e in exports.iter() {
            assert_eq!(e.headers["x-otlp-token"], OTLP_TOKEN);
            assert_eq!(e.headers["content-type"], "application/x-protobuf");
            let text = String::from_utf8_lossy(&e.body);
            for secret in [CLIENT_KEY, UPSTREAM_KEY, OTLP_TOKEN, PROMPT, ANSWER] {
                assert!(!text.contains(secret), "{secret} was exported");
            }
        }
    }

    // `/status` names the exporter with its header masked.
    let status = gw.status().await;
    let otel = &status["opentelemetry"];
    assert_eq!(
        otel["endpoint"],
        format!("http://{collector}/v1/traces").as_str()
    );
    assert_eq!(otel["headers"]["x-otlp-token"], "otlp-token…cdef");
    assert!(otel["exported_batches"].as_u64() >= Some(1), "{otel}");
    assert!(!status.to_string().contains(OTLP_TOKEN));
}

#[tokio::test]
async fn traces_start_at_the_gateway_or_follow_the_clients_sampling() {
    let (collector, got) = collector().await;
    let up = MockUpstream::start(Reply::sse(sse::anthropic_text_with_cache(
        "claude-sonnet-4-5",
        &["hi"],
        5,
        7,
        0,
        0,
    )))
    .await;
    let gw = TestGateway::builder()
        .endpoint("only", "anthropic", &up.url(), "")
        .extra(&format!(
            "[opentelemetry]\nendpoint = \"http://{collector}/\"\n"
        ))
        .start()
        .await;

    // No traceparent: a new trace, rooted at the gateway.
    send(&gw, None).await;
    // A client that sampled its trace out: nothing is exported for it.
    send(&gw, Some(&format!("00-{TRACE_ID}-{PARENT_ID}-00"))).await;
    gw.wait_for_logs(2).await;
    assert!(gw.state.flush_traces().await, "flush");

    let all = spans(&got);
    assert_eq!(all.len(), 2, "one request span and its attempt");
    let (service, req) = all
        .iter()
        .find(|(_, s)| s.kind == span::SpanKind::Server as i32)
        .expect("a server span");
    assert_eq!(service, "switchboard", "default service name");
    assert!(req.parent_span_id.is_empty(), "a root span");
    assert_ne!(hex(&req.trace_id), TRACE_ID);
    assert_eq!(i(req, "gen_ai.usage.input_tokens"), Some(5));
    assert_eq!(i(req, "gen_ai.usage.output_tokens"), Some(7));
}

#[tokio::test]
async fn without_the_section_nothing_is_exported() {
    let up = MockUpstream::start(Reply::sse(sse::anthropic_text_with_cache(
        "claude-sonnet-4-5",
        &["hi"],
        5,
        7,
        0,
        0,
    )))
    .await;
    let gw = TestGateway::builder()
        .endpoint("only", "anthropic", &up.url(), "")
        .start()
        .await;
    send(&gw, Some(&format!("00-{TRACE_ID}-{PARENT_ID}-01"))).await;
    gw.wait_for_logs(1).await;
    assert!(!gw.state.flush_traces().await, "export is off");
    assert_eq!(gw.status().await["opentelemetry"], Value::Null);
}

#[tokio::test]
async fn a_reload_starts_changes_and_stops_export() {
    let (collector, got) = collector().await;
    let up = MockUpstream::start(Reply::sse(sse::anthropic_text_with_cache(
        "claude-sonnet-4-5",
        &["hi"],
        5,
        7,
        0,
        0,
    )))
    .await;
    let gw = TestGateway::builder()
        .endpoint("only", "anthropic", &up.url(), "")
        .start()
        .await;
    let base = std::fs::read_to_string(&gw.config_path).expect("config file");
    let reload = |extra: &str| {
        let text = format!("{base}\n{extra}");
        let source = switchboard_config::ConfigSource::File(gw.config_path.clone());
        let config = switchboard_config::compile_str(&text, source, &|_| None)
            .expect("reloaded config compiles");
        gw.state.swap_config(config);
    };
    let services = || -> Vec<String> { spans(&got).into_iter().map(|(s, _)| s).collect() };

    reload(&format!(
        "[opentelemetry]\nendpoint = \"http://{collector}\"\nservice_name = \"one\"\n"
    ));
    send(&gw, None).await;
    gw.wait_for_logs(1).await;
    assert!(
        gw.state.flush_traces().await,
        "export started by the reload"
    );
    assert_eq!(services(), ["one", "one"]);

    reload(&format!(
        "[opentelemetry]\nendpoint = \"http://{collector}\"\nservice_name = \"two\"\n"
    ));
    send(&gw, None).await;
    gw.wait_for_logs(2).await;
    assert!(gw.state.flush_traces().await, "the new exporter");
    assert_eq!(services(), ["one", "one", "two", "two"]);

    reload("");
    send(&gw, None).await;
    gw.wait_for_logs(3).await;
    assert!(!gw.state.flush_traces().await, "export stopped");
    assert_eq!(gw.status().await["opentelemetry"], Value::Null);
    assert_eq!(services().len(), 4);
}
