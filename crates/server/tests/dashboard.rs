//! The dashboard as a person uses it: a real headless Chromium (Debian's `chromium`, driven over
//! WebDriver by `chromedriver`) against a gateway with mock upstreams and a seeded log.
//!
//! It signs in through a one-time link (and with a password), reads the seeded figures on the
//! overview, watches a request proxied during the test appear in the live table, opens a
//! failover's attempt waterfall and stream timeline, adds an endpoint through the form, reorders
//! the endpoints (the config file changes, its comments stay), tests a failing endpoint's
//! connection, replays a request on another endpoint, switches language and theme, checks that a
//! 390×844 screen needs no horizontal scrolling and that a prompt holding `<script>` is shown as
//! text. On every page: no console error and no Content-Security-Policy violation.
//!
//! Screenshots of every page in both languages and both themes (and on a phone) are written to
//! `target/dashboard-screenshots/`.
//!
//! Without Chromium the test is skipped, unless `SWITCHBOARD_REQUIRE_CLIENTS=1` (CI), where a
//! missing browser is a failure.

#![expect(
    clippy::panic,
    reason = "a browser test outside #[test] functions: a failed step stops it, saying what the page showed"
)]

#[path = "dashboard/webdriver.rs"]
mod webdriver;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};
use switchboard_core::{AttemptDisposition, Outcome};
use switchboard_store::{AttemptRecord, LogRecord};
use switchboard_test_support::{MockUpstream, Recorded, Reply, Step, TestGateway, sse};
use webdriver::Browser;

/// What the test installs on every page before the app runs: a record of CSP violations and
/// uncaught errors (read and cleared by [`Ui::check`]).
const WATCH: &str = r"
window.__sb = { violations: [], errors: [] };
document.addEventListener('securitypolicyviolation', (e) => {
  window.__sb.violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber);
});
window.addEventListener('error', (e) => window.__sb.errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => window.__sb.errors.push('unhandled rejection: ' + String(e.reason)));
";

/// The routes the dashboard calls, by the page that calls them (checked against the server's
/// route table by `every_route_the_dashboard_calls_is_served`).
const CONTRACT: &[(&str, &str)] = &[
    ("GET", "/api/stats/heatmap"),
    ("GET", "/api/stats/failovers"),
    ("GET", "/api/stats/cache"),
    ("GET", "/api/admin/endpoints"),
    ("POST", "/api/admin/endpoints"),
    ("PUT", "/api/admin/endpoints/{name}"),
    ("DELETE", "/api/admin/endpoints/{name}"),
    ("POST", "/api/admin/endpoints/{name}/enable"),
    ("POST", "/api/admin/endpoints/{name}/disable"),
    ("PUT", "/api/admin/endpoints/order"),
    ("POST", "/api/admin/endpoints/{name}/test"),
    ("POST", "/api/admin/models/resolve"),
    ("GET", "/api/admin/config"),
    ("GET", "/api/admin/config/download"),
    ("GET", "/api/admin/settings"),
    ("PUT", "/api/admin/settings"),
    ("POST", "/api/admin/requests/{id}/replay"),
    ("GET", "/api/admin/keys"),
    ("POST", "/api/admin/keys"),
    ("PUT", "/api/admin/keys/{key}"),
    ("POST", "/api/admin/keys/{key}/revoke"),
    ("GET", "/api/admin/users"),
    ("GET", "/api/admin/teams"),
    ("GET", "/api/admin/usage"),
    ("GET", "/api/admin/claude/settings"),
    ("GET", "/api/admin/profiles"),
    ("PUT", "/api/admin/profiles/active"),
    ("GET", "/api/admin/claude/mcp"),
    ("POST", "/api/admin/claude/mcp"),
    ("PUT", "/api/admin/claude/mcp/{scope}/{name}"),
    ("DELETE", "/api/admin/claude/mcp/{scope}/{name}"),
    ("POST", "/api/admin/claude/mcp/{scope}/{name}/enable"),
    ("POST", "/api/admin/claude/mcp/{scope}/{name}/disable"),
    ("GET", "/api/admin/claude/skills"),
    ("POST", "/api/admin/claude/skills"),
    ("POST", "/api/admin/claude/skills/{scope}/{name}/update"),
    ("DELETE", "/api/admin/claude/skills/{scope}/{name}"),
    ("GET", "/api/stats/breakdown"),
];

#[test]
fn every_route_the_dashboard_calls_is_served() {
    let routes = switchboard_server::routes();
    let missing: Vec<String> = CONTRACT
        .iter()
        .filter(|(m, p)| !routes.iter().any(|r| r.method == *m && r.path == *p))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard calls routes the server does not have: {missing:?}"
    );
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("dashboard-screenshots")
}

/// The browser, the gateway's address, and what counts as a console error on this run.
struct Ui {
    b: Browser,
    base: String,
    /// Console messages that are expected (substrings), e.g. the sign-in probe's 401.
    allowed: Vec<String>,
    shots: PathBuf,
    pages_checked: BTreeSet<String>,
}

impl Ui {
    /// A browser on `gw`'s control plane, signed out (the sign-in probe's 401 expected).
    async fn open(gw: &TestGateway, chromium: &Path, chromedriver: &Path) -> Self {
        let b = Browser::start(chromium, chromedriver).await;
        b.on_every_page(WATCH).await;
        Self {
            b,
            base: gw.admin_url.clone(),
            allowed: vec![
                "api/admin/session - Failed to load resource: the server responded with a status of 401"
                    .into(),
            ],
            shots: screenshots(),
            pages_checked: BTreeSet::new(),
        }
    }

    /// Signs in through a one-time link, as `switchboard ui` does.
    async fn sign_in_with_link(&mut self, gw: &TestGateway) {
        let link: Value = gw
            .admin_request(reqwest::Method::POST, "/api/admin/links")
            .send()
            .await
            .expect("mint a link")
            .json()
            .await
            .expect("link json");
        self.goto(link["path"].as_str().expect("link path")).await;
    }

    async fn goto(&mut self, path: &str) {
        self.check(path).await;
        let url = format!("{}{path}", self.base);
        self.b.goto(&url).await;
    }

