//! End-to-end behaviour of the gateway: a real server on loopback in front of scripted mock
//! upstreams. Backoff spacing and cooldown expiry are covered with paused time in the router's
//! own tests; here the routing is fast (millisecond backoff) and every wait is bounded.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use switchboard_test_support::sse::{self, parse_events};
use switchboard_test_support::{Gate, MockUpstream, Reply, Step, TestGateway};

fn message(model: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

async fn anthropic_mock() -> MockUpstream {
    MockUpstream::start(Reply::sse(sse::anthropic_text(
        "claude-x",
        &["Hello", " world"],
        11,
        5,
    )))
    .await
}

async fn text_of(resp: reqwest::Response) -> String {
    resp.text().await.expect("body")
}

fn text_from_events(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter_map(|(_, v)| v["delta"]["text"].as_str())
        .collect()
}

#[tokio::test]
async fn streams_through_and_logs_usage_and_models() {
    let up = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint(
            "primary",
            "anthropic",
            &up.url(),
            "[endpoints.models]\nopus = \"mapped-opus\"",
        )
        .start()
        .await;
    let resp = gw
        .post("/v1/messages?beta=true", &message("claude-opus-5-5", true))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let events = parse_events(&text_of(resp).await);
    assert_eq!(text_from_events(&events), "Hello world");
    assert_eq!(events.first().map(|e| e.0.as_str()), Some("message_start"));
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("message_stop"));

    let sent = &up.requests()[0];
    assert_eq!(sent.uri, "/v1/messages?beta=true");
    assert_eq!(sent.json()["model"], "mapped-opus");

    let rows = gw.wait_for_logs(1).await;
    let r = &rows[0];
    assert_eq!(r.requested_model.as_deref(), Some("claude-opus-5-5"));
    assert_eq!(r.routed_model.as_deref(), Some("mapped-opus"));
    assert_eq!(r.endpoint.as_deref(), Some("primary"));
    assert_eq!((r.status, r.outcome.as_str(), r.stream), (200, "ok", true));
    assert_eq!((r.input_tokens, r.output_tokens), (11, 5));
    assert_eq!(r.stop_reason.as_deref(), Some("end_turn"));
    assert!(r.ttfb_ms.is_some());
    assert_eq!(r.attempts.len(), 1);
    assert_eq!(r.attempts[0].disposition, "ok");
    let client = r.client_addr.as_deref().unwrap_or_default();
    assert!(
        client.starts_with("127.0.0.1:"),
        "the client's address: {client:?}"
    );
}

#[tokio::test]
async fn model_mapping_rewrites_only_the_model_bytes() {
    let up = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint(
            "primary",
            "anthropic",
            &up.url(),
            "[endpoints.models]\n\"claude-*\" = \"other\"",
        )
        .start()
        .await;
    let raw = r#"{ "model" : "claude-sonnet-5-5",  "stream":true, "max_tokens":5, "messages":[{"role":"user","content":[{"type":"thinking","thinking":"t","signature":"EqQBCkYIARgCIkB\/+sig=="}]}], "z": 1.50}"#;
    let resp = gw
        .http
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", "sk-client")
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let _ = text_of(resp).await;
    let expected = raw.replace("\"claude-sonnet-5-5\"", "\"other\"");
    assert_eq!(
        std::str::from_utf8(&up.requests()[0].body).expect("utf8"),
        expected
    );
}

#[tokio::test]
async fn non_streaming_passthrough_keeps_body_and_records_usage() {
    let up = MockUpstream::start(Reply::json(
        200,
        sse::anthropic_message("claude-x", "hi there", 7, 3),
    ))
    .await;
    let gw = TestGateway::builder()
        .endpoint("primary", "anthropic", &up.url(), "")
        .start()
        .await;
    let resp = gw
        .post("/v1/messages", &message("claude-haiku-5-5", false))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["content"][0]["text"], "hi there");
    let r = &gw.wait_for_logs(1).await[0];
    assert_eq!((r.input_tokens, r.output_tokens, r.stream), (7, 3, false));
}

