//! Client keys, users, teams, budgets and limits end to end, on the assembled gateway (SQLite,
//! or PostgreSQL with `SWITCHBOARD_TEST_STORE=postgres`): keys shown once and stored hashed,
//! required once they exist, revoked, expired and rotated from the next request on; every limit
//! kind refusing in the caller's dialect with its status, body and `retry-after` before anything
//! reaches the upstream; overspend under 64 parallel streams bounded by what is in flight;
//! usage per key, user and team equal to the sum of the log; a member seeing only their own
//! keys and usage through every route; hostile input refused.
//!
//! Rate and budget windows are checked on paused time in `switchboard-limits`; here nothing
//! waits for a window to pass: expiry is moved into the past through the API.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_core::Access;
use switchboard_test_support::{Gate, MockUpstream, Reply, Step, TestGateway, sse};

const SONNET: &str = "claude-sonnet-4-5";
const OPUS: &str = "claude-opus-4-1";
/// 1,000 input and 100 output tokens of Sonnet: $0.0045.
const COST: f64 = 0.0045;

fn reply(model: &str) -> Reply {
    Reply::json(200, sse::anthropic_message(model, "hi", 1000, 100))
}

/// The model a test sends when it has queued the mock's answer itself.
const SCRIPTED: &str = "claude-sonnet-4-5-scripted";

/// A mock that answers every model with usage 1,000 in, 100 out (as a stream when asked for
/// one), except [`SCRIPTED`], answered from its script.
async fn upstream() -> MockUpstream {
    let up = MockUpstream::start(reply(SONNET)).await;
    up.respond_with(|r| {
        let body = r.json();
        let model = body["model"].as_str().unwrap_or(SONNET).to_owned();
        if model == SCRIPTED {
            return None;
        }
        if body["stream"] == true {
            return Some(Reply::sse(sse::anthropic_text(&model, &["hi"], 1000, 100)));
        }
        Some(reply(&model))
    });
    up
}

async fn gateway(up: &MockUpstream, server: &str) -> TestGateway {
    TestGateway::builder()
        .endpoint(
            "mock",
            "anthropic",
            &up.url(),
            "api_key = \"sk-upstream-0123456789abcdef\"",
        )
        .server(server)
        .start()
        .await
}

async fn admin(gw: &TestGateway, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = gw.admin_request(method.clone(), path);
    if let Some(b) = &body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("admin request");
    let status = resp.status();
    let v: Value = resp.json().await.expect("json");
    assert!(
        status.is_success(),
        "{method} {path} {body:?}: {status} {v}"
    );
    v
}

/// Makes a key; returns the key itself and its JSON.
async fn key(gw: &TestGateway, body: Value) -> (String, Value) {
    let v = admin(gw, Method::POST, "/api/admin/keys", Some(body)).await;
    let secret = v["key"].as_str().expect("the key, shown once").to_owned();
    (secret, v)
}

async fn member(gw: &TestGateway, name: &str) {
    admin(
        gw,
        Method::POST,
        "/api/admin/users",
        Some(json!({"name": name, "role": "member", "password": format!("{name}-password-1")})),
    )
    .await;
}

/// A Messages call with `key` as `x-api-key` (or none).
async fn call(gw: &TestGateway, key: Option<&str>, model: &str) -> reqwest::Response {
    call_with(gw, key, model, &[]).await
}

async fn call_with(
    gw: &TestGateway,
    key: Option<&str>,
    model: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = gw
        .http
        .post(format!("{}/v1/messages", gw.url))
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}));
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    req.send().await.expect("send")
}

