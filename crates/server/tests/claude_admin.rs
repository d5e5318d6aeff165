//! The control plane's Claude Code routes (issue #18) against a home of the test's own (the
//! gateway's `claude_home`): MCP servers added, edited, disabled, enabled and removed in the
//! three scopes with every other byte of `~/.claude.json` and `.mcp.json` kept, secrets masked
//! and kept when sent back masked, bad names and paths refused with a clear error, a skill
//! installed from a local folder and removed, the settings status with the token masked, and
//! profiles listed and switched.

use std::fs;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_test_support::TestGateway;

async fn json_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body = resp.text().await.expect("body");
    let v = serde_json::from_str(&body).unwrap_or_else(|_| json!({"raw": body}));
    (status, v)
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

/// A refusal: its status and message.
async fn refused(
    gw: &TestGateway,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, String) {
    let (status, v) = call(gw, method.clone(), path, body).await;
    assert_ne!(status, 200, "{method} {path} was accepted: {v}");
    (
        status,
        v["error"]["message"]
            .as_str()
            .expect("an error message")
            .to_owned(),
    )
}

/// The test's home (the gateway's `claude_home`), created.
fn home(gw: &TestGateway) -> PathBuf {
    let home = gw.data_dir().join("home");
    fs::create_dir_all(&home).expect("home");
    home
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).expect("a file the test reads")
}

/// `project=DIR` for a query string.
fn q(project: &Path) -> String {
    format!("project={}", project.display())
}

const TOKEN: &str = "ghp_0123456789abcdefghijWXYZ";

/// A `~/.claude.json` as Claude Code writes it, with keys and a project entry the gateway does
/// not manage, and a `.mcp.json` with a key of its own.
fn seed(home: &Path, project: &Path) -> (String, String) {
    let claude_json = format!(
        r#"{{
  "numStartups": 42,
  "theme": "dark",
  "mcpServers": {{
    "existing": {{
      "command": "npx",
      "args": [
        "-y",
        "@example/server"
      ],
      "futureField": {{"keep": true}}
    }}
  }},
  "projects": {{
    "{}": {{
      "hasTrustDialogAccepted": true,
      "allowedTools": [],
      "mcpServers": {{}}
    }}
  }},
  "cachedGrowthBookFeatures": {{"a": 1}}
}}
"#,
        project.display()
    );
    let mcp_json = "{\n    \"mcpServers\": {},\n    \"x-team-note\": \"keep me\"\n}\n".to_owned();
    fs::write(home.join(".claude.json"), &claude_json).expect("seed ~/.claude.json");
    fs::write(project.join(".mcp.json"), &mcp_json).expect("seed .mcp.json");
    (claude_json, mcp_json)
}