#[tokio::test]
async fn passthrough_headers_credentials_and_hop_by_hop() {
    let own = anthropic_mock().await;
    let pass = anthropic_mock().await;
    let gw = TestGateway::builder()
        .server("auth_token = \"gateway-secret-token\"")
        .endpoint(
            "own",
            "anthropic",
            &own.url(),
            "api_key = \"sk-ant-endpoint-key-1234567890\"",
        )
        .start()
        .await;
    let resp = gw
        .http
        .post(format!("{}/v1/messages", gw.url))
        .header("authorization", "Bearer gateway-secret-token")
        .header(
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        )
        .header("anthropic-version", "2023-06-01")
        .header("x-claude-code-session-id", "sess-1")
        .json(&message("claude-opus-5-5", true))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let _ = text_of(resp).await;
    let sent = &own.requests()[0];
    assert_eq!(
        sent.header("x-api-key"),
        Some("sk-ant-endpoint-key-1234567890")
    );
    assert_eq!(
        sent.header("authorization"),
        None,
        "the gateway token never reaches an upstream"
    );
    assert_eq!(
        sent.header("anthropic-beta"),
        Some("claude-code-20250219,interleaved-thinking-2025-05-14")
    );
    assert_eq!(sent.header("x-claude-code-session-id"), Some("sess-1"));
    assert_eq!(sent.header("accept-encoding"), Some("identity"));
    let upstream_authority = own
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    assert_eq!(
        sent.header("host"),
        Some(upstream_authority.as_str()),
        "the upstream's own host and port, not the gateway's"
    );

    // Without the token: rejected in Anthropic's shape.
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["type"], "authentication_error");

    // Pass-through credentials keep the client's auth style.
    // An endpoint's own headers may name the host (a virtual host behind a fixed address).
    let gw2 = TestGateway::builder()
        .endpoint(
            "pass",
            "anthropic",
            &pass.url(),
            "headers = { host = \"llm.internal.test\" }",
        )
        .start()
        .await;
    let resp = gw2
        .http
        .post(format!("{}/v1/messages", gw2.url))
        .header("authorization", "Bearer sk-ant-oat-client")
        .json(&message("m", true))
        .send()
        .await
        .expect("send");
    let _ = text_of(resp).await;
    assert_eq!(
        pass.requests()[0].header("authorization"),
        Some("Bearer sk-ant-oat-client")
    );
    assert_eq!(pass.requests()[0].header("x-api-key"), None);
    assert_eq!(pass.requests()[0].header("host"), Some("llm.internal.test"));
}

