//! The dashboard's server side end to end (issue #16): a real gateway with mock upstreams,
//! called as the local admin. The overview's figures (time zones, heatmap, failovers, cache
//! ratios), the attempt waterfall and stream timeline, endpoints written back to the
//! configuration file (comments kept, keys never in the file, a concurrent edit refused with
//! the diff), connection tests, model resolution, replay, settings, and the first file of a
//! gateway that ran on the built-in default. Runs on SQLite, and on PostgreSQL with
//! `SWITCHBOARD_TEST_STORE=postgres` (scripts/test.sh).

use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use switchboard_store::{AttemptRecord, LogRecord};
use switchboard_test_support::sse::{self, parse_events};
use switchboard_test_support::{MockUpstream, Reply, TestGateway};

fn message(stream: bool, text: &str) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 8, "stream": stream,
        "messages": [{"role": "user", "content": text}]})
}

async fn json_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body = resp.text().await.expect("body");
    let v = serde_json::from_str(&body).unwrap_or_else(|_| json!({"raw": body}));
    (status, v)
}

async fn get(gw: &TestGateway, path: &str) -> Value {
    let (status, v) = json_of(gw.admin_get(path).send().await.expect("get")).await;
    assert_eq!(status, 200, "GET {path}: {v}");
    v
}

async fn call(gw: &TestGateway, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = gw.admin_request(method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    json_of(req.send().await.expect("request")).await
}

async fn ok(gw: &TestGateway, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, v) = call(gw, method.clone(), path, body).await;
    assert_eq!(status, 200, "{method} {path}: {v}");
    v
}

