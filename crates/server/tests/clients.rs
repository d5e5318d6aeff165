//! Real clients against a running gateway: the official `anthropic` and `openai` Python SDKs and
//! the Claude Code CLI (installed by `scripts/setup-test-deps.sh`), each completing a turn through
//! Switchboard against in-process mock upstreams of every kind.
//!
//! When the clients are not installed these tests skip with a message, unless
//! `SWITCHBOARD_REQUIRE_CLIENTS=1` (set by `scripts/test.sh`), where a missing client fails.

use std::path::PathBuf;
use std::time::Duration;

use switchboard_test_support::{MockUpstream, Reply, TestGateway, clients};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The program to run, or `None` (skip) when it is not installed and not required.
fn installed(rel: &str) -> Option<PathBuf> {
    let p = root().join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("SWITCHBOARD_REQUIRE_CLIENTS").as_deref() != Ok("1"),
        "{} is missing: run scripts/setup-test-deps.sh",
        p.display()
    );
    eprintln!(
        "SKIPPED: {} is not installed (run scripts/setup-test-deps.sh)",
        p.display()
    );
    None
}

async fn mock(kind: &str) -> MockUpstream {
    let m = MockUpstream::start(Reply::error(
        404,
        "not_found_error",
        "no such route on the mock",
    ))
    .await;
    match kind {
        "anthropic" => m.respond_with(clients::anthropic),
        "openai" => m.respond_with(clients::openai),
        _ => m.respond_with(clients::gemini),
    }
    m
}

async fn gateway(kind: &str, up: &MockUpstream) -> TestGateway {
    let base = match kind {
        "openai" => format!("{}/v1", up.url()),
        _ => up.url(),
    };
    let key = if kind == "anthropic" {
        ""
    } else {
        "api_key = \"sk-endpoint-0123456789abcdef\""
    };
    TestGateway::builder()
        .endpoint("primary", kind, &base, key)
        .start()
        .await
}

