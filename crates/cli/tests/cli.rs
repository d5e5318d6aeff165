//! Runs the built `switchboard` binary: `config check`, `serve` (banner, `/health`, `/status`,
//! graceful SIGTERM with the request log flushed), and `status`. Every wait is bounded; every
//! port is chosen by the OS.

mod support;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use support::*;
use switchboard_test_support::{MockUpstream, Reply};
use tokio::time::Instant;

#[test]
fn config_check_prints_every_error_with_its_line_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(
        dir.path(),
        "bad.toml",
        r#"[server]
listen = "not an address"
shutdown_grace = "forever"
header_timeout = "0s"

[[endpoints]]
name = "primary"
kind = "anthropic"
base_url = "https://api.anthropic.com"
api_key = "${SB_CLI_TEST_MISSING_KEY}"
"#,
    );
    let mut cmd = switchboard(dir.path());
    cmd.args(["config", "check"]).arg(&path);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    let file = path.display().to_string();
    for (line, needle) in [
        (2, "server.listen"),
        (3, "server.shutdown_grace"),
        (4, "server.header_timeout"),
        (10, "SB_CLI_TEST_MISSING_KEY"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&format!("{file}:{line}:")) && l.contains(needle)),
            "no error at line {line} naming {needle}; stderr:\n{stderr}"
        );
    }
    assert!(stderr.contains("4 errors"), "stderr:\n{stderr}");
}

#[test]
fn config_check_summarises_a_good_file_and_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(
        dir.path(),
        "good.toml",
        r#"[server]
listen = "127.0.0.1:9999"

[[endpoints]]
name = "primary"
kind = "anthropic"
base_url = "https://api.anthropic.com"
api_key = "${SB_CLI_TEST_KEY}"

[[endpoints]]
name = "fallback"
kind = "anthropic"
base_url = "https://gateway.example.com"
"#,
    );
    let mut cmd = switchboard(dir.path());
    cmd.args(["config", "check"])
        .arg(&path)
        .env("SB_CLI_TEST_KEY", "sk-ant-api03-abcdefghijklmnop-XYZW");
    let out = run(cmd);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains(": OK"), "{stdout}");
    assert!(stdout.contains("127.0.0.1:9999"), "{stdout}");
    let primary = stdout.find("primary").expect("primary listed");
    let fallback = stdout.find("fallback").expect("fallback listed");
    assert!(primary < fallback, "endpoints out of order:\n{stdout}");
    assert!(
        !stdout.contains("abcdefghijklmnop"),
        "key not masked:\n{stdout}"
    );
}

#[test]
fn config_check_finds_the_file_in_switchboard_home_or_falls_back_to_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run({
        let mut c = switchboard(dir.path());
        c.args(["config", "check"]);
        c
    });
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("built-in default"));

    write_file(dir.path(), "config.toml", "[server]\nlisten = 7\n");
    let out = run({
        let mut c = switchboard(dir.path());
        c.args(["config", "check"]);
        c
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("config.toml:2:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn serve_refuses_to_start_on_config_errors_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "bad.toml", "[server]\nlisten = \"nope\"\n");
    let mut cmd = switchboard(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("SWITCHBOARD_CONFIG", &path);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("bad.toml:2:"), "stderr:\n{stderr}");
    assert!(
        !stderr.contains("ANTHROPIC_BASE_URL"),
        "started anyway:\n{stderr}"
    );
}

#[test]
fn serve_explains_a_port_in_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let mut cmd = switchboard(dir.path());
    cmd.args(["serve", "--listen", &addr.to_string()]);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "{addr} is already in use — is another switchboard running? use --listen"
        )),
        "stderr:\n{stderr}"
    );
}

#[test]
fn status_reports_an_unreachable_gateway_with_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = switchboard(dir.path());
    cmd.args([
        "status",
        "--url",
        &format!("http://127.0.0.1:{}", closed_port()),
    ]);
    let out = run(cmd);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("not reachable"), "stderr:\n{stderr}");
}