#[tokio::test]
async fn mcp_servers_in_three_scopes_keep_every_other_byte() {
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", "http://127.0.0.1:9", "")
        .start()
        .await;
    let home = home(&gw);
    let project_dir = tempfile::tempdir().expect("project");
    let project = project_dir.path().canonicalize().expect("project path");
    let (claude_json, mcp_json) = seed(&home, &project);
    let claude_path = home.join(".claude.json");
    let mcp_path = project.join(".mcp.json");
    let files = || (read(&claude_path), read(&mcp_path));

    // One server per scope, then each removed: both files are back byte for byte.
    for (scope, entry) in [
        (
            "user",
            json!({"command": "uvx", "args": ["mcp-tool"], "env": {"API_TOKEN": TOKEN, "MODE": "a"}}),
        ),
        (
            "local",
            json!({"type": "http", "url": "https://mcp.example/mcp", "headers": {"Authorization": format!("Bearer {TOKEN}")}}),
        ),
        (
            "project",
            json!({"type": "sse", "url": "https://mcp.example/sse"}),
        ),
    ] {
        let added = ok(
            &gw,
            Method::POST,
            "/api/admin/claude/mcp",
            Some(json!({"scope": scope, "project": project, "name": "tools", "entry": entry})),
        )
        .await;
        assert_eq!(added["added"], "tools");
    }
    let list = ok(
        &gw,
        Method::GET,
        &format!("/api/admin/claude/mcp?{}", q(&project)),
        None,
    )
    .await;
    let text = list.to_string();
    assert!(!text.contains(TOKEN), "a secret was shown: {text}");
    let servers = list["servers"].as_array().expect("servers");
    let find = |scope: &str, name: &str| {
        servers
            .iter()
            .find(|s| s["scope"] == scope && s["name"] == name)
            .unwrap_or_else(|| panic!("{scope}/{name} in {servers:?}"))
            .clone()
    };
    let user = find("user", "tools");
    assert_eq!(user["entry"]["env"]["API_TOKEN"], "ghp_012345…WXYZ");
    assert_eq!(user["entry"]["env"]["MODE"], "a");
    assert_eq!(
        find("local", "tools")["entry"]["headers"]["Authorization"],
        "Bearer ghp…WXYZ"
    );
    assert_eq!(find("local", "tools")["shadowed_by"], Value::Null);
    assert_eq!(find("user", "tools")["shadowed_by"], "local");
    assert_eq!(find("project", "tools")["status"], "needs_approval");
    assert_eq!(find("user", "existing")["transport"], "stdio");
    // Nothing else in the files moved.
    let now: Value = serde_json::from_str(&read(&claude_path)).expect("json");
    assert_eq!(now["numStartups"], 42);
    assert_eq!(now["cachedGrowthBookFeatures"], json!({"a": 1}));
    assert_eq!(
        now["projects"][project.to_string_lossy().as_ref()]["hasTrustDialogAccepted"],
        true
    );
    assert_eq!(
        now["mcpServers"]["existing"]["futureField"],
        json!({"keep": true})
    );

    // An edit sends the masked secret back with a new MODE: the secret is kept, so are the
    // fields the form does not know.
    let url = |scope: &str, name: &str, tail: &str| {
        format!("/api/admin/claude/mcp/{scope}/{name}{tail}?{}", q(&project))
    };
    ok(
        &gw,
        Method::PUT,
        &url("user", "tools", ""),
        Some(
            json!({"entry": {"env": user["entry"]["env"].clone().as_object().map(|m| {
                let mut m = m.clone();
                m.insert("MODE".into(), json!("b"));
                m
            })}}),
        ),
    )
    .await;
    let now: Value = serde_json::from_str(&read(&claude_path)).expect("json");
    assert_eq!(
        now["mcpServers"]["tools"]["env"],
        json!({"API_TOKEN": TOKEN, "MODE": "b"})
    );
    assert_eq!(now["mcpServers"]["tools"]["args"], json!(["mcp-tool"]));
    // The unknown field of a server the page edits stays.
    ok(
        &gw,
        Method::PUT,
        &url("user", "existing", ""),
        Some(json!({"entry": {"args": ["-y", "@example/server@2"]}})),
    )
    .await;
    let now: Value = serde_json::from_str(&read(&claude_path)).expect("json");
    assert_eq!(
        now["mcpServers"]["existing"]["futureField"],
        json!({"keep": true})
    );
    assert_eq!(
        now["mcpServers"]["existing"]["args"],
        json!(["-y", "@example/server@2"])
    );
    ok(
        &gw,
        Method::PUT,
        &url("user", "existing", ""),
        Some(json!({"entry": {"args": ["-y", "@example/server"]}})),
    )
    .await;

    // Disabled and enabled in each scope: the way back gives the same bytes.
    for scope in ["user", "local", "project"] {
        let before = files();
        let off = ok(&gw, Method::POST, &url(scope, "tools", "/disable"), None).await;
        assert_eq!(off["already"], false, "{scope}: {off}");
        let listed = ok(
            &gw,
            Method::GET,
            &format!("/api/admin/claude/mcp?{}", q(&project)),
            None,
        )
        .await;
        let status = listed["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .find(|s| s["scope"] == scope && s["name"] == "tools")
            .map(|s| s["status"].clone());
        assert_ne!(status, Some(json!("enabled")), "{scope}: {listed}");
        ok(&gw, Method::POST, &url(scope, "tools", "/enable"), None).await;
        if scope != "project" {
            assert_eq!(files().0, before.0, "{scope}: disable then enable");
        }
    }

    // Removed everywhere: ~/.claude.json is byte for byte the seed, and .mcp.json too.
    for scope in ["user", "local", "project"] {
        let removed = ok(&gw, Method::DELETE, &url(scope, "tools", ""), None).await;
        assert_eq!(removed["removed"], "tools");
    }
    assert_eq!(read(&claude_path), claude_json);
    assert_eq!(read(&mcp_path), mcp_json);
}

#[tokio::test]
async fn bad_names_scopes_and_projects_are_refused_with_the_reason() {
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", "http://127.0.0.1:9", "")
        .start()
        .await;
    let home = home(&gw);
    let project_dir = tempfile::tempdir().expect("project");
    let project = project_dir.path().canonicalize().expect("project path");
    let (claude_json, _) = seed(&home, &project);
    let cases = [
        (
            Method::POST,
            "/api/admin/claude/mcp".to_owned(),
            Some(json!({"scope": "user", "name": "my tools", "entry": {"command": "x"}})),
            400,
            "letters, digits",
        ),
        (
            Method::POST,
            "/api/admin/claude/mcp".to_owned(),
            Some(json!({"scope": "user", "name": "../x", "entry": {"command": "x"}})),
            400,
            "letters, digits",
        ),
        (
            Method::POST,
            "/api/admin/claude/mcp".to_owned(),
            Some(json!({"scope": "user", "name": "web", "entry": {"url": "https://x"}})),
            400,
            "no \"type\"",
        ),
        (
            Method::POST,
            "/api/admin/claude/mcp".to_owned(),
            Some(
                json!({"scope": "local", "project": "relative/dir", "name": "x", "entry": {"command": "x"}}),
            ),
            400,
            "absolute path",
        ),
        (
            Method::POST,
            "/api/admin/claude/mcp".to_owned(),
            Some(json!({"scope": "local", "name": "x", "entry": {"command": "x"}})),
            400,
            "needs the project's folder",
        ),
        (
            Method::DELETE,
            "/api/admin/claude/mcp/etc/passwd".to_owned(),
            None,
            404,
            "no MCP scope",
        ),
        (
            Method::DELETE,
            "/api/admin/claude/mcp/user/nope".to_owned(),
            None,
            404,
            "no MCP server \"nope\"",
        ),
        (
            Method::DELETE,
            "/api/admin/claude/skills/user/..%2F..%2Fetc".to_owned(),
            None,
            400,
            "is not a skill folder name",
        ),
        (
            Method::DELETE,
            "/api/admin/claude/skills/user/.hidden".to_owned(),
            None,
            400,
            "is not a skill folder name",
        ),
        (
            Method::POST,
            "/api/admin/claude/skills".to_owned(),
            Some(json!({"source": "/nowhere/at/all"})),
            400,
            "is not an existing folder",
        ),
        (
            Method::POST,
            "/api/admin/claude/skills".to_owned(),
            Some(
                json!({"source": "https://github.com/o/r.git", "path": "../../etc", "ref": "main"}),
            ),
            400,
            "must be a folder inside the source",
        ),
        (
            Method::POST,
            "/api/admin/claude/skills".to_owned(),
            Some(json!({"source": "https://github.com/o/r.git", "ref": "--upload-pack=x"})),
            400,
            "is not a branch, tag or commit name",
        ),
    ];
    for (method, path, body, status, says) in cases {
        let (got, message) = refused(&gw, method.clone(), &path, body.clone()).await;
        assert_eq!(got, status, "{method} {path} {body:?}: {message}");
        assert!(
            message.contains(says),
            "{method} {path} {body:?}: {message:?} should say {says:?}"
        );
    }
    assert_eq!(read(&home.join(".claude.json")), claude_json);
    assert!(!home.join(".claude").join("skills").exists());
}

#[tokio::test]
async fn a_skill_is_installed_from_a_folder_listed_and_removed() {
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", "http://127.0.0.1:9", "")
        .start()
        .await;
    let home = home(&gw);
    let source = tempfile::tempdir().expect("source");
    let skill = source.path().join("pdf-tools");
    fs::create_dir_all(skill.join("scripts")).expect("mkdir");
    fs::write(
        skill.join("SKILL.md"),
        "---\nname: pdf-tools\ndescription: Fill and merge PDF forms.\nlicense: MIT\n---\n\n# PDF tools\n",
    )
    .expect("SKILL.md");
    fs::write(skill.join("scripts").join("fill.py"), "print('fill')\n").expect("script");

    let installed = ok(
        &gw,
        Method::POST,
        "/api/admin/claude/skills",
        Some(json!({"source": skill})),
    )
    .await;
    let one = &installed["installed"][0];
    assert_eq!(one["name"], "pdf-tools", "{installed}");
    assert_eq!(one["source"]["kind"], "folder");
    assert_eq!(one["files"], 2);
    let dir = home.join(".claude/skills/pdf-tools");
    assert_eq!(read(&dir.join("scripts/fill.py")), "print('fill')\n");
    assert!(
        !fs::symlink_metadata(&dir)
            .expect("installed")
            .file_type()
            .is_symlink(),
        "a copy, not a link"
    );

    let list = ok(&gw, Method::GET, "/api/admin/claude/skills", None).await;
    let skills = list["skills"].as_array().expect("skills");
    assert_eq!(skills.len(), 1, "{list}");
    assert_eq!(
        skills[0]["meta"]["description"],
        "Fill and merge PDF forms."
    );
    assert_eq!(skills[0]["record"]["source"]["kind"], "folder");
    assert_eq!(skills[0]["local_changes"], Value::Null);

    // Installing it again is refused (the name is taken) unless forced.
    let (status, message) = refused(
        &gw,
        Method::POST,
        "/api/admin/claude/skills",
        Some(json!({"source": skill})),
    )
    .await;
    assert_eq!(status, 409, "{message}");
    // Update from the same folder after a change in the source: the change is reported.
    fs::write(skill.join("scripts").join("merge.py"), "print('merge')\n").expect("script");
    let updated = ok(
        &gw,
        Method::POST,
        "/api/admin/claude/skills/user/pdf-tools/update",
        Some(json!({})),
    )
    .await;
    assert_eq!(
        updated["changes"]["added"],
        json!(["scripts/merge.py"]),
        "{updated}"
    );
    assert_eq!(updated["applied"], true);
    assert!(dir.join("scripts/merge.py").is_file());

    // A broken SKILL.md is refused with the reason, nothing written.
    let broken = source.path().join("Bad Skill");
    fs::create_dir_all(&broken).expect("mkdir");
    fs::write(broken.join("SKILL.md"), "---\nname: Bad Skill\n---\n").expect("SKILL.md");
    let (status, message) = refused(
        &gw,
        Method::POST,
        "/api/admin/claude/skills",
        Some(json!({"source": broken})),
    )
    .await;
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("is not a valid skill"), "{message}");

    let removed = ok(
        &gw,
        Method::DELETE,
        "/api/admin/claude/skills/user/pdf-tools",
        None,
    )
    .await;
    assert!(
        removed["removed"]
            .as_str()
            .is_some_and(|d| d.ends_with("pdf-tools")),
        "{removed}"
    );
    assert!(!dir.exists());
    let list = ok(&gw, Method::GET, "/api/admin/claude/skills", None).await;
    assert_eq!(list["skills"], json!([]));
}

