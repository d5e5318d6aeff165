//! Upstream faults beyond outages: garbage, invalid UTF-8, oversized events, truncated bodies,
//! wrong content types. (DNS failure is not tested here: resolving any name would query the
//! machine's resolver, which is off loopback.) Each must end in a failover (before the first byte) or a
//! well-formed error for the client (after it) — never a hang, a panic or a success that isn't.

use serde_json::{Value, json};
use switchboard_test_support::sse::{self, parse_events};
use switchboard_test_support::{MockUpstream, Reply, Step, TestGateway};

fn message(stream: bool) -> Value {
    json!({"model": "m", "max_tokens": 8, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

async fn healthy() -> MockUpstream {
    MockUpstream::start(Reply::sse(sse::anthropic_text("m", &["fine"], 2, 1))).await
}

fn text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter_map(|(_, v)| v["delta"]["text"].as_str())
        .collect()
}

#[tokio::test]
async fn html_instead_of_a_stream_fails_over() {
    let portal = MockUpstream::start(
        Reply::json(200, "<html>sign in to the wifi</html>").header("content-type", "text/html"),
    )
    .await;
    let b = healthy().await;
    let gw = TestGateway::builder()
        .endpoint("portal", "anthropic", &portal.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .start()
        .await;
    let body = gw
        .post("/v1/messages", &message(true))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(text(&parse_events(&body)), "fine");
    let r = &gw.wait_for_logs(1).await[0];
    assert!(
        r.attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("text/html")),
        "{:?}",
        r.attempts
    );
}

#[tokio::test]
async fn truncated_json_body_fails_over() {
    let cut = MockUpstream::start(Reply::Stream {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        steps: vec![
            Step::Bytes(r#"{"id":"msg_1","type":"message","content":[{"type":"te"#.into()),
            Step::Reset,
        ],
    })
    .await;
    let b = MockUpstream::start(Reply::json(200, sse::anthropic_message("m", "whole", 2, 1))).await;
    let gw = TestGateway::builder()
        .endpoint("cut", "anthropic", &cut.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message(false)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.expect("json")["content"][0]["text"],
        "whole"
    );
    assert_eq!(cut.hits(), 3, "retried, then failed over");
}

#[tokio::test]
async fn garbage_stream_ends_with_an_error_event() {
    let junk = MockUpstream::start(Reply::steps(vec![
        Step::Bytes(sse::anthropic_text("m", &["x"], 1, 1)[0].clone().into()),
        Step::Bytes("this is not\nan event stream at all\n\n".into()),
        Step::Bytes("\u{1F600}{{{\n\n".into()),
    ]))
    .await;
    let gw = TestGateway::builder()
        .endpoint("junk", "anthropic", &junk.url(), "")
        .start()
        .await;
    let body = gw
        .post("/v1/messages", &message(true))
        .await
        .text()
        .await
        .expect("body");
    let events = parse_events(&body);
    assert_eq!(events.first().map(|e| e.0.as_str()), Some("message_start"));
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("error"));
    assert_eq!(gw.wait_for_logs(1).await[0].outcome, "partial");
}

#[tokio::test]
async fn invalid_utf8_in_a_translated_stream_is_an_error_not_a_panic() {
    let first = sse::openai_text("gpt", &["ok"], 1, 1, 0)[0].clone();
    let oa = MockUpstream::start(Reply::steps(vec![
        Step::Bytes(first.into()),
        Step::Bytes(bytes::Bytes::from_static(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}\n\n",
        )),
    ]))
    .await;
    let gw = TestGateway::builder()
        .endpoint(
            "oa",
            "openai",
            &format!("{}/v1", oa.url()),
            "api_key = \"k-0123456789abcdef\"",
        )
        .start()
        .await;
    let body = gw
        .post("/v1/messages", &message(true))
        .await
        .text()
        .await
        .expect("body");
    let events = parse_events(&body);
    assert_eq!(
        events.iter().filter(|(n, _)| n == "message_start").count(),
        1
    );
    let (name, last) = events.last().expect("events");
    assert_eq!(name, "error");
    assert_eq!(last["type"], "error");
}

#[tokio::test]
async fn an_endless_event_is_cut_off_with_an_error() {
    let start = sse::anthropic_text("m", &["x"], 1, 1)[0].clone();
    let mut steps = vec![
        Step::Bytes(start.into()),
        Step::Bytes("event: content_block_delta\ndata: ".into()),
    ];
    let mib = bytes::Bytes::from(vec![b'a'; 1024 * 1024]);
    for _ in 0..17 {
        steps.push(Step::Bytes(mib.clone()));
    }
    let big = MockUpstream::start(Reply::steps(steps)).await;
    let gw = TestGateway::builder()
        .endpoint("big", "anthropic", &big.url(), "")
        .start()
        .await;
    let body = gw
        .post("/v1/messages", &message(true))
        .await
        .text()
        .await
        .expect("body");
    assert!(
        body.len() < 1024 * 1024,
        "the oversized event is never forwarded"
    );
    let events = parse_events(&body);
    let (name, last) = events.last().expect("events");
    assert_eq!(name, "error");
    assert!(
        last["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("larger than")),
        "{last}"
    );
}
