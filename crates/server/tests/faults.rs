//! Faults beyond outages. Upstream: garbage, invalid UTF-8, oversized events, truncated bodies,
//! wrong content types, names that don't resolve. Each must end in a failover (before the first
//! byte) or a well-formed error for the client (after it) — never a hang, a panic or a success
//! that isn't. Clients: slowloris headers, stalled bodies, hundreds of idle connections — each
//! is cut off after its timeout, and never delays anyone else.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_test_support::sse::{self, parse_events};
use switchboard_test_support::{FakeDns, MockUpstream, Reply, Step, TestGateway};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

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
async fn a_stream_reset_after_its_headers_before_a_whole_event_fails_over() {
    // Comments only (as OpenRouter sends while a request is queued), and half an event: either
    // way the client has been sent nothing it could use, so the gateway may still fail over.
    let comments = MockUpstream::start(Reply::steps(vec![
        Step::Bytes(": OPENROUTER PROCESSING\n\n".into()),
        Step::Delay(Duration::from_millis(20)),
        Step::Bytes(": OPENROUTER PROCESSING\n\n".into()),
        Step::Reset,
    ]))
    .await;
    let half = MockUpstream::start(Reply::steps(vec![
        Step::Bytes("event: message_start\ndata: {\"type\":\"mess".into()),
        Step::Delay(Duration::from_millis(20)),
        Step::Reset,
    ]))
    .await;
    let quiet = MockUpstream::start(Reply::steps(vec![Step::Bytes(": ping\n\n".into())])).await;
    let b = healthy().await;
    let gw = TestGateway::builder()
        .routing("max_retries = 0\nfailure_cooldown = \"0s\"\n")
        .endpoint("comments", "anthropic", &comments.url(), "")
        .endpoint("half", "anthropic", &half.url(), "")
        .endpoint("quiet", "anthropic", &quiet.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message(true)).await;
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.expect("body");
    assert!(
        !body.contains("OPENROUTER"),
        "nothing of a failed attempt reaches the client: {body}"
    );
    let events = parse_events(&body);
    assert_eq!(text(&events), "fine");
    assert_eq!(events.first().map(|e| e.0.as_str()), Some("message_start"));
    let r = &gw.wait_for_logs(1).await[0];
    assert_eq!(
        (r.outcome.as_str(), r.endpoint.as_deref()),
        ("ok", Some("b"))
    );
    let tried: Vec<_> = r
        .attempts
        .iter()
        .map(|a| (a.endpoint.as_str(), a.disposition.as_str()))
        .collect();
    assert_eq!(
        tried,
        [
            ("comments", "next"),
            ("half", "next"),
            ("quiet", "next"),
            ("b", "ok")
        ]
    );
    let errors: Vec<_> = r.attempts[..3]
        .iter()
        .map(|a| a.error.as_deref().unwrap_or_default())
        .collect();
    assert!(
        errors[0].contains("stream broke before its first event"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("stream broke before its first event"),
        "{errors:?}"
    );
    assert!(
        errors[2].contains("stream ended before its first event"),
        "{errors:?}"
    );
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

// ---- names that don't resolve ---------------------------------------------------------------
//
// The gateway is given a stand-in resolver (`FakeDns`): the system resolver is off loopback, and
// tests never leave it. It answers the names it was told and fails every other one as a name
// that does not exist would; the failure reaches the gateway exactly where a real DNS error
// does (hyper-util's connector), so the routing under test is the real one.

#[tokio::test]
async fn an_endpoint_whose_name_does_not_resolve_fails_over() {
    let up = MockUpstream::start(Reply::json(
        200,
        sse::anthropic_message("m", "resolved", 2, 1),
    ))
    .await;
    let port = up.addr().port();
    let dns = FakeDns::new().host("upstream.test", Ipv4Addr::LOCALHOST.into());
    let gw = TestGateway::builder()
        .resolver(dns.clone())
        .endpoint(
            "nxdomain",
            "anthropic",
            &format!("http://nowhere.invalid:{port}"),
            "",
        )
        .endpoint(
            "named",
            "anthropic",
            &format!("http://upstream.test:{port}"),
            "",
        )
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message(false)).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["content"][0]["text"], "resolved");
    assert_eq!(up.hits(), 1, "only the named endpoint was reached");

    let r = &gw.wait_for_logs(1).await[0];
    assert_eq!(r.endpoint.as_deref(), Some("named"));
    let (failed, served) = r.attempts.split_at(r.attempts.len() - 1);
    assert_eq!(
        failed.len(),
        3,
        "tried and retried like any connect error: {:?}",
        r.attempts
    );
    for a in failed {
        assert_eq!((a.endpoint.as_str(), a.status), ("nxdomain", None));
        let e = a.error.as_deref().unwrap_or_default();
        assert!(
            e.contains("dns error") && e.contains("nowhere.invalid"),
            "{e}"
        );
        let url = format!("http://nowhere.invalid:{port}/v1/messages");
        assert!(
            e.starts_with(&format!("error sending request for url ({url}): ")),
            "the message names the URL: {e}"
        );
    }
    assert_eq!(failed.last().map(|a| a.disposition.as_str()), Some("next"));
    assert_eq!(
        (served[0].endpoint.as_str(), served[0].disposition.as_str()),
        ("named", "ok")
    );
    assert!(dns.lookups().iter().any(|n| n == "nowhere.invalid"));
    assert!(dns.lookups().iter().any(|n| n == "upstream.test"));
}