/// Waits (bounded) until the log holds `n` records matching `f`.
async fn wait_for(
    gw: &TestGateway,
    what: &str,
    f: impl Fn(&[LogRecord]) -> bool,
) -> Vec<LogRecord> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let records = gw.wait_for_logs(0).await;
        if f(&records) {
            return records;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The detail of request `id` once its audit data (written after its row) holds the client's
/// response; bounded.
async fn audited(gw: &TestGateway, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, d) = call(gw, Method::GET, &format!("/api/requests/{id}"), None).await;
        let done = status == 200
            && d["audit"]
                .as_array()
                .is_some_and(|a| a.iter().any(|e| e["kind"] == "client_response"));
        if done {
            return d;
        }
        assert!(tokio::time::Instant::now() < deadline, "no audit: {d}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn record(at: chrono::DateTime<Utc>, endpoint: &str) -> LogRecord {
    let mut r = LogRecord::new("POST", "/v1/messages", "anthropic");
    r.started_at = at;
    r.endpoint = Some(endpoint.into());
    r.requested_model = Some("claude-sonnet-4-5".into());
    r.routed_model = Some("claude-sonnet-4-5".into());
    r.status = 200;
    r.outcome = "ok".parse().expect("outcome");
    r.latency_ms = 100;
    r.attempts = vec![AttemptRecord {
        status: Some(200),
        ..AttemptRecord::new(endpoint, "ok".parse().expect("disposition"))
    }];
    r
}

#[tokio::test]
async fn overview_figures_follow_the_zone_and_the_filters() {
    let gw = TestGateway::builder()
        .endpoint(
            "claude",
            "anthropic",
            "http://127.0.0.1:9",
            "api_key = \"k1\"",
        )
        .endpoint("gpt", "openai", "http://127.0.0.1:9", "api_key = \"k2\"")
        .start()
        .await;
    // 2026-01-31 23:30 UTC is already 2026-02-01 in Tokyo (+9).
    let base = Utc::now() - chrono::Duration::days(3);
    let base = Utc
        .with_ymd_and_hms(
            chrono::Datelike::year(&base),
            chrono::Datelike::month(&base),
            chrono::Datelike::day(&base),
            23,
            30,
            0,
        )
        .single()
        .expect("instant");
    let mut a = record(base, "claude");
    a.input_tokens = 100;
    a.cache_read_input_tokens = 300;
    a.cache_creation_input_tokens = 100;
    a.cost_usd = Some(0.5);
    let mut b = record(base + chrono::Duration::hours(1), "gpt");
    b.input_tokens = 40;
    b.cache_read_input_tokens = 60;
    let mut c = record(base - chrono::Duration::hours(2), "gpt");
    c.status = 529;
    c.outcome = "ok".parse().expect("outcome");
    c.attempts = vec![
        AttemptRecord {
            status: Some(529),
            error_class: Some("529 overloaded_error".into()),
            ..AttemptRecord::new("claude", "next".parse().expect("disposition"))
        },
        AttemptRecord::new("gpt", "ok".parse().expect("disposition")),
    ];
    gw.store.insert_batch(&[a, b, c]).await.expect("seed");

    let utc = get(&gw, "/api/stats/timeseries?bucket=day").await;
    assert_eq!(utc["tz"], "UTC");
    let days = |v: &Value| -> Vec<(String, u64)> {
        v["buckets"]
            .as_array()
            .expect("buckets")
            .iter()
            .map(|b| {
                (
                    b["label"].as_str().expect("label").to_owned(),
                    b["requests"].as_u64().expect("n"),
                )
            })
            .collect()
    };
    let d0 = base.format("%Y-%m-%d").to_string();
    let d1 = (base + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(days(&utc), [(d0.clone(), 2), (d1.clone(), 1)]);
    // In Tokyo all three fall on the next local day; the bucket starts at its local midnight.
    let tokyo = get(&gw, "/api/stats/timeseries?bucket=day&tz=Asia/Tokyo").await;
    assert_eq!(days(&tokyo), [(d1.clone(), 3)]);
    assert_eq!(
        tokyo["buckets"][0]["start"],
        format!("{d0}T15:00:00Z"),
        "{tokyo}"
    );
    // Half-hour zone: quarter-hour slots, still exact.
    let kolkata = get(&gw, "/api/stats/timeseries?bucket=hour&tz=Asia/Kolkata").await;
    assert_eq!(kolkata["buckets"][0]["label"], format!("{d1}T03:00+05:30"));
    let (status, bad) = call(
        &gw,
        Method::GET,
        "/api/stats/timeseries?tz=Mars/Olympus",
        None,
    )
    .await;
    assert_eq!(
        (status, bad["error"]["type"].as_str()),
        (400, Some("invalid_parameter"))
    );

    let heat = get(&gw, "/api/stats/heatmap?tz=Asia/Tokyo").await;
    assert_eq!(heat["days"][0]["date"], d1);
    assert_eq!(heat["days"][0]["requests"], 3);
    assert_eq!(heat["days"][0]["cache_read_input_tokens"], 360);
    let only_gpt = get(&gw, "/api/stats/heatmap?endpoint=gpt").await;
    assert_eq!(
        only_gpt["days"]
            .as_array()
            .expect("days")
            .iter()
            .map(|d| d["requests"].as_u64().expect("n"))
            .sum::<u64>(),
        2
    );

    let f = get(&gw, "/api/stats/failovers").await;
    assert_eq!(f["requests_with_failover"], 1);
    assert_eq!(
        f["transitions"],
        json!([{"from": "claude", "to": "gpt", "reason": "529 overloaded_error", "disposition": "next", "count": 1}])
    );
    assert_eq!(f["truncated"], false);

    // Each provider's own denominator: Anthropic 300 / (300 + 100 + 100), OpenAI 60 / (40 + 60).
    let cache = get(&gw, "/api/stats/cache?bucket=day").await;
    let rows = cache["rows"].as_array().expect("rows");
    let claude = rows
        .iter()
        .find(|r| r["endpoint"] == "claude")
        .expect("claude");
    assert_eq!(
        (
            claude["denominator"].as_str(),
            claude["prompt_tokens"].as_u64()
        ),
        (Some("anthropic"), Some(500))
    );
    assert_eq!(claude["hit_ratio"], 0.6);
    let gpt = rows
        .iter()
        .find(|r| r["endpoint"] == "gpt" && r["cache_read_input_tokens"] == 60)
        .expect("gpt");
    assert_eq!(
        (gpt["denominator"].as_str(), gpt["hit_ratio"].as_f64()),
        (Some("prompt_tokens"), Some(0.6))
    );
}

#[tokio::test]
async fn a_failover_shows_its_waterfall_and_stream_timeline() {
    let down = MockUpstream::start(Reply::error(529, "overloaded_error", "busy")).await;
    let up = MockUpstream::start(Reply::sse(sse::anthropic_text("m", &["Hel", "lo"], 5, 2))).await;
    let gw = TestGateway::builder()
        .routing("max_retries = 0\nfailure_cooldown = \"0s\"\n")
        .endpoint("down", "anthropic", &down.url(), "api_key = \"k1\"")
        .endpoint("up", "anthropic", &up.url(), "api_key = \"k2\"")
        .start()
        .await;
    let body = gw
        .post("/v1/messages", &message(true, "hi"))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(parse_events(&body).len(), 8);
    gw.wait_for_logs(1).await;

    let page = get(&gw, "/api/requests").await;
    let row = &page["records"][0];
    assert!(row.get("audit").is_none(), "lists carry no bodies");
    let chain: Vec<(&str, &str, Option<&str>)> = row["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| {
            (
                a["endpoint"].as_str().expect("e"),
                a["disposition"].as_str().expect("d"),
                a["error_class"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            ("down", "next", Some("529 overloaded_error")),
            ("up", "ok", None)
        ]
    );
    let (first, second) = (&row["attempts"][0], &row["attempts"][1]);
    assert_eq!(first["offset_ms"], 0);
    assert!(
        second["offset_ms"].as_u64() >= first["latency_ms"].as_u64(),
        "{row}"
    );
    assert!(
        first["first_byte_ms"].is_u64() && second["stream_ms"].is_u64(),
        "{row}"
    );
    assert_eq!(row["replay_of"], Value::Null);

    let id = row["id"].as_str().expect("id");
    let detail = audited(&gw, id).await;
    let t = &detail["timeline"];
    assert!(
        t["first_token_ms"].as_u64() >= t["first_byte_ms"].as_u64(),
        "{t}"
    );
    let client = detail["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .find(|a| a["kind"] == "client_response")
        .expect("client response");
    assert!(client["first_content_ms"].as_u64() >= client["chunks"][0]["offset_ms"].as_u64());
    let f = get(&gw, "/api/stats/failovers").await;
    assert_eq!(f["transitions"][0]["from"], "down");
    assert_eq!(f["transitions"][0]["to"], "up");
}

const COMMENTED: &str = "# My gateway, by hand.\n";

/// The file's version now, as the API reports it (its SHA-256 is checked by the admin crate's
/// own tests).
async fn version_now(gw: &TestGateway) -> Value {
    get(gw, "/api/admin/config").await["version"].clone()
}

#[tokio::test]
async fn endpoints_are_written_back_to_the_file() {
    let first = MockUpstream::start(Reply::json(
        200,
        sse::anthropic_message("m", "from first", 3, 1),
    ))
    .await;
    let added = MockUpstream::start(Reply::json(
        200,
        sse::anthropic_message("m", "from added", 3, 1),
    ))
    .await;
    let gw = TestGateway::builder()
        .endpoint(
            "first",
            "anthropic",
            &first.url(),
            "api_key = \"k1\" # the old key",
        )
        .start()
        .await;
    // The builder's file plus a comment, and a key this build ignores is not allowed: keep one
    // the compiler knows but the editor never touches ([routing]).
    let original = std::fs::read_to_string(&gw.config_path).expect("config");
    let original = format!("{COMMENTED}{original}");
    std::fs::write(&gw.config_path, &original).expect("write");
    ok(&gw, Method::POST, "/api/admin/reload", None).await;

    let config = get(&gw, "/api/admin/config").await;
    assert_eq!(config["text"], original.as_str());
    assert_eq!(config["version"].as_str().map(str::len), Some(64));
    assert_eq!(config["exists"], true);

    let typed = "sk-typed-into-the-form-0123456789";
    let w = ok(
        &gw,
        Method::POST,
        "/api/admin/endpoints",
        Some(json!({"name": "added", "kind": "anthropic", "base_url": added.url(), "api_key": typed,
            "models": [{"pattern": "sonnet", "target": "added-model"}], "version": config["version"]})),
    )
    .await;
    assert_eq!(w["reload"]["ok"], true, "{w}");
    let text = std::fs::read_to_string(&gw.config_path).expect("config");
    assert!(
        !text.contains(typed) && !text.contains("0123456789"),
        "{text}"
    );
    assert!(
        text.contains("api_key = \"secret:endpoint-added-key\""),
        "{text}"
    );
    assert!(
        text.starts_with(original.trim_end()),
        "everything before is kept byte for byte:\n{text}"
    );
    assert_eq!(w["version"], version_now(&gw).await);
    assert_ne!(w["version"], config["version"]);

    let list = get(&gw, "/api/admin/endpoints").await;
    let eps = list["endpoints"].as_array().expect("endpoints");
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[1]["api_key"], "secret:endpoint-added-key");
    assert_eq!(
        eps[0]["api_key"], "…**",
        "a literal key is masked: {}",
        eps[0]
    );
    assert_eq!(
        eps[1]["models"],
        json!([{"pattern": "sonnet", "target": "added-model"}])
    );
    assert_eq!(eps[1]["state"], "healthy");

    // Reorder: the preview first, nothing written; then for real.
    let before = std::fs::read_to_string(&gw.config_path).expect("config");
    let preview = ok(
        &gw,
        Method::PUT,
        "/api/admin/endpoints/order",
        Some(json!({"order": ["added", "first"], "dry_run": true})),
    )
    .await;
    assert_eq!(preview["order"], json!(["added", "first"]));
    assert_eq!(preview["reload"], Value::Null);
    assert!(
        preview["diff"]
            .as_str()
            .is_some_and(|d| d.contains("+name = \"added\"") || d.contains("-name = \"first\"")),
        "{preview}"
    );
    assert_eq!(
        std::fs::read_to_string(&gw.config_path).expect("config"),
        before
    );
    ok(
        &gw,
        Method::PUT,
        "/api/admin/endpoints/order",
        Some(json!({"order": ["added", "first"]})),
    )
    .await;
    let text = std::fs::read_to_string(&gw.config_path).expect("config");
    assert!(
        text.starts_with(COMMENTED) && text.contains("# the old key"),
        "{text}"
    );
    // The next request goes to the new first endpoint, with its key from the secret store and
    // its model mapping.
    let body = gw
        .post("/v1/messages", &message(false, "hi"))
        .await
        .text()
        .await
        .expect("body");
    assert!(body.contains("from added"), "{body}");
    let sent = &added.requests()[0];
    assert_eq!(sent.header("x-api-key"), Some(typed));
    assert_eq!(sent.json()["model"], "added-model");

    // Disable, enable, edit, delete.
    ok(
        &gw,
        Method::POST,
        "/api/admin/endpoints/added/disable",
        None,
    )
    .await;
    assert!(
        std::fs::read_to_string(&gw.config_path)
            .expect("config")
            .contains("enabled = false")
    );
    assert_eq!(
        get(&gw, "/api/admin/endpoints").await["endpoints"][0]["state"],
        "disabled"
    );
    ok(&gw, Method::POST, "/api/admin/endpoints/added/enable", None).await;
    assert!(
        !std::fs::read_to_string(&gw.config_path)
            .expect("config")
            .contains("enabled = false")
    );
    ok(
        &gw,
        Method::PUT,
        "/api/admin/secrets/elsewhere",
        Some(json!({"value": "sk-elsewhere-0123456789"})),
    )
    .await;
    ok(
        &gw,
        Method::PUT,
        "/api/admin/endpoints/added",
        Some(json!({"api_key": "secret:elsewhere", "max_output_tokens": 1000})),
    )
    .await
    .to_string();
    let (status, v) = call(
        &gw,
        Method::PUT,
        "/api/admin/endpoints/added",
        Some(json!({"api_key": "secret:missing-one"})),
    )
    .await;
    assert_eq!(
        (status, v["error"]["type"].as_str()),
        (400, Some("invalid_config")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing-one")),
        "{v}"
    );
    let (status, _) = call(
        &gw,
        Method::PUT,
        "/api/admin/endpoints/nope",
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, 404);
    ok(&gw, Method::DELETE, "/api/admin/endpoints/added", None).await;
    let text = std::fs::read_to_string(&gw.config_path).expect("config");
    assert!(!text.contains("added"), "{text}");
    let (status, v) = call(&gw, Method::DELETE, "/api/admin/endpoints/first", None).await;
    assert_eq!(status, 400, "the last endpoint stays: {v}");

    let download = gw
        .admin_get("/api/admin/config/download")
        .send()
        .await
        .expect("download");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .expect("cd")
            .starts_with("attachment")
    );
    assert_eq!(download.text().await.expect("text"), text);
}

#[tokio::test]
async fn a_change_underneath_is_refused_with_the_diff() {
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", "http://127.0.0.1:9", "api_key = \"k1\"")
        .endpoint("b", "anthropic", "http://127.0.0.1:9", "api_key = \"k2\"")
        .start()
        .await;
    let seen = get(&gw, "/api/admin/config").await;
    let mut text = std::fs::read_to_string(&gw.config_path).expect("config");
    text.push_str("# edited by hand meanwhile\n");
    std::fs::write(&gw.config_path, &text).expect("external edit");
    let resp = gw
        .admin_request(Method::PUT, "/api/admin/endpoints/order")
        .header(
            "if-match",
            format!("\"{}\"", seen["version"].as_str().expect("v")),
        )
        .json(&json!({"order": ["b", "a"]}))
        .send()
        .await
        .expect("put");
    let (status, v) = json_of(resp).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["type"], "version_conflict");
    assert_eq!(v["current_version"], version_now(&gw).await);
    assert!(
        v["diff"]
            .as_str()
            .is_some_and(|d| d.contains("+# edited by hand meanwhile")),
        "{v}"
    );
    assert_eq!(
        std::fs::read_to_string(&gw.config_path).expect("config"),
        text,
        "nothing written"
    );
    // With the current version it goes through, and the hand edit is kept.
    let w = ok(
        &gw,
        Method::PUT,
        "/api/admin/endpoints/order",
        Some(json!({"order": ["b", "a"], "version": v["current_version"]})),
    )
    .await;
    assert!(w["diff"].is_string());
    assert!(
        std::fs::read_to_string(&gw.config_path)
            .expect("config")
            .contains("# edited by hand meanwhile")
    );
}

#[tokio::test]
async fn test_connection_shows_the_answer_or_the_error() {
    let broken = MockUpstream::start(Reply::error(500, "api_error", "the model is on fire")).await;
    let fine = MockUpstream::start(Reply::json(200, sse::anthropic_message("m", "OK", 5, 1))).await;
    let gw = TestGateway::builder()
        .endpoint("broken", "anthropic", &broken.url(), "api_key = \"k1\"")
        .endpoint(
            "fine",
            "anthropic",
            &fine.url(),
            "api_key = \"k2\"\n[endpoints.models]\nhaiku = \"tiny\"",
        )
        .endpoint("passthrough", "anthropic", &fine.url(), "")
        .start()
        .await;
    let r = ok(&gw, Method::POST, "/api/admin/endpoints/broken/test", None).await;
    assert_eq!(
        (r["ok"].as_bool(), r["status"].as_u64()),
        (Some(false), Some(500)),
        "{r}"
    );
    assert!(
        r["error"].as_str().is_some_and(|e| e.contains("on fire")),
        "{r}"
    );
    assert_eq!(broken.hits(), 1, "tried once, no retries");
    // The failure put nothing in cooldown for the clients.
    assert_eq!(
        get(&gw, "/api/admin/endpoints").await["endpoints"][0]["state"],
        "healthy"
    );

    let r = ok(&gw, Method::POST, "/api/admin/endpoints/fine/test", None).await;
    assert_eq!(
        (r["ok"].as_bool(), r["text"].as_str(), r["model"].as_str()),
        (Some(true), Some("OK"), Some("tiny")),
        "{r}"
    );
    let sent = fine.requests()[0].json();
    assert_eq!(sent["max_tokens"], 16);
    assert_eq!(sent["messages"][0]["content"], "Reply with OK");

    let (status, v) = call(
        &gw,
        Method::POST,
        "/api/admin/endpoints/passthrough/test",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("credential")),
        "{v}"
    );
    let r = ok(
        &gw,
        Method::POST,
        "/api/admin/endpoints/passthrough/test",
        Some(json!({"api_key": "sk-once-only-0123456789"})),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        fine.requests()[1].header("x-api-key"),
        Some("sk-once-only-0123456789")
    );
    let (status, _) = call(&gw, Method::POST, "/api/admin/endpoints/none/test", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn models_resolve_names_the_rule() {
    let gw = TestGateway::builder()
        .endpoint(
            "a",
            "anthropic",
            "http://127.0.0.1:9",
            "api_key = \"k\"\n[endpoints.models]\nsonnet = \"a-sonnet\"",
        )
        .endpoint("b", "openai", "http://127.0.0.1:9", "api_key = \"k\"")
        .extra("[models]\n\"claude-*\" = \"global-model\"")
        .start()
        .await;
    let r = ok(
        &gw,
        Method::POST,
        "/api/admin/models/resolve",
        Some(json!({"model": "claude-sonnet-4-5"})),
    )
    .await;
    assert_eq!(
        r["endpoints"],
        json!([
            {"endpoint": "a", "enabled": true, "model": "a-sonnet", "rule": {"source": "endpoint", "pattern": "sonnet", "target": "a-sonnet", "match": "role"}},
            {"endpoint": "b", "enabled": true, "model": "global-model", "rule": {"source": "global", "pattern": "claude-*", "target": "global-model", "match": "glob"}},
        ])
    );
    let r = ok(
        &gw,
        Method::POST,
        "/api/admin/models/resolve",
        Some(json!({"model": "gpt-4o", "endpoint": "a"})),
    )
    .await;
    assert_eq!(
        r["endpoints"],
        json!([{"endpoint": "a", "enabled": true, "model": "gpt-4o", "rule": null}])
    );
}

#[tokio::test]
async fn replay_sends_the_request_again_and_answers_both() {
    let a = MockUpstream::start(Reply::sse(sse::anthropic_text(
        "model-a",
        &["answer ", "of a"],
        10,
        3,
    )))
    .await;
    let b = MockUpstream::start(Reply::sse(sse::anthropic_text(
        "model-b",
        &["answer ", "of b"],
        12,
        4,
    )))
    .await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "api_key = \"k1\"")
        .endpoint("b", "anthropic", &b.url(), "api_key = \"k2\"")
        .endpoint("open", "anthropic", &b.url(), "enabled = false")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message(true, "the prompt")).await;
    let id = resp.headers()["x-switchboard-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    resp.text().await.expect("body");
    audited(&gw, &id).await;

    let r = ok(
        &gw,
        Method::POST,
        &format!("/api/admin/requests/{id}/replay"),
        Some(json!({"endpoint": "b"})),
    )
    .await;
    assert_eq!(r["replay_of"], id.as_str());
    assert_eq!(
        (r["endpoint"].as_str(), r["text"].as_str()),
        (Some("b"), Some("answer of b")),
        "{r}"
    );
    assert_eq!(
        (r["input_tokens"].as_u64(), r["output_tokens"].as_u64()),
        (Some(12), Some(4))
    );
    assert_eq!(r["stop_reason"], "end_turn");
    let o = &r["original"];
    assert_eq!(
        (
            o["request_id"].as_str(),
            o["endpoint"].as_str(),
            o["text"].as_str()
        ),
        (Some(id.as_str()), Some("a"), Some("answer of a")),
        "{r}"
    );
    assert_eq!(o["input_tokens"], 10);
    // The same body reached b, and the replay is logged as one.
    assert_eq!(
        b.requests()[0].json()["messages"][0]["content"],
        "the prompt"
    );
    assert_ne!(
        b.requests()[0].header("x-api-key"),
        Some("sk-client-key-0123456789")
    );
    let new_id = r["request_id"].as_str().expect("id").to_owned();
    wait_for(&gw, "the replay's row", |rs| {
        rs.iter().any(|x| x.id.to_string() == new_id)
    })
    .await;
    let detail = get(&gw, &format!("/api/requests/{new_id}")).await;
    assert_eq!(detail["replay_of"], id.as_str());
    let list = get(&gw, "/api/requests").await;
    assert_eq!(list["records"][0]["replay_of"], id.as_str());

    // Its original routing (null): a again.
    let r = ok(
        &gw,
        Method::POST,
        &format!("/api/admin/requests/{id}/replay"),
        Some(json!({"endpoint": null})),
    )
    .await;
    assert_eq!(r["endpoint"], "a");
    // A pass-through endpoint needs the client's credential, which is never stored.
    let (status, v) = call(
        &gw,
        Method::POST,
        &format!("/api/admin/requests/{id}/replay"),
        Some(json!({"endpoint": "open"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("never stores")),
        "{v}"
    );
    let (status, _) = call(
        &gw,
        Method::POST,
        &format!("/api/admin/requests/{}/replay", uuid::Uuid::nil()),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn replay_needs_the_audited_body() {
    let a = MockUpstream::start(Reply::json(200, sse::anthropic_message("m", "x", 1, 1))).await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "api_key = \"k1\"")
        .extra("[audit]\nenabled = false")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message(false, "hi")).await;
    let id = resp.headers()["x-switchboard-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    resp.text().await.expect("body");
    gw.wait_for_logs(1).await;
    let (status, v) = call(
        &gw,
        Method::POST,
        &format!("/api/admin/requests/{id}/replay"),
        Some(json!({"endpoint": "a"})),
    )
    .await;
    assert_eq!(status, 409, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no audited request body")),
        "{v}"
    );
}

#[tokio::test]
async fn settings_are_read_and_written_back() {
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", "http://127.0.0.1:9", "api_key = \"k\"")
        .start()
        .await;
    let s = get(&gw, "/api/admin/settings").await;
    assert_eq!(s["audit"]["enabled"], true);
    assert_eq!(s["audit"]["retention"], "14d");
    assert_eq!(s["pricing"], json!([]));
    ok(
        &gw,
        Method::PUT,
        "/api/admin/settings",
        Some(json!({
            "audit": {"enabled": false, "retention": "7d"},
            "log_file": {"enabled": true},
            "pricing": [{"pattern": "my-*", "input": 1.5, "output": 3.0}],
            "version": s["version"],
        })),
    )
    .await;
    let s = get(&gw, "/api/admin/settings").await;
    assert_eq!(
        (
            s["audit"]["enabled"].as_bool(),
            s["audit"]["retention"].as_str()
        ),
        (Some(false), Some("7d"))
    );
    assert_eq!(s["log_file"]["enabled"], true);
    assert_eq!(s["pricing"][0]["pattern"], "my-*");
    assert_eq!(s["pricing"][0]["cache_read"], 1.5, "defaults to input");
    let text = std::fs::read_to_string(&gw.config_path).expect("config");
    assert!(
        text.contains("[pricing.models.\"my-*\"]") && text.contains("retention = \"7d\""),
        "{text}"
    );
    let (status, v) = call(
        &gw,
        Method::PUT,
        "/api/admin/settings",
        Some(json!({"audit": {"retention": "0s"}})),
    )
    .await;
    assert_eq!(
        (status, v["error"]["type"].as_str()),
        (400, Some("invalid_config")),
        "{v}"
    );
    let (status, _) = call(
        &gw,
        Method::PUT,
        "/api/admin/settings",
        Some(json!({"colour": "red"})),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_gateway_on_the_builtin_default_gets_its_first_file() {
    let dir = tempfile::tempdir().expect("dir");
    let test_store = switchboard_test_support::TestStore::open(dir.path()).await;
    let mut options = switchboard_server::Options::new(
        switchboard_server::ConfigFile::new(None),
        dir.path().to_path_buf(),
    );
    options.listen = Some("127.0.0.1:0".parse().expect("addr"));
    options.stores = switchboard_server::Stores::Given {
        log: test_store.store.clone(),
        admin: test_store.admin.clone(),
    };
    options.jobs = false;
    let running = switchboard_server::start(options).await.expect("start");
    let token = switchboard_auth::LocalCredential::read(dir.path())
        .expect("credential")
        .token()
        .expose()
        .to_owned();
    let http = reqwest::Client::new();
    let url = running.admin_url();
    let config: Value = http
        .get(format!("{url}/api/admin/config"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let path = dir.path().join("config.toml");
    assert_eq!(config["exists"], false);
    assert_eq!(config["path"], path.display().to_string());
    let resp = http
        .post(format!("{url}/api/admin/endpoints"))
        .bearer_auth(&token)
        .json(&json!({"name": "second", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-second-0123456789abcdef", "version": config["version"]}))
        .send()
        .await
        .expect("post");
    let (status, w) = json_of(resp).await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["reload"], json!({"ok": true, "reloaded": true}));
    let text = std::fs::read_to_string(&path).expect("the file was created");
    assert!(
        text.contains("name = \"anthropic\"") && text.contains("name = \"second\""),
        "{text}"
    );
    let status: Value = http
        .get(format!("{url}/status"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["config_source"], path.display().to_string());
    assert_eq!(status["endpoints"].as_array().expect("endpoints").len(), 2);
    running.shutdown().await;
}

/// Reads SSE frames from `resp` until `done` says enough (bounded), returning (event, id, data).
async fn sse_until(
    mut resp: reqwest::Response,
    done: impl Fn(&[(String, String, Value)]) -> bool,
) -> Vec<(String, String, Value)> {
    let mut buf = String::new();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !done(&out) {
            let chunk = resp.chunk().await.expect("chunk").expect("the feed ended");
            buf.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), String::new(), String::new());
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if !event.is_empty() {
                    out.push((event, id, serde_json::from_str(&data).expect("data")));
                }
            }
        }
    })
    .await
    .expect("the events within 10 s");
    out
}

#[tokio::test]
async fn the_live_feed_resumes_from_the_last_event_id() {
    let up = MockUpstream::start(Reply::json(200, sse::anthropic_message("m", "x", 1, 1))).await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &up.url(), "api_key = \"k\"")
        .start()
        .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let resp = gw.post("/v1/messages", &message(false, "hi")).await;
        ids.push(
            resp.headers()["x-switchboard-request-id"]
                .to_str()
                .expect("id")
                .to_owned(),
        );
        resp.text().await.expect("body");
    }
    gw.wait_for_logs(3).await;
    // A client that saw the first request comes back: it gets the three from that one on,
    // oldest first, each with its id, then the live feed.
    let resp = gw
        .admin_get("/api/live")
        .header("last-event-id", &ids[0])
        .send()
        .await
        .expect("live");
    assert_eq!(resp.status(), 200);
    let events = sse_until(resp, |e| {
        e.iter().filter(|(k, ..)| k == "request").count() >= 3
    })
    .await;
    let resumed: Vec<&str> = events
        .iter()
        .filter(|(k, ..)| k == "request")
        .map(|(_, id, data)| {
            assert_eq!(data["id"].as_str(), Some(id.as_str()));
            id.as_str()
        })
        .collect();
    assert_eq!(resumed, ids.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn half_hour_zones_split_days_at_their_midnight() {
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", "http://127.0.0.1:9", "api_key = \"k\"")
        .start()
        .await;
    // Midnight in Kolkata (+5:30) is 18:30 UTC, inside the UTC hour 18:00–19:00.
    let day = (Utc::now() - chrono::Duration::days(2)).date_naive();
    let at = |h, m| Utc.from_utc_datetime(&day.and_hms_opt(h, m, 0).expect("time"));
    gw.store
        .insert_batch(&[
            record(at(18, 29), "a"),
            record(at(18, 30), "a"),
            record(at(18, 59), "a"),
            record(at(12, 0), "a"),
        ])
        .await
        .expect("seed");
    let v = get(&gw, "/api/stats/timeseries?bucket=day&tz=Asia/Kolkata").await;
    let got: Vec<(String, u64)> = v["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| {
            (
                b["label"].as_str().expect("label").to_owned(),
                b["requests"].as_u64().expect("n"),
            )
        })
        .collect();
    let d0 = day.format("%Y-%m-%d").to_string();
    let d1 = (day + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(got, [(d0, 2), (d1, 2)]);
    assert_eq!(
        v["buckets"][1]["start"],
        format!("{}T18:30:00Z", day.format("%Y-%m-%d"))
    );
}
