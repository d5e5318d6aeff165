//! Secrets at rest, end to end: a key stored through the admin API is used upstream as
//! `secret:NAME`, survives a master-key rotation, is refused (with both key ids named and no
//! data lost) under the wrong master key; and no seeded secret — an upstream key, the gateway
//! token, an admin password — appears in plain text in any file, export, `/status` or
//! `/metrics` after traffic with failures and audit capture.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_server::{ConfigFile, Options, Running, StartError};
use switchboard_test_support::{MockUpstream, Reply, sse};

const UPSTREAM_KEY: &str = "sk-upstream-SEEDED-4c1f9e7a2b3d-secret-value";
const GATEWAY_TOKEN: &str = "sbgw-SEEDED-9d8c7b6a5f4e-gateway-token";
const ADMIN_PASSWORD: &str = "SEEDED-admin-password-71c3a9";

async fn start(dir: &Path, master_key: Option<&str>) -> Result<Running, StartError> {
    let mut o = Options::new(
        ConfigFile::new(Some(dir.join("switchboard.toml"))),
        dir.to_path_buf(),
    );
    o.watch = false;
    o.master_key = master_key.map(str::to_owned);
    o.upstream.proxy_env = Some(switchboard_gateway::ProxyEnv::none());
    switchboard_server::start(o).await
}

fn admin_token(dir: &Path) -> String {
    switchboard_auth::LocalCredential::read(dir)
        .expect("credential")
        .token()
        .expose()
        .to_owned()
}

fn admin(
    running: &Running,
    dir: &Path,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", running.admin_url()))
        .bearer_auth(admin_token(dir))
}

fn message() -> Value {
    json!({"model": "claude-x", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn a_stored_key_is_used_upstream_survives_rotation_and_needs_the_right_master_key() {
    let up = MockUpstream::start(Reply::json(
        200,
        sse::anthropic_message("claude-x", "hi", 3, 1),
    ))
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let plain = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[[endpoints]]\nname = \"mock\"\nkind = \"anthropic\"\nbase_url = \"{}\"\n",
        up.url()
    );
    std::fs::write(dir.path().join("switchboard.toml"), &plain).expect("config");
    let gw = start(dir.path(), None).await.expect("start");
    let set = admin(
        &gw,
        dir.path(),
        reqwest::Method::PUT,
        "/api/admin/secrets/up-key",
    )
    .json(&json!({"value": UPSTREAM_KEY}))
    .send()
    .await
    .expect("set");
    assert_eq!(set.status(), StatusCode::OK);
    let v: Value = set.json().await.expect("json");
    assert_eq!(v["masked"], "sk-upstrea…alue");
    // The config refers to it; a reload puts it in force.
    std::fs::write(
        dir.path().join("switchboard.toml"),
        format!("{plain}api_key = \"secret:up-key\"\n"),
    )
    .expect("config");
    let r = admin(&gw, dir.path(), reqwest::Method::POST, "/api/admin/reload")
        .send()
        .await
        .expect("reload");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let send = || {
        let url = format!("{}/v1/messages", gw.url());
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&message())
                .send()
                .await
                .expect("request")
                .status()
        }
    };
    assert_eq!(send().await, StatusCode::OK);
    assert_eq!(
        up.requests().last().expect("sent").header("x-api-key"),
        Some(UPSTREAM_KEY)
    );
    let list: Value = admin(&gw, dir.path(), reqwest::Method::GET, "/api/admin/secrets")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list["secrets"][0]["name"], "up-key");
    assert!(!list.to_string().contains(UPSTREAM_KEY));

    // Rotation: every secret re-sealed, the key file replaced, the key still works.
    let key_before = std::fs::read_to_string(dir.path().join("master.key")).expect("key file");
    let rotated: Value = admin(
        &gw,
        dir.path(),
        reqwest::Method::POST,
        "/api/admin/secrets/rotate-master",
    )
    .send()
    .await
    .expect("rotate")
    .json()
    .await
    .expect("json");
    assert_eq!(rotated["resealed"], 1);
    assert_ne!(rotated["key_id"], rotated["previous_key_id"]);
    let key_after = std::fs::read_to_string(dir.path().join("master.key")).expect("key file");
    assert_ne!(key_before, key_after);
    assert!(!dir.path().join("master.key.new").exists());
    let r = admin(&gw, dir.path(), reqwest::Method::POST, "/api/admin/reload")
        .send()
        .await
        .expect("reload");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(send().await, StatusCode::OK);
    assert_eq!(
        up.requests().last().expect("sent").header("x-api-key"),
        Some(UPSTREAM_KEY)
    );
    gw.shutdown().await;

    // The wrong master key: the gateway does not start, says which keys, changes nothing.
    let sealed_before = sealed_rows(&dir.path().join("switchboard.db")).await;
    assert!(
        !sealed_before.is_empty(),
        "the upstream key is sealed in the database"
    );
    let wrong = "0000000000000000000000000000000000000000000000000000000000000001";
    let text = match start(dir.path(), Some(wrong)).await {
        Ok(_) => panic!("started with the wrong master key"),
        Err(StartError::Config(errors)) => switchboard_config::render_errors(&errors),
        Err(e) => e.to_string(),
    };
    assert!(text.contains("up-key"), "{text}");
    assert!(
        text.contains(rotated["key_id"].as_str().expect("id")),
        "names the key the secret needs: {text}"
    );
    assert!(
        text.contains("SWITCHBOARD_MASTER_KEY"),
        "names where the key came from: {text}"
    );
    // The sealed secrets are as they were (the file's length may change: a start checkpoints
    // the write-ahead log into it).
    assert_eq!(
        sealed_rows(&dir.path().join("switchboard.db")).await,
        sealed_before
    );
    // The right key (the file) still opens it.
    let gw = start(dir.path(), None)
        .await
        .expect("start with the right key");
    assert_eq!(send_to(&gw).await, StatusCode::OK);
    assert_eq!(
        up.requests().last().expect("sent").header("x-api-key"),
        Some(UPSTREAM_KEY)
    );
    gw.shutdown().await;
}