#[tokio::test]
async fn a_name_that_gets_no_answer_is_a_connect_timeout_and_fails_over() {
    let up = MockUpstream::start(Reply::json(
        200,
        sse::anthropic_message("m", "answered", 2, 1),
    ))
    .await;
    let port = up.addr().port();
    let dns = FakeDns::new()
        .silent("silent.test")
        .host("upstream.test", Ipv4Addr::LOCALHOST.into());
    let gw = TestGateway::builder()
        .resolver(dns)
        .routing(
            "max_retries = 2\nbackoff = { initial = \"1ms\", max = \"4ms\" }\n\
             failure_cooldown = \"0s\"\nconnect_timeout = \"150ms\"\n",
        )
        .endpoint(
            "silent",
            "anthropic",
            &format!("http://silent.test:{port}"),
            "",
        )
        .endpoint(
            "named",
            "anthropic",
            &format!("http://upstream.test:{port}"),
            "",
        )
        .start()
        .await;
    let started = Instant::now();
    let resp = gw.post("/v1/messages", &message(false)).await;
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() < PATIENCE, "{:?}", started.elapsed());
    let r = &gw.wait_for_logs(1).await[0];
    assert_eq!(r.endpoint.as_deref(), Some("named"));
    let (failed, _) = r.attempts.split_at(r.attempts.len() - 1);
    assert_eq!(
        failed.len(),
        3,
        "retried like any connect error: {:?}",
        r.attempts
    );
    for a in failed {
        let e = a.error.as_deref().unwrap_or_default();
        assert!(
            e.contains("client error (Connect)") && e.contains("not connected within 150ms"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn with_only_an_unresolvable_endpoint_the_client_is_told_which_and_why() {
    let gw = TestGateway::builder()
        .resolver(FakeDns::new())
        .endpoint("nxdomain", "anthropic", "http://nowhere.invalid", "")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message(true)).await;
    assert_eq!(resp.status(), 529);
    assert!(resp.headers().contains_key("x-switchboard-request-id"));
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["type"], "overloaded_error");
    let m = body["error"]["message"].as_str().expect("message");
    assert!(m.starts_with("all endpoints failed: nxdomain: "), "{m}");
    assert!(m.contains("dns error") && m.contains("(3 attempts)"), "{m}");
    let r = &gw.wait_for_logs(1).await[0];
    assert_eq!((r.status, r.outcome.as_str()), (529, "exhausted"));
}

// ---- slow and idle clients ------------------------------------------------------------------

/// How long a test waits for something that should happen within a timeout of a few hundred ms.
const PATIENCE: Duration = Duration::from_secs(5);

async fn connect(gw: &TestGateway) -> TcpStream {
    let addr: SocketAddr = gw
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("gateway address");
    TcpStream::connect(addr).await.expect("connect to gateway")
}

/// Whether a non-blocking read says the connection is open with nothing to read.
fn still_open(read: std::io::Result<usize>) -> bool {
    matches!(read, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Reads until the gateway closes the connection; returns what it sent, and when it closed.
async fn read_until_closed(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> (Vec<u8>, Instant) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("the gateway closes the connection");
        match n {
            Ok(0) | Err(_) => return (got, Instant::now()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_while_others_are_served() {
    let up = MockUpstream::start(Reply::json(
        200,
        sse::anthropic_message("m", "prompt", 2, 1),
    ))
    .await;
    let gw = TestGateway::builder()
        .server("header_timeout = \"300ms\"")
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    let (mut rd, mut wr) = connect(&gw).await.into_split();
    // A first request, answered; the connection is kept alive for the next one.
    wr.write_all(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
        .await
        .expect("send");
    let mut first = Vec::new();
    while !first.ends_with(br#"{"status":"ok"}"#) {
        let mut buf = [0u8; 1024];
        let n = rd.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed early: {first:?}");
        first.extend_from_slice(&buf[..n]);
    }
    let start = Instant::now();
    // Then the next request's headers, one line every 50 ms: always sending, never finishing.
    let trickle = tokio::spawn(async move {
        wr.write_all(b"POST /v1/messages HTTP/1.1\r\nHost: gw\r\n")
            .await?;
        for i in 0.. {
            tokio::time::sleep(Duration::from_millis(50)).await;
            wr.write_all(format!("x-slow-{i}: y\r\n").as_bytes())
                .await?;
        }
        Ok::<_, std::io::Error>(())
    });

    // Meanwhile an ordinary request is answered, while the slow one is still hanging on.
    let resp = gw.post("/v1/messages", &message(false)).await;
    assert_eq!(resp.status(), 200);
    assert!(
        still_open(rd.try_read(&mut [0u8; 1])),
        "answered only after the slow client was cut off ({:?})",
        start.elapsed()
    );

    let (sent, closed) = read_until_closed(&mut rd).await;
    let held = closed - start;
    assert!(
        sent.is_empty(),
        "no response to a request that never ended: {sent:?}"
    );
    assert!(
        held >= Duration::from_millis(250) && held < Duration::from_secs(2),
        "closed after {held:?}"
    );
    trickle.abort();
    assert_eq!(up.hits(), 1, "the slow request never reached an upstream");
}

/// Sends a request's headers and the first bytes of its body, then stalls; returns the
/// response's status line, headers and body.
async fn stalled_body(gw: &TestGateway, path: &str) -> (String, String, Value, Duration) {
    let mut stream = connect(gw).await;
    let partial = br#"{"model":"m","max_tokens":8,"mess"#;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: gw\r\ncontent-type: application/json\r\nx-api-key: k\r\ncontent-length: 4096\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    stream.write_all(partial).await.expect("send some body");
    let start = Instant::now();
    let (got, closed) = read_until_closed(&mut stream).await;
    let text = String::from_utf8(got).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole response");
    let (status, headers) = head.split_once("\r\n").expect("status line");
    let body = serde_json::from_str(body).expect("JSON error body");
    (
        status.to_owned(),
        headers.to_ascii_lowercase(),
        body,
        closed - start,
    )
}

#[tokio::test]
async fn a_stalled_request_body_gets_408_in_the_clients_dialect_and_a_log_row() {
    let up = MockUpstream::start(Reply::json(200, sse::anthropic_message("m", "x", 1, 1))).await;
    let gw = TestGateway::builder()
        .server("body_timeout = \"300ms\"")
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;

    let (status, headers, body, waited) = stalled_body(&gw, "/v1/messages").await;
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    assert!(headers.contains("connection: close"), "{headers}");
    assert!(headers.contains("x-switchboard-request-id: "), "{headers}");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "timeout_error");
    assert_eq!(
        body["error"]["message"],
        "request body stalled: no bytes for 300ms"
    );

    let (status, _, body, _) = stalled_body(&gw, "/v1/chat/completions").await;
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");
    assert_eq!(body["error"]["type"], "timeout_error");
    assert_eq!(
        body["error"]["message"],
        "request body stalled: no bytes for 300ms"
    );

    let rows = gw.wait_for_logs(2).await;
    for r in &rows {
        assert_eq!((r.status, r.outcome.as_str()), (408, "rejected"));
        assert!(
            r.error.as_deref().is_some_and(|e| e.contains("stalled")),
            "{r:?}"
        );
        assert!(r.attempts.is_empty(), "never sent upstream");
    }
    assert_eq!(up.hits(), 0);
}

#[tokio::test]
async fn hundreds_of_idle_connections_neither_block_a_request_nor_stay_open() {
    let up = MockUpstream::start(Reply::json(
        200,
        sse::anthropic_message("m", "through", 2, 1),
    ))
    .await;
    let gw = TestGateway::builder()
        .server("header_timeout = \"2s\"")
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;
    // Half send nothing at all; half send the start of a request line and stop.
    let mut idle = Vec::new();
    for i in 0..200 {
        let mut s = connect(&gw).await;
        if i % 2 == 1 {
            s.write_all(b"POST /v1/mess").await.expect("write");
        }
        idle.push(s);
    }
    let opened = Instant::now();

    let resp = gw.post("/v1/messages", &message(false)).await;
    assert_eq!(resp.status(), 200);
    assert!(
        idle.iter().all(|s| still_open(s.try_read(&mut [0u8; 1]))),
        "answered only after some idle connections were closed ({:?})",
        opened.elapsed()
    );

    // Then each is closed by the gateway once its header timeout has passed.
    for s in &mut idle {
        let (sent, _) = read_until_closed(s).await;
        assert!(sent.is_empty());
    }
    assert!(
        opened.elapsed() < Duration::from_secs(4),
        "{:?}",
        opened.elapsed()
    );
}

/// Connections are told apart by their first bytes: HTTP/2 with prior knowledge (h2c) and
/// HTTP/1.1 are both served, and so is a client whose first packet is too short to tell (it
/// could still become the HTTP/2 preface).
#[tokio::test]
async fn h2c_http1_and_a_request_line_arriving_in_pieces_are_all_served() {
    let up = MockUpstream::start(Reply::json(
        200,
        sse::anthropic_message("m", "either way", 2, 1),
    ))
    .await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &up.url(), "")
        .start()
        .await;

    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("h2c client");
    let resp = h2
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", "sk-client-key-0123456789")
        .json(&message(false))
        .send()
        .await
        .expect("h2c request");
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["content"][0]["text"], "either way");

    let resp = gw.post("/v1/messages", &message(false)).await;
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.status(), 200);

    // "P" could begin "PRI * HTTP/2.0": the gateway reads on until it knows.
    let body = message(false).to_string();
    let mut s = connect(&gw).await;
    s.write_all(b"P").await.expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.write_all(
        format!(
            "OST /v1/messages HTTP/1.1\r\nHost: gw\r\nx-api-key: sk-client-key-0123456789\r\n\
             content-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    let (got, _) = read_until_closed(&mut s).await;
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.contains("either way"), "{got}");
    assert_eq!(up.hits(), 3);
}