#[tokio::test]
async fn fails_over_in_order_after_retrying_5xx() {
    let a = MockUpstream::start(Reply::error(529, "overloaded_error", "Overloaded")).await;
    let b = MockUpstream::start(Reply::error(500, "api_error", "boom")).await;
    let c = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .endpoint("c", "anthropic", &c.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-endpoint"], "c");
    let _ = text_of(resp).await;
    // max_retries = 2: three attempts each on a and b, then c.
    assert_eq!((a.hits(), b.hits(), c.hits()), (3, 3, 1));
    let r = &gw.wait_for_logs(1).await[0];
    let trail: Vec<(&str, &str)> = r
        .attempts
        .iter()
        .map(|a| (a.endpoint.as_str(), a.disposition.as_str()))
        .collect();
    assert_eq!(
        trail,
        [
            ("a", "retry"),
            ("a", "retry"),
            ("a", "next"),
            ("b", "retry"),
            ("b", "retry"),
            ("b", "next"),
            ("c", "ok")
        ]
    );
    assert_eq!(r.attempts[0].status, Some(529));
}

#[tokio::test]
async fn network_errors_and_resets_before_headers_fail_over() {
    let a = MockUpstream::start(Reply::ResetBeforeHeaders).await;
    let b = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "")
        .endpoint("dead", "anthropic", "http://127.0.0.1:9", "")
        .endpoint("b", "anthropic", &b.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 200);
    let _ = text_of(resp).await;
    assert_eq!((a.hits(), b.hits()), (3, 1));
    let r = &gw.wait_for_logs(1).await[0];
    let refused: Vec<&str> = r
        .attempts
        .iter()
        .filter(|a| a.endpoint == "dead")
        .filter_map(|a| a.error.as_deref())
        .collect();
    assert_eq!(refused.len(), 3, "{:?}", r.attempts);
    for e in refused {
        assert!(
            e.starts_with("error sending request for url (http://127.0.0.1:9/v1/messages): ")
                && e.contains("tcp connect error")
                && e.to_ascii_lowercase().contains("connection refused"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn rate_limit_cools_down_without_retry_and_status_shows_it() {
    let a = MockUpstream::start(
        Reply::error(429, "rate_limit_error", "slow down").header("retry-after", "120"),
    )
    .await;
    let b = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .start()
        .await;
    for _ in 0..3 {
        let resp = gw.post("/v1/messages", &message("m", true)).await;
        assert_eq!(resp.status(), 200);
        let _ = text_of(resp).await;
    }
    assert_eq!(
        a.hits(),
        1,
        "a 429 is not retried, and a cooling endpoint gets no traffic"
    );
    assert_eq!(b.hits(), 3);
    let status = gw.status().await;
    let ep = &status["endpoints"][0];
    assert_eq!(ep["state"], "cooling_down");
    let remaining = ep["cooldown_remaining_s"].as_f64().expect("remaining");
    assert!(remaining > 100.0 && remaining <= 120.0, "{remaining}");
    assert_eq!(status["endpoints"][1]["state"], "healthy");
}

#[tokio::test]
async fn all_rate_limited_returns_429_with_earliest_retry_after() {
    let a = MockUpstream::start(
        Reply::error(429, "rate_limit_error", "a").header("retry-after", "300"),
    )
    .await;
    let b =
        MockUpstream::start(Reply::error(429, "rate_limit_error", "b").header("retry-after", "40"))
            .await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 429);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("str")
        .parse()
        .expect("secs");
    assert!((39..=40).contains(&retry_after), "{retry_after}");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    let msg = body["error"]["message"].as_str().expect("message");
    assert!(
        msg.contains("a: HTTP 429") && msg.contains("b: HTTP 429"),
        "{msg}"
    );
}

#[tokio::test]
async fn all_failing_returns_overloaded_naming_every_endpoint() {
    let a = MockUpstream::start(Reply::error(500, "api_error", "kaput")).await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "")
        .endpoint("b", "anthropic", "http://127.0.0.1:9", "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 529);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["type"], "overloaded_error");
    let msg = body["error"]["message"].as_str().expect("message");
    assert!(
        msg.starts_with("all endpoints failed: a: HTTP 500: kaput (3 attempts); b: "),
        "{msg}"
    );
    let r = &gw.wait_for_logs(1).await[0];
    assert_eq!((r.status, r.outcome.as_str()), (529, "exhausted"));
    assert_eq!(r.attempts.len(), 6);
}

#[tokio::test]
async fn auth_failure_with_own_key_cools_down_and_passthrough_401_goes_back() {
    let a = MockUpstream::start(Reply::error(
        401,
        "authentication_error",
        "invalid x-api-key",
    ))
    .await;
    let b = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint(
            "a",
            "anthropic",
            &a.url(),
            "api_key = \"sk-revoked-000000000000\"",
        )
        .endpoint(
            "b",
            "anthropic",
            &b.url(),
            "api_key = \"sk-good-0000000000000000\"",
        )
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 200);
    let _ = text_of(resp).await;
    assert_eq!(gw.status().await["endpoints"][0]["state"], "cooling_down");

    let p = MockUpstream::start(Reply::error(
        401,
        "authentication_error",
        "invalid x-api-key",
    ))
    .await;
    let q = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint("p", "anthropic", &p.url(), "")
        .endpoint("q", "anthropic", &q.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        q.hits(),
        0,
        "the client's own credential is at fault: no failover"
    );
}

#[tokio::test]
async fn client_errors_are_returned_unchanged() {
    let body =
        r#"{"type":"error","error":{"type":"invalid_request_error","message":"messages.0: bad"}}"#;
    let a = MockUpstream::start(Reply::json(400, body)).await;
    let b = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(text_of(resp).await, body);
    assert_eq!((a.hits(), b.hits()), (1, 0));
}

#[tokio::test]
async fn error_event_before_first_byte_fails_over() {
    let a = MockUpstream::start(Reply::sse(vec![
        "event: error\ndata: {\"type\": \"error\", \"error\": {\"details\": null, \"type\": \"overloaded_error\", \"message\": \"Overloaded\"}      }\n\n".into(),
    ]))
    .await;
    let b = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        text_from_events(&parse_events(&text_of(resp).await)),
        "Hello world"
    );
    assert_eq!(a.hits(), 3, "treated like a 529: retried, then failed over");
}

#[tokio::test]
async fn stalled_upstream_times_out_before_first_byte_and_fails_over() {
    let a = MockUpstream::start(Reply::Stall).await;
    let b = anthropic_mock().await;
    let gw = TestGateway::builder()
        .routing("max_retries = 0\nfirst_byte_timeout = \"200ms\"\nfailure_cooldown = \"0s\"")
        .endpoint("a", "anthropic", &a.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 200);
    let _ = text_of(resp).await;
    let r = &gw.wait_for_logs(1).await[0];
    assert!(
        r.attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no response within")),
        "{:?}",
        r.attempts
    );
}

#[tokio::test]
async fn mid_stream_reset_ends_with_error_event_and_counts_as_failure() {
    let mut frames: Vec<Step> = sse::anthropic_text("m", &["partial"], 3, 1)
        .into_iter()
        .take(4)
        .map(|f| Step::Bytes(f.into()))
        .collect();
    // Let those events reach the gateway before the connection breaks.
    frames.push(Step::Delay(Duration::from_millis(100)));
    frames.push(Step::Bytes(
        "event: content_block_delta\ndata: {\"type\":\"content_block_del".into(),
    ));
    frames.push(Step::Reset);
    let a = MockUpstream::start(Reply::steps(frames)).await;
    let b = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(resp.status(), 200);
    let body = text_of(resp).await;
    let events = parse_events(&body);
    assert_eq!(text_from_events(&events), "partial");
    let (last_name, last) = events.last().expect("events");
    assert_eq!(last_name, "error");
    assert_eq!(last["type"], "error");
    assert!(
        !body.contains("content_block_del\""),
        "a half event is never forwarded"
    );
    assert_eq!(b.hits(), 0, "no failover after the first byte");
    let r = &gw.wait_for_logs(1).await[0];
    assert_eq!(r.outcome, "partial");
    assert_eq!(r.input_tokens, 3);
    let status = gw.status().await;
    assert_eq!(status["endpoints"][0]["failures"], 1);
    assert_eq!(status["endpoints"][0]["successes"], 0);
}

#[tokio::test]
async fn stream_closed_without_message_stop_gets_an_error_event() {
    let frames: Vec<String> = sse::anthropic_text("m", &["cut"], 3, 1)
        .into_iter()
        .take(4)
        .collect();
    let a = MockUpstream::start(Reply::sse(frames)).await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "")
        .start()
        .await;
    let events = parse_events(&text_of(gw.post("/v1/messages", &message("m", true)).await).await);
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("error"));
}

