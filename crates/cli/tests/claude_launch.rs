//! `switchboard claude`, `switchboard profile` and `switchboard statusline` with the real Claude
//! Code CLI (installed by `scripts/setup-test-deps.sh`), `HOME` in a temporary folder, against
//! mock upstreams: the launcher starts the gateway in the background and runs a turn through it
//! even with a settings.json pointing elsewhere (which it leaves byte for byte as it was); the log
//! names the session; a profile switch between two runs changes the endpoint used, and a
//! session launched with `--profile` keeps its own; the status line, fed the JSON Claude Code
//! sends, prints the session's endpoint and cost; with client keys in use the session gets a
//! key of its own, revoked when Claude Code exits.
//!
//! Skipped with a message when Claude Code is not installed, unless
//! `SWITCHBOARD_REQUIRE_CLIENTS=1`.

#[expect(dead_code, reason = "the helpers are shared; this binary uses some")]
mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use support::*;
use switchboard_test_support::{MockUpstream, Reply, clients};

fn claude_bin() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/npm/bin/claude");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("SWITCHBOARD_REQUIRE_CLIENTS").as_deref() != Ok("1"),
        "{} is missing: run scripts/setup-test-deps.sh",
        p.display()
    );
    eprintln!("SKIPPED: {} is not installed", p.display());
    None
}

/// `switchboard ARGS` with only what a user's shell would have: HOME in the test's folder, the
/// Claude Code binary as `CLAUDE`, Claude Code quiet and strict (no retries, no fallback).
fn sb(home: &Path, claude: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("SWITCHBOARD_HOME", home.join(".switchboard"))
        .env("CLAUDE", claude)
        .env("TERM", "dumb")
        .env("CI", "true")
        .env("LANG", "C.UTF-8")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("CLAUDE_CODE_MAX_RETRIES", "0")
        .env("CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK", "1")
        // A stale key in the shell: the launcher must not send it.
        .env("ANTHROPIC_API_KEY", "sk-ant-stale-shell-key-0123456789")
        .current_dir(home.join("work"))
        .args(args)
        .stdin(Stdio::null());
    cmd
}

fn ok(out: &Output, what: &str) -> (String, String) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}:\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

/// Runs `claude -p` through the launcher; the session id Claude Code sent.
/// The session id, the launcher's stderr, and the gateway it started if it did (stopped when
/// dropped, also when this panics).
fn turn(home: &Path, claude: &Path, extra: &[&str]) -> (String, String, Background) {
    let mut args = vec!["claude"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "-p",
        "--output-format",
        "json",
        "Say hello in one short sentence.",
    ]);
    let out = run(sb(home, claude, &args));
    let started = Background::from_stderr(&text(&out.stderr));
    let (stdout, stderr) = ok(&out, "switchboard claude -p");
    let result: Value = serde_json::from_str(stdout.trim()).expect("claude's json result");
    assert_eq!(result["is_error"], false, "{stdout}");
    assert!(
        result["result"]
            .as_str()
            .is_some_and(|r| r.contains("Hello from the mock upstream")),
        "{stdout}"
    );
    let session = result["session_id"]
        .as_str()
        .expect("session id")
        .to_owned();
    (session, stderr, started)
}

fn config(port: u16, a: &str, b: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{port}"

[routing]
max_retries = 0
profile = "first"

[[endpoints]]
name = "a"
kind = "anthropic"
base_url = "{a}"
api_key = "sk-upstream-a-0123456789abcdef"

[[endpoints]]
name = "b"
kind = "anthropic"
base_url = "{b}"
api_key = "sk-upstream-b-0123456789abcdef"

[[profiles]]
name = "first"
endpoints = ["a", "b"]

[[profiles]]
name = "second"
endpoints = ["b", "a"]
[profiles.models]
sonnet = "claude-haiku-4-5"
[profiles.claude]
model = "claude-sonnet-4-5"
timeout = "2m"
"#
    )
}

