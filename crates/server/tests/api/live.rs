//! The live feed: filtered events, totals, lag notices, and a real proxied request.

use super::*;

/// Reads the next SSE event (`event`, parsed `data`) from a response body, bounded in time.
struct Events {
    body: Body,
    buf: String,
}

impl Events {
    async fn next(&mut self) -> (String, Value) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let frame: String = self.buf.drain(..end + 2).collect();
                    let mut event = String::new();
                    let mut data = String::new();
                    for line in frame.lines() {
                        if let Some(e) = line.strip_prefix("event: ") {
                            event = e.to_owned();
                        } else if let Some(d) = line.strip_prefix("data: ") {
                            data.push_str(d);
                        }
                    }
                    if event.is_empty() {
                        continue; // keep-alive comment
                    }
                    return (event, serde_json::from_str(&data).expect("event data"));
                }
                let frame = self
                    .body
                    .frame()
                    .await
                    .expect("the feed ended")
                    .expect("body frame");
                if let Ok(data) = frame.into_data() {
                    self.buf
                        .push_str(std::str::from_utf8(&data).expect("utf-8"));
                }
            }
        })
        .await
        .expect("an event within 10 s")
    }
}

async fn subscribe(api: &Api, uri: &str) -> Events {
    let resp = api
        .app
        .clone()
        .oneshot(
            Request::get(uri)
                .header(header::HOST, "127.0.0.1")
                .header(header::AUTHORIZATION, format!("Bearer {}", api.admin_token))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    Events {
        body: resp.into_body(),
        buf: String::new(),
    }
}

#[tokio::test]
async fn live_feed_pushes_matching_requests_and_totals() {
    let api = api().await;
    let mut feed = subscribe(&api, "/api/live?endpoint=anthropic").await;
    let (event, totals) = feed.next().await;
    assert_eq!(event, "totals");
    assert_eq!(totals["requests"], 3, "totals follow the filters");

    let tx = api.state.request_events();
    let mut other = LogRecord::new("POST", "/v1/chat/completions", "openai");
    other.endpoint = Some("openai".into());
    tx.send(Arc::new(other)).expect("subscribed");
    let mut mine = LogRecord::new("POST", "/v1/messages", "anthropic");
    mine.endpoint = Some("anthropic".into());
    mine.status = 200;
    mine.outcome = "ok".parse().expect("outcome");
    tx.send(Arc::new(mine.clone())).expect("subscribed");

    let (event, data) = feed.next().await;
    assert_eq!(event, "request");
    let got: LogRecord = serde_json::from_value(data).expect("a record");
    assert_eq!(got, mine, "the openai record was filtered out");
}

#[tokio::test]
async fn a_lagging_subscriber_is_told_and_continues() {
    let api = api_with("", false).await;
    let mut feed = subscribe(&api, "/api/live").await;
    assert_eq!(feed.next().await.0, "totals");
    let tx = api.state.request_events();
    let mut last = None;
    for _ in 0..1500 {
        let r = Arc::new(LogRecord::new("POST", "/v1/messages", "anthropic"));
        last = Some(r.id);
        tx.send(r).expect("subscribed");
    }
    let (event, data) = feed.next().await;
    assert_eq!(event, "lagged");
    assert!(data["skipped"].as_u64().expect("skipped") >= 476, "{data}");
    let mut seen = None;
    for _ in 0..1100 {
        let (event, data) = feed.next().await;
        if event == "request" {
            seen = data["id"].as_str().map(str::to_owned);
            if seen == last.map(|id| id.to_string()) {
                break;
            }
        }
    }
    assert_eq!(
        seen,
        last.map(|id| id.to_string()),
        "the feed continued to the end"
    );
}

#[tokio::test]
async fn live_feed_delivers_a_proxied_request() {
    use switchboard_test_support::sse;
    use switchboard_test_support::{MockUpstream, Reply, TestGateway};

    let up = MockUpstream::start(Reply::sse(sse::anthropic_text(
        "claude-x",
        &["Hello", " world"],
        11,
        5,
    )))
    .await;
    let gw = TestGateway::builder()
        .endpoint("mock", "anthropic", &up.url(), "")
        .start()
        .await;

    let mut feed = gw.admin_get("/api/live").send().await.expect("live feed");
    assert_eq!(feed.status(), StatusCode::OK);
    let body = json!({"model": "claude-x", "max_tokens": 64, "stream": true,
        "messages": [{"role": "user", "content": "hi"}]});
    let resp = gw.post("/v1/messages", &body).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let _ = resp.text().await.expect("stream body");

    // Bounded: read until the completed record arrives.
    let mut buf = String::new();
    let outcomes = tokio::time::timeout(Duration::from_secs(10), async {
        let mut outcomes = Vec::new();
        loop {
            let chunk = feed.chunk().await.expect("feed chunk").expect("feed open");
            buf.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                if !frame.starts_with("event: request") {
                    continue;
                }
                let data = frame
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .expect("data line");
                let rec: LogRecord = serde_json::from_str(data).expect("a record");
                assert_eq!(rec.requested_model.as_deref(), Some("claude-x"));
                assert_eq!(rec.endpoint.as_deref(), Some("mock"));
                outcomes.push(rec.outcome.to_string());
                if rec.outcome == "ok" {
                    assert_eq!(rec.input_tokens, 11);
                    assert_eq!(rec.output_tokens, 5);
                    return outcomes;
                }
            }
        }
    })
    .await
    .expect("the proxied request on the live feed within 10 s");
    assert_eq!(outcomes, vec!["in_progress".to_owned(), "ok".to_owned()]);
    drop(feed);
    gw.shutdown().await;
}