#[tokio::test]
async fn forwards_each_event_before_the_next_one_exists() {
    let gate = Gate::new();
    let frames = sse::anthropic_text("m", &["one", "two", "three"], 1, 1);
    let mut steps = Vec::new();
    for f in frames {
        let is_delta = f.starts_with("event: content_block_delta");
        steps.push(Step::Bytes(f.into()));
        if is_delta {
            steps.push(Step::Wait(gate.clone()));
        }
    }
    let up = MockUpstream::start(Reply::steps(steps)).await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    let _ = read_each_text_before_the_next(resp, &gate, &["one", "two", "three"]).await;
}

/// Reads the client's stream, waiting (bounded) for each text delta in `wants` and only then
/// opening `gate`, which lets the upstream send the next one: a gateway that buffered would never
/// deliver it. Returns the whole body.
async fn read_each_text_before_the_next(
    resp: reqwest::Response,
    gate: &Gate,
    wants: &[&str],
) -> String {
    let mut body = resp.bytes_stream();
    let mut seen = String::new();
    for want in wants {
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            while !seen.contains(&format!("\"text\":\"{want}\"")) {
                let chunk = body.next().await.expect("more body").expect("chunk");
                seen.push_str(std::str::from_utf8(&chunk).expect("utf8"));
            }
        })
        .await;
        assert!(
            got.is_ok(),
            "text {want:?} was not forwarded before the next event was sent"
        );
        gate.open();
    }
    while let Some(chunk) = body.next().await {
        seen.push_str(std::str::from_utf8(&chunk.expect("chunk")).expect("utf8"));
    }
    seen
}