#[tokio::test]
async fn settings_status_shows_the_gateway_keys_with_the_token_masked() {
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", "http://127.0.0.1:9", "")
        .start()
        .await;
    let home = home(&gw);
    let status = ok(&gw, Method::GET, "/api/admin/claude/settings", None).await;
    assert_eq!(status["exists"], false, "{status}");
    fs::create_dir_all(home.join(".claude")).expect("mkdir");
    fs::write(
        home.join(".claude/settings.json"),
        format!(
            "{{\n  \"env\": {{\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:8787\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"{TOKEN}\"\n  }},\n  \"theme\": \"dark\"\n}}\n"
        ),
    )
    .expect("settings");
    let status = ok(&gw, Method::GET, "/api/admin/claude/settings", None).await;
    assert!(!status.to_string().contains(TOKEN), "{status}");
    assert_eq!(status["exists"], true);
    assert_eq!(status["set_up"], false);
    let keys = status["keys"].as_array().expect("keys");
    let value = |k: &str| {
        keys.iter()
            .find(|x| x["key"] == k)
            .map(|x| x["value"].clone())
    };
    assert_eq!(
        value("env.ANTHROPIC_BASE_URL"),
        Some(json!("http://127.0.0.1:8787"))
    );
    assert_eq!(
        value("env.ANTHROPIC_AUTH_TOKEN"),
        Some(json!("ghp_012345…WXYZ"))
    );
    // A malformed file is reported with its line, and left alone.
    fs::write(home.join(".claude/settings.json"), "{\n  \"env\": {,\n}\n").expect("settings");
    let status = ok(&gw, Method::GET, "/api/admin/claude/settings", None).await;
    assert!(
        status["problem"]
            .as_str()
            .is_some_and(|p| p.contains(":2:")),
        "{status}"
    );
}

