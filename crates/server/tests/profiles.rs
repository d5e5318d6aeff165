//! Profiles on the request path: the profile in force routes every request, a switch applies to
//! the next request with nothing restarted, a request naming a profile in
//! `X-Switchboard-Profile` keeps it whatever the one in force, an unknown name is refused with
//! the names there are, the header never reaches an upstream, and `/v1/models` lists a profile's
//! mapped models (Claude Code's gateway model discovery).

use serde_json::{Value, json};
use switchboard_test_support::sse;
use switchboard_test_support::{MockUpstream, Reply, TestGateway};

fn message(model: &str) -> Value {
    json!({"model": model, "max_tokens": 64, "stream": true, "messages": [{"role": "user", "content": "hi"}]})
}

async fn mock(text: &str) -> MockUpstream {
    MockUpstream::start(Reply::sse(sse::anthropic_text("m", &[text], 3, 2))).await
}

/// Two endpoints and two profiles over them: `first` (a then b) and `second` (b then a, with a
/// model map), `active` in force.
fn config(a: &str, b: &str, active: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:0"

[routing]
max_retries = 0
profile = "{active}"

[[endpoints]]
name = "a"
kind = "anthropic"
base_url = "{a}"

[[endpoints]]
name = "b"
kind = "anthropic"
base_url = "{b}"

[[profiles]]
name = "first"
endpoints = ["a", "b"]

[[profiles]]
name = "second"
endpoints = ["b", "a"]
[profiles.models]
sonnet = "glm-5.1"
"claude-opus-4-1" = "deepseek-reasoner"
[profiles.claude]
model = "sonnet"
"#
    )
}

async fn start(a: &MockUpstream, b: &MockUpstream) -> TestGateway {
    let gw = TestGateway::builder()
        .endpoint("placeholder", "anthropic", &a.url(), "enabled = false")
        .start()
        .await;
    switch(&gw, a, b, "first").await;
    gw
}

/// Writes the configuration with `active` in force and has the running gateway read it.
async fn switch(gw: &TestGateway, a: &MockUpstream, b: &MockUpstream, active: &str) {
    gw.rewrite_config(&config(&a.url(), &b.url(), active));
    let r = gw
        .admin_request(reqwest::Method::POST, "/api/admin/reload")
        .send()
        .await
        .expect("reload");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
}

async fn send(gw: &TestGateway, profile: Option<&str>, model: &str) -> reqwest::Response {
    let mut req = gw
        .http
        .post(format!("{}/v1/messages?beta=true", gw.url))
        .header("x-api-key", "sk-client-key-0123456789")
        .header("anthropic-version", "2023-06-01")
        .json(&message(model));
    if let Some(p) = profile {
        req = req.header("X-Switchboard-Profile", p);
    }
    req.send().await.expect("request")
}

#[tokio::test]
async fn a_switch_applies_to_the_next_request_and_a_named_profile_keeps_its_route() {
    let a = mock("from a").await;
    let b = mock("from b").await;
    let gw = start(&a, &b).await;

    assert_eq!(send(&gw, None, "claude-sonnet-4-5").await.status(), 200);
    assert_eq!((a.hits(), b.hits()), (1, 0), "`first` goes to a");
    assert_eq!(
        a.requests()[0].json()["model"],
        "claude-sonnet-4-5",
        "`first` has no model map"
    );

    // The switch: the next request follows it, the gateway was not restarted.
    switch(&gw, &a, &b, "second").await;
    assert_eq!(send(&gw, None, "claude-sonnet-4-5").await.status(), 200);
    assert_eq!((a.hits(), b.hits()), (1, 1), "`second` goes to b");
    let sent = &b.requests()[0];
    assert_eq!(sent.json()["model"], "glm-5.1", "`second`'s map applies");

    // A request naming `first` keeps it whatever the one in force; the header stays here.
    assert_eq!(
        send(&gw, Some("first"), "claude-sonnet-4-5").await.status(),
        200
    );
    assert_eq!((a.hits(), b.hits()), (2, 1));
    for r in a.requests().iter().chain(b.requests().iter()) {
        assert_eq!(r.header("x-switchboard-profile"), None, "never forwarded");
    }

    let rows = gw.wait_for_logs(3).await;
    let endpoints: Vec<Option<&str>> = rows.iter().rev().map(|r| r.endpoint.as_deref()).collect();
    assert_eq!(endpoints, [Some("a"), Some("b"), Some("a")]);
    assert_eq!(rows[1].routed_model.as_deref(), Some("glm-5.1"));
    gw.shutdown().await;
}

#[tokio::test]
async fn an_unknown_profile_is_refused_naming_the_profiles_and_nothing_goes_upstream() {
    let a = mock("from a").await;
    let b = mock("from b").await;
    let gw = start(&a, &b).await;
    let resp = send(&gw, Some("thrid"), "claude-sonnet-4-5").await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        body["error"]["message"],
        "unknown profile \"thrid\" in x-switchboard-profile; this gateway has: first, second"
    );
    assert_eq!((a.hits(), b.hits()), (0, 0));
    gw.shutdown().await;
}