#[tokio::test]
async fn client_disconnect_cancels_upstream_and_completes_the_log_row() {
    let gate = Gate::new();
    let mut steps: Vec<Step> = sse::anthropic_text("m", &["first"], 2, 1)
        .into_iter()
        .take(4)
        .map(|f| Step::Bytes(f.into()))
        .collect();
    steps.push(Step::Wait(gate.clone()));
    steps.push(Step::Bytes(
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into(),
    ));
    let up = MockUpstream::start(Reply::steps(steps)).await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message("m", true)).await;
    let mut body = resp.bytes_stream();
    let _ = body.next().await;
    drop(body);
    up.wait_until("upstream stream cancelled", |m| m.cancelled() == 1)
        .await;
    let r = &gw.wait_for_logs(1).await[0];
    assert_eq!(r.outcome, "client_closed");
    assert_eq!(r.input_tokens, 2);
}

#[tokio::test]
async fn keeps_idle_streams_alive_with_pings() {
    let mut steps: Vec<Step> = sse::anthropic_text("m", &["thinking…"], 1, 1)
        .into_iter()
        .map(|f| Step::Bytes(f.into()))
        .collect();
    steps.insert(2, Step::Delay(Duration::from_millis(400)));
    let up = MockUpstream::start(Reply::steps(steps)).await;
    let gw = TestGateway::builder()
        .routing("keepalive_interval = \"100ms\"")
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    let events = parse_events(&text_of(gw.post("/v1/messages", &message("m", true)).await).await);
    let pings = events.iter().filter(|(n, _)| n == "ping").count();
    assert!(
        pings >= 3,
        "expected keep-alive pings during the silence, got {pings}"
    );
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("message_stop"));
}