#[test]
fn serve_with_no_config_prints_the_banner_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = switchboard(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let mut gw = Gateway::start(cmd);
    let addr = gw.wait_for_banner();
    assert_ne!(addr.port(), 0, "the banner must show the bound port");
    assert!(
        gw.stderr
            .contains("built-in default: pass-through to https://api.anthropic.com"),
        "{}",
        gw.stderr
    );
    let claude = gw.wait_for_line("`claude` line", |l| l == "  claude");
    assert_eq!(claude, "  claude");
    assert!(!gw.stderr.contains("ANTHROPIC_AUTH_TOKEN"), "{}", gw.stderr);

    let (status, body) = http(addr, "GET", "/health", "", "");
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(addr, "GET", "/status", "", "");
    assert_eq!(status, 401, "the control plane is closed: {body}");
    let (status, body) = http(addr, "GET", "/status", &admin_auth(dir.path()), "");
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("status is JSON");
    assert_eq!(doc["endpoints"][0]["name"], "anthropic");
    assert_eq!(doc["listen"], addr.to_string());

    let status = gw.terminate();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", gw.stderr);
    assert!(
        dir.path().join("switchboard.db").is_file(),
        "no SQLite file in SWITCHBOARD_HOME"
    );
}

#[test]
fn bare_switchboard_serves_the_home_config_logs_requests_and_flushes_them_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dead = closed_port();
    let path = write_file(
        dir.path(),
        "config.toml",
        &format!(
            r#"[server]
listen = "127.0.0.1:0"
auth_token = "${{SB_CLI_TEST_TOKEN}}"

[[endpoints]]
name = "primary"
kind = "anthropic"
base_url = "http://127.0.0.1:{dead}"
api_key = "${{SB_CLI_TEST_KEY}}"

[[endpoints]]
name = "secondary"
kind = "anthropic"
base_url = "http://127.0.0.1:{dead}/second"

[routing]
max_retries = 0
"#
        ),
    );
    let token = "gw-test-token-0123456789abcdef";
    // `switchboard` alone means `serve`, and finds `config.toml` in SWITCHBOARD_HOME.
    let mut cmd = switchboard(dir.path());
    cmd.env("SB_CLI_TEST_TOKEN", token)
        .env("SB_CLI_TEST_KEY", "sk-ant-api03-abcdefghijklmnop-XYZW");
    let mut gw = Gateway::start(cmd);
    let addr = gw.wait_for_banner();
    assert_ne!(addr.port(), 0, "the banner must show the bound port");
    gw.wait_for_line("`claude` line", |l| l == "  claude");
    let banner = gw.stderr.clone();
    assert!(banner.contains(&path.display().to_string()), "{banner}");
    assert!(
        banner.contains("export ANTHROPIC_AUTH_TOKEN=\"$SB_CLI_TEST_TOKEN\""),
        "{banner}"
    );
    assert!(!banner.contains(token), "token leaked:\n{banner}");
    assert!(
        !banner.contains("abcdefghijklmnop"),
        "key leaked:\n{banner}"
    );
    let primary = banner.find("primary").expect("primary in banner");
    let secondary = banner.find("secondary").expect("secondary in banner");
    assert!(primary < secondary, "{banner}");

    // Without the gateway token: refused, and logged.
    let request = r#"{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#;
    let (status, body) = http(
        addr,
        "POST",
        "/v1/messages",
        "x-api-key: sk-wrong\r\n",
        request,
    );
    assert_eq!(status, 401, "the gateway token is required: {body}");
    // With it: both endpoints refuse connections, so the client gets an error, and a log row.
    let (status, body) = http(
        addr,
        "POST",
        "/v1/messages",
        &format!("authorization: Bearer {token}\r\n"),
        request,
    );
    assert!(status >= 500, "both endpoints are down: {status} {body}");

    let mut status_cmd = switchboard(dir.path());
    status_cmd
        .args(["status", "--url", &format!("http://{addr}")])
        .env("SB_CLI_TEST_TOKEN", token)
        .env("SB_CLI_TEST_KEY", "sk-ant-api03-abcdefghijklmnop-XYZW")
        .env("SWITCHBOARD_CONFIG", &path);
    let out = run(status_cmd);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("ENDPOINT"), "{stdout}");
    let table_primary = stdout
        .lines()
        .find(|l| l.starts_with("primary"))
        .unwrap_or_else(|| panic!("no primary row:\n{stdout}"));
    assert!(table_primary.contains("anthropic"), "{stdout}");
    assert!(stdout.contains("secondary"), "{stdout}");
    assert!(stdout.contains(&path.display().to_string()), "{stdout}");

    let mut json_cmd = switchboard(dir.path());
    json_cmd.args(["status", "--json", "--url", &format!("http://{addr}")]);
    let out = run(json_cmd);
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("status --json prints JSON");
    assert_eq!(doc["endpoints"][1]["name"], "secondary");

    let status = gw.terminate();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", gw.stderr);

    let db = dir.path().join("switchboard.db");
    assert!(db.is_file(), "no SQLite file");
    let rows = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let store = switchboard_store::SqliteStore::open(&db)
                .await
                .expect("open the log");
            switchboard_store::Store::count(&store)
                .await
                .expect("count")
        });
    assert_eq!(rows, 2, "both requests' rows were written before exit");
}