#[tokio::test]
async fn models_lists_the_profiles_mapped_models() {
    let a = mock("from a").await;
    let b = mock("from b").await;
    let gw = start(&a, &b).await;
    let list = |profile: Option<&'static str>| {
        let mut req = gw
            .http
            .get(format!("{}/v1/models?limit=1000", gw.url))
            .header("x-api-key", "sk-client-key-0123456789")
            .header("anthropic-version", "2023-06-01");
        if let Some(p) = profile {
            req = req.header("X-Switchboard-Profile", p);
        }
        req.send()
    };
    let resp = list(Some("second")).await.expect("models");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["claude-sonnet", "claude-opus-4-1"]);
    assert_eq!(body["data"][0]["display_name"], "glm-5.1 (second)");
    assert_eq!(body["has_more"], false);
    assert_eq!((a.hits(), b.hits()), (0, 0), "listed here, not upstream");

    // In force, without the header, the same.
    switch(&gw, &a, &b, "second").await;
    let body: Value = list(None)
        .await
        .expect("models")
        .json()
        .await
        .expect("json");
    assert_eq!(body["data"][1]["id"], "claude-opus-4-1");

    // The model Claude Code then sends is mapped.
    assert_eq!(send(&gw, None, "claude-sonnet").await.status(), 200);
    assert_eq!(b.requests()[0].json()["model"], "glm-5.1");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_claude_code_session_reads_its_totals_its_last_endpoint_and_its_profile() {
    let a = mock("from a").await;
    let b = mock("from b").await;
    let gw = start(&a, &b).await;
    let session = "0b5c7f4e-1111-4c2d-9e3f-8a9b0c1d2e3f";
    let ask = |profile: Option<&'static str>| {
        let mut req = gw
            .http
            .get(format!("{}/v1/switchboard/session", gw.url))
            .header("x-claude-code-session-id", session);
        if let Some(p) = profile {
            req = req.header("X-Switchboard-Profile", p);
        }
        req.send()
    };
    let before: Value = ask(None).await.expect("ask").json().await.expect("json");
    assert_eq!(before["session"], Value::Null, "not seen yet");
    assert_eq!(before["profile"], "first", "the one in force");

    for _ in 0..2 {
        let r = gw
            .http
            .post(format!("{}/v1/messages?beta=true", gw.url))
            .header("x-claude-code-session-id", session)
            .header("X-Switchboard-Profile", "second")
            .json(&message("claude-sonnet-4-5"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200);
        r.text().await.expect("body");
    }
    gw.wait_for_logs(2).await;
    let v: Value = ask(Some("second"))
        .await
        .expect("ask")
        .json()
        .await
        .expect("json");
    assert_eq!(v["session_id"], session);
    assert_eq!(v["profile"], "second");
    let s = &v["session"];
    assert_eq!(s["requests"], 2);
    assert_eq!(
        (s["input_tokens"].as_u64(), s["output_tokens"].as_u64()),
        (Some(6), Some(4))
    );
    assert_eq!(s["last"]["endpoint"], "b");
    assert_eq!(s["last"]["model"], "glm-5.1");
    assert_eq!(s["last"]["profile"], "second");
    assert!(s["cost_usd"].as_f64().is_some());
    assert_eq!(v["budgets"], Value::Null, "no client key, no budget");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_key_holder_reads_their_own_session_with_their_budgets_and_no_one_elses() {
    let a = mock("from a").await;
    let b = mock("from b").await;
    let gw = start(&a, &b).await;
    let make = |name: &'static str| {
        gw.admin_request(reqwest::Method::POST, "/api/admin/keys")
            .json(&json!({"name": name, "limits": {"budgets": ["5usd/day"]}}))
            .send()
    };
    let mine: Value = make("mine").await.expect("key").json().await.expect("json");
    let theirs: Value = make("theirs")
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    let (mine, theirs) = (
        mine["key"].as_str().expect("key").to_owned(),
        theirs["key"].as_str().expect("key").to_owned(),
    );
    let session = "5d0c2a1e-2222-4b3c-8d4e-9f0a1b2c3d4e";
    let r = gw
        .http
        .post(format!("{}/v1/messages?beta=true", gw.url))
        .bearer_auth(&mine)
        .header("x-claude-code-session-id", session)
        .json(&message("claude-sonnet-4-5"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    r.text().await.expect("body");
    gw.wait_for_logs(1).await;
    let ask = |key: String| {
        gw.http
            .get(format!("{}/v1/switchboard/session", gw.url))
            .bearer_auth(key)
            .header("x-claude-code-session-id", session)
            .send()
    };
    let v: Value = ask(mine).await.expect("ask").json().await.expect("json");
    assert_eq!(v["key"], "mine");
    assert_eq!(v["session"]["requests"], 1);
    assert_eq!(v["budgets"][0]["budget"], "5usd/day");
    assert_eq!(v["budgets"][0]["unit"], "usd");
    let v: Value = ask(theirs).await.expect("ask").json().await.expect("json");
    assert_eq!(
        v["session"],
        Value::Null,
        "another key's session is not shown"
    );
    let refused = gw
        .http
        .get(format!("{}/v1/switchboard/session", gw.url))
        .header("x-claude-code-session-id", session)
        .send()
        .await
        .expect("ask");
    assert_eq!(refused.status(), 401, "keys are in use: one is needed");
    gw.shutdown().await;
}