/// The log as the admin API lists it, newest first, once it holds `n` requests.
fn requests(addr: std::net::SocketAddr, home: &Path, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let rows = requests_now(addr, home);
        if rows.len() >= n {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} requests never logged: {rows:#?}"
        );
        std::thread::sleep(POLL);
    }
}

fn requests_now(addr: std::net::SocketAddr, home: &Path) -> Vec<Value> {
    let (status, body) = http(
        addr,
        "GET",
        "/api/requests?limit=50",
        &admin_auth(&home.join(".switchboard")),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["requests"]
        .as_array()
        .or_else(|| v["records"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// Stops the gateway the launcher started (its pid is in the launcher's message).
struct Background(Option<u32>);

impl Background {
    fn from_stderr(stderr: &str) -> Self {
        let pid = stderr
            .split("(pid ")
            .nth(1)
            .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok());
        Self(pid)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
    }
}

fn home_with_settings() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("work")).expect("work dir");
    std::fs::create_dir_all(dir.path().join(".claude")).expect(".claude");
    std::fs::create_dir_all(dir.path().join(".switchboard")).expect(".switchboard");
    // What another tool left: settings `env` beats the process environment in Claude Code.
    let settings = b"{\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:9\",\n    \"ANTHROPIC_API_KEY\": \"sk-ant-stale-settings-key-0123\"\n  },\n  \"theme\": \"dark\"\n}\n".to_vec();
    std::fs::write(dir.path().join(".claude/settings.json"), &settings).expect("settings");
    (dir, settings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_runs_through_the_gateway_follows_profile_switches_and_the_status_line_shows_the_cost()
 {
    let Some(claude) = claude_bin() else { return };
    let a = MockUpstream::start(Reply::error(404, "not_found_error", "no route")).await;
    a.respond_with(clients::anthropic);
    let b = MockUpstream::start(Reply::error(404, "not_found_error", "no route")).await;
    b.respond_with(clients::anthropic);
    let (dir, settings) = home_with_settings();
    let home = dir.path();
    let port = closed_port();
    write_file(
        &home.join(".switchboard"),
        "config.toml",
        &config(port, &a.url(), &b.url()),
    );
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let (home2, claude2) = (home.to_path_buf(), claude.clone());

    // 1. Nothing runs: the launcher starts the gateway and says so; the turn goes to `first`'s a.
    let (first_session, stderr, _gateway) =
        tokio::task::spawn_blocking(move || turn(&home2, &claude2, &[]))
            .await
            .expect("turn");
    assert!(
        stderr.contains("started the gateway in the background"),
        "{stderr}"
    );
    assert_eq!(
        (a.hits(), b.hits()),
        (1, 0),
        "the profile in force: a first"
    );
    let sent = &a.requests()[0];
    assert_eq!(
        sent.header("x-claude-code-session-id"),
        Some(first_session.as_str())
    );
    assert_eq!(
        sent.header("x-api-key"),
        Some("sk-upstream-a-0123456789abcdef")
    );
    assert_eq!(sent.header("x-switchboard-profile"), None);
    assert_eq!(
        std::fs::read(home.join(".claude/settings.json")).expect("settings"),
        settings,
        "the user's settings are untouched"
    );
    let run_dir = home.join(".switchboard/run");
    assert_eq!(
        std::fs::read_dir(&run_dir)
            .map(Iterator::count)
            .unwrap_or(0),
        0,
        "the temporary settings file is gone"
    );
    let log = requests(addr, home, 1);
    assert_eq!(log[0]["session_id"], first_session.as_str(), "{log:#?}");
    assert_eq!(log[0]["endpoint"], "a");

    // 2. A switch through the running gateway; the next session goes to b, with `second`'s
    //    Claude Code model and its map.
    let (h, c) = (home.to_path_buf(), claude.clone());
    let out = tokio::task::spawn_blocking(move || run(sb(&h, &c, &["profile", "use", "second"])))
        .await
        .expect("profile use");
    let (_, err) = ok(&out, "profile use second");
    assert!(err.contains("next request follows it"), "{err}");
    let (h, c) = (home.to_path_buf(), claude.clone());
    let out = tokio::task::spawn_blocking(move || run(sb(&h, &c, &["profile", "list"])))
        .await
        .expect("profile list");
    let (list, _) = ok(&out, "profile list");
    assert!(
        list.lines()
            .any(|l| l.starts_with("*") && l.contains("second")),
        "{list}"
    );

    let (h, c) = (home.to_path_buf(), claude.clone());
    let (second_session, _, _) = tokio::task::spawn_blocking(move || turn(&h, &c, &[]))
        .await
        .expect("turn");
    assert_ne!(second_session, first_session);
    assert_eq!((a.hits(), b.hits()), (1, 1), "the switch: b first now");
    let sent = b.requests()[0].json();
    assert_eq!(
        sent["model"], "claude-haiku-4-5",
        "ANTHROPIC_MODEL, then the map"
    );
    assert_eq!(
        b.requests()[0].header("x-stainless-timeout"),
        Some("120"),
        "the profile's timeout (2m) as API_TIMEOUT_MS"
    );
    let log = requests(addr, home, 2);
    assert_eq!(log[0]["endpoint"], "b");
    assert_eq!(log[0]["session_id"], second_session.as_str());
    let cost = log[0]["cost_usd"].as_f64().expect("a priced model");

    // 3. A session launched with --profile keeps its profile whatever the one in force; the
    //    user's own --settings is merged (their header goes out beside the profile's).
    let (h, c) = (home.to_path_buf(), claude.clone());
    tokio::task::spawn_blocking(move || {
        turn(
            &h,
            &c,
            &[
                "--profile",
                "first",
                "--settings",
                r#"{"env": {"ANTHROPIC_CUSTOM_HEADERS": "X-Team: blue"}}"#,
            ],
        )
    })
    .await
    .expect("turn");
    assert_eq!((a.hits(), b.hits()), (2, 1), "--profile first: a");
    let sent = &a.requests()[1];
    assert_eq!(
        sent.header("x-switchboard-profile"),
        None,
        "kept in the gateway"
    );
    assert_eq!(
        sent.header("x-team"),
        Some("blue"),
        "the user's --settings merged"
    );

    // 4. The status line, fed what Claude Code sends, shows the second session's endpoint and
    //    cost (the gateway's figure, not Claude Code's estimate of 0.5).
    let input = json!({
        "hook_event_name": "Status",
        "session_id": second_session,
        "transcript_path": home.join(".claude/projects/x.jsonl"),
        "cwd": home.join("work"),
        "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
        "workspace": {"current_dir": home.join("work"), "project_dir": home.join("work")},
        "version": "2.1.330",
        "output_style": {"name": "default"},
        "cost": {"total_cost_usd": 0.5, "total_duration_ms": 1200, "total_api_duration_ms": 800,
                 "total_lines_added": 0, "total_lines_removed": 0},
        "context_window": {"total_input_tokens": 25, "total_output_tokens": 8,
                           "context_window_size": 200000, "current_usage": null,
                           "used_percentage": null, "remaining_percentage": null},
        "exceeds_200k_tokens": false
    });
    let status = |extra: &[&str], env: &[(&str, String)]| {
        let mut cmd = sb(home, &claude, &["statusline"]);
        cmd.args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("statusline");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.to_string().as_bytes())
            .expect("feed");
        child.wait_with_output().expect("statusline output")
    };
    let line = tokio::task::block_in_place(|| {
        status(
            &["--then", "echo theirs"],
            &[("ANTHROPIC_BASE_URL", format!("http://{addr}"))],
        )
    });
    let (line, _) = ok(&line, "statusline");
    let want = if cost < 1.0 {
        format!("${cost:.4}")
    } else {
        format!("${cost:.2}")
    };
    assert!(
        line.starts_with(&format!("⇄ second · b · {want} · 33 tok")),
        "{line}"
    );
    assert!(
        line.ends_with("\ntheirs\n"),
        "the chained line follows: {line}"
    );

    // The gateway down: something harmless, exit 0.
    let line = tokio::task::block_in_place(|| {
        status(
            &[],
            &[(
                "ANTHROPIC_BASE_URL",
                format!("http://127.0.0.1:{}", closed_port()),
            )],
        )
    });
    let (line, _) = ok(&line, "statusline, gateway down");
    assert_eq!(line, "⇄ switchboard: gateway not reachable\n");
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_client_keys_a_session_gets_a_key_of_its_own_revoked_at_exit() {
    let Some(claude) = claude_bin() else { return };
    let a = MockUpstream::start(Reply::error(404, "not_found_error", "no route")).await;
    a.respond_with(clients::anthropic);
    let (dir, _) = home_with_settings();
    let home = dir.path().to_path_buf();
    let port = closed_port();
    write_file(
        &home.join(".switchboard"),
        "config.toml",
        &format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[[endpoints]]\nname = \"a\"\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"sk-upstream-a-0123456789abcdef\"\n",
            a.url()
        ),
    );
    let (h, c) = (home.clone(), claude.clone());
    let (stderr, keys, _gateway) = tokio::task::spawn_blocking(move || {
        // A key exists (made with the gateway stopped): every request needs one now.
        ok(&run(sb(&h, &c, &["users", "add", "me"])), "users add");
        let out = run(sb(&h, &c, &["keys", "create", "laptop", "--user", "me"]));
        ok(&out, "keys create");
        let (_, stderr, gateway) = turn(&h, &c, &[]);
        let out = run(sb(&h, &c, &["keys", "list", "--json"]));
        let (keys, _) = ok(&out, "keys list");
        (stderr, keys, gateway)
    })
    .await
    .expect("turn");
    assert!(
        stderr.contains("this session uses the client key claude-"),
        "{stderr}"
    );
    let keys: Value = serde_json::from_str(&keys).expect("json");
    let session_key = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["name"].as_str().is_some_and(|n| n.starts_with("claude-")))
        .expect("the session's key")
        .clone();
    assert_eq!(session_key["state"], "revoked", "{session_key}");
    assert!(
        session_key["expires_at"].is_string(),
        "short-lived: {session_key}"
    );
    assert_eq!(a.hits(), 1);
    drop(dir);
}

#[test]
fn profiles_are_listed_shown_and_switched_in_the_file_when_the_gateway_is_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let endpoints = config(1, "http://127.0.0.1:9", "http://127.0.0.1:9")
        .split_once("[[endpoints]]")
        .map(|(_, rest)| format!("[[endpoints]]{rest}"))
        .expect("endpoints");
    let text = format!(
        "# my gateway\n[server]\nlisten = \"127.0.0.1:{}\"\n\n[routing]\nprofile = \"first\" # the usual\n\n{endpoints}",
        closed_port()
    );
    let path = write_file(home, "config.toml", &text);
    let sbx = |args: &[&str]| {
        let mut cmd = switchboard(home);
        cmd.args(args);
        run(cmd)
    };
    let (list, _) = ok(&sbx(&["profile", "list"]), "profile list");
    assert!(
        list.lines()
            .any(|l| l.starts_with('*') && l.contains("first")),
        "{list}"
    );
    let (show, _) = ok(&sbx(&["profile", "show", "second"]), "profile show");
    for want in [
        "endpoints  b → a",
        "sonnet  →  claude-haiku-4-5",
        "ANTHROPIC_MODEL  claude-sonnet-4-5",
        "API_TIMEOUT_MS   120000",
    ] {
        assert!(show.contains(want), "{want:?} in:\n{show}");
    }

    let (_, err) = ok(&sbx(&["profile", "use", "second"]), "profile use");
    assert!(err.contains("The gateway is not running"), "{err}");
    let after = std::fs::read_to_string(&path).expect("config");
    assert_eq!(
        after,
        text.replace(
            "profile = \"first\" # the usual",
            "profile = \"second\" # the usual"
        ),
        "only the value changed, comments kept"
    );

    let out = sbx(&["profile", "use", "thrid"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text_of(&out).contains("no profile named \"thrid\"; the profiles are: first, second"),
        "{}",
        text_of(&out)
    );
    assert_eq!(std::fs::read_to_string(&path).expect("config"), after);
}

fn text_of(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}
