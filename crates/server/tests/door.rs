//! The door, from outside: every route of the assembled gateway (from the one route table) is
//! checked against strangers, foreign `Host`s and missing CSRF tokens; one-time links, password
//! logins and their rate limit, sessions and logout, browser requests to the proxy routes,
//! `/metrics` access, the separate admin listener, and the `--insecure-public` rule.

use std::collections::BTreeSet;

use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_core::Access;
use switchboard_test_support::{MockUpstream, Reply, TestGateway};

/// A client that keeps nothing between requests: no cookie jar, no redirects followed.
fn bare() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A path with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{id}", "00000000-0000-0000-0000-000000000000")
        .replace("{name}", "nobody")
        .replace("{key}", "nokey")
        .replace("{user}", "nobody")
}

fn method(m: &str) -> reqwest::Method {
    reqwest::Method::from_bytes(m.as_bytes()).expect("method")
}

async fn gateway() -> (MockUpstream, TestGateway) {
    let up = MockUpstream::start(Reply::json(
        200,
        switchboard_test_support::sse::anthropic_message("claude-x", "hi", 3, 1),
    ))
    .await;
    let gw = TestGateway::builder()
        .endpoint("mock", "anthropic", &up.url(), "")
        .start()
        .await;
    (up, gw)
}

/// Signs in with a fresh one-time link; returns the cookie header and the CSRF token.
async fn sign_in(gw: &TestGateway) -> (String, String) {
    let link: Value = gw
        .admin_request(reqwest::Method::POST, "/api/admin/links")
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let path = link["path"].as_str().expect("path");
    let resp = bare()
        .get(format!("{}{path}", gw.admin_url))
        .send()
        .await
        .expect("redeem");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/ui/");
    let set = resp.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(
        !set.contains("Secure"),
        "no Secure cookie over plain HTTP: {set}"
    );
    let cookie = set.split(';').next().expect("pair").to_owned();
    let session: Value = bare()
        .get(format!("{}/api/admin/session", gw.admin_url))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    let csrf = session["csrf_token"]
        .as_str()
        .expect("csrf token")
        .to_owned();
    (cookie, csrf)
}