#[tokio::test]
async fn a_profile_switch_is_written_to_the_file_and_routes_the_next_request() {
    use switchboard_test_support::{MockUpstream, Reply, sse};
    let a = MockUpstream::start(Reply::sse(sse::anthropic_text("m", &["from a"], 3, 2))).await;
    let b = MockUpstream::start(Reply::sse(sse::anthropic_text("m", &["from b"], 3, 2))).await;
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", &a.url(), "")
        .endpoint("b", "anthropic", &b.url(), "")
        .routing("max_retries = 0\nprofile = \"first\"\n")
        .extra(
            "# the team's profiles\n[[profiles]]\nname = \"first\"\nendpoints = [\"a\", \"b\"]\n\n[[profiles]]\nname = \"second\"\nendpoints = [\"b\", \"a\"]\n[profiles.models]\nsonnet = \"glm-5.1\"\n",
        )
        .start()
        .await;
    let send = || {
        gw.http
            .post(format!("{}/v1/messages", gw.url))
            .header("anthropic-version", "2023-06-01")
            .json(
                &json!({"model": "claude-sonnet-4-5", "max_tokens": 8, "stream": true,
                "messages": [{"role": "user", "content": "hi"}]}),
            )
            .send()
    };
    let list = ok(&gw, Method::GET, "/api/admin/profiles", None).await;
    assert_eq!(list["active"], "first", "{list}");
    let names: Vec<(&str, bool)> = list["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .map(|p| (p["name"].as_str().unwrap_or(""), p["active"] == true))
        .collect();
    assert_eq!(names, [("first", true), ("second", false)]);
    assert_eq!(list["profiles"][1]["endpoints"], json!(["b", "a"]));
    assert_eq!(send().await.expect("send").status(), 200);
    assert_eq!((a.hits(), b.hits()), (1, 0));

    let (status, message) = refused(
        &gw,
        Method::PUT,
        "/api/admin/profiles/active",
        Some(json!({"profile": "thrid"})),
    )
    .await;
    assert_eq!(status, 404);
    assert!(message.contains("first, second"), "{message}");

    let written = ok(
        &gw,
        Method::PUT,
        "/api/admin/profiles/active",
        Some(json!({"profile": "second", "version": list["version"]})),
    )
    .await;
    assert_eq!(written["active"], "second");
    let file = read(&gw.data_dir().join("switchboard.toml"));
    assert!(file.contains("profile = \"second\""), "{file}");
    assert!(
        file.contains("# the team's profiles"),
        "comments kept: {file}"
    );
    assert_eq!(send().await.expect("send").status(), 200);
    assert_eq!(
        (a.hits(), b.hits()),
        (1, 1),
        "the next request follows the switch"
    );
    assert_eq!(b.requests()[0].json()["model"], "glm-5.1");
    let list = ok(&gw, Method::GET, "/api/admin/profiles", None).await;
    assert_eq!(list["active"], "second");

    // Against a stale version: refused with the diff, nothing written.
    let (status, _) = refused(
        &gw,
        Method::PUT,
        "/api/admin/profiles/active",
        Some(json!({"profile": "first", "version": written["version"].as_str().map(|v| format!("{v}0"))})),
    )
    .await;
    assert_eq!(status, 409);
}

/// This machine's address on its network: the source of the route a packet to a public address
/// would take (a UDP "connect" sends nothing).
fn network_address() -> std::net::IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp socket");
    socket
        .connect("192.0.2.1:9")
        .or_else(|_| socket.connect("8.8.8.8:53"))
        .expect("a network route: this test needs an address besides loopback");
    let ip = socket.local_addr().expect("local address").ip();
    assert!(!ip.is_loopback(), "{ip}");
    ip
}