/// The error of a refused call: status, `retry-after`, `error.type` and message.
async fn refused(resp: reqwest::Response) -> (u16, Option<u64>, String, String) {
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let v: Value = resp.json().await.expect("json error");
    assert_eq!(v["type"], "error", "{v}");
    (
        status,
        retry,
        v["error"]["type"].as_str().unwrap_or_default().to_owned(),
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn a_key_is_shown_once_stored_hashed_and_required_from_then_on() {
    let up = upstream().await;
    let gw = gateway(&up, "auth_token = \"shared-token-0123456789abcdef\"").await;
    // Before any key: the gateway token, as before.
    let resp = call(&gw, Some("shared-token-0123456789abcdef"), SONNET).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, _, kind, _) = refused(call(&gw, None, SONNET).await).await;
    assert_eq!((status, kind.as_str()), (401, "authentication_error"));

    let (secret, shown) = key(&gw, json!({"name": "ci"})).await;
    assert!(secret.starts_with("sb-") && secret.len() == 46, "{secret}");
    assert_eq!(shown["shown_once"], true);
    assert_eq!(
        shown["user"], "local",
        "a key belongs to its maker by default"
    );
    let hint = shown["hint"].as_str().expect("hint");
    assert!(hint.starts_with(&secret[..10]) && hint.ends_with(&secret[42..]));
    // Never shown again, and stored only as a digest.
    for path in ["/api/admin/keys", "/api/admin/keys/ci"] {
        let text = gw
            .admin_get(path)
            .send()
            .await
            .expect("list")
            .text()
            .await
            .expect("text");
        assert!(!text.contains(&secret), "{path} shows the key: {text}");
        assert!(text.contains(hint), "{text}");
    }
    for k in gw.admin_store().list_client_keys().await.expect("keys") {
        let row = format!("{k:?}");
        assert!(!row.contains(&secret[3..]), "stored as it is: {row}");
    }
    if !switchboard_test_support::wants_postgres() {
        let db = std::fs::read(gw.database()).expect("db");
        let wal = std::fs::read(gw.database().with_extension("db-wal")).unwrap_or_default();
        for bytes in [db, wal] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the key is in the database file"
            );
        }
    }

    // From now on every request needs a key, or the gateway token (as one more key).
    let (status, _, kind, message) = refused(call(&gw, None, SONNET).await).await;
    assert_eq!((status, kind.as_str()), (401, "authentication_error"));
    assert!(message.contains("requires a client key"), "{message}");
    let fake = format!("sb-{}", "A".repeat(43));
    let (status, _, _, message) = refused(call(&gw, Some(&fake), SONNET).await).await;
    assert_eq!(status, 401);
    assert!(message.starts_with("invalid client key"), "{message}");
    let hits = up.hits();
    let resp = call(&gw, Some(&secret), SONNET).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The key is the gateway's: it never goes upstream.
    let sent = up.requests().last().cloned().expect("sent");
    assert_eq!(
        sent.header("x-api-key"),
        Some("sk-upstream-0123456789abcdef")
    );
    let bearer = gw
        .http
        .post(format!("{}/v1/messages", gw.url))
        .bearer_auth(&secret)
        .json(&json!({"model": SONNET, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("bearer");
    assert_eq!(bearer.status(), StatusCode::OK);
    let resp = call(&gw, Some("shared-token-0123456789abcdef"), SONNET).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(up.hits(), hits + 3);

    let rows = gw.wait_for_logs(7).await;
    let named: Vec<(Option<&str>, Option<&str>)> = rows
        .iter()
        .take(3)
        .map(|r| (r.client_key.as_deref(), r.client_user.as_deref()))
        .collect();
    assert_eq!(
        named,
        vec![
            (Some("auth_token"), None),
            (Some("ci"), Some("local")),
            (Some("ci"), Some("local")),
        ]
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn revocation_expiry_and_rotation_take_effect_on_the_next_request() {
    let up = upstream().await;
    let gw = gateway(&up, "").await;
    let (a, _) = key(&gw, json!({"name": "a"})).await;
    let (b, made) = key(&gw, json!({"name": "b", "expires_in": "1h"})).await;
    assert!(made["expires_at"].is_string());
    let (c, _) = key(&gw, json!({"name": "c"})).await;
    for k in [&a, &b, &c] {
        assert_eq!(call(&gw, Some(k), SONNET).await.status(), StatusCode::OK);
    }
    let hits = up.hits();

    let revoked = admin(&gw, Method::POST, "/api/admin/keys/a/revoke", None).await;
    assert_eq!(revoked["state"], "revoked");
    let (status, _, kind, message) = refused(call(&gw, Some(&a), SONNET).await).await;
    assert_eq!((status, kind.as_str()), (401, "authentication_error"));
    assert!(
        message.starts_with("the client key a was revoked on "),
        "{message}"
    );

    let past = (chrono::Utc::now() - chrono::TimeDelta::seconds(1)).to_rfc3339();
    let expired = admin(
        &gw,
        Method::PUT,
        "/api/admin/keys/b",
        Some(json!({"expires_at": past})),
    )
    .await;
    assert_eq!(expired["state"], "expired");
    let (status, _, _, message) = refused(call(&gw, Some(&b), SONNET).await).await;
    assert_eq!(status, 401);
    assert!(
        message.starts_with("the client key b expired on "),
        "{message}"
    );

    let rotated = admin(&gw, Method::POST, "/api/admin/keys/c/rotate", None).await;
    let new = rotated["key"].as_str().expect("new key").to_owned();
    assert_ne!(new, c);
    let (status, _, _, message) = refused(call(&gw, Some(&c), SONNET).await).await;
    assert_eq!(status, 401);
    assert!(message.starts_with("invalid client key"), "{message}");
    assert_eq!(up.hits(), hits, "nothing refused reached the upstream");
    assert_eq!(call(&gw, Some(&new), SONNET).await.status(), StatusCode::OK);

    // Refused requests are logged with the key that was refused.
    let rows = gw.wait_for_logs(7).await;
    let refused_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.status == 401)
        .map(|r| (r.client_key.as_deref(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        refused_rows,
        vec![
            (None, "rejected"),
            (Some("b"), "rejected"),
            (Some("a"), "rejected")
        ]
    );
    gw.shutdown().await;
}

/// Sends `key`'s requests until one is refused; returns how many passed and the refusal.
async fn until_refused(
    gw: &TestGateway,
    key: &str,
    model: &str,
    most: usize,
) -> (usize, (u16, Option<u64>, String, String)) {
    for passed in 0..most {
        let resp = call(gw, Some(key), model).await;
        if resp.status() != StatusCode::OK {
            return (passed, refused(resp).await);
        }
    }
    let resp = call(gw, Some(key), model).await;
    assert_ne!(
        resp.status(),
        StatusCode::OK,
        "{most} requests of {key} passed: no limit refused"
    );
    (most, refused(resp).await)
}

#[tokio::test]
async fn each_limit_kind_refuses_with_its_status_body_and_retry_after_before_any_upstream() {
    let up = upstream().await;
    let gw = gateway(&up, "").await;
    member(&gw, "alice").await;
    member(&gw, "bob").await;
    admin(
        &gw,
        Method::POST,
        "/api/admin/teams",
        Some(json!({"name": "platform", "budgets": ["0.005usd/day"]})),
    )
    .await;
    for u in ["alice", "bob"] {
        admin(
            &gw,
            Method::POST,
            "/api/admin/teams/platform/members",
            Some(json!({"user": u})),
        )
        .await;
    }

    // Models: a permission error naming the model; the key's other models pass.
    let (k, _) = key(
        &gw,
        json!({"name": "models", "limits": {"models": ["claude-sonnet-*"]}}),
    )
    .await;
    let hits = up.hits();
    let (status, retry, kind, message) = refused(call(&gw, Some(&k), OPUS).await).await;
    assert_eq!(
        (status, retry, kind.as_str()),
        (403, None, "permission_error")
    );
    assert_eq!(
        message,
        "the key models may not use the model claude-opus-4-1: it may use claude-sonnet-*"
    );
    assert_eq!(up.hits(), hits);
    assert_eq!(call(&gw, Some(&k), SONNET).await.status(), StatusCode::OK);

    // Endpoints: none of the key's serves the request.
    let (k, _) = key(
        &gw,
        json!({"name": "endpoints", "limits": {"endpoints": ["elsewhere"]}}),
    )
    .await;
    let hits = up.hits();
    let (status, _, kind, message) = refused(call(&gw, Some(&k), SONNET).await).await;
    assert_eq!((status, kind.as_str()), (403, "permission_error"));
    assert!(
        message.contains("only the endpoints elsewhere"),
        "{message}"
    );
    assert_eq!(up.hits(), hits);

    // Clients: only Claude Code.
    let (k, _) = key(
        &gw,
        json!({"name": "cc-only", "limits": {"clients": ["claude-cli/*"]}}),
    )
    .await;
    let hits = up.hits();
    let resp = call_with(
        &gw,
        Some(&k),
        SONNET,
        &[("user-agent", "python-httpx/0.28")],
    )
    .await;
    let (status, _, kind, message) = refused(resp).await;
    assert_eq!((status, kind.as_str()), (403, "permission_error"));
    assert!(
        message.contains("User-Agent python-httpx/0.28"),
        "{message}"
    );
    assert_eq!(up.hits(), hits);
    let cc = [("user-agent", "claude-cli/2.1.330 (external, sdk-cli)")];
    assert_eq!(
        call_with(&gw, Some(&k), SONNET, &cc).await.status(),
        StatusCode::OK
    );

    // Requests per minute: 429 with the wait (30 s for the third of 2 a minute).
    let (k, _) = key(&gw, json!({"name": "rpm", "limits": {"rpm": 2}})).await;
    let hits = up.hits();
    let (passed, (status, retry, kind, message)) = until_refused(&gw, &k, SONNET, 5).await;
    assert_eq!(
        (passed, status, kind.as_str()),
        (2, 429, "rate_limit_error")
    );
    assert!(retry.is_some_and(|s| (29..=30).contains(&s)), "{retry:?}");
    assert!(
        message.starts_with("Rate limit: the key rpm may use 2 requests per minute"),
        "{message}"
    );
    assert_eq!(up.hits(), hits + 2);

    // Tokens per minute: charged when a request ends (1,100 tokens against 1,000).
    let (k, _) = key(&gw, json!({"name": "tpm", "limits": {"tpm": 1000}})).await;
    let (passed, (status, retry, kind, _)) = until_refused(&gw, &k, SONNET, 5).await;
    assert_eq!(
        (passed, status, kind.as_str()),
        (1, 429, "rate_limit_error")
    );
    assert!(retry.is_some_and(|s| (1..=7).contains(&s)), "{retry:?}");

    // Concurrency: a second request while the first streams.
    let gate = Gate::new();
    let mut frames: Vec<Step> = sse::anthropic_text(SONNET, &["a", "b"], 10, 2)
        .into_iter()
        .map(|f| Step::Bytes(f.into()))
        .collect();
    frames.insert(1, Step::Wait(gate.clone()));
    let (k, _) = key(
        &gw,
        json!({"name": "one-at-a-time", "limits": {"concurrency": 1}}),
    )
    .await;
    up.push(Reply::steps(frames));
    let streaming = gw
        .http
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", &k)
        .json(&json!({"model": SCRIPTED, "max_tokens": 8, "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("stream");
    assert_eq!(streaming.status(), StatusCode::OK);
    let hits = up.hits();
    let (status, retry, kind, message) = refused(call(&gw, Some(&k), SONNET).await).await;
    assert_eq!(
        (status, retry, kind.as_str()),
        (429, Some(1), "rate_limit_error")
    );
    assert!(
        message
            .starts_with("Too many requests at once: the key one-at-a-time may have 1 in flight"),
        "{message}"
    );
    assert_eq!(up.hits(), hits);
    gate.open();
    streaming.text().await.expect("stream body");
    assert_eq!(call(&gw, Some(&k), SONNET).await.status(), StatusCode::OK);

    // Each budget window: the second request is refused, naming the budget and when it frees.
    for (window, says, secs) in [
        ("5h", "per 5 hours", 5 * 3600),
        ("day", "per day", 86_400),
        ("week", "per week", 7 * 86_400),
        ("month", "per 30 days", 30 * 86_400),
    ] {
        let name = format!("budget-{window}");
        let (k, _) = key(
            &gw,
            json!({"name": name, "limits": {"budgets": [format!("0.004usd/{window}")]}}),
        )
        .await;
        let hits = up.hits();
        let (passed, (status, retry, kind, message)) = until_refused(&gw, &k, SONNET, 3).await;
        assert_eq!(
            (passed, status, kind.as_str()),
            (1, 403, "permission_error"),
            "{window}"
        );
        assert!(
            message.starts_with(&format!(
                "Budget used up: this key ({name}) has spent $0.0045 of its $0.004 {says} (0.004usd/{window}). It frees up in "
            )),
            "{message}"
        );
        assert!(
            message.ends_with("Ask your Switchboard admin to raise it."),
            "{message}"
        );
        let retry = retry.expect("retry-after");
        assert!(retry <= secs && retry + 60 >= secs, "{window}: {retry}");
        assert_eq!(up.hits(), hits + 1);
    }
    // A token budget.
    let (k, _) = key(
        &gw,
        json!({"name": "tokens", "limits": {"budgets": ["2000tok/day"]}}),
    )
    .await;
    let (passed, (status, _, _, message)) = until_refused(&gw, &k, SONNET, 4).await;
    assert_eq!((passed, status), (2, 403));
    assert!(
        message.contains("has spent 2,200 tokens of its 2,000 tokens per day"),
        "{message}"
    );

    // A family budget: Opus is refused, Sonnet goes on.
    let (k, _) = key(
        &gw,
        json!({"name": "opus-apart", "limits": {"budgets": ["opus:0.01usd/week"]}}),
    )
    .await;
    let (passed, (status, _, _, message)) = until_refused(&gw, &k, OPUS, 3).await;
    assert_eq!((passed, status), (1, 403));
    assert!(
        message.contains("for opus models (opus:0.01usd/week)"),
        "{message}"
    );
    assert!(message.ends_with("or use another model."), "{message}");
    assert_eq!(call(&gw, Some(&k), SONNET).await.status(), StatusCode::OK);

    // A user's budget caps all of the user's keys together.
    admin(
        &gw,
        Method::PUT,
        "/api/admin/users/alice/budgets",
        Some(json!({"budgets": ["0.006usd/5h"]})),
    )
    .await;
    let (a1, _) = key(&gw, json!({"name": "alice-1", "user": "alice"})).await;
    let (a2, _) = key(&gw, json!({"name": "alice-2", "user": "alice"})).await;
    assert_eq!(call(&gw, Some(&a1), SONNET).await.status(), StatusCode::OK);
    assert_eq!(call(&gw, Some(&a2), SONNET).await.status(), StatusCode::OK);
    let hits = up.hits();
    let (status, retry, kind, message) = refused(call(&gw, Some(&a1), SONNET).await).await;
    assert_eq!((status, kind.as_str()), (403, "permission_error"));
    assert!(retry.is_some());
    assert!(
        message
            .starts_with("Budget used up: user alice has spent $0.009 of its $0.006 per 5 hours"),
        "{message}"
    );
    assert_eq!(up.hits(), hits);

    // A team's budget caps all the keys charged to it, whoever's.
    let (b1, _) = key(
        &gw,
        json!({"name": "bob-team", "user": "bob", "team": "platform"}),
    )
    .await;
    let (b2, _) = key(
        &gw,
        json!({"name": "bob-team-2", "user": "bob", "team": "platform"}),
    )
    .await;
    assert_eq!(call(&gw, Some(&b1), SONNET).await.status(), StatusCode::OK);
    assert_eq!(call(&gw, Some(&b2), SONNET).await.status(), StatusCode::OK);
    let (status, _, _, message) = refused(call(&gw, Some(&b1), SONNET).await).await;
    assert_eq!(status, 403);
    assert!(
        message.starts_with("Budget used up: team platform has spent"),
        "{message}"
    );

    // The OpenAI dialect gets its own shape: 429 with rate_limit_exceeded.
    let (k, _) = key(&gw, json!({"name": "openai-rpm", "limits": {"rpm": 1}})).await;
    let chat = |k: String| {
        gw.http
            .post(format!("{}/v1/chat/completions", gw.url))
            .bearer_auth(k)
            .json(&json!({"model": SONNET, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let _ = chat(k.clone()).await.expect("first");
    let resp = chat(k).await.expect("second");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["error"]["type"], "rate_limit_error");
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");

    // Every refusal is in the log as rejected, with its key.
    let rows = gw.wait_for_logs(up.hits() + 15).await;
    let rejected: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.outcome.as_str() == "rejected")
        .filter_map(|r| r.client_key.as_deref())
        .collect();
    for k in [
        "models",
        "endpoints",
        "cc-only",
        "rpm",
        "tpm",
        "one-at-a-time",
        "budget-5h",
        "tokens",
        "opus-apart",
        "alice-1",
        "bob-team",
        "openai-rpm",
    ] {
        assert!(
            rejected.contains(k),
            "{k} not logged as rejected: {rejected:?}"
        );
    }
    assert!(
        rows.iter().any(|r| r.client_user.as_deref() == Some("bob")
            && r.client_team.as_deref() == Some("platform"))
    );
    gw.shutdown().await;
}

/// A streamed Messages call; `true` when it was answered 200 and read to its end.
async fn stream(gw: &TestGateway, key: &str) -> Result<(), (u16, String)> {
    let resp = gw
        .http
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", key)
        .json(&json!({"model": SONNET, "max_tokens": 16, "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    if status == 200 {
        assert!(text.contains("message_stop"), "{text}");
        Ok(())
    } else {
        Err((status, text))
    }
}

#[tokio::test]
async fn sixty_four_parallel_streams_overspend_no_more_than_what_is_in_flight_and_usage_is_the_log()
{
    let up = upstream().await;
    let gw = gateway(&up, "").await;
    member(&gw, "alice").await;
    admin(
        &gw,
        Method::POST,
        "/api/admin/teams",
        Some(json!({"name": "platform"})),
    )
    .await;
    admin(
        &gw,
        Method::POST,
        "/api/admin/teams/platform/members",
        Some(json!({"user": "alice"})),
    )
    .await;
    // Ten requests' worth; 64 workers send until refused, 1,000 requests at most.
    let (k, _) = key(
        &gw,
        json!({"name": "load", "user": "alice", "team": "platform", "limits": {"budgets": ["0.045usd/day"]}}),
    )
    .await;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..64)
        .map(|_| {
            let (gw_url, http, k, sent) = (gw.url.clone(), gw.http.clone(), k.clone(), sent.clone());
            tokio::spawn(async move {
                let mut ok = 0_usize;
                while sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 1000 {
                    let resp = http
                        .post(format!("{gw_url}/v1/messages"))
                        .header("x-api-key", &k)
                        .json(&json!({"model": SONNET, "max_tokens": 16, "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
                        .send()
                        .await
                        .expect("send");
                    let status = resp.status();
                    let text = resp.text().await.expect("body");
                    if status == StatusCode::OK {
                        assert!(text.contains("message_stop"), "{text}");
                        ok += 1;
                    } else {
                        assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
                        assert!(text.contains("Budget used up"), "{text}");
                        break;
                    }
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for w in workers {
        ok += w.await.expect("worker");
    }
    // Admitted while under the budget (10 fit), plus at most what was in flight when it was
    // reached: 64 streams at once, one of them the tenth.
    assert!(ok >= 10, "refused before the budget was reached: {ok}");
    assert!(
        ok <= 10 + 63,
        "overspent beyond the requests in flight: {ok}"
    );
    assert!(stream(&gw, &k).await.is_err(), "refused once over");
    assert_eq!(up.hits(), ok, "nothing refused reached the upstream");

    // Usage per key, user and team is the sum of the log; the budget was charged the same.
    let rows = gw.wait_for_logs(ok + 65).await;
    let log_cost: f64 = rows.iter().filter_map(|r| r.cost_usd).sum();
    let log_tokens: u64 = rows.iter().map(|r| r.input_tokens + r.output_tokens).sum();
    assert!((log_cost - COST * ok as f64).abs() < 1e-9, "{log_cost}");
    for by in ["key", "user", "team"] {
        let v = admin(&gw, Method::GET, &format!("/api/admin/usage?by={by}"), None).await;
        let row = &v["rows"][0];
        let name = match by {
            "key" => "load",
            "user" => "alice",
            _ => "platform",
        };
        assert_eq!(row["name"], name, "{v}");
        let t = &row["totals"];
        assert_eq!(t["requests"], json!(rows.len()), "{by}: {v}");
        assert!(
            (t["cost_usd"].as_f64().expect("cost") - log_cost).abs() < 1e-9,
            "{by}: {v}"
        );
        assert_eq!(
            t["input_tokens"].as_u64().expect("in") + t["output_tokens"].as_u64().expect("out"),
            log_tokens
        );
    }
    let k = admin(&gw, Method::GET, "/api/admin/keys/load", None).await;
    let budget = &k["budgets"][0];
    assert_eq!(budget["budget"], "0.045usd/day");
    assert!(
        (budget["spent"].as_f64().expect("spent") - log_cost).abs() < 1e-9,
        "{k}"
    );
    assert_eq!(budget["remaining"], 0.0);
    assert_eq!(budget["exhausted"], true);
    assert!(budget["frees_at"].is_string());
    assert_eq!(
        k["since_start"]["requests"],
        json!(ok),
        "admitted requests only"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_new_budget_starts_from_the_spend_the_log_already_has() {
    let up = upstream().await;
    let gw = gateway(&up, "").await;
    let (k, _) = key(&gw, json!({"name": "seeded"})).await;
    for _ in 0..3 {
        assert_eq!(call(&gw, Some(&k), SONNET).await.status(), StatusCode::OK);
    }
    gw.wait_for_logs(3).await;
    // A budget set now counts the three requests already in the log.
    let v = admin(
        &gw,
        Method::PUT,
        "/api/admin/keys/seeded",
        Some(json!({"limits": {"budgets": ["1usd/5h", "10000tok/week"]}})),
    )
    .await;
    let spent: Vec<f64> = v["budgets"]
        .as_array()
        .expect("budgets")
        .iter()
        .map(|b| b["spent"].as_f64().expect("spent"))
        .collect();
    assert!((spent[0] - 3.0 * COST).abs() < 1e-9, "{v}");
    assert!((spent[1] - 3300.0).abs() < 1e-9, "{v}");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_key_holder_reads_their_own_usage_and_budgets_with_the_key_alone() {
    let up = upstream().await;
    let gw = gateway(&up, "").await;
    member(&gw, "alice").await;
    admin(
        &gw,
        Method::PUT,
        "/api/admin/users/alice/budgets",
        Some(json!({"budgets": ["1usd/day"]})),
    )
    .await;
    let (k, _) = key(&gw, json!({"name": "mine", "user": "alice", "limits": {"rpm": 100, "budgets": ["opus:2usd/week"]}})).await;
    assert_eq!(call(&gw, Some(&k), SONNET).await.status(), StatusCode::OK);
    let v: Value = gw
        .http
        .get(format!("{}/v1/switchboard/usage", gw.url))
        .bearer_auth(&k)
        .send()
        .await
        .expect("usage")
        .json()
        .await
        .expect("json");
    assert_eq!(v["key"]["name"], "mine");
    assert_eq!(v["key"]["user"], "alice");
    assert_eq!(v["key"]["limits"]["rpm"], 100);
    assert_eq!(v["since_start"]["requests"], 1);
    let budgets: Vec<(&str, &str)> = v["budgets"]
        .as_array()
        .expect("budgets")
        .iter()
        .map(|b| {
            (
                b["scope"].as_str().unwrap_or(""),
                b["budget"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        budgets,
        vec![("key", "opus:2usd/week"), ("user", "1usd/day")]
    );
    assert!((v["budgets"][1]["remaining"].as_f64().expect("left") - (1.0 - COST)).abs() < 1e-9);
    // Without a key, or with another's: nothing.
    let resp = gw
        .http
        .get(format!("{}/v1/switchboard/usage", gw.url))
        .send()
        .await
        .expect("usage");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(up.hits(), 1, "asking for usage sends nothing upstream");
    gw.shutdown().await;
}

/// Signs `name` in with their password; returns the session cookie.
async fn sign_in(gw: &TestGateway, name: &str) -> String {
    let resp = gw
        .http
        .post(format!("{}/api/admin/login", gw.admin_url))
        .json(&json!({"name": name, "password": format!("{name}-password-1")}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("pair")
        .to_owned()
}

#[tokio::test]
async fn a_member_sees_only_their_own_keys_and_usage_through_every_route() {
    let up = upstream().await;
    let gw = gateway(&up, "").await;
    member(&gw, "alice").await;
    member(&gw, "bobby").await;
    admin(
        &gw,
        Method::POST,
        "/api/admin/teams",
        Some(json!({"name": "shared-team"})),
    )
    .await;
    for u in ["alice", "bobby"] {
        admin(
            &gw,
            Method::POST,
            "/api/admin/teams/shared-team/members",
            Some(json!({"user": u})),
        )
        .await;
    }
    let (a, _) = key(
        &gw,
        json!({"name": "alice-key", "user": "alice", "team": "shared-team"}),
    )
    .await;
    let (b, _) = key(&gw, json!({"name": "bobby-secret-key", "user": "bobby", "team": "shared-team", "limits": {"budgets": ["1usd/day"]}})).await;
    assert_eq!(call(&gw, Some(&a), SONNET).await.status(), StatusCode::OK);
    assert_eq!(call(&gw, Some(&b), OPUS).await.status(), StatusCode::OK);
    gw.wait_for_logs(2).await;
    let cookie = sign_in(&gw, "alice").await;

    // Every route of the control plane, as Alice: admin routes refuse her; member routes
    // answer with nothing of Bobby's.
    let http = reqwest::Client::new();
    let mut member_routes = 0;
    for r in switchboard_server::routes() {
        let path = r
            .path
            .replace("{id}", &uuid::Uuid::nil().to_string())
            .replace("{name}", "bobby")
            .replace("{key}", "bobby-secret-key")
            .replace("{user}", "bobby")
            .replace("{*path}", "index.html");
        let method = Method::from_bytes(r.method.as_bytes()).expect("method");
        let resp = http
            .request(method.clone(), format!("{}{path}", gw.admin_url))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("send");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        match r.access {
            Access::Admin { .. } => assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{} {path}: a member passed an admin route: {text}",
                r.method
            ),
            Access::Member { .. } if status == StatusCode::NOT_FOUND => {
                // The same answer as for a key that does not exist: no oracle.
                member_routes += 1;
                let none = http
                    .request(
                        method,
                        format!(
                            "{}{}",
                            gw.admin_url,
                            path.replace("bobby-secret-key", "no-such-key")
                        ),
                    )
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .expect("send");
                assert_eq!(none.status(), StatusCode::NOT_FOUND);
                let none = none.text().await.unwrap_or_default();
                assert_eq!(
                    text.replace("bobby-secret-key", "no-such-key"),
                    none,
                    "{path}"
                );
            }
            Access::Member { mutates } => {
                member_routes += 1;
                for theirs in ["bobby-secret-key", "bobby", &b[..12], OPUS] {
                    assert!(
                        !text.contains(theirs),
                        "{} {path} shows {theirs} to alice: {text}",
                        r.method
                    );
                }
                if !mutates {
                    assert!(
                        status == StatusCode::OK || status == StatusCode::NOT_FOUND,
                        "{} {path}: {status} {text}",
                        r.method
                    );
                }
            }
            _ => {}
        }
    }
    assert!(member_routes >= 6, "{member_routes}");
    // What she does see: her key, her usage, her team (without its other members).
    let get = |path: &str| {
        http.get(format!("{}{path}", gw.admin_url))
            .header("cookie", &cookie)
            .send()
    };
    let keys: Value = get("/api/admin/keys")
        .await
        .expect("keys")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["name"].as_str())
        .collect();
    assert_eq!(names, vec!["alice-key"]);
    for by in ["key", "user"] {
        let v: Value = get(&format!("/api/admin/usage?by={by}&bucket=hour"))
            .await
            .expect("usage")
            .json()
            .await
            .expect("json");
        let rows: Vec<&str> = v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert_eq!(
            rows,
            vec![if by == "key" { "alice-key" } else { "alice" }],
            "{v}"
        );
        assert!(
            v["series"]
                .as_array()
                .expect("series")
                .iter()
                .all(|s| s["name"] != "bobby" && s["name"] != "bobby-secret-key")
        );
    }
    let resp = get("/api/admin/usage?by=team").await.expect("team usage");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let teams: Value = get("/api/admin/teams")
        .await
        .expect("teams")
        .json()
        .await
        .expect("json");
    assert_eq!(teams["teams"][0]["members"], json!(["alice"]));
    let resp = get("/api/admin/keys/bobby-secret-key").await.expect("key");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // A member changes nothing.
    let resp = http
        .post(format!("{}/api/admin/keys", gw.admin_url))
        .header("cookie", &cookie)
        .json(&json!({"name": "mine"}))
        .send()
        .await
        .expect("create");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Nor does her key open Bobby's usage on the data plane.
    let v: Value = gw
        .http
        .get(format!("{}/v1/switchboard/usage", gw.url))
        .header("x-api-key", &a)
        .send()
        .await
        .expect("usage")
        .json()
        .await
        .expect("json");
    assert!(!v.to_string().contains("bobby"), "{v}");
    gw.shutdown().await;
}

#[tokio::test]
async fn metrics_report_usage_and_what_is_left_per_key_user_and_team() {
    let up = upstream().await;
    let gw = gateway(&up, "").await;
    member(&gw, "alice").await;
    admin(
        &gw,
        Method::PUT,
        "/api/admin/users/alice/budgets",
        Some(json!({"budgets": ["2000000tok/5h"]})),
    )
    .await;
    let (k, _) = key(
        &gw,
        json!({"name": "ci", "user": "alice", "limits": {"budgets": ["1usd/day"]}}),
    )
    .await;
    assert_eq!(call(&gw, Some(&k), SONNET).await.status(), StatusCode::OK);
    let text = gw.metrics().await;
    for line in [
        "switchboard_client_requests_total{scope=\"key\",name=\"ci\"} 1",
        "switchboard_client_tokens_total{scope=\"user\",name=\"alice\"} 1100",
        "switchboard_client_cost_usd_total{scope=\"key\",name=\"ci\"} 0.0045",
        "switchboard_client_in_flight{scope=\"key\",name=\"ci\"} 0",
        "switchboard_budget_limit{scope=\"key\",name=\"ci\",window=\"day\",unit=\"usd\",family=\"\"} 1",
        "switchboard_budget_remaining{scope=\"key\",name=\"ci\",window=\"day\",unit=\"usd\",family=\"\"} 0.9955",
        "switchboard_budget_spent{scope=\"user\",name=\"alice\",window=\"5h\",unit=\"tokens\",family=\"\"} 1100",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn hostile_input_is_refused_in_the_callers_dialect_before_any_upstream() {
    let up = MockUpstream::start(Reply::json(200, "{}")).await;
    let gw = TestGateway::builder()
        .endpoint("openai", "openai", &format!("{}/v1", up.url()), "api_key = \"sk-openai-0123456789abcdef\"")
        .server("max_body_bytes = 4096\nmax_headers = 30\nmax_header_bytes = 2048\nmax_json_depth = 10\nmax_messages = 5\nmax_tools = 3\nmax_content_blocks = 8")
        .start()
        .await;
    let post = |body: Value, headers: Vec<(String, String)>| {
        let mut req = gw
            .http
            .post(format!("{}/v1/messages", gw.url))
            .header("x-api-key", "k")
            .json(&body);
        for (n, v) in headers {
            req = req.header(n, v);
        }
        req.send()
    };
    let msg = |content: Value| json!({"role": "user", "content": content});
    let base =
        |messages: Vec<Value>| json!({"model": "gpt-x", "max_tokens": 8, "messages": messages});
    let mut deep = json!("x");
    for _ in 0..12 {
        deep = json!([deep]);
    }
    // What is sent, its extra headers, the status and the key the error names.
    type Case = (
        &'static str,
        Value,
        Vec<(String, String)>,
        u16,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "body",
            base(vec![msg(json!("x".repeat(5000)))]),
            vec![],
            413,
            "max_body_bytes",
        ),
        (
            "header count",
            base(vec![msg(json!("hi"))]),
            (0..40).map(|i| (format!("x-h{i}"), "v".into())).collect(),
            431,
            "max_headers",
        ),
        (
            "header bytes",
            base(vec![msg(json!("hi"))]),
            vec![("x-big".into(), "v".repeat(3000))],
            431,
            "max_header_bytes",
        ),
        (
            "depth",
            json!({"model": "gpt-x", "max_tokens": 8, "messages": [msg(json!("hi"))], "metadata": {"deep": deep}}),
            vec![],
            413,
            "max_json_depth",
        ),
        (
            "messages",
            base((0..6).map(|_| msg(json!("hi"))).collect()),
            vec![],
            413,
            "max_messages",
        ),
        (
            "tools",
            json!({"model": "gpt-x", "max_tokens": 8, "messages": [msg(json!("hi"))], "tools": (0..4).map(|i| json!({"name": format!("t{i}"), "input_schema": {"type": "object"}})).collect::<Vec<_>>()}),
            vec![],
            413,
            "max_tools",
        ),
        (
            "blocks",
            base(vec![
                msg(json!(
                    (0..5)
                        .map(|_| json!({"type": "text", "text": "a"}))
                        .collect::<Vec<_>>()
                )),
                msg(json!(
                    (0..5)
                        .map(|_| json!({"type": "text", "text": "b"}))
                        .collect::<Vec<_>>()
                )),
            ]),
            vec![],
            413,
            "max_content_blocks",
        ),
    ];
    for (what, body, headers, status, key) in cases {
        let resp = post(body, headers).await.expect("send");
        assert_eq!(resp.status().as_u16(), status, "{what}");
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["type"], "error", "{what}: {v}");
        assert_eq!(v["error"]["type"], "request_too_large", "{what}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap_or("").contains(key),
            "{what}: {v}"
        );
    }
    assert_eq!(up.hits(), 0, "nothing reached the upstream");
    // Far beyond the limits, the HTTP server refuses on its own, and the gateway stays up.
    let mut req = gw.http.post(format!("{}/v1/messages", gw.url));
    for i in 0..100 {
        req = req.header(format!("x-many-{i}"), "v");
    }
    let resp = req.body("{}").send().await;
    assert!(resp.is_err() || resp.is_ok_and(|r| r.status().as_u16() == 431));
    assert_eq!(
        gw.http
            .get(format!("{}/health", gw.url))
            .send()
            .await
            .expect("health")
            .status(),
        StatusCode::OK
    );
    gw.shutdown().await;
}