/// Runs a client program with the gateway URL; returns (success, stdout, stderr).
async fn run(program: &PathBuf, args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(envs.iter().copied())
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .expect("client finished within 180 s")
        .expect("client started");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn python_script(script: &str, upstream_kind: &str, auth: &str) {
    let Some(python) = installed(".venv/bin/python") else {
        return;
    };
    let up = mock(upstream_kind).await;
    let gw = gateway(upstream_kind, &up).await;
    let path = root().join("tests/clients").join(script);
    let path = path.to_string_lossy().into_owned();
    let (ok, stdout, stderr) = run(
        &python,
        &[&path],
        &[("SWITCHBOARD_URL", &gw.url), ("SWITCHBOARD_AUTH", auth)],
    )
    .await;
    assert!(
        ok,
        "{script} via {upstream_kind} failed:\nstdout: {stdout}\nstderr: {stderr}"
    );
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(result["ok"], true, "{stdout}");
    assert!(up.hits() > 0);
    let rows = gw.wait_for_logs(up.hits()).await;
    assert!(rows.iter().all(|r| r.outcome == "ok"), "{rows:#?}");
    assert!(
        rows.iter().all(|r| r.input_tokens > 0),
        "usage must reach the log: {rows:#?}"
    );
}

#[tokio::test]
async fn anthropic_sdk_basic_against_anthropic_upstream() {
    python_script("anthropic_basic.py", "anthropic", "sdk").await;
}

#[tokio::test]
async fn anthropic_sdk_basic_with_x_api_key() {
    python_script("anthropic_basic.py", "anthropic", "x-api-key").await;
}

#[tokio::test]
async fn anthropic_sdk_tools_against_anthropic_upstream() {
    python_script("anthropic_tools.py", "anthropic", "sdk").await;
}

#[tokio::test]
async fn anthropic_sdk_basic_against_openai_upstream() {
    python_script("anthropic_basic.py", "openai", "sdk").await;
}

#[tokio::test]
async fn anthropic_sdk_tools_against_openai_upstream() {
    python_script("anthropic_tools.py", "openai", "sdk").await;
}

#[tokio::test]
async fn anthropic_sdk_basic_against_gemini_upstream() {
    python_script("anthropic_basic.py", "gemini", "sdk").await;
}

#[tokio::test]
async fn anthropic_sdk_tools_against_gemini_upstream() {
    python_script("anthropic_tools.py", "gemini", "sdk").await;
}

#[tokio::test]
async fn openai_sdk_against_anthropic_upstream() {
    python_script("openai_chat.py", "anthropic", "sdk").await;
}

#[tokio::test]
async fn openai_sdk_against_openai_upstream() {
    python_script("openai_chat.py", "openai", "sdk").await;
}

async fn claude(upstream_kind: &str, scenario: &str, expect: &str) {
    let Some(claude) = installed(".tools/npm/bin/claude") else {
        return;
    };
    let up = mock(upstream_kind).await;
    let gw = gateway(upstream_kind, &up).await;
    let script = root().join("tests/clients/claude_cli.sh");
    let claude_bin = claude.to_string_lossy().into_owned();
    let (ok, stdout, stderr) = run(
        &script,
        &[],
        &[
            ("SWITCHBOARD_URL", &gw.url),
            ("CLAUDE_SCENARIO", scenario),
            ("CLAUDE_EXPECT", expect),
            ("CLAUDE_BIN", &claude_bin),
        ],
    )
    .await;
    assert!(
        ok,
        "claude -p ({scenario}) via {upstream_kind} failed:\nstdout: {stdout}\nstderr: {stderr}"
    );
    let result: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("claude --output-format json");
    assert_eq!(result["is_error"], false, "{stdout}");
    let rows = gw.wait_for_logs(up.hits()).await;
    assert!(
        rows.iter().all(|r| r.outcome == "ok" && r.stream),
        "{rows:#?}"
    );
    if scenario == "tool" {
        assert_eq!(up.hits(), 2, "a tool turn is two model calls");
    }
}

#[tokio::test]
async fn claude_code_cli_turn_through_anthropic_upstream() {
    claude("anthropic", "basic", "Hello from the mock upstream").await;
}

#[tokio::test]
async fn claude_code_cli_tool_turn_through_anthropic_upstream() {
    claude("anthropic", "tool", "sb-tool-ok").await;
}

#[tokio::test]
async fn claude_code_cli_tool_turn_through_openai_upstream() {
    claude("openai", "tool", "sb-tool-ok").await;
}

/// A gateway with an Anthropic mock and one client key (`budget`, when given, on the key).
async fn keyed_gateway(budget: Option<&str>) -> (MockUpstream, TestGateway, String) {
    let up = mock("anthropic").await;
    let gw = TestGateway::builder()
        .endpoint(
            "primary",
            "anthropic",
            &up.url(),
            "api_key = \"sk-upstream-0123456789abcdef\"",
        )
        .start()
        .await;
    let limits = budget.map_or_else(
        || serde_json::json!({}),
        |b| serde_json::json!({"budgets": [b]}),
    );
    let made: serde_json::Value = gw
        .admin_request(reqwest::Method::POST, "/api/admin/keys")
        .json(&serde_json::json!({"name": "laptop", "limits": limits}))
        .send()
        .await
        .expect("create key")
        .json()
        .await
        .expect("json");
    let key = made["key"].as_str().expect("the key").to_owned();
    (up, gw, key)
}

#[tokio::test]
async fn anthropic_sdk_works_with_a_client_key() {
    let Some(python) = installed(".venv/bin/python") else {
        return;
    };
    let (up, gw, key) = keyed_gateway(None).await;
    let path = root().join("tests/clients/anthropic_basic.py");
    let path = path.to_string_lossy().into_owned();
    for auth in ["sdk", "x-api-key"] {
        let (ok, stdout, stderr) = run(
            &python,
            &[&path],
            &[
                ("SWITCHBOARD_URL", &gw.url),
                ("SWITCHBOARD_AUTH", auth),
                ("SWITCHBOARD_API_KEY", &key),
            ],
        )
        .await;
        assert!(ok, "{auth}:\nstdout: {stdout}\nstderr: {stderr}");
    }
    let rows = gw.wait_for_logs(up.hits()).await;
    assert!(
        rows.iter()
            .all(|r| r.outcome == "ok" && r.client_key.as_deref() == Some("laptop")),
        "{rows:#?}"
    );
    // Without the key the SDK is refused with an authentication error, and nothing goes up.
    let hits = up.hits();
    let (ok, stdout, _) = run(
        &python,
        &[&path],
        &[
            ("SWITCHBOARD_URL", &gw.url),
            ("SWITCHBOARD_API_KEY", "sk-not-a-gateway-key"),
        ],
    )
    .await;
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("requires a client key"), "{stdout}");
    assert_eq!(up.hits(), hits);
}