    /// No console error, no uncaught error, no CSP violation since the last check.
    async fn check(&mut self, at: &str) {
        let page = self.b.eval("return window.__sb || null", json!([])).await;
        if !page.is_null() {
            let violations = page["violations"].as_array().cloned().unwrap_or_default();
            assert!(
                violations.is_empty(),
                "CSP violations on {at}: {violations:?}"
            );
            let errors = page["errors"].as_array().cloned().unwrap_or_default();
            assert!(errors.is_empty(), "uncaught errors on {at}: {errors:?}");
            self.b
                .eval(
                    "window.__sb.violations = []; window.__sb.errors = [];",
                    json!([]),
                )
                .await;
        }
        for entry in self.b.log().await {
            let level = entry["level"].as_str().unwrap_or("");
            let message = entry["message"].as_str().unwrap_or("");
            let csp = message.contains("Content Security Policy");
            if (level == "SEVERE" || csp)
                && !self.allowed.iter().any(|a| message.contains(a.as_str()))
            {
                panic!("console {level} on {at}: {message}");
            }
        }
        self.pages_checked.insert(at.to_owned());
    }

    /// Waits until the page has loaded what it shows (no "Loading…" left in `main`).
    async fn settled(&self, marker: &str) {
        self.b.text(marker).await;
        self.b
            .wait_for(
                "the page to finish loading",
                "const m = document.querySelector('main'); return m && !/Loading…|加载中…/.test(m.innerText);",
            )
            .await;
    }

    async fn shot(&self, name: &str) {
        let path = self.shots.join(format!("{name}.png"));
        self.b.screenshot(&path).await;
    }

    /// The page scrolls sideways?
    async fn assert_no_horizontal_overflow(&self, page: &str) {
        let v = self
            .b
            .eval(
                "return [document.documentElement.scrollWidth, window.innerWidth, [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && getComputedStyle(e).position !== 'fixed' && !e.closest('.table-wrap, .tl-events, pre')).slice(0, 5).map(e => e.tagName + '.' + e.className)]",
                json!([]),
            )
            .await;
        let (scroll, inner) = (v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0));
        assert!(
            scroll <= inner,
            "{page} at 390 px scrolls sideways: document {scroll} px wide, window {inner} px; wide elements: {}",
            v[2]
        );
    }
}

fn body(r: &Recorded) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

fn wants_stream(r: &Recorded) -> bool {
    body(r)["stream"] == Value::Bool(true)
}

fn mentions(r: &Recorded, word: &str) -> bool {
    std::str::from_utf8(&r.body).is_ok_and(|b| b.contains(word))
}

/// An Anthropic upstream answering `text` (streamed when asked), spaced by `gap` between events;
/// a `stall` after the second event when the prompt says STALL.
fn answering(
    name: &'static str,
    text: &'static str,
) -> impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static {
    move |r| {
        if !wants_stream(r) {
            return Some(Reply::json(200, sse::anthropic_message(name, text, 40, 12)));
        }
        let frames = sse::anthropic_text_with_cache(name, &[text, " — ", "done."], 40, 12, 0, 20);
        let mut steps = Vec::new();
        for (i, f) in frames.into_iter().enumerate() {
            if i > 0 {
                let ms = if i == 4 && mentions(r, "STALL") {
                    1300
                } else {
                    15
                };
                steps.push(Step::Delay(Duration::from_millis(ms)));
            }
            steps.push(Step::Bytes(Bytes::from(f)));
        }
        Some(Reply::steps(steps))
    }
}

/// The log the overview shows: 20 requests over the last six days (18 ok, 2 failed, $0.02 each
/// ok one, 1,000 input, 250 output, 100 cache write and 500 cache read tokens each), and 30
/// older ones across the year for the heatmap.
fn seed() -> Vec<LogRecord> {
    let now = Utc::now();
    let mut out = Vec::new();
    for i in 0..50_i64 {
        let mut r = LogRecord::new("POST", "/v1/messages", "anthropic");
        let recent = i < 20;
        r.started_at = if recent {
            now - TimeDelta::hours(2 + i * 7)
        } else {
            now - TimeDelta::days(9 + (i - 20) * 11)
        };
        r.requested_model = Some(
            if i % 3 == 0 {
                "claude-opus-4-1"
            } else {
                "claude-sonnet-4-5"
            }
            .to_owned(),
        );
        r.routed_model = r.requested_model.clone();
        r.endpoint = Some("primary".to_owned());
        r.client_addr = Some("127.0.0.1".to_owned());
        r.stream = i % 2 == 0;
        let failed = recent && (i == 5 || i == 11);
        r.status = if failed { 529 } else { 200 };
        r.outcome = if failed {
            Outcome::Exhausted
        } else {
            Outcome::Ok
        };
        r.error = failed.then(|| "every endpoint failed: primary 529 overloaded_error".to_owned());
        r.latency_ms = 800 + u64::try_from(i).unwrap_or(0) * 37;
        r.ttfb_ms = Some(300 + u64::try_from(i).unwrap_or(0) * 11);
        if !failed {
            r.input_tokens = 1000;
            r.output_tokens = 250;
            r.cache_creation_input_tokens = 100;
            r.cache_read_input_tokens = 500;
            r.cost_usd = Some(0.02);
            r.stop_reason = Some("end_turn".to_owned());
        }
        let mut a = AttemptRecord::new(
            "primary",
            if failed {
                AttemptDisposition::Next
            } else {
                AttemptDisposition::Ok
            },
        );
        a.status = Some(r.status);
        a.latency_ms = r.latency_ms;
        r.attempts = vec![a];
        out.push(r);
    }
    out
}

