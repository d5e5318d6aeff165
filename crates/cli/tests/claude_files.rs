//! Runs the built `switchboard` binary's Claude Code commands — `setup claude`, `mcp`,
//! `skills` — against a temporary HOME (never the real one): exit codes, what they print, and
//! what they leave in the files.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const TOKEN: &str = "sb-cli-token-0123456789abcdef";

/// A temporary home with a project folder; every command runs with HOME and SWITCHBOARD_HOME
/// inside it, and in the project folder.
struct Home {
    dir: tempfile::TempDir,
    project: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().expect("temp home");
        let project = dir.path().join("project");
        fs::create_dir_all(&project).expect("project");
        let project = project.canonicalize().expect("canonical project");
        Home { dir, project }
    }

    fn home(&self) -> &Path {
        self.dir.path()
    }

    fn settings(&self) -> PathBuf {
        self.home().join(".claude/settings.json")
    }

    fn claude_json(&self) -> PathBuf {
        self.home().join(".claude.json")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.args(args)
            .current_dir(&self.project)
            .env("HOME", self.home())
            .env("SWITCHBOARD_HOME", self.home().join(".switchboard"))
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("SWITCHBOARD_CONFIG")
            .env_remove("RUST_LOG")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run switchboard")
    }

    /// Runs with `input` on standard input.
    fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchboard");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "{args:?} succeeded: {}",
            text(&out.stdout)
        );
        text(&out.stderr)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(path: &Path, contents: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, contents).expect("write");
}

fn parsed(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).expect("read")).expect("valid JSON")
}

// ---- setup claude -------------------------------------------------------------------------

/// As Claude Code writes it: `JSON.stringify(settings, null, 2)`, no trailing newline.
const SETTINGS: &str = "{\n  \"permissions\": {\n    \"allow\": [\n      \"Bash(ls)\"\n    ]\n  },\n  \"env\": {\n    \"FOO\": \"bar\"\n  },\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"~/bin/line.sh\",\n    \"padding\": 2\n  }\n}";