#[test]
fn a_request_cut_off_by_the_shutdown_deadline_still_leaves_its_log_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Connections queue in the backlog and are never answered.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    write_file(
        dir.path(),
        "config.toml",
        &format!(
            r#"[server]
listen = "127.0.0.1:0"
shutdown_grace = "300ms"

[[endpoints]]
name = "silent"
kind = "anthropic"
base_url = "http://{silent_addr}"

[routing]
max_retries = 0
"#
        ),
    );
    let mut gw = Gateway::start(switchboard(dir.path()));
    let addr = gw.wait_for_banner();

    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        let body = r#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}]}"#;
        let request = format!(
            "POST /v1/messages HTTP/1.1\r\nHost: {addr}\r\ncontent-type: application/json\r\nx-api-key: k\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    });
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, body) = http(addr, "GET", "/status", &admin_auth(dir.path()), "");
        let doc: serde_json::Value = serde_json::from_str(&body).expect("status JSON");
        if doc["in_flight"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the request never started: {doc}"
        );
        std::thread::sleep(POLL);
    }

    let status = gw.terminate();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", gw.stderr);
    client.join().expect("client thread");
    assert!(
        gw.stderr.contains("shutdown deadline reached"),
        "{}",
        gw.stderr
    );

    let db = dir.path().join("switchboard.db");
    let rows = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let store = switchboard_store::SqliteStore::open(&db)
                .await
                .expect("open the log");
            switchboard_store::Store::count(&store)
                .await
                .expect("count")
        });
    assert_eq!(rows, 1, "the cut-off request's row was written before exit");
    drop(silent);
}