#[tokio::test]
async fn claude_files_change_only_from_the_gateways_machine_unless_allowed() {
    let gw = TestGateway::builder()
        .endpoint("a", "anthropic", "http://127.0.0.1:9", "")
        .extra("[admin]\nlisten = \"0.0.0.0:0\"\n")
        .start()
        .await;
    let home = home(&gw);
    let port = gw
        .admin_url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .expect("admin port");
    let far = format!("http://{}:{port}", network_address());
    let from_far = |method: Method, path: &str| {
        gw.http
            .request(method, format!("{far}{path}"))
            .bearer_auth(&gw.admin_token)
    };
    let add = json!({"scope": "user", "name": "tools", "entry": {"command": "uvx", "args": ["mcp-tool"]}});

    // An admin elsewhere reads, but adds no server (it would run as the gateway's user).
    let (status, listed) = json_of(
        from_far(Method::GET, "/api/admin/claude/mcp")
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let (status, v) = json_of(
        from_far(Method::POST, "/api/admin/claude/mcp")
            .json(&add)
            .send()
            .await
            .expect("add"),
    )
    .await;
    assert_eq!(status, 403, "{v}");
    let why = v["error"]["message"].as_str().expect("message");
    assert!(why.contains("claude_files = \"any\""), "{why}");
    assert!(!home.join(".claude.json").exists(), "nothing written");
    for (method, path) in [
        (Method::POST, "/api/admin/claude/skills"),
        (Method::DELETE, "/api/admin/claude/skills/user/x"),
        (Method::POST, "/api/admin/claude/mcp/user/tools/disable"),
    ] {
        let r = from_far(method.clone(), path)
            .json(&json!({}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status().as_u16(), 403, "{method} {path}");
    }

    // From the machine itself: done.
    ok(
        &gw,
        Method::POST,
        "/api/admin/claude/mcp",
        Some(add.clone()),
    )
    .await;
    ok(
        &gw,
        Method::DELETE,
        "/api/admin/claude/mcp/user/tools",
        None,
    )
    .await;

    // `claude_files = "any"`: from anywhere.
    let text = fs::read_to_string(&gw.config_path).expect("config");
    gw.rewrite_config(&text.replace("[admin]\n", "[admin]\nclaude_files = \"any\"\n"));
    ok(&gw, Method::POST, "/api/admin/reload", None).await;
    let (status, v) = json_of(
        from_far(Method::POST, "/api/admin/claude/mcp")
            .json(&add)
            .send()
            .await
            .expect("add"),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(read(&home.join(".claude.json")).contains("mcp-tool"));
    gw.shutdown().await;
}