#[tokio::test]
async fn every_control_plane_route_refuses_strangers_foreign_hosts_and_forged_changes() {
    let (_up, gw) = gateway().await;
    let routes = switchboard_server::routes();

    // The routes anyone may call, each by name: liveness, Claude Code's preflight and telemetry
    // sink, signing in, and the dashboard's static files (they hold no data; everything they
    // show comes from admin routes). The proxy routes have their own rule (the gateway token).
    let open: BTreeSet<(&str, &str)> = routes
        .iter()
        .filter(|r| matches!(r.access, Access::Open | Access::Login))
        .map(|r| (r.method, r.path))
        .collect();
    let expected_open: BTreeSet<(&str, &str)> = [
        ("GET", "/health"),
        ("HEAD", "/api/hello"),
        ("GET", "/api/hello"),
        ("POST", "/api/event_logging/batch"),
        ("GET", "/ui/login"),
        ("POST", "/api/admin/login"),
        ("GET", "/ui"),
        ("GET", "/ui/"),
        ("GET", "/ui/{*path}"),
    ]
    .into_iter()
    .collect();
    assert_eq!(open, expected_open);
    let proxy: BTreeSet<&str> = routes
        .iter()
        .filter(|r| r.access == Access::Proxy)
        .map(|r| r.path)
        .collect();
    assert_eq!(
        proxy,
        [
            "/v1/messages",
            "/v1/messages/count_tokens",
            "/v1/chat/completions",
            "/chat/completions",
            "/v1/models",
            "/v1/switchboard/usage",
            "/v1/switchboard/session",
        ]
        .into_iter()
        .collect()
    );

    let (cookie, csrf) = sign_in(&gw).await;
    let http = bare();
    let mut checked = 0;
    for r in routes
        .iter()
        .filter(|r| matches!(r.access, Access::Admin { .. } | Access::Member { .. }))
    {
        let url = format!("{}{}", gw.admin_url, concrete(r.path));
        let m = method(r.method);
        // Anonymous: refused before anything is done.
        let resp = http.request(m.clone(), &url).send().await.expect("send");
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "{} {}",
            r.method,
            r.path
        );
        let body: Value = resp.json().await.expect("json error");
        assert_eq!(
            body["error"]["type"], "unauthorized",
            "{} {}",
            r.method, r.path
        );
        // A wrong bearer credential: refused.
        let resp = http
            .request(m.clone(), &url)
            .bearer_auth("sba_not-the-credential")
            .send()
            .await
            .expect("send");
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "{} {}",
            r.method,
            r.path
        );
        // The real credential through a foreign Host (DNS rebinding): refused.
        let resp = http
            .request(m.clone(), &url)
            .header("host", "evil.example.com:8787")
            .bearer_auth(&gw.admin_token)
            .send()
            .await
            .expect("send");
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{} {}",
            r.method,
            r.path
        );
        let body: Value = resp.json().await.expect("json error");
        assert_eq!(body["error"]["type"], "foreign_host");
        // A session cookie through a foreign Host: refused too.
        let resp = http
            .request(m.clone(), &url)
            .header("host", "rebound.attacker.test")
            .header("cookie", &cookie)
            .send()
            .await
            .expect("send");
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{} {}",
            r.method,
            r.path
        );
        if matches!(
            r.access,
            Access::Admin { mutates: true } | Access::Member { mutates: true }
        ) {
            // A signed-in browser without the CSRF token, or with a wrong one: refused.
            for token in [None, Some("not-the-token")] {
                let mut req = http.request(m.clone(), &url).header("cookie", &cookie);
                if let Some(t) = token {
                    req = req.header("x-csrf-token", t);
                }
                let resp = req.send().await.expect("send");
                assert_eq!(
                    resp.status(),
                    StatusCode::FORBIDDEN,
                    "{} {}",
                    r.method,
                    r.path
                );
                let body: Value = resp.json().await.expect("json error");
                assert_eq!(body["error"]["type"], "csrf", "{} {}", r.method, r.path);
            }
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} admin routes");

    // The same session with its token passes (a state change, then a read).
    let resp = http
        .post(format!("{}/api/admin/endpoints/mock/reset", gw.admin_url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = http
        .get(format!("{}/api/requests", gw.admin_url))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    // Login routes refuse a foreign Host as well (no login CSRF through a rebound name).
    let resp = http
        .post(format!("{}/api/admin/login", gw.admin_url))
        .header("host", "evil.example.com")
        .json(&json!({"name": "a", "password": "b"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_one_time_link_works_once_and_not_after_it_expires() {
    let (_up, gw) = gateway().await;
    let link: Value = gw
        .admin_request(reqwest::Method::POST, "/api/admin/links")
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let url = format!("{}{}", gw.admin_url, link["path"].as_str().expect("path"));
    let first = bare().get(&url).send().await.expect("first use");
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let again = bare().get(&url).send().await.expect("second use");
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert!(again.headers().get("set-cookie").is_none());
    let page = again.text().await.expect("page");
    assert!(page.contains("used or has expired"), "{page}");

    // A link minted ten minutes ago with a five-minute life.
    let links = switchboard_auth::Links::new(gw.admin_store());
    let local = gw
        .admin_store()
        .get_user_by_name(switchboard_auth::LOCAL_ADMIN)
        .await
        .expect("store")
        .expect("local admin");
    let old = links
        .mint(
            local.id,
            Utc::now() - TimeDelta::minutes(10),
            TimeDelta::minutes(5),
        )
        .await
        .expect("mint");
    let resp = bare()
        .get(format!("{}/ui/login?token={}", gw.admin_url, old.expose()))
        .send()
        .await
        .expect("expired link");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get("set-cookie").is_none());
    // Garbage and no token at all.
    for q in ["?token=sbl_nonsense", "?token=", ""] {
        let resp = bare()
            .get(format!("{}/ui/login{q}", gw.admin_url))
            .send()
            .await
            .expect("bad link");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{q}");
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn sessions_end_at_logout_and_when_they_expire() {
    let (_up, gw) = gateway().await;
    let (cookie, csrf) = sign_in(&gw).await;
    let me = |cookie: String| {
        let url = format!("{}/api/admin/session", gw.admin_url);
        async move {
            bare()
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .expect("session")
                .status()
        }
    };
    assert_eq!(me(cookie.clone()).await, StatusCode::OK);
    let out = bare()
        .post(format!("{}/api/admin/logout", gw.admin_url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::OK);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    assert_eq!(me(cookie).await, StatusCode::UNAUTHORIZED);

    // A session made eight days ago has outlived the default seven-day lifetime.
    let sessions = switchboard_auth::Sessions::new(
        gw.admin_store(),
        switchboard_auth::SessionPolicy::default(),
    );
    let local = gw
        .admin_store()
        .get_user_by_name(switchboard_auth::LOCAL_ADMIN)
        .await
        .expect("store")
        .expect("local admin");
    let old = sessions
        .create(&local, None, None, Utc::now() - TimeDelta::days(8))
        .await
        .expect("session");
    let name = cookie_name(&gw);
    assert_eq!(
        me(format!("{name}={}", old.cookie_value.expose())).await,
        StatusCode::UNAUTHORIZED
    );
    // One made 13 hours ago and never used since has passed the 12-hour idle timeout.
    let idle = sessions
        .create(&local, None, None, Utc::now() - TimeDelta::hours(13))
        .await
        .expect("session");
    assert_eq!(
        me(format!("{name}={}", idle.cookie_value.expose())).await,
        StatusCode::UNAUTHORIZED
    );
    // A fresh one works.
    let fresh = sessions
        .create(&local, None, None, Utc::now())
        .await
        .expect("session");
    assert_eq!(
        me(format!("{name}={}", fresh.cookie_value.expose())).await,
        StatusCode::OK
    );
    gw.shutdown().await;
}

/// The session cookie's name on this gateway's port.
fn cookie_name(gw: &TestGateway) -> String {
    let port = gw.admin_url.rsplit(':').next().expect("port");
    format!("sb_session_{port}")
}

#[tokio::test]
async fn password_logins_use_argon2id_and_are_rate_limited() {
    let (_up, gw) = gateway().await;
    let added = gw
        .admin_request(reqwest::Method::POST, "/api/admin/users")
        .json(&json!({"name": "alice", "password": "correct horse battery"}))
        .send()
        .await
        .expect("add user");
    assert_eq!(added.status(), StatusCode::OK);
    let stored = gw
        .admin_store()
        .get_user_by_name("alice")
        .await
        .expect("store")
        .expect("alice");
    let hash = stored.password_hash.expect("hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains("correct horse"));

    let login = |name: &str, password: &str| {
        let url = format!("{}/api/admin/login", gw.admin_url);
        let body = json!({"name": name, "password": password});
        async move { bare().post(url).json(&body).send().await.expect("login") }
    };
    let ok = login("alice", "correct horse battery").await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.headers().get("set-cookie").is_some());
    let doc: Value = ok.json().await.expect("json");
    assert_eq!(doc["user"]["name"], "alice");
    assert_eq!(doc["user"]["role"], "admin");
    assert!(doc["csrf_token"].as_str().is_some_and(|t| t.len() > 20));

    // Wrong password, and a user who does not exist: the same answer.
    for (name, password) in [("alice", "wrong password"), ("mallory", "whatever1")] {
        let resp = login(name, password).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["message"], "wrong user name or password");
    }
    // Five attempts per user per 15 minutes (one wrong one above): four more, then refused
    // with a time to wait, even with the right password.
    for _ in 0..4 {
        assert_eq!(
            login("alice", "wrong password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = login("alice", "correct horse battery").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    let body: Value = limited.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("too many login attempts")),
        "{body}"
    );
    // Ten per address: the address is refused for other users too.
    for _ in 0..4 {
        let _ = login("bob", "wrong password").await;
    }
    assert_eq!(
        login("carol", "whatever1").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn browser_requests_from_other_origins_never_reach_an_upstream() {
    let (up, gw) = gateway().await;
    let body = r#"{"model":"claude-x","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#;
    let http = bare();
    // A "simple" cross-origin request a page can send without a preflight.
    let resp = http
        .post(format!("{}/v1/messages", gw.url))
        .header("origin", "https://evil.example.com")
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["type"], "error");
    assert_eq!(err["error"]["type"], "permission_error");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("https://evil.example.com")),
        "{err}"
    );
    // A rebound page: same-origin to the browser, but its origin names the attacker's host.
    let resp = http
        .post(format!("{}/v1/messages", gw.url))
        .header("origin", "http://rebound.attacker.test:8787")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // A form post or text body without an Origin (a non-browser client sending the wrong type).
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let resp = http
            .post(format!("{}/v1/messages", gw.url))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{ct}");
        let err: Value = resp.json().await.expect("json");
        assert!(
            err["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("application/json")),
            "{err}"
        );
    }
    // The OpenAI dialect gets its own error shape.
    let resp = http
        .post(format!("{}/v1/chat/completions", gw.url))
        .header("origin", "https://evil.example.com")
        .header("content-type", "application/json")
        .body(r#"{"model":"x","messages":[]}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let err: Value = resp.json().await.expect("json");
    assert!(err["error"]["message"].is_string(), "{err}");
    assert_eq!(up.hits(), 0, "nothing reached the upstream");

    // The gateway's own origin (a page it serves) and no origin at all (SDKs, Claude Code).
    let resp = http
        .post(format!("{}/v1/messages", gw.url))
        .header("origin", gw.url.as_str())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = http
        .post(format!("{}/v1/messages", gw.url))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(up.hits(), 2);
    let rows = gw.wait_for_logs(8).await;
    let refused = rows
        .iter()
        .filter(|r| r.outcome == "rejected" && r.status >= 400)
        .count();
    assert_eq!(refused, 6, "each refusal is logged");
    gw.shutdown().await;
}

#[tokio::test]
async fn status_and_metrics_need_an_admin_unless_metrics_are_opened() {
    let up = MockUpstream::start(Reply::json(200, "{}")).await;
    let gw = TestGateway::builder()
        .endpoint("mock", "anthropic", &up.url(), "")
        .server("auth_token = \"gw-token-0123456789abcdef\"")
        .start()
        .await;
    for path in ["/status", "/metrics", "/api/requests"] {
        // The gateway token is a client's credential, not an admin's.
        let resp = bare()
            .get(format!("{}{path}", gw.url))
            .bearer_auth("gw-token-0123456789abcdef")
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
        let resp = gw.admin_get(path).send().await.expect("send");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    gw.shutdown().await;

    let gw = TestGateway::builder()
        .endpoint("mock", "anthropic", &up.url(), "")
        .extra("[admin]\nmetrics = \"open\"\n")
        .start()
        .await;
    let resp = bare()
        .get(format!("{}/metrics", gw.url))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = bare()
        .get(format!("{}/status", gw.url))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    gw.shutdown().await;

    let gw = TestGateway::builder()
        .endpoint("mock", "anthropic", &up.url(), "")
        .extra("[admin]\nmetrics_token = \"scrape-token-0123456789\"\n")
        .start()
        .await;
    let metrics = |token: &'static str| {
        let url = format!("{}/metrics", gw.url);
        async move {
            bare()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("send")
                .status()
        }
    };
    assert_eq!(metrics("scrape-token-0123456789").await, StatusCode::OK);
    assert_eq!(
        metrics("scrape-token-wrong").await,
        StatusCode::UNAUTHORIZED
    );
    // The scrape token opens /metrics only.
    let resp = bare()
        .get(format!("{}/status", gw.url))
        .bearer_auth("scrape-token-0123456789")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_separate_admin_listener_splits_the_planes() {
    let up = MockUpstream::start(Reply::json(
        200,
        switchboard_test_support::sse::anthropic_message("claude-x", "hi", 3, 1),
    ))
    .await;
    let gw = TestGateway::builder()
        .endpoint("mock", "anthropic", &up.url(), "")
        .extra("[admin]\nlisten = \"127.0.0.1:0\"\n")
        .start()
        .await;
    assert_ne!(gw.url, gw.admin_url);
    let body = json!({"model": "claude-x", "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}]});
    // Clients' port: the proxy routes and liveness; no control plane.
    assert_eq!(
        gw.post("/v1/messages", &body).await.status(),
        StatusCode::OK
    );
    let resp = bare()
        .get(format!("{}/api/requests", gw.url))
        .bearer_auth(&gw.admin_token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Operators' port: the control plane and liveness; no proxy routes.
    assert_eq!(
        gw.admin_get("/api/requests")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    let resp = bare()
        .post(format!("{}/v1/messages", gw.admin_url))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    for url in [&gw.url, &gw.admin_url] {
        let resp = bare()
            .get(format!("{url}/health"))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::OK, "{url}");
    }
    assert_eq!(up.hits(), 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn serving_beyond_loopback_needs_a_token_or_an_explicit_override() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, "[server]\nlisten = \"0.0.0.0:0\"\n").expect("write");
    let options = || {
        let mut o = switchboard_server::Options::new(
            switchboard_server::ConfigFile::new(Some(path.clone())),
            dir.path().to_path_buf(),
        );
        o.watch = false;
        o
    };
    let refused = switchboard_server::start(options()).await;
    let Err(e) = refused else {
        panic!("a public listener without a token started");
    };
    let text = e.to_string();
    assert!(text.contains("without a gateway token"), "{text}");
    assert!(text.contains("--insecure-public"), "{text}");
    assert!(text.contains("auth_token"), "{text}");

    let mut o = options();
    o.insecure_public = true;
    let running = switchboard_server::start(o)
        .await
        .expect("started with the override");
    assert!(running.insecure_public);
    let status = running.control().status();
    assert_eq!(status["insecure_public"], true);
    running.shutdown().await;

    // With a token, a public listener is fine and not flagged.
    std::fs::write(
        &path,
        "[server]\nlisten = \"0.0.0.0:0\"\nauth_token = \"gw-token-0123456789abcdef\"\n",
    )
    .expect("write");
    let running = switchboard_server::start(options()).await.expect("started");
    assert!(!running.insecure_public);
    assert_eq!(running.control().status()["insecure_public"], false);
    running.shutdown().await;
}