/// Claude Code with a client key: a turn works; once the key's budget is used up, the next
/// turn is refused at once (a 403 is not retried) and Claude Code shows the gateway's message
/// to the user as it is. The output is printed: it is what a user reads.
#[tokio::test]
async fn claude_code_works_with_a_client_key_and_shows_a_used_up_budget_readably() {
    let Some(claude) = installed(".tools/npm/bin/claude") else {
        return;
    };
    // One turn of the mock is 33 tokens: the first passes, the second finds the budget spent.
    let (up, gw, key) = keyed_gateway(Some("30tok/day")).await;
    let script = root().join("tests/clients/claude_cli.sh");
    let claude_bin = claude.to_string_lossy().into_owned();
    let turn = |format: &'static str| {
        let (url, key, script, claude_bin) = (
            gw.url.clone(),
            key.clone(),
            script.clone(),
            claude_bin.clone(),
        );
        async move {
            run(
                &script,
                &[],
                &[
                    ("SWITCHBOARD_URL", url.as_str()),
                    ("SWITCHBOARD_API_KEY", key.as_str()),
                    ("CLAUDE_BIN", claude_bin.as_str()),
                    ("CLAUDE_OUTPUT_FORMAT", format),
                    // Claude Code's own retry policy: a budget refusal must not be retried.
                    ("CLAUDE_CODE_MAX_RETRIES", "10"),
                ],
            )
            .await
        }
    };
    let (ok, stdout, stderr) = turn("json").await;
    assert!(ok, "first turn:\nstdout: {stdout}\nstderr: {stderr}");
    let hits = up.hits();
    let started = tokio::time::Instant::now();
    let (ok, stdout, stderr) = turn("text").await;
    eprintln!("--- what Claude Code showed ---\n{stdout}{stderr}--- end ---");
    assert!(!ok, "the second turn is refused");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "refused at once, not after retries"
    );
    let shown = format!("{stdout}{stderr}");
    // Claude Code 2.1.330 prints it on one line after its own words for a 403:
    // "Failed to authenticate. API Error: 403 Budget used up: this key (laptop) has spent …"
    assert!(shown.contains("API Error: 403 Budget used up"), "{shown}");
    assert!(
        shown.contains("Budget used up: this key (laptop) has spent 33 tokens of its 30 tokens per day (30tok/day). It frees up in "),
        "{shown}"
    );
    assert!(
        shown.contains("Ask your Switchboard admin to raise it."),
        "{shown}"
    );
    assert_eq!(up.hits(), hits, "the refused turn sent nothing upstream");
    let rows = gw.wait_for_logs(hits + 1).await;
    let refused = rows.iter().filter(|r| r.status == 403).count();
    assert_eq!(
        refused, 1,
        "Claude Code did not retry the refusal: {rows:#?}"
    );
}