#[test]
fn setup_claude_reads_the_token_from_stdin_and_undo_restores_the_file() {
    let h = Home::new();
    write(&h.settings(), SETTINGS);
    let out = h.run_with_stdin(
        &[
            "setup",
            "claude",
            "--token-from-stdin",
            "--timeout-ms",
            "600000",
            "--statusline",
            "--attribution-off",
            "header,commits",
        ],
        &format!("{TOKEN}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Claude Code reads these settings when it starts"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sb-cli-tok…cdef") && !stdout.contains(TOKEN),
        "token masked: {stdout}"
    );
    let v = parsed(&h.settings());
    assert_eq!(v["env"]["ANTHROPIC_BASE_URL"], "http://127.0.0.1:8787");
    assert_eq!(v["env"]["ANTHROPIC_AUTH_TOKEN"], TOKEN);
    assert!(v["env"].get("ANTHROPIC_API_KEY").is_none());
    assert_eq!(v["env"]["API_TIMEOUT_MS"], "600000");
    assert_eq!(v["env"]["CLAUDE_CODE_ATTRIBUTION_HEADER"], "0");
    assert_eq!(v["attribution"], json!({"commit": "", "pr": ""}));
    assert_eq!(v["statusLine"]["padding"], 2);
    let line = v["statusLine"]["command"].as_str().expect("command");
    assert!(
        line.ends_with(" statusline --then '~/bin/line.sh'"),
        "{line}"
    );
    assert_eq!(v["env"]["FOO"], "bar");

    let status = h.ok(&["setup", "claude", "--status"]);
    assert!(status.contains("set up by switchboard"), "{status}");
    assert!(
        status.contains("env.ANTHROPIC_AUTH_TOKEN") && !status.contains(TOKEN),
        "{status}"
    );

    let undo = h.ok(&["setup", "claude", "--undo"]);
    assert!(undo.contains("byte for byte"), "{undo}");
    assert_eq!(fs::read_to_string(h.settings()).expect("read"), SETTINGS);
    let again = h.fails(&["setup", "claude", "--undo"]);
    assert!(again.contains("nothing to undo"), "{again}");
}

#[test]
fn setup_claude_takes_the_token_from_a_named_variable_and_honours_claude_config_dir() {
    let h = Home::new();
    let config_dir = h.home().join("claude-work");
    let out = h
        .cmd(&[
            "setup",
            "claude",
            "--url",
            "http://127.0.0.1:9999",
            "--token-env",
            "MY_GATEWAY_TOKEN",
        ])
        .env("MY_GATEWAY_TOKEN", TOKEN)
        .env("CLAUDE_CONFIG_DIR", &config_dir)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Created"));
    let v = parsed(&config_dir.join("settings.json"));
    assert_eq!(v["env"]["ANTHROPIC_BASE_URL"], "http://127.0.0.1:9999");
    assert_eq!(v["env"]["ANTHROPIC_AUTH_TOKEN"], TOKEN);
    assert!(!h.settings().exists());
    let missing = h.fails(&["setup", "claude", "--token-env", "NOT_SET_ANYWHERE"]);
    assert!(missing.contains("NOT_SET_ANYWHERE is not set"), "{missing}");
    // The token is never an argument.
    let refused = h.fails(&["setup", "claude", "--token", TOKEN]);
    assert!(refused.contains("--token"), "{refused}");
}

#[test]
fn setup_claude_refuses_a_malformed_file_with_its_line_and_column() {
    let h = Home::new();
    let broken = "{\n  \"env\": {\n    \"A\": \"1\"\n    \"B\": \"2\"\n  }\n}\n";
    write(&h.settings(), broken);
    let err = h.fails(&["setup", "claude"]);
    assert!(err.contains("settings.json:4:5:"), "{err}");
    assert!(err.contains("left as it is"), "{err}");
    assert_eq!(fs::read_to_string(h.settings()).expect("read"), broken);
}

#[test]
fn setup_claude_reports_a_key_changed_since() {
    let h = Home::new();
    write(&h.settings(), SETTINGS);
    h.ok(&["setup", "claude", "--url", "http://127.0.0.1:8787"]);
    let mut v = parsed(&h.settings());
    v["env"]["ANTHROPIC_BASE_URL"] = json!("https://elsewhere.example");
    write(
        &h.settings(),
        &serde_json::to_string_pretty(&v).expect("json"),
    );
    let undo = h.ok(&["setup", "claude", "--undo"]);
    assert!(undo.contains("Left alone"), "{undo}");
    assert!(
        undo.contains(
            "env.ANTHROPIC_BASE_URL: changed since setup (now https://elsewhere.example)"
        ),
        "{undo}"
    );
    assert_eq!(
        parsed(&h.settings())["env"]["ANTHROPIC_BASE_URL"],
        "https://elsewhere.example"
    );
}

// ---- mcp ----------------------------------------------------------------------------------

#[test]
fn mcp_commands_manage_servers_in_every_scope() {
    let h = Home::new();
    let original = "{\n  \"numStartups\": 3,\n  \"mcpServers\": {\n    \"keep\": {\n      \"command\": \"keep\",\n      \"x-unknown\": true\n    }\n  }\n}";
    write(&h.claude_json(), original);
    h.ok(&[
        "mcp",
        "add",
        "time",
        "--scope",
        "user",
        "-e",
        "TZ=UTC",
        "--",
        "uvx",
        "mcp-server-time",
        "--local",
    ]);
    h.ok(&[
        "mcp",
        "add",
        "gh",
        "--url",
        "https://api.example.com/mcp",
        "-H",
        "Authorization: Bearer ${GH_TOKEN}",
    ]);
    h.ok(&[
        "mcp",
        "add",
        "shared",
        "--scope",
        "project",
        "--json",
        r#"{"type":"sse","url":"https://sse.example/sse"}"#,
    ]);
    let v = parsed(&h.claude_json());
    assert_eq!(
        v["mcpServers"]["time"],
        json!({"command": "uvx", "args": ["mcp-server-time", "--local"], "env": {"TZ": "UTC"}})
    );
    assert_eq!(v["mcpServers"]["keep"]["x-unknown"], true);
    let key = h.project.to_string_lossy().into_owned();
    assert_eq!(v["projects"][&key]["mcpServers"]["gh"]["type"], "http");
    assert_eq!(
        parsed(&h.project.join(".mcp.json"))["mcpServers"]["shared"]["type"],
        "sse"
    );

    let list = h.ok(&["mcp", "list"]);
    for needle in [
        "gh",
        "local",
        "shared",
        "needs approval",
        "time",
        "user",
        "keep",
    ] {
        assert!(list.contains(needle), "{needle}: {list}");
    }
    let show = h.ok(&["mcp", "show", "gh"]);
    assert!(show.contains("Bearer ${G…KEN}"), "masked: {show}");

    h.ok(&[
        "mcp",
        "edit",
        "time",
        "--set-env",
        "LANG=C",
        "--unset-env",
        "TZ",
    ]);
    assert_eq!(
        parsed(&h.claude_json())["mcpServers"]["time"]["env"],
        json!({"LANG": "C"})
    );

    let off = h.ok(&["mcp", "disable", "time"]);
    assert!(off.contains("stash"), "{off}");
    assert!(parsed(&h.claude_json())["mcpServers"].get("time").is_none());
    assert!(
        h.ok(&["mcp", "list", "--scope", "user"])
            .contains("disabled (switchboard)")
    );
    h.ok(&["mcp", "enable", "time"]);
    assert_eq!(
        parsed(&h.claude_json())["mcpServers"]["time"]["command"],
        "uvx"
    );

    h.ok(&["mcp", "disable", "shared"]);
    assert_eq!(
        parsed(&h.project.join(".claude/settings.local.json"))["disabledMcpjsonServers"],
        json!(["shared"])
    );

    for name in ["time", "gh"] {
        h.ok(&["mcp", "remove", name]);
    }
    h.ok(&["mcp", "remove", "shared", "--scope", "project"]);
    let v = parsed(&h.claude_json());
    assert_eq!(
        v["mcpServers"],
        json!({"keep": {"command": "keep", "x-unknown": true}})
    );
    assert_eq!(v["numStartups"], 3);
}

#[test]
fn mcp_add_refuses_invalid_servers_before_writing() {
    let h = Home::new();
    let original = "{\"mcpServers\": {}}";
    write(&h.claude_json(), original);
    let err = h.fails(&[
        "mcp",
        "add",
        "web",
        "--scope",
        "user",
        "--json",
        r#"{"url":"https://x"}"#,
    ]);
    assert!(err.contains("has a \"url\" but no \"type\""), "{err}");
    let err = h.fails(&["mcp", "add", "bad name", "--scope", "user", "--", "x"]);
    assert!(err.contains("letters, digits"), "{err}");
    let err = h.fails(&["mcp", "add", "nothing", "--scope", "user"]);
    assert!(err.contains("needs a command"), "{err}");
    assert_eq!(fs::read_to_string(h.claude_json()).expect("read"), original);
    let err = h.fails(&["mcp", "remove", "ghost"]);
    assert!(err.contains("no MCP server \"ghost\""), "{err}");
}

// ---- skills -------------------------------------------------------------------------------

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

fn skill_md(name: &str, description: &str) -> String {
    format!("---\nname: {name}\ndescription: {description}\n---\n\nInstructions.\n")
}

/// A repository with `skills/alpha` and `skills/beta`, and a `v2` branch where alpha changed.
fn repo(h: &Home) -> String {
    let dir = h.home().join("repo");
    fs::create_dir_all(&dir).expect("mkdir");
    git(&dir, &["init", "--quiet", "--initial-branch=main"]);
    write(
        &dir.join("skills/alpha/SKILL.md"),
        &skill_md("alpha", "Alpha."),
    );
    write(
        &dir.join("skills/beta/SKILL.md"),
        &skill_md("beta", "Beta."),
    );
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "--quiet", "-m", "one"]);
    git(&dir, &["checkout", "--quiet", "-b", "v2"]);
    write(
        &dir.join("skills/alpha/SKILL.md"),
        &skill_md("alpha", "Alpha, second edition."),
    );
    write(&dir.join("skills/alpha/extra.md"), "extra\n");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "--quiet", "-m", "two"]);
    git(&dir, &["checkout", "--quiet", "main"]);
    format!("file://{}", dir.display())
}