#[tokio::test]
async fn stalled_stream_after_commit_is_ended_with_an_error() {
    let mut steps: Vec<Step> = sse::anthropic_text("m", &["x"], 1, 1)
        .into_iter()
        .take(3)
        .map(|f| Step::Bytes(f.into()))
        .collect();
    steps.push(Step::Delay(Duration::from_secs(30)));
    let up = MockUpstream::start(Reply::steps(steps)).await;
    let gw = TestGateway::builder()
        .routing("keepalive_interval = \"50ms\"\nidle_timeout = \"300ms\"")
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    let events = parse_events(&text_of(gw.post("/v1/messages", &message("m", true)).await).await);
    let (name, last) = events.last().expect("events");
    assert_eq!(name, "error");
    assert!(
        last["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("silent")),
        "{last}"
    );
}

#[tokio::test]
async fn hot_reload_keeps_in_flight_requests_and_routes_new_ones() {
    let gate = Gate::new();
    let mut steps: Vec<Step> = sse::anthropic_text("m", &["old"], 1, 1)
        .into_iter()
        .map(|f| Step::Bytes(f.into()))
        .collect();
    steps.insert(3, Step::Wait(gate.clone()));
    let old = MockUpstream::start(Reply::steps(steps)).await;
    let new = MockUpstream::start(Reply::sse(sse::anthropic_text("m", &["new"], 1, 1))).await;
    let gw = TestGateway::builder()
        .watch()
        .endpoint("old", "anthropic", &old.url(), "")
        .start()
        .await;

    let in_flight = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(in_flight.status(), 200);

    // A broken edit keeps the running config and is reported.
    gw.rewrite_config("[server]\nlisten = \"127.0.0.1:0\"\n[[endpoints]]\nname = \"x\"\nkind = \"anthropic\"\nbase_url = \"not a url\"\n");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while gw.status().await["reload"]["last_error"].is_null() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "broken edit not reported"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = gw.status().await["reload"]["last_error"]
        .as_str()
        .expect("error")
        .to_owned();
    assert!(err.contains("endpoints[0].base_url"), "{err}");

    gw.rewrite_config(&format!("[server]\nlisten = \"127.0.0.1:0\"\n[[endpoints]]\nname = \"new\"\nkind = \"anthropic\"\nbase_url = \"{}\"\n", new.url()));
    while gw.status().await["endpoints"][0]["name"] != "new" {
        assert!(tokio::time::Instant::now() < deadline, "reload not applied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fresh = gw.post("/v1/messages", &message("m", true)).await;
    assert_eq!(
        text_from_events(&parse_events(&text_of(fresh).await)),
        "new"
    );

    gate.open();
    assert_eq!(
        text_from_events(&parse_events(&text_of(in_flight).await)),
        "old"
    );
    assert_eq!(gw.status().await["reload"]["last_error"], Value::Null);
}

#[tokio::test]
async fn graceful_shutdown_drains_in_flight_streams_and_loses_no_rows() {
    let gate = Gate::new();
    let mut steps: Vec<Step> = sse::anthropic_text("m", &["drained"], 1, 1)
        .into_iter()
        .map(|f| Step::Bytes(f.into()))
        .collect();
    steps.insert(3, Step::Wait(gate.clone()));
    let up =
        MockUpstream::start(Reply::json(200, sse::anthropic_message("m", "quick", 1, 1))).await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    for _ in 0..5 {
        let r = gw.post("/v1/messages", &message("m", false)).await;
        let _ = r.bytes().await;
    }
    up.push(Reply::steps(steps));
    let in_flight = gw.post("/v1/messages", &message("m", true)).await;
    let reader = tokio::spawn(async move { in_flight.text().await.expect("body") });
    let shutdown = tokio::spawn(gw.shutdown());
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.open();
    let body = reader.await.expect("reader");
    assert_eq!(text_from_events(&parse_events(&body)), "drained");
    let stopped = shutdown.await.expect("shutdown");
    assert_eq!(stopped.store.count().await.expect("count"), 6);
}

#[tokio::test]
async fn claude_code_side_endpoints() {
    let up = MockUpstream::start(Reply::json(200, r#"{"input_tokens": 1234}"#)).await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    let hello = gw
        .http
        .head(format!("{}/api/hello", gw.url))
        .send()
        .await
        .expect("hello");
    assert_eq!(hello.status(), 200);
    let ev = gw
        .http
        .post(format!("{}/api/event_logging/batch", gw.url))
        .body("{}")
        .send()
        .await
        .expect("events");
    assert_eq!(ev.status(), 200);
    let ct = gw
        .post(
            "/v1/messages/count_tokens?beta=true",
            &json!({"model": "claude-opus-5-5", "messages": [], "tools": []}),
        )
        .await;
    assert_eq!(ct.status(), 200);
    assert_eq!(
        ct.json::<Value>().await.expect("json")["input_tokens"],
        1234
    );
    assert_eq!(up.requests()[0].uri, "/v1/messages/count_tokens?beta=true");
    let health: Value = gw
        .http
        .get(format!("{}/health", gw.url))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn models_are_listed_in_the_callers_shape() {
    let up = MockUpstream::start(Reply::json(
        200,
        r#"{"data":[{"type":"model","id":"claude-opus-5-5"}],"has_more":false}"#,
    ))
    .await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    let resp = gw
        .http
        .get(format!("{}/v1/models?limit=1000", gw.url))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .expect("models");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["data"][0]["id"], "claude-opus-5-5");
    assert_eq!(up.requests()[0].uri, "/v1/models?limit=1000");

    let oa = MockUpstream::start(Reply::error(500, "api_error", "x")).await;
    let gw = TestGateway::builder()
        .endpoint(
            "deep",
            "openai",
            &format!("{}/v1", oa.url()),
            "[endpoints.models]\nopus = \"deepseek-reasoner\"\nsonnet = \"deepseek-chat\"",
        )
        .start()
        .await;
    let body: Value = gw
        .http
        .get(format!("{}/v1/models", gw.url))
        .bearer_auth("k")
        .send()
        .await
        .expect("models")
        .json()
        .await
        .expect("json");
    assert_eq!(body["object"], "list");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["deepseek-reasoner", "deepseek-chat"]);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let up = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    let resp = gw
        .http
        .post(format!("{}/v1/messages", gw.url))
        .body("{\"model\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("not valid JSON")
    );
    let resp = gw.post("/v1/messages", &json!({"messages": []})).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(up.hits(), 0);
}

#[tokio::test]
async fn openai_clients_reach_anthropic_upstreams_with_usage() {
    let up = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint(
            "a",
            "anthropic",
            &up.url(),
            "api_key = \"sk-ant-0123456789abcdef\"",
        )
        .start()
        .await;
    let resp = gw
        .http
        .post(format!("{}/v1/chat/completions", gw.url))
        .bearer_auth("client")
        .json(&json!({"model": "claude-sonnet-5-5", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let body = text_of(resp).await;
    let chunks: Vec<Value> = body
        .split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("chunk json"))
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello world");
    let usage = chunks
        .iter()
        .find(|c| c["choices"].as_array().is_some_and(Vec::is_empty))
        .expect(&body);
    assert_eq!(usage["usage"]["prompt_tokens"], 11);
    assert_eq!(usage["usage"]["completion_tokens"], 5);
    assert!(body.trim_end().ends_with("data: [DONE]"));
    let sent = up.requests()[0].json();
    assert!(
        sent["system"].to_string().contains("be brief"),
        "system prompt hoisted: {sent}"
    );
    assert_eq!(
        up.requests()[0].header("x-api-key"),
        Some("sk-ant-0123456789abcdef")
    );
}

#[tokio::test]
async fn count_tokens_is_estimated_when_no_endpoint_can_count() {
    let oa = MockUpstream::start(Reply::error(500, "api_error", "never called")).await;
    let gw = TestGateway::builder()
        .endpoint(
            "oa",
            "openai",
            &format!("{}/v1", oa.url()),
            "api_key = \"k-0123456789abcdef\"",
        )
        .start()
        .await;
    let body = json!({"model": "claude-opus-5-5", "messages": [{"role": "user", "content": "How do I cross the street?"}]});
    let resp = gw.post("/v1/messages/count_tokens?beta=true", &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-estimate"], "true");
    let n = resp.json::<Value>().await.expect("json")["input_tokens"]
        .as_u64()
        .expect("count");
    assert!((15..=40).contains(&n), "{n}");
    assert_eq!(oa.hits(), 0);

    // An Anthropic-compatible endpoint without count_tokens (404) also falls back.
    let nf = MockUpstream::start(Reply::error(404, "not_found_error", "no such route")).await;
    let gw = TestGateway::builder()
        .endpoint("compat", "anthropic", &nf.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages/count_tokens", &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-estimate"], "true");
}

#[tokio::test]
async fn gateway_made_thinking_signatures_never_reach_anthropic() {
    let up = anthropic_mock().await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    let body = json!({"model": "m", "max_tokens": 10, "stream": true, "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "relayed from deepseek", "signature": "sb1:0123abcd"},
            {"type": "thinking", "thinking": "real", "signature": "EqQBCkYIAReal"},
            {"type": "text", "text": "a"}]},
        {"role": "user", "content": "next"}]});
    let resp = gw.post("/v1/messages", &body).await;
    let _ = text_of(resp).await;
    let sent = up.requests()[0].json();
    let blocks = sent["messages"][1]["content"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0]["signature"], "EqQBCkYIAReal");
    assert_eq!(sent["model"], "m");
}

#[tokio::test]
async fn translated_streams_are_forwarded_chunk_by_chunk() {
    let gate = Gate::new();
    let mut steps = Vec::new();
    for f in sse::openai_text("gpt", &["one", "two", "three"], 5, 3, 0) {
        let is_text = f.contains("\"content\":\"") && !f.contains("\"content\":\"\"");
        steps.push(Step::Bytes(f.into()));
        if is_text {
            steps.push(Step::Wait(gate.clone()));
        }
    }
    let up = MockUpstream::start(Reply::steps(steps)).await;
    let gw = TestGateway::builder()
        .endpoint(
            "oa",
            "openai",
            &format!("{}/v1", up.url()),
            "api_key = \"k-0123456789abcdef\"",
        )
        .start()
        .await;
    let resp = gw
        .post("/v1/messages", &message("claude-sonnet-5-5", true))
        .await;
    assert_eq!(resp.status(), 200);
    let seen = read_each_text_before_the_next(resp, &gate, &["one", "two", "three"]).await;
    let events = parse_events(&seen);
    assert_eq!(
        events.iter().filter(|(n, _)| n == "message_start").count(),
        1
    );
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("message_stop"));
    let delta = events
        .iter()
        .find(|(n, _)| n == "message_delta")
        .expect("message_delta");
    assert_eq!(delta.1["usage"]["input_tokens"], 5);
    assert_eq!(delta.1["usage"]["output_tokens"], 3);
    let sent = up.requests()[0].json();
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_eq!(
        up.requests()[0].header("authorization"),
        Some("Bearer k-0123456789abcdef")
    );
    assert_eq!(up.requests()[0].header("anthropic-beta"), None);
}