/// Crash consistency: SIGKILL while requests are being served and logged with their audit
/// bodies, then restart on the same data directory. The database passes SQLite's integrity
/// check, every row written before the kill is there, and so is every audit record written
/// before it, decodable, with the bodies that were sent and received.
#[test]
fn sigkill_under_load_leaves_the_log_and_the_audit_store_intact() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let upstream = rt.block_on(MockUpstream::start(Reply::json(
        200,
        switchboard_test_support::sse::anthropic_message(
            "claude-opus-5-5",
            "kept after a crash",
            9,
            4,
        ),
    )));
    let dir = tempfile::tempdir().expect("tempdir");
    write_file(
        dir.path(),
        "config.toml",
        &format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[[endpoints]]\nname = \"mock\"\nkind = \"anthropic\"\nbase_url = \"{}\"\n\n[routing]\nmax_retries = 0\n",
            upstream.url()
        ),
    );
    let mut gw = Gateway::start(switchboard(dir.path()));
    let addr = gw.wait_for_banner();

    // Load: every request is answered by the mock and logged with its audit bodies.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let body = r#"{"model":"claude-opus-5-5","max_tokens":8,"messages":[{"role":"user","content":"remember me"}]}"#;
            let mut sent = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && sent < 5_000 {
                let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
                    break;
                };
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let req = format!(
                    "POST /v1/messages HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\ncontent-type: application/json\r\nx-api-key: k\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if s.write_all(req.as_bytes()).is_err() {
                    break;
                }
                let mut out = Vec::new();
                let _ = s.read_to_end(&mut out);
                sent += 1;
            }
            sent
        })
    };

    // Wait until a good number of rows and audit records are on disk, then kill -9 mid-load.
    let deadline = Instant::now() + WAIT;
    let (written_before, audited_before) = loop {
        let (_, body) = http(addr, "GET", "/status", &admin_auth(dir.path()), "");
        let v: serde_json::Value = serde_json::from_str(&body).expect("status json");
        let written = v["log"]["written"].as_u64().expect("written");
        let audited = v["log"]["audit_written"].as_u64().expect("audit_written");
        if written >= 50 && audited >= 50 {
            break (written, audited);
        }
        assert!(Instant::now() < deadline, "rows were not written: {v}");
        std::thread::sleep(POLL);
    };
    gw.child.kill().expect("SIGKILL");
    let _ = gw.child.wait();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = loader.join().expect("loader");
    assert!(u64::from(sent) >= written_before);

    // The file as the kill left it (WAL and all): SQLite finds nothing wrong.
    let db = dir.path().join("switchboard.db");
    let check: String = rt.block_on(async {
        let store = switchboard_store::SqliteStore::open(&db)
            .await
            .expect("open the log");
        sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(store.pool())
            .await
            .expect("integrity_check")
    });
    assert_eq!(check, "ok");

    // Restart on the same data directory.
    let mut again = Gateway::start(switchboard(dir.path()));
    let addr = again.wait_for_banner();
    let (status, body) = http(addr, "GET", "/api/stats", &admin_auth(dir.path()), "");
    assert_eq!(status, 200, "{body}");
    let stats: serde_json::Value = serde_json::from_str(&body).expect("stats json");
    let rows = stats["requests"].as_u64().expect("requests");
    assert!(
        rows >= written_before,
        "{rows} rows after restart, {written_before} were written before the kill"
    );
    let (status, body) = http(
        addr,
        "GET",
        "/api/requests?limit=1000",
        &admin_auth(dir.path()),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).expect("page json");
    let records = page["records"].as_array().expect("records");
    assert_eq!(records.len() as u64, rows.min(1000));
    let mut audited = 0;
    for r in records {
        assert_eq!(r["outcome"], "ok", "{r}");
        assert_eq!(r["attempts"][0]["endpoint"], "mock");
        let id = r["id"].as_str().expect("id");
        let (status, body) = http(
            addr,
            "GET",
            &format!("/api/requests/{id}"),
            &admin_auth(dir.path()),
            "",
        );
        assert_eq!(status, 200, "{body}");
        let detail: serde_json::Value = serde_json::from_str(&body).expect("detail json");
        let audit = detail["audit"].as_array().expect("audit");
        if audit.is_empty() {
            continue;
        }
        let body_of = |kind: &str| {
            audit
                .iter()
                .find(|e| e["kind"] == kind)
                .and_then(|e| e["body"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            body_of("client_request").contains("remember me"),
            "{detail}"
        );
        assert!(
            body_of("upstream_request").contains("remember me"),
            "{detail}"
        );
        assert!(
            body_of("upstream_response").contains("kept after a crash"),
            "{detail}"
        );
        assert!(
            body_of("client_response").contains("kept after a crash"),
            "{detail}"
        );
        audited += 1;
    }
    assert!(
        audited >= audited_before.min(1000),
        "{audited} requests with audit after restart, {audited_before} were written before the kill"
    );
    assert_eq!(again.terminate().code(), Some(0));
    drop(upstream);
}