#[test]
fn skills_install_from_git_list_update_and_remove() {
    let h = Home::new();
    let url = repo(&h);
    let err = h.fails(&["skills", "install", &url]);
    assert!(
        err.contains("holds 2 skills")
            && err.contains("alpha (skills/alpha)")
            && err.contains("beta (skills/beta)"),
        "{err}"
    );
    assert!(!h.home().join(".claude/skills/alpha").exists());

    let out = h.ok(&["skills", "install", &url, "--path", "skills/alpha"]);
    assert!(out.contains("Installed alpha"), "{out}");
    assert!(h.home().join(".claude/skills/alpha/SKILL.md").is_file());
    let list = h.ok(&["skills", "list"]);
    assert!(list.contains("alpha") && list.contains(&url), "{list}");

    // The recorded source moves on: update shows what changed.
    let dir = h.home().join("repo");
    git(&dir, &["merge", "--quiet", "--ff-only", "v2"]);
    let dry = h.ok(&["skills", "update", "alpha", "--dry-run"]);
    assert!(
        dry.contains("would change")
            && dry.contains("added    extra.md")
            && dry.contains("modified SKILL.md"),
        "{dry}"
    );
    let up = h.ok(&["skills", "update", "--all"]);
    assert!(up.contains("alpha: updated"), "{up}");
    assert!(h.home().join(".claude/skills/alpha/extra.md").is_file());
    assert!(h.ok(&["skills", "update", "alpha"]).contains("up to date"));

    let out = h.ok(&[
        "skills",
        "install",
        &url,
        "--name",
        "beta",
        "--ref",
        "main",
        "--project",
    ]);
    assert!(out.contains("Installed beta"), "{out}");
    assert!(h.project.join(".claude/skills/beta/SKILL.md").is_file());
    let show = h.ok(&["skills", "show", "beta", "--project"]);
    assert!(
        show.contains("description: Beta.") && show.contains("@ main"),
        "{show}"
    );

    h.ok(&["skills", "remove", "alpha"]);
    assert!(!h.home().join(".claude/skills/alpha").exists());
}