async fn send_to(gw: &Running) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{}/v1/messages", gw.url()))
        .json(&message())
        .send()
        .await
        .expect("request")
        .status()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn assert_clean(what: &str, bytes: &[u8]) {
    for secret in [UPSTREAM_KEY, GATEWAY_TOKEN, ADMIN_PASSWORD] {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "{what} holds a seeded secret in plain text");
    }
}

#[tokio::test]
async fn no_seeded_secret_is_ever_stored_or_shown_in_plain_text() {
    let good = MockUpstream::start(Reply::sse(sse::anthropic_text(
        "claude-x",
        &["Hello", " there"],
        5,
        2,
    )))
    .await;
    let failing = MockUpstream::start(Reply::error(500, "api_error", "boom")).await;
    let refusing = MockUpstream::start(Reply::error(401, "authentication_error", "bad key")).await;
    let dir = tempfile::tempdir().expect("dir");
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nauth_token = \"secret:gw-token\"\n\
         [routing]\nmax_retries = 1\nbackoff = {{ initial = \"1ms\", max = \"2ms\" }}\nfailure_cooldown = \"0s\"\n\
         [log_file]\nenabled = true\n\
         [[endpoints]]\nname = \"refusing\"\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"secret:up-key\"\n\
         [[endpoints]]\nname = \"failing\"\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"secret:up-key\"\n\
         [[endpoints]]\nname = \"good\"\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"secret:up-key\"\n",
        refusing.url(),
        failing.url(),
        good.url()
    );
    // The secrets go in first, through the store, as `switchboard secrets set` does without a
    // running gateway.
    {
        let (_, admin) = switchboard_store::open_with_admin(None, dir.path())
            .await
            .expect("store");
        let secrets = switchboard_auth::vault::Secrets::open(admin, dir.path(), None)
            .await
            .expect("vault");
        let now = chrono::Utc::now();
        for (name, value) in [("up-key", UPSTREAM_KEY), ("gw-token", GATEWAY_TOKEN)] {
            secrets
                .set(name, &switchboard_auth::SecretString::new(value), now)
                .await
                .expect("set");
        }
    }
    std::fs::write(dir.path().join("switchboard.toml"), &config).expect("config");
    let gw = start(dir.path(), None).await.expect("start");
    let added = admin(&gw, dir.path(), reqwest::Method::POST, "/api/admin/users")
        .json(&json!({"name": "alice", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("add");
    assert_eq!(added.status(), StatusCode::OK);
    let login = reqwest::Client::new()
        .post(format!("{}/api/admin/login", gw.admin_url()))
        .json(&json!({"name": "alice", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::OK);
    let wrong = reqwest::Client::new()
        .post(format!("{}/api/admin/login", gw.admin_url()))
        .json(&json!({"name": "alice", "password": format!("{ADMIN_PASSWORD}-wrong")}))
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let http = reqwest::Client::new();
    let mut body = message();
    body["stream"] = json!(true);
    for auth in ["x-api-key", "authorization"] {
        for _ in 0..3 {
            let req = http.post(format!("{}/v1/messages", gw.url())).json(&body);
            let req = if auth == "x-api-key" {
                req.header("x-api-key", GATEWAY_TOKEN)
            } else {
                req.bearer_auth(GATEWAY_TOKEN)
            };
            let resp = req.send().await.expect("request");
            assert_eq!(resp.status(), StatusCode::OK);
            let text = resp.text().await.expect("stream");
            assert!(text.contains("message_stop"), "{text}");
        }
    }
    // A wrong token, refused before any upstream.
    let resp = http
        .post(format!("{}/v1/messages", gw.url()))
        .header("x-api-key", format!("{GATEWAY_TOKEN}x"))
        .json(&message())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        good.requests().last().expect("sent").header("x-api-key"),
        Some(UPSTREAM_KEY)
    );
    assert!(refusing.hits() > 0 && failing.hits() > 0);

    // Everything the control plane shows.
    let token = admin_token(dir.path());
    let get = |path: String| {
        let url = format!("{}{path}", gw.admin_url());
        let token = token.clone();
        async move {
            let resp = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("get");
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            resp.bytes().await.expect("body")
        }
    };
    // Wait (bounded) for the rows with their audit to be written.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let list = loop {
        let page: Value =
            serde_json::from_slice(&get("/api/requests?limit=100".into()).await).expect("json");
        let n = page["records"].as_array().map_or(0, Vec::len);
        let audited = gw.control().status()["log"]["audit_written"]
            .as_u64()
            .unwrap_or(0);
        if n >= 7 && audited >= 7 {
            break page;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rows not written: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let mut shown = Vec::new();
    for path in [
        "/status",
        "/metrics",
        "/api/requests?limit=100",
        "/api/stats",
        "/api/export?format=json",
        "/api/export?format=ndjson",
        "/api/export?format=csv",
        "/api/report?format=markdown",
        "/api/report?format=html",
        "/api/admin/secrets",
        "/api/admin/users",
        "/api/admin/sessions",
    ] {
        shown.push((path.to_owned(), get(path.to_owned()).await));
    }
    for r in list["records"].as_array().expect("records") {
        let id = r["id"].as_str().expect("id");
        let path = format!("/api/requests/{id}");
        let detail = get(path.clone()).await;
        let v: Value = serde_json::from_slice(&detail).expect("json");
        assert!(
            v["audit"].as_array().is_some_and(|a| !a.is_empty()) || r["status"] == 401,
            "audit captured for {path}"
        );
        shown.push((path, detail));
    }
    for (path, bytes) in &shown {
        assert_clean(path, bytes);
    }
    gw.shutdown().await;

    // Every file the gateway wrote: the database, its WAL and shared memory, the log files, the
    // key and credential files.
    let written = files(dir.path());
    assert!(
        written
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "log")),
        "the log file was written: {written:?}"
    );
    for path in &written {
        if path.file_name().is_some_and(|n| n == "switchboard.toml") {
            continue; // The user's own file: it refers to secrets by name.
        }
        let bytes = std::fs::read(path).expect("read");
        assert_clean(&path.display().to_string(), &bytes);
    }
    let config_bytes = std::fs::read(dir.path().join("switchboard.toml")).expect("config");
    assert_clean("the config file", &config_bytes);
}

/// Every sealed secret as stored: name, master key id, nonce, ciphertext.
async fn sealed_rows(db: &Path) -> Vec<(String, String, Vec<u8>, Vec<u8>)> {
    use sqlx::Connection as _;
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("open the database");
    let rows = sqlx::query_as("SELECT name, key_id, nonce, ciphertext FROM secrets ORDER BY name")
        .fetch_all(&mut conn)
        .await
        .expect("read the secrets");
    conn.close().await.expect("close");
    rows
}