/// A config with comments, as a person writes it: the reorder must keep them.
const HEADER_COMMENT: &str = "# Switchboard for the dashboard test: keep this comment";
const PRIMARY_COMMENT: &str = "# the main one";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_as_a_person_uses_it() {
    let Some((chromium, chromedriver)) = webdriver::find() else {
        assert!(
            std::env::var("SWITCHBOARD_REQUIRE_CLIENTS").as_deref() != Ok("1"),
            "Chromium and chromedriver are required (SWITCHBOARD_REQUIRE_CLIENTS=1): run scripts/setup-test-deps.sh"
        );
        eprintln!(
            "SKIPPED: no chromium/chromedriver on PATH (scripts/setup-test-deps.sh installs them)"
        );
        return;
    };

    // Upstreams: two that answer, one that refuses every key, one for the endpoint added later.
    let primary = MockUpstream::start(Reply::error(500, "api_error", "unscripted")).await;
    let answer = answering("claude-sonnet-4-5", "Hello from primary");
    primary.respond_with(move |r| {
        if mentions(r, "FAILOVER") {
            return Some(Reply::error(529, "overloaded_error", "Overloaded"));
        }
        answer(r)
    });
    let backup = MockUpstream::start(Reply::error(500, "api_error", "unscripted")).await;
    backup.respond_with(answering("claude-sonnet-4-5", "Hello from backup"));
    let failing = MockUpstream::start(Reply::error(
        401,
        "authentication_error",
        "invalid x-api-key",
    ))
    .await;
    let added = MockUpstream::start(Reply::error(500, "api_error", "unscripted")).await;
    added.respond_with(answering(
        "claude-sonnet-4-5",
        "Hello from the added endpoint",
    ));

    let gw = TestGateway::builder()
        .endpoint(
            "primary",
            "anthropic",
            &primary.url(),
            &format!("{PRIMARY_COMMENT}\napi_key = \"sk-primary-0123456789abcdef\""),
        )
        .endpoint(
            "backup",
            "anthropic",
            &backup.url(),
            "api_key = \"sk-backup-0123456789abcdef\"",
        )
        .endpoint(
            "failing",
            "anthropic",
            &failing.url(),
            "api_key = \"sk-failing-0123456789abcdef\"",
        )
        .watch()
        .start()
        .await;
    let config = std::fs::read_to_string(&gw.config_path).expect("config");
    gw.rewrite_config(&format!("{HEADER_COMMENT}\n{config}"));
    gw.store.insert_batch(&seed()).await.expect("seed the log");

    let b = Browser::start(&chromium, &chromedriver).await;
    b.on_every_page(WATCH).await;
    let shots = screenshots();
    // This test's screenshots from an earlier run (the other tests write theirs beside them).
    if let Ok(old) = std::fs::read_dir(&shots) {
        for f in old.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.starts_with(|c: char| c.is_ascii_digit()) || name.starts_with("flow-") {
                let _ = std::fs::remove_file(f.path());
            }
        }
    }
    let mut ui = Ui {
        b,
        base: gw.admin_url.clone(),
        allowed: Vec::new(),
        shots,
        pages_checked: BTreeSet::new(),
    };

    // --- Signed out: the sign-in page, and a password login. -------------------------------
    ui.allowed.push(
        "api/admin/session - Failed to load resource: the server responded with a status of 401"
            .into(),
    );
    ui.goto("/ui/").await;
    ui.b.text("#signin form").await;
    let hint = ui.b.text("#signin .hint").await;
    assert!(hint.contains("switchboard ui"), "{hint}");
    ui.shot("01-signin-en-light").await;
    let resp = gw
        .admin_request(reqwest::Method::POST, "/api/admin/users")
        .json(&json!({"name": "ada", "password": "correct horse battery", "role": "admin"}))
        .send()
        .await
        .expect("add user");
    assert!(resp.status().is_success(), "{}", resp.status());
    ui.b.type_into("#signin input[name=name]", "ada").await;
    ui.b.type_into("#signin input[name=password]", "wrong password")
        .await;
    ui.allowed.push(
        "api/admin/login - Failed to load resource: the server responded with a status of 401"
            .into(),
    );
    ui.b.click("#signin button[type=submit]").await;
    let wrong = ui.b.text("#signin .error-box").await;
    assert!(wrong.contains("Wrong user name or password"), "{wrong}");
    ui.b.type_into("#signin input[name=password]", "correct horse battery")
        .await;
    ui.b.click("#signin button[type=submit]").await;
    ui.b.text("#sign-out").await;
    ui.b.click("#sign-out").await;
    ui.b.text("#signin form").await;
    ui.check("sign-in").await;

    // --- Signed in through a one-time link; the overview shows the seeded figures. ----------
    ui.sign_in_with_link(&gw).await;
    ui.settled("#kpis").await;
    let path = ui.b.eval("return location.pathname", json!([])).await;
    assert_eq!(path, "/ui/", "the link lands on the dashboard");
    assert_eq!(ui.b.text("[data-kpi=requests] .value").await, "20");
    assert_eq!(ui.b.text("[data-kpi=success] .value").await, "90%");
    assert_eq!(ui.b.text("[data-kpi=cost] .value").await, "$0.36");
    assert_eq!(ui.b.text("[data-kpi=tokens] .value").await, "33.3K");
    let kinds = ui.b.text("[data-figure=token-kinds]").await;
    for figure in ["18,000", "4,500", "1,800", "9,000"] {
        assert!(kinds.contains(figure), "tokens by kind: {kinds}");
    }
    let models = ui.b.text("#by-model").await;
    assert!(
        models.contains("claude-sonnet-4-5") && models.contains("claude-opus-4-1"),
        "{models}"
    );
    let days = ui.b.wait_for("heatmap cells", "return document.querySelectorAll('#heatmap rect.h1, #heatmap rect.h2, #heatmap rect.h3, #heatmap rect.h4').length").await;
    assert!(
        days.as_u64().unwrap_or(0) >= 20,
        "heatmap days with tokens: {days}"
    );
    ui.check("overview").await;

    // --- Requests: a request proxied now appears live. -------------------------------------
    ui.b.click("nav a[href='/ui/requests']").await;
    ui.settled("#requests-table").await;
    ui.b.wait_for(
        "the live feed",
        "return document.querySelector('#feed-state').innerText.includes('Live')",
    )
    .await;
    let resp = gw
        .post(
            "/v1/messages",
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello, live table"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let live_id = resp.headers()["x-switchboard-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    ui.b.text(&format!("#requests-table tr[data-id='{live_id}']"))
        .await;
    // A failover (primary answers 529 three times, backup streams with a stall) and a prompt
    // holding markup.
    let resp = gw
        .post(
            "/v1/messages",
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true,
                "messages": [{"role": "user", "content": "FAILOVER and STALL, please"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let failover_id = resp.headers()["x-switchboard-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let _ = resp.text().await;
    let resp = gw
        .post(
            "/v1/messages",
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 64,
                "messages": [{"role": "user", "content": "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> is text"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let script_id = resp.headers()["x-switchboard-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let _ = resp.text().await;
    let chain =
        ui.b.text(&format!(
            "#requests-table tr[data-id='{failover_id}'] .chain"
        ))
        .await;
    assert!(
        chain.contains("primary") && chain.contains("backup"),
        "failover chip: {chain}"
    );
    gw.wait_for_logs(53).await;
    ui.check("requests").await;

    // --- The failover's detail: waterfall and stream timeline. -------------------------------
    ui.b.click(&format!("#requests-table tr[data-id='{failover_id}'] a"))
        .await;
    ui.settled("#waterfall").await;
    let attempts =
        ui.b.eval(
            "return document.querySelector('#waterfall').dataset.attempts",
            json!([]),
        )
        .await;
    assert_eq!(attempts, "4", "three 529s on primary, then backup");
    let wf = ui.b.text("#waterfall").await;
    assert!(
        wf.contains("primary") && wf.contains("backup") && wf.contains("529"),
        "{wf}"
    );
    assert!(
        wf.contains("retried on the same endpoint") && wf.contains("moved to the next endpoint"),
        "{wf}"
    );
    let tl = ui.b.eval("const t = document.querySelector('#timeline'); return t && [t.dataset.events, t.dataset.stalls]", json!([])).await;
    assert!(
        tl[0]
            .as_str()
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0)
            >= 7,
        "stream events: {tl}"
    );
    assert_eq!(tl[1], "1", "the 1.3 s gap is a stall");
    assert_ne!(ui.b.text("#first-token").await, "—");
    ui.check("request detail").await;

    // --- A prompt holding <script> is text. ---------------------------------------------------
    ui.goto(&format!("/ui/requests/{script_id}")).await;
    ui.settled("#bodies").await;
    let shown = ui.b.text("#bodies [data-kind=client_request]").await;
    assert!(
        shown.contains("<script>window.__pwned = 1</script>"),
        "the prompt as text: {shown}"
    );
    let ran = ui.b.eval("return [window.__pwned === undefined, document.querySelectorAll('#bodies script, #bodies img').length]", json!([])).await;
    assert_eq!(
        ran,
        json!([true, 0]),
        "nothing from the prompt became markup or ran"
    );
    ui.check("request detail with markup").await;

    // --- Endpoints: add, reorder with a preview, the next request goes to the new one. ------
    ui.goto("/ui/endpoints").await;
    ui.settled("#endpoint-list").await;
    ui.b.click("#add-endpoint").await;
    ui.b.type_into("#endpoint-form-card input[name=name]", "added")
        .await;
    ui.b.type_into("#endpoint-form-card input[name=base_url]", &added.url())
        .await;
    ui.b.type_into(
        "#endpoint-form-card input[name=api_key]",
        "sk-added-secret-0123456789",
    )
    .await;
    ui.b.click("#endpoint-form-card button[type=submit]").await;
    ui.b.text("[data-endpoint=added]").await;
    let file = std::fs::read_to_string(&gw.config_path).expect("config");
    assert!(file.contains("name = \"added\""), "{file}");
    assert!(
        !file.contains("sk-added-secret"),
        "the key went to the secret store, not the file:\n{file}"
    );
    let page = ui.b.text("#endpoint-list").await;
    assert!(
        !page.contains("sk-added-secret-0123456789"),
        "the key is never shown again"
    );
    for _ in 0..3 {
        ui.b.click("[data-endpoint=added] button[aria-label='Move up']")
            .await;
    }
    let preview = ui.b.text("#order-preview .diff").await;
    assert!(
        preview.contains("added"),
        "the preview shows the change: {preview}"
    );
    ui.shot("flow-endpoints-reorder-preview-en-light").await;
    ui.b.click("#order-save").await;
    ui.b.wait_for(
        "the preview to close",
        "return !document.querySelector('#order-preview')",
    )
    .await;
    let file = std::fs::read_to_string(&gw.config_path).expect("config");
    let first = file.find("name = \"added\"").expect("added in the file");
    assert!(
        first < file.find("name = \"primary\"").expect("primary"),
        "added is first now:\n{file}"
    );
    assert!(
        file.contains(HEADER_COMMENT) && file.contains(PRIMARY_COMMENT),
        "comments kept:\n{file}"
    );
    let resp = gw
            .post("/v1/messages", &json!({"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "who answers?"}]}))
            .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        added.hits(),
        1,
        "the next request went to the added endpoint"
    );
    ui.check("endpoints").await;

    // A failing endpoint's connection test.
    ui.b.click("[data-endpoint=failing] button[data-action=test]")
        .await;
    let result = ui.b.text("[data-endpoint=failing] .test-result").await;
    assert!(
        result.contains("401") || result.contains("invalid x-api-key"),
        "{result}"
    );
    let ok =
        ui.b.eval(
            "return document.querySelector('[data-endpoint=failing] .test-result').dataset.ok",
            json!([]),
        )
        .await;
    assert_eq!(ok, "false");
    ui.shot("flow-endpoints-test-failed-en-light").await;
    ui.check("test connection").await;

    // --- Replay on the second endpoint. -------------------------------------------------------
    ui.goto(&format!("/ui/requests/{live_id}")).await;
    ui.settled("#replay").await;
    ui.b.select("#replay select", "backup").await;
    ui.b.click("#replay-run").await;
    let both = ui.b.text("#replay-result").await;
    assert!(
        both.contains("Hello from primary") && both.contains("Hello from backup"),
        "{both}"
    );
    ui.shot("flow-replay-en-light").await;
    ui.check("replay").await;

    // --- Language and theme, switched and remembered. ---------------------------------------
    ui.goto("/ui/settings").await;
    ui.settled("#appearance").await;
    ui.b.click("#lang-switch").await;
    ui.b.wait_for(
        "Chinese",
        "return document.querySelector('nav').innerText.includes('概览')",
    )
    .await;
    assert_eq!(
        ui.b.eval("return document.documentElement.lang", json!([]))
            .await,
        "zh-CN"
    );
    ui.b.click("#theme-switch").await; // system → light
    ui.b.click("#theme-switch").await; // light → dark
    assert_eq!(
        ui.b.eval("return document.documentElement.dataset.theme", json!([]))
            .await,
        "dark"
    );
    let bg =
        ui.b.eval(
            "return getComputedStyle(document.body).backgroundColor",
            json!([]),
        )
        .await;
    assert_eq!(bg, "rgb(15, 18, 23)", "the dark theme applies");
    ui.goto("/ui/settings").await;
    ui.settled("#appearance").await;
    assert!(
        ui.b.text("nav").await.contains("概览"),
        "the language is remembered"
    );
    assert_eq!(
        ui.b.eval("return document.documentElement.dataset.theme", json!([]))
            .await,
        "dark"
    );
    ui.check("settings").await;

    // --- Every page in both languages and both themes; then on a phone. ---------------------
    let pages: Vec<(&str, String, &str)> = vec![
        ("overview", "/ui/".to_owned(), "#kpis"),
        ("requests", "/ui/requests".to_owned(), "#requests-table"),
        (
            "detail",
            format!("/ui/requests/{failover_id}"),
            "#waterfall",
        ),
        ("endpoints", "/ui/endpoints".to_owned(), "main h1"),
        ("settings", "/ui/settings".to_owned(), "#users"),
    ];
    let mut n = 2;
    for (lang, theme) in [
        ("en", "light"),
        ("zh", "light"),
        ("en", "dark"),
        ("zh", "dark"),
    ] {
        ui.b.eval(
            "localStorage.setItem('switchboard.lang', arguments[0]); localStorage.setItem('switchboard.theme', arguments[1]);",
            json!([lang, theme]),
        )
        .await;
        for (name, path, marker) in &pages {
            ui.goto(path).await;
            ui.settled(marker).await;
            ui.shot(&format!("{n:02}-{name}-{lang}-{theme}")).await;
            n += 1;
        }
        ui.check("pages").await;
    }
    ui.b.set_size(390, 844).await;
    ui.b.eval("localStorage.setItem('switchboard.lang', 'en'); localStorage.setItem('switchboard.theme', 'light');", json!([])).await;
    let width = ui.b.eval("return window.innerWidth", json!([])).await;
    assert!(width.as_u64().unwrap_or(0) <= 390, "window {width} px wide");
    for (name, path, marker) in &pages {
        ui.goto(path).await;
        ui.settled(marker).await;
        ui.assert_no_horizontal_overflow(name).await;
        ui.shot(&format!("{n:02}-{name}-mobile-en-light")).await;
        n += 1;
    }
    ui.b.eval("localStorage.setItem('switchboard.lang', 'zh');", json!([]))
        .await;
    ui.goto("/ui/").await;
    ui.settled("#kpis").await;
    ui.assert_no_horizontal_overflow("overview (zh)").await;
    ui.shot(&format!("{n:02}-overview-mobile-zh-light")).await;
    ui.check("phone").await;

    // Every dictionary key has its translation (the app's own dictionaries, as served).
    let keys = ui
        .b
        .eval_async(
            "const done = arguments[arguments.length - 1]; import('/ui/app/i18n.js').then((m) => { const en = Object.keys(m.DICTS.en), zh = Object.keys(m.DICTS.zh); done([en.filter((k) => !zh.includes(k)), zh.filter((k) => !en.includes(k))]); });",
        )
        .await;
    assert_eq!(keys, json!([[], []]), "keys missing in zh, in en");

    // The sign-in page in both languages and themes (signed out by forgetting the cookie).
    ui.b.set_size(1280, 900).await;
    ui.b.delete_cookies().await;
    for (lang, theme) in [("en", "dark"), ("zh", "light"), ("zh", "dark")] {
        ui.b.eval(
            "localStorage.setItem('switchboard.lang', arguments[0]); localStorage.setItem('switchboard.theme', arguments[1]);",
            json!([lang, theme]),
        )
        .await;
        ui.goto("/ui/").await;
        ui.b.text("#signin form").await;
        n += 1;
        ui.shot(&format!("{n:02}-signin-{lang}-{theme}")).await;
    }
    ui.check("end").await;
    ui.b.quit().await;
    drop(gw);
}

/// The Keys & users page as an admin and as a member: a key made (shown once, with its copy
/// button), used by a client, its budget and usage shown, revoked; a member signed in with a
/// password sees their own key only, and no admin page.
#[tokio::test]
async fn the_keys_page_makes_a_key_shows_it_once_and_revokes_it() {
    let Some((chromium, chromedriver)) = webdriver::find() else {
        assert!(
            std::env::var("SWITCHBOARD_REQUIRE_CLIENTS").as_deref() != Ok("1"),
            "Chromium and chromedriver are required (SWITCHBOARD_REQUIRE_CLIENTS=1): run scripts/setup-test-deps.sh"
        );
        eprintln!("SKIPPED: no chromium/chromedriver on PATH");
        return;
    };
    let up = MockUpstream::start(Reply::error(500, "api_error", "unscripted")).await;
    up.respond_with(answering("claude-sonnet-4-5", "Hello from primary"));
    let gw = TestGateway::builder()
        .endpoint(
            "primary",
            "anthropic",
            &up.url(),
            "api_key = \"sk-primary-0123456789abcdef\"",
        )
        .start()
        .await;
    let admin =
        |m: reqwest::Method, p: &str, body: Value| gw.admin_request(m, p).json(&body).send();
    admin(
        reqwest::Method::POST,
        "/api/admin/users",
        json!({"name": "mia", "role": "member", "password": "mia-password-1"}),
    )
    .await
    .expect("member");
    admin(
        reqwest::Method::POST,
        "/api/admin/keys",
        json!({"name": "mia-laptop", "user": "mia"}),
    )
    .await
    .expect("mia's key");

    let mut ui = Ui::open(&gw, &chromium, &chromedriver).await;
    ui.sign_in_with_link(&gw).await;
    ui.b.click("nav a[href='/ui/keys']").await;
    ui.settled("#keys").await;
    ui.b.text("#keys tr[data-key='mia-laptop']").await;

    // Make a key: shown once, with a copy button.
    ui.b.type_into("#create-key input[name=name]", "browser-key")
        .await;
    ui.b.type_into("#create-key input[name=budgets]", "5usd/day")
        .await;
    ui.b.type_into("#create-key input[name=rpm]", "60").await;
    ui.b.click("#make-key").await;
    let key = ui.b.text("#new-key-value").await;
    assert!(key.starts_with("sb-") && key.len() == 46, "{key}");
    ui.b.visible("#copy-key").await;
    let hint = ui.b.text("#new-key").await;
    assert!(
        hint.contains("ANTHROPIC_AUTH_TOKEN=<key>"),
        "Claude Code takes a key as ANTHROPIC_AUTH_TOKEN: {hint}"
    );
    ui.shot("keys-made-once-en-light").await;
    ui.b.click("#close-new-key").await;
    ui.b.wait_for(
        "the key to be gone",
        "return !document.querySelector('#new-key')",
    )
    .await;
    let page = ui.b.text("main").await;
    assert!(!page.contains(&key), "the key is shown once only");
    let row = ui.b.text("#keys tr[data-key='browser-key']").await;
    assert!(row.contains(&key[..10]), "the masked key is listed: {row}");

    // A client uses it; the page shows its use and its budget, and the week's usage by day.
    let call_with = |k: String, model: &'static str| {
        gw.http
            .post(format!("{}/v1/messages", gw.url))
            .header("x-api-key", k)
            .json(&json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let call = |k: String| call_with(k, "claude-sonnet-4-5");
    assert_eq!(call(key.clone()).await.expect("call").status(), 200);
    ui.goto("/ui/keys").await;
    ui.settled("#keys").await;
    let row = ui.b.text("#keys tr[data-key='browser-key']").await;
    assert!(
        row.contains("5usd/day") && row.contains("60 requests/min"),
        "{row}"
    );
    ui.b.text("#usage tr[data-usage='browser-key']").await;
    // The chart's time axis spans the last seven days (uPlot counts in seconds), not years.
    let range = ui
        .b
        .wait_for(
            "the usage chart",
            "const c = document.querySelector('[data-chart=usage-cost]'); return c && c.dataset.xMax && [Number(c.dataset.xMin), Number(c.dataset.xMax)]",
        )
        .await;
    let (from, to) = (
        range[0].as_f64().unwrap_or(0.0),
        range[1].as_f64().unwrap_or(0.0),
    );
    #[expect(clippy::cast_precision_loss, reason = "seconds since 1970 fit an f64")]
    let now = Utc::now().timestamp() as f64;
    assert!(
        (6.0..=8.0).contains(&((to - from) / 86_400.0)) && from < now && now < to + 86_400.0,
        "the axis shows the week to now, in seconds: {range} (now {now})"
    );
    ui.shot("keys-en-light").await;

    // Its limits edited on the page: only Sonnet from the next request on, the rest kept.
    ui.b.click("#keys button[data-edit='browser-key']").await;
    ui.b.type_into("#keys .edit-limits input[name=models]", "claude-sonnet-*")
        .await;
    ui.shot("keys-edit-limits-en-light").await;
    ui.b.click("#keys .edit-limits button[type=submit]").await;
    ui.b.wait_for(
        "the edit form to close",
        "return !document.querySelector('#keys .edit-limits')",
    )
    .await;
    let row = ui.b.text("#keys tr[data-key='browser-key']").await;
    assert!(
        row.contains("claude-sonnet-*")
            && row.contains("60 requests/min")
            && row.contains("5usd/day"),
        "the new allowlist with the limits kept: {row}"
    );
    let hits = up.hits();
    let refused = call_with(key.clone(), "claude-opus-4-1")
        .await
        .expect("call");
    assert_eq!(refused.status(), 403);
    let refusal: Value = refused.json().await.expect("refusal json");
    assert_eq!(refusal["error"]["type"], "permission_error", "{refusal}");
    assert!(
        refusal["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("claude-opus-4-1") && m.contains("claude-sonnet-*")),
        "the refusal names the model and what the key may use: {refusal}"
    );
    assert_eq!(up.hits(), hits, "nothing reached the upstream");
    assert_eq!(call(key.clone()).await.expect("call").status(), 200);
    ui.check("/ui/keys (limits edited)").await;

    // In Chinese and in the dark theme; a key made there shows the Claude Code hint too.
    for (lang, theme) in [("zh", "light"), ("en", "dark"), ("zh", "dark")] {
        ui.b.eval(
            "localStorage.setItem('switchboard.lang', arguments[0]); localStorage.setItem('switchboard.theme', arguments[1]);",
            json!([lang, theme]),
        )
        .await;
        ui.goto("/ui/keys").await;
        ui.settled("#keys").await;
        let title = ui.b.text("main h1").await;
        assert_eq!(
            title,
            if lang == "zh" {
                "密钥与用户"
            } else {
                "Keys & users"
            }
        );
        let bg =
            ui.b.eval(
                "return getComputedStyle(document.body).backgroundColor",
                json!([]),
            )
            .await;
        assert_eq!(
            bg == "rgb(15, 18, 23)",
            theme == "dark",
            "the {theme} theme applies: {bg}"
        );
        ui.b.text("[data-chart=usage-cost]").await;
        ui.shot(&format!("keys-{lang}-{theme}")).await;
        ui.check(&format!("/ui/keys ({lang}, {theme})")).await;
    }
    ui.b.type_into("#create-key input[name=name]", "zh-key")
        .await;
    ui.b.click("#make-key").await;
    let hint = ui.b.text("#new-key").await;
    assert!(
        hint.contains("ANTHROPIC_AUTH_TOKEN") && hint.contains("只显示这一次"),
        "{hint}"
    );
    ui.shot("keys-made-once-zh-dark").await;
    ui.b.click("#close-new-key").await;
    ui.check("/ui/keys (a key made in Chinese)").await;

    // On a phone: no sideways scrolling, with the key shown once and the edit form open.
    ui.b.set_size(390, 844).await;
    for lang in ["en", "zh"] {
        ui.b.eval(
            "localStorage.setItem('switchboard.lang', arguments[0]); localStorage.setItem('switchboard.theme', 'light');",
            json!([lang]),
        )
        .await;
        ui.goto("/ui/keys").await;
        ui.settled("#keys").await;
        ui.b.text("[data-chart=usage-cost]").await;
        ui.assert_no_horizontal_overflow(&format!("keys ({lang})"))
            .await;
        ui.shot(&format!("keys-mobile-{lang}-light")).await;
    }
    ui.b.type_into("#create-key input[name=name]", "phone-key")
        .await;
    ui.b.click("#make-key").await;
    let shown = ui.b.text("#new-key-value").await;
    assert!(shown.starts_with("sb-"), "{shown}");
    ui.assert_no_horizontal_overflow("a key shown once (zh)")
        .await;
    ui.shot("keys-made-once-mobile-zh-light").await;
    ui.b.click("#close-new-key").await;
    ui.b.click("#keys button[data-edit='browser-key']").await;
    ui.b.text("#keys .edit-limits").await;
    ui.assert_no_horizontal_overflow("the edit form (zh)").await;
    ui.shot("keys-edit-limits-mobile-zh-light").await;
    ui.check("/ui/keys (phone)").await;
    ui.b.set_size(1280, 900).await;
    ui.b.eval(
        "localStorage.setItem('switchboard.lang', 'en'); localStorage.setItem('switchboard.theme', 'light');",
        json!([]),
    )
    .await;
    ui.goto("/ui/keys").await;
    ui.settled("#keys").await;

    // Revoke it: refused from the next request on.
    ui.b.eval("window.confirm = () => true;", json!([])).await;
    ui.b.click("#keys button[data-revoke='browser-key']").await;
    ui.b.wait_for(
        "the key to show as revoked",
        "return document.querySelector(\"#keys tr[data-key='browser-key'] [data-state=revoked]\")",
    )
    .await;
    assert_eq!(call(key.clone()).await.expect("call").status(), 401);
    ui.check("/ui/keys").await;

    // A member: their own key only, and no admin page in the navigation.
    ui.b.click("#sign-out").await;
    ui.b.text("#signin form").await;
    ui.b.type_into("#signin input[name=name]", "mia").await;
    ui.b.type_into("#signin input[name=password]", "mia-password-1")
        .await;
    ui.b.click("#signin button[type=submit]").await;
    ui.settled("#keys").await;
    let nav = ui.b.text("nav").await;
    assert!(!nav.contains("Overview") && nav.contains("Keys"), "{nav}");
    let keys = ui.b.text("#keys").await;
    assert!(
        keys.contains("mia-laptop") && !keys.contains("browser-key"),
        "{keys}"
    );
    assert!(
        ui.b.eval("return !document.querySelector('#create-key')", json!([]))
            .await
            == json!(true),
        "a member makes no keys"
    );
    ui.shot("keys-member").await;
    ui.check("/ui/keys (member)").await;
    ui.b.quit().await;
    gw.shutdown().await;
}

/// The seed of `~/.claude.json`: Claude Code's own keys, which the page must never disturb.
const CLAUDE_JSON: &str = r#"{
  "numStartups": 7,
  "hasCompletedOnboarding": true,
  "mcpServers": {
    "existing": {
      "command": "npx",
      "args": [
        "-y",
        "@example/server"
      ],
      "futureField": {"keep": true}
    }
  },
  "cachedGrowthBookFeatures": {"a": 1}
}
"#;

const MCP_TOKEN: &str = "ghp_0123456789abcdefghijWXYZ";

#[tokio::test]
async fn the_claude_code_page_switches_profiles_edits_mcp_servers_and_skills_and_shows_sessions() {
    let Some((chromium, chromedriver)) = webdriver::find() else {
        assert!(
            std::env::var("SWITCHBOARD_REQUIRE_CLIENTS").as_deref() != Ok("1"),
            "Chromium and chromedriver are required (SWITCHBOARD_REQUIRE_CLIENTS=1): run scripts/setup-test-deps.sh"
        );
        eprintln!("SKIPPED: no chromium/chromedriver on PATH");
        return;
    };
    let first = MockUpstream::start(Reply::error(500, "api_error", "unscripted")).await;
    first.respond_with(answering("claude-sonnet-4-5", "Hello from first"));
    let second = MockUpstream::start(Reply::error(500, "api_error", "unscripted")).await;
    second.respond_with(answering("claude-sonnet-4-5", "Hello from second"));
    let gw = TestGateway::builder()
        .endpoint("first-ep", "anthropic", &first.url(), "api_key = \"sk-first-0123456789abcdef\"")
        .endpoint("second-ep", "anthropic", &second.url(), "api_key = \"sk-second-0123456789abcdef\"")
        .routing("max_retries = 0\nprofile = \"work\"\n")
        .extra("[[profiles]]\nname = \"work\"\nendpoints = [\"first-ep\", \"second-ep\"]\n\n[[profiles]]\nname = \"cheap\"\nendpoints = [\"second-ep\", \"first-ep\"]\n[profiles.models]\nsonnet = \"glm-5.1\"\n")
        .start()
        .await;
    // Claude Code's files in the gateway's home: settings pointing at the gateway, and a
    // ~/.claude.json with keys the page must keep.
    let home = gw.data_dir().join("home");
    std::fs::create_dir_all(home.join(".claude")).expect("home");
    std::fs::write(
        home.join(".claude/settings.json"),
        format!(
            "{{\n  \"env\": {{\n    \"ANTHROPIC_BASE_URL\": \"{}\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"sb-settings-token-0123456789abcdef\"\n  }}\n}}\n",
            gw.url
        ),
    )
    .expect("settings.json");
    let claude_json = home.join(".claude.json");
    std::fs::write(&claude_json, CLAUDE_JSON).expect("~/.claude.json");
    let source = tempfile::tempdir().expect("skill source");
    let skill = source.path().join("pdf-tools");
    std::fs::create_dir_all(&skill).expect("skill folder");
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: pdf-tools\ndescription: Fill and merge PDF forms.\n---\n\n# PDF tools\n",
    )
    .expect("SKILL.md");

    // A Claude Code session's requests (Claude Code sends its session id with each).
    let turn = |session: &'static str| {
        gw.http
            .post(format!("{}/v1/messages", gw.url))
            .header("x-claude-code-session-id", session)
            .header("user-agent", "claude-cli/2.1.330 (external, cli)")
            .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(turn("sess-browser-1").await.expect("turn").status(), 200);
    }
    assert_eq!(
        (first.hits(), second.hits()),
        (2, 0),
        "`work` goes to first-ep"
    );
    gw.wait_for_logs(2).await;

    let mut ui = Ui::open(&gw, &chromium, &chromedriver).await;
    ui.sign_in_with_link(&gw).await;
    ui.b.click("nav a[href='/ui/claude']").await;
    ui.settled("#claude-settings").await;
    ui.b.text("#sessions tr[data-session]").await;

    // Settings: the gateway's keys, the token masked.
    let settings = ui.b.text("#claude-settings").await;
    assert!(
        settings.contains(&gw.url) && settings.contains("sb-setting…cdef"),
        "{settings}"
    );
    assert!(!settings.contains("sb-settings-token-0123456789abcdef"));

    // Sessions: the two turns, linking to the request list filtered by the session.
    let row =
        ui.b.text("#sessions tr[data-session='sess-browser-1']")
            .await;
    assert!(row.contains('2'), "{row}");
    ui.shot("claude-en-light").await;

    // Profiles: one click puts `cheap` in force; the next request goes to its endpoint.
    ui.b.text("#profiles [data-in-force='work']").await;
    ui.b.click("#profiles button[data-use='cheap']").await;
    ui.b.text("#profiles [data-in-force='cheap']").await;
    assert_eq!(turn("sess-browser-1").await.expect("turn").status(), 200);
    assert_eq!(
        (first.hits(), second.hits()),
        (2, 1),
        "the switch applies to the next request"
    );
    assert_eq!(
        second.requests()[0].json()["model"],
        "glm-5.1",
        "with the profile's model map"
    );
    ui.check("/ui/claude (profile switched)").await;

    // MCP: add a server with a secret, edit it, disable, enable and remove it.
    let seen = |what: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(&claude_json).expect("read ~/.claude.json"))
            .unwrap_or_else(|e| panic!("~/.claude.json after {what}: {e}"))
    };
    ui.b.click("#mcp-add summary").await;
    ui.b.type_into("#mcp-add input[name=name]", "browser-tools")
        .await;
    ui.b.type_into("#mcp-add input[name=command]", "uvx").await;
    ui.b.type_into("#mcp-add textarea[name=args]", "mcp-browser")
        .await;
    ui.b.type_into(
        "#mcp-add textarea[name=env]",
        &format!("API_TOKEN={MCP_TOKEN}"),
    )
    .await;
    ui.shot("claude-mcp-add-en-light").await;
    ui.b.click("#mcp-create").await;
    let row = ui.b.text("#mcp tr[data-mcp='user/browser-tools']").await;
    assert!(row.contains("uvx mcp-browser"), "{row}");
    let v = seen("add");
    assert_eq!(
        v["mcpServers"]["browser-tools"],
        json!({"command": "uvx", "args": ["mcp-browser"], "env": {"API_TOKEN": MCP_TOKEN}})
    );
    assert_eq!(v["numStartups"], 7);
    assert_eq!(
        v["mcpServers"]["existing"]["futureField"],
        json!({"keep": true})
    );

    ui.b.click("#mcp button[data-edit='user/browser-tools']")
        .await;
    let env =
        ui.b.eval(
            "return document.querySelector('#mcp .edit-row textarea[name=env]').value",
            json!([]),
        )
        .await;
    assert_eq!(
        env,
        json!("API_TOKEN=ghp_012345…WXYZ"),
        "the secret is shown masked"
    );
    ui.b.type_into(
        "#mcp .edit-row textarea[name=args]",
        "mcp-browser\n--verbose",
    )
    .await;
    ui.shot("claude-mcp-edit-en-light").await;
    ui.b.click("#mcp-save").await;
    ui.b.wait_for(
        "the edit form to close",
        "return !document.querySelector('#mcp .edit-row')",
    )
    .await;
    let v = seen("edit");
    assert_eq!(
        v["mcpServers"]["browser-tools"],
        json!({"command": "uvx", "args": ["mcp-browser", "--verbose"], "env": {"API_TOKEN": MCP_TOKEN}}),
        "the masked secret sent back kept its value"
    );
    let page = ui.b.text("main").await;
    assert!(!page.contains(MCP_TOKEN), "the secret is never shown whole");

    ui.b.click("#mcp button[data-toggle='user/browser-tools']")
        .await;
    ui.b.text("#mcp tr[data-mcp='user/browser-tools'][data-status='disabled_by_switchboard']")
        .await;
    assert!(
        seen("disable")["mcpServers"].get("browser-tools").is_none(),
        "Claude Code no longer sees it"
    );
    ui.b.click("#mcp button[data-toggle='user/browser-tools']")
        .await;
    ui.b.text("#mcp tr[data-mcp='user/browser-tools'][data-status='enabled']")
        .await;
    assert_eq!(
        seen("enable")["mcpServers"]["browser-tools"]["args"],
        json!(["mcp-browser", "--verbose"])
    );
    ui.b.eval("window.confirm = () => true;", json!([])).await;
    ui.b.click("#mcp button[data-remove='user/browser-tools']")
        .await;
    ui.b.wait_for(
        "the server to be gone",
        "return !document.querySelector(\"#mcp tr[data-mcp='user/browser-tools']\")",
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(&claude_json).expect("read ~/.claude.json"),
        CLAUDE_JSON,
        "after add, edit, disable, enable and remove, ~/.claude.json is byte for byte what it was"
    );
    // Saving a server the page did not write, unchanged: its unknown field stays, and so does
    // every byte of the file.
    ui.b.click("#mcp button[data-edit='user/existing']").await;
    ui.b.click("#mcp-save").await;
    ui.b.wait_for(
        "the edit form to close",
        "return !document.querySelector('#mcp .edit-row')",
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(&claude_json).expect("read ~/.claude.json"),
        CLAUDE_JSON,
        "an edit that changes nothing writes nothing new"
    );
    ui.check("/ui/claude (MCP)").await;

    // A bad name is refused with the reason, in the form (the browser logs the 400).
    ui.allowed.push(
        "api/admin/claude/mcp - Failed to load resource: the server responded with a status of 400"
            .into(),
    );
    ui.b.type_into("#mcp-add input[name=name]", "bad name")
        .await;
    ui.b.type_into("#mcp-add input[name=command]", "x").await;
    ui.b.click("#mcp-create").await;
    let refusal = ui.b.text("#mcp-add .error-box").await;
    assert!(refusal.contains("letters, digits"), "{refusal}");
    assert_eq!(
        std::fs::read_to_string(&claude_json).expect("read"),
        CLAUDE_JSON
    );

    // Skills: installed from a local folder, listed, removed.
    ui.b.click("#skill-add summary").await;
    ui.b.type_into("#skill-add input[name=source]", &skill.to_string_lossy())
        .await;
    ui.b.click("#skill-create").await;
    let row = ui.b.text("#skills tr[data-skill='pdf-tools']").await;
    assert!(row.contains("Fill and merge PDF forms."), "{row}");
    let installed = home.join(".claude/skills/pdf-tools/SKILL.md");
    assert!(installed.is_file(), "copied into ~/.claude/skills");
    ui.shot("claude-skills-en-light").await;
    ui.b.click("#skills button[data-remove-skill='pdf-tools']")
        .await;
    ui.b.wait_for(
        "the skill to be gone",
        "return !document.querySelector(\"#skills tr[data-skill='pdf-tools']\")",
    )
    .await;
    assert!(!installed.exists());
    ui.check("/ui/claude (skills)").await;

    // The session's link: the request list filtered by it.
    ui.b.click("#sessions tr[data-session='sess-browser-1'] a")
        .await;
    ui.b.text("#session-filter").await;
    let rows = ui
        .b
        .wait_for(
            "the session's requests",
            "const r = document.querySelectorAll('#requests-table tbody tr'); return r.length === 3 && r.length",
        )
        .await;
    assert_eq!(rows, json!(3));
    ui.shot("claude-session-requests-en-light").await;
    ui.check("/ui/requests?session=…").await;

    // Both languages, both themes, and a phone.
    for (lang, theme) in [("zh", "light"), ("en", "dark"), ("zh", "dark")] {
        ui.b.eval(
            "localStorage.setItem('switchboard.lang', arguments[0]); localStorage.setItem('switchboard.theme', arguments[1]);",
            json!([lang, theme]),
        )
        .await;
        ui.goto("/ui/claude").await;
        ui.settled("#claude-settings").await;
        ui.b.text("#sessions tr[data-session]").await;
        let title = ui.b.text("main h1").await;
        assert_eq!(title, "Claude Code");
        let profiles = ui.b.text("#profiles").await;
        assert!(
            profiles.contains(if lang == "zh" {
                "生效中"
            } else {
                "in force"
            }),
            "{profiles}"
        );
        ui.shot(&format!("claude-{lang}-{theme}")).await;
        ui.check(&format!("/ui/claude ({lang}, {theme})")).await;
    }
    ui.b.set_size(390, 844).await;
    for lang in ["en", "zh"] {
        ui.b.eval(
            "localStorage.setItem('switchboard.lang', arguments[0]); localStorage.setItem('switchboard.theme', 'light');",
            json!([lang]),
        )
        .await;
        ui.goto("/ui/claude").await;
        ui.settled("#claude-settings").await;
        ui.b.text("#sessions tr[data-session]").await;
        ui.b.click("#mcp-add summary").await;
        ui.b.text("#mcp-add form").await;
        ui.assert_no_horizontal_overflow(&format!("claude ({lang})"))
            .await;
        ui.shot(&format!("claude-mobile-{lang}-light")).await;
        ui.check(&format!("/ui/claude (phone, {lang})")).await;
    }
    ui.b.quit().await;
    gw.shutdown().await;
}