#[test]
fn skills_install_refuses_a_broken_skill_and_a_bad_archive() {
    let h = Home::new();
    let src = h.home().join("broken");
    write(&src.join("SKILL.md"), "---\nname: Broken_Name\n---\n");
    let err = h.fails(&["skills", "install", &src.to_string_lossy()]);
    assert!(
        err.contains("not a valid skill")
            && err.contains("lowercase letters")
            && err.contains("`description` is missing"),
        "{err}"
    );

    let archive = h.home().join("evil.zip");
    {
        let mut z = zip::ZipWriter::new(fs::File::create(&archive).expect("zip"));
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("x/SKILL.md", opts).expect("entry");
        z.write_all(skill_md("x", "X.").as_bytes()).expect("write");
        z.start_file("../../escape.txt", opts).expect("entry");
        z.write_all(b"no").expect("write");
        z.finish().expect("finish");
    }
    let err = h.fails(&["skills", "install", &archive.to_string_lossy()]);
    assert!(
        err.contains("outside the folder") && err.contains("nothing was extracted"),
        "{err}"
    );
    assert!(!h.home().join(".claude/skills").join("x").exists());

    let good = h.home().join("good");
    write(&good.join("SKILL.md"), &skill_md("good", "Good."));
    let out = h.ok(&["skills", "install", &good.to_string_lossy()]);
    assert!(out.contains("Installed good"), "{out}");
}
