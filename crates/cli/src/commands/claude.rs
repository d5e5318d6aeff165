//! `switchboard claude [--profile NAME] [claude args…]`: Claude Code pointed at the gateway for
//! one session, touching no file of the user's.
//!
//! - The gateway is started in the background when nothing answers at its address (and the
//!   user is told, with its pid and log file).
//! - A credential for the session: when client keys are in use, a client key of its own
//!   (expiring in a day, revoked when Claude Code exits); else the gateway token; else none
//!   (Claude Code's own login passes through).
//! - Claude Code gives a settings file's `env` precedence over the process environment, so the
//!   variables go into one temporary `--settings` file (mode 0600 in a 0700 folder, removed at
//!   exit), merged with the user's own `--settings` if one was given; they are also set in the
//!   process environment. The token is never in argv.
//! - `--session-id` is fixed (unless the user gave one, or resumes a session), so the request
//!   log, the dashboard and the status line name the same session.
//!
//! The exit status is Claude Code's (128 + the signal when a signal ended it).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use serde_json::{Map, Value, json};
use switchboard_config::{Config, env_from_process};

use crate::commands::profile::local_config;
use crate::commands::remote::Remote;
use crate::commands::{client_addr, data_dir};

#[derive(Debug, Args)]
pub(crate) struct ClaudeArgs {
    /// The profile this session is routed with, whatever the one in force (sent as
    /// `X-Switchboard-Profile`); its Claude Code variables are set. Default: the one in force.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,

    /// Configuration file (resolved as for `serve`).
    #[arg(long, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// Arguments for `claude`, passed as they are (`--settings` is merged, not replaced).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CLAUDE ARGS"
    )]
    args: Vec<OsString>,
}

/// How long a gateway started here has to answer.
const START_WAIT: Duration = Duration::from_secs(20);
/// How long a session's client key lives at most (it is revoked when Claude Code exits).
const KEY_LIFETIME: &str = "24h";

pub(crate) fn run(args: ClaudeArgs) -> anyhow::Result<ExitCode> {
    crate::runtime()?.block_on(launch(args))
}

async fn launch(args: ClaudeArgs) -> anyhow::Result<ExitCode> {
    let (path, config) = local_config(args.config.clone())?;
    if let Some(name) = &args.profile
        && !config.profiles.iter().any(|p| &p.name == name)
    {
        let names: Vec<&str> = config.profiles.iter().map(|p| p.name.as_str()).collect();
        anyhow::bail!(if names.is_empty() {
            format!("no profile named {name:?}: the configuration has no [[profiles]]")
        } else {
            format!(
                "no profile named {name:?}; the profiles are: {}",
                names.join(", ")
            )
        });
    }
    let claude = find_claude()?;
    let base = base_url(&config)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .context("cannot build the HTTP client")?;
    if !answers(&http, &base).await {
        start_gateway(&http, &base, path.as_deref()).await?;
    }

    let user_args = args.args;
    let session = if gives_session(&user_args) {
        None
    } else {
        Some(uuid::Uuid::new_v4().to_string())
    };
    let credential = credential(args.config.clone(), path.as_deref(), session.as_deref()).await?;

    let status = run_session(
        &config,
        args.profile.as_deref(),
        &base,
        &claude,
        session.as_deref(),
        credential.token(),
        &user_args,
    )
    .await;
    credential.release().await;
    Ok(ExitCode::from(exit_code(status?)))
}

/// Writes the session's settings, runs Claude Code with them, removes them.
async fn run_session(
    config: &Config,
    profile_arg: Option<&str>,
    base: &str,
    claude: &Path,
    session: Option<&str>,
    token: Option<&str>,
    user_args: &[OsString],
) -> anyhow::Result<std::process::ExitStatus> {
    let profile_name = profile_arg
        .map(str::to_owned)
        .or_else(|| config.routing.profile.clone());
    let profile = profile_name
        .as_deref()
        .and_then(|n| config.profiles.iter().find(|p| p.name == n));
    let (user_settings, mut rest) = take_settings(user_args)?;
    let mut env: Vec<(String, String)> = vec![("ANTHROPIC_BASE_URL".into(), base.to_owned())];
    if let Some(token) = token {
        env.push(("ANTHROPIC_AUTH_TOKEN".into(), token.to_owned()));
        // A key left in a settings file or the shell would be sent too (and asked about).
        env.push(("ANTHROPIC_API_KEY".into(), String::new()));
    }
    for var in [
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
        "CLAUDE_CODE_USE_FOUNDRY",
    ] {
        env.push((var.into(), String::new()));
    }
    if let Some(p) = profile {
        env.extend(p.claude.env().into_iter().map(|(k, v)| (k.to_owned(), v)));
        if !p.models.is_empty() {
            env.push((
                "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY".into(),
                "1".into(),
            ));
        }
    }
    if let Some(name) = profile_arg {
        let theirs = user_settings
            .get("env")
            .and_then(|e| e.get("ANTHROPIC_CUSTOM_HEADERS"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| std::env::var("ANTHROPIC_CUSTOM_HEADERS").ok());
        env.push((
            "ANTHROPIC_CUSTOM_HEADERS".into(),
            custom_headers(theirs.as_deref(), name),
        ));
    }
    let no_proxy = std::env::var("NO_PROXY")
        .ok()
        .filter(|v| !v.is_empty())
        .map_or_else(
            || "127.0.0.1,localhost,::1".to_owned(),
            |v| format!("{v},127.0.0.1,localhost,::1"),
        );
    env.push(("NO_PROXY".into(), no_proxy));

    let settings = merge_settings(user_settings, &env);
    let file = SettingsFile::write(&settings, session)?;
    let mut argv: Vec<OsString> = vec!["--settings".into(), file.path.clone().into_os_string()];
    if let Some(id) = session {
        argv.push("--session-id".into());
        argv.push(id.into());
    }
    argv.append(&mut rest);

    let mut cmd = tokio::process::Command::new(claude);
    cmd.args(&argv);
    for (k, v) in &env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let status = run_child(cmd, claude).await;
    drop(file);
    status
}

/// Runs Claude Code to its end. Ctrl-C reaches it (it shares the terminal's process group) and
/// is its to handle; this process stays to clean up. SIGTERM and SIGHUP are passed on.
async fn run_child(
    mut cmd: tokio::process::Command,
    claude: &Path,
) -> anyhow::Result<std::process::ExitStatus> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", claude.display()))?;
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    loop {
        tokio::select! {
            status = child.wait() => return status.context("waiting for Claude Code"),
            _ = int.recv() => {}
            _ = term.recv() => forward(&child, "TERM").await,
            _ = hup.recv() => forward(&child, "HUP").await,
        }
    }
}

/// Sends `signal` to the child with `kill(1)` (no unsafe code here).
async fn forward(child: &tokio::process::Child, signal: &str) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await;
    }
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(s)) => u8::try_from(128 + s).unwrap_or(1),
        (None, None) => 1,
    }
}

/// `CLAUDE` if set, else `claude` on `PATH`.
fn find_claude() -> anyhow::Result<PathBuf> {
    if let Some(c) = std::env::var_os("CLAUDE").filter(|c| !c.is_empty()) {
        return Ok(PathBuf::from(c));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("claude"))
        .find(|p| is_executable(p))
        .context("cannot find Claude Code: `claude` is not on PATH (install it, or set CLAUDE to its path)")
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Where clients reach the gateway (the proxy port).
fn base_url(config: &Config) -> anyhow::Result<String> {
    let listen = config.server.listen;
    anyhow::ensure!(
        listen.port() != 0,
        "the configuration listens on port 0 (a free port each start): give [server] listen a port"
    );
    let scheme = if config.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    Ok(format!("{scheme}://{}", client_addr(listen)))
}

async fn answers(http: &reqwest::Client, base: &str) -> bool {
    http.get(format!("{base}/health"))
        .timeout(Duration::from_millis(700))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// `switchboard serve` in the background (its own process group, so the terminal's Ctrl-C
/// does not stop it), its output in the data directory's `gateway.log`.
async fn start_gateway(
    http: &reqwest::Client,
    base: &str,
    config: Option<&Path>,
) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt as _;
    let dir = data_dir()?;
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let log_path = dir.join("gateway.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let exe = std::env::current_exe().context("cannot find the switchboard binary")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("serve");
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(log.try_clone().context("cannot open the log")?)
        .stderr(log)
        .process_group(0);
    let mut child = cmd.spawn().context("cannot start the gateway")?;
    let pid = child.id();
    let deadline = tokio::time::Instant::now() + START_WAIT;
    loop {
        if answers(http, base).await {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            anyhow::bail!(
                "the gateway did not start ({status}); its output is in {}:\n{}",
                log_path.display(),
                tail(&log_path)
            );
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the gateway (pid {pid}) does not answer at {base} yet; its output is in {}",
            log_path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "switchboard: started the gateway in the background at {base} (pid {pid}, output in {}); it keeps running after Claude Code exits (stop it with `kill {pid}`)",
        log_path.display()
    );
    Ok(())
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The session's credential.
enum Credential {
    /// Claude Code's own credentials pass through (the gateway asks for none).
    None,
    /// The gateway token from the configuration.
    GatewayToken(String),
    /// A client key made for this session, revoked at the end.
    Key {
        name: String,
        secret: String,
        remote: Remote,
    },
}

impl Credential {
    fn token(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::GatewayToken(t) => Some(t),
            Self::Key { secret, .. } => Some(secret),
        }
    }

    /// Revokes the session's key.
    async fn release(self) {
        if let Self::Key { name, remote, .. } = self {
            let path = format!(
                "/api/admin/keys/{}/revoke",
                url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
            );
            if let Err(e) = remote.post(&path, &json!({})).await {
                eprintln!(
                    "switchboard: could not revoke this session's key {name} ({e}); it expires by itself within {KEY_LIFETIME}"
                );
            }
        }
    }
}

/// A client key when the gateway has any (its admin API says so), else the gateway token,
/// else none.
async fn credential(
    config_arg: Option<PathBuf>,
    path: Option<&Path>,
    session: Option<&str>,
) -> anyhow::Result<Credential> {
    if let Ok(remote) = Remote::locate(None, config_arg)
        && let Ok(v) = remote.get("/api/admin/keys").await
    {
        let in_use = v["keys"]
            .as_array()
            .is_some_and(|ks| ks.iter().any(|k| k["state"] == "active"));
        if in_use {
            let suffix = session.map_or_else(
                || uuid::Uuid::new_v4().simple().to_string(),
                |s| s.replace('-', ""),
            );
            let name = format!("claude-{}", &suffix[..12.min(suffix.len())]);
            let made = remote
                .post(
                    "/api/admin/keys",
                    &json!({"name": name, "expires_in": KEY_LIFETIME}),
                )
                .await
                .map_err(|e| anyhow::anyhow!("cannot make a client key for this session: {e}"))?;
            let secret = made["key"]
                .as_str()
                .context("the gateway made a key but did not show it")?
                .to_owned();
            eprintln!(
                "switchboard: this session uses the client key {name} (revoked when Claude Code exits)"
            );
            return Ok(Credential::Key {
                name,
                secret,
                remote,
            });
        }
    }
    let Some(path) = path else {
        return Ok(Credential::None);
    };
    match switchboard_config::load_file(path, &env_from_process()) {
        Ok(c) => Ok(c.server.auth_token.map_or(Credential::None, |t| {
            Credential::GatewayToken(t.expose().to_owned())
        })),
        // `secret:NAME` values cannot be read here; the gateway token is not one of them.
        Err(_) => {
            let (_, c) = local_config(Some(path.to_path_buf()))?;
            anyhow::ensure!(
                c.server.auth_token.is_none(),
                "cannot read the gateway token from the configuration"
            );
            Ok(Credential::None)
        }
    }
}

/// Whether the user's arguments name the session (`--session-id`) or resume one.
fn gives_session(args: &[OsString]) -> bool {
    args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "--session-id"
            || a.starts_with("--session-id=")
            || a == "--resume"
            || a.starts_with("--resume=")
            || a == "-r"
            || a == "--continue"
            || a == "-c"
    })
}

/// The user's `--settings` (a file or inline JSON), read, and the other arguments.
fn take_settings(args: &[OsString]) -> anyhow::Result<(Map<String, Value>, Vec<OsString>)> {
    let mut rest = Vec::new();
    let mut given: Option<OsString> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == OsStr::new("--") {
            rest.push(a.clone());
            rest.extend(it.by_ref().cloned());
            break;
        }
        if a == OsStr::new("--settings") {
            given = Some(
                it.next()
                    .cloned()
                    .context("--settings needs a file or JSON")?,
            );
        } else if let Some(v) = a.to_str().and_then(|s| s.strip_prefix("--settings=")) {
            given = Some(v.into());
        } else {
            rest.push(a.clone());
        }
    }
    let Some(given) = given else {
        return Ok((Map::new(), rest));
    };
    let text = given.to_string_lossy().into_owned();
    let json = if text.trim_start().starts_with('{') {
        text.clone()
    } else {
        std::fs::read_to_string(&given)
            .with_context(|| format!("cannot read the settings file {}", text))?
    };
    match serde_json::from_str::<Value>(&json) {
        Ok(Value::Object(m)) => Ok((m, rest)),
        Ok(_) => anyhow::bail!("--settings {text}: not a JSON object"),
        Err(e) => anyhow::bail!("--settings {text}: not valid JSON: {e}"),
    }
}

/// The user's settings with ours in `env` (ours win there; every other key is theirs).
fn merge_settings(mut user: Map<String, Value>, env: &[(String, String)]) -> Value {
    let mut merged_env = match user.remove("env") {
        Some(Value::Object(e)) => e,
        _ => Map::new(),
    };
    for (k, v) in env {
        merged_env.insert(k.clone(), json!(v));
    }
    user.insert("env".into(), Value::Object(merged_env));
    Value::Object(user)
}

/// `theirs` (newline-separated `Name: Value` lines) without a profile line, plus ours.
fn custom_headers(theirs: Option<&str>, profile: &str) -> String {
    let mut lines: Vec<&str> = theirs
        .unwrap_or("")
        .split('\n')
        .filter(|l| {
            !l.trim().is_empty() && !l.to_ascii_lowercase().starts_with("x-switchboard-profile:")
        })
        .collect();
    let ours = format!("X-Switchboard-Profile: {profile}");
    lines.push(&ours);
    lines.join("\n")
}

/// The temporary settings file: 0600 in a 0700 folder, removed when dropped.
struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    fn write(settings: &Value, session: Option<&str>) -> anyhow::Result<Self> {
        use std::io::Write as _;
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
        let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d).join("switchboard"),
            None => data_dir()?.join("run"),
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", dir.display()))?;
        let name = format!(
            "claude-{}.json",
            session.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
        );
        let path = dir.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let this = Self { path };
        f.write_all(serde_json::to_string_pretty(settings)?.as_bytes())
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", this.path.display()))?;
        Ok(this)
    }
}

impl Drop for SettingsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_users_settings_are_merged_and_taken_out_of_the_arguments() {
        let (user, rest) = take_settings(&os(&[
            "-p",
            "--settings",
            r#"{"model":"opus","env":{"FOO":"1","ANTHROPIC_BASE_URL":"http://elsewhere"}}"#,
            "--",
            "--settings",
        ]))
        .expect("parsed");
        assert_eq!(rest, os(&["-p", "--", "--settings"]));
        let merged = merge_settings(
            user,
            &[("ANTHROPIC_BASE_URL".into(), "http://127.0.0.1:8787".into())],
        );
        assert_eq!(
            merged,
            json!({"model": "opus", "env": {"FOO": "1", "ANTHROPIC_BASE_URL": "http://127.0.0.1:8787"}})
        );
    }

    #[test]
    fn a_session_is_named_unless_the_user_names_or_resumes_one() {
        assert!(!gives_session(&os(&["-p", "hi"])));
        assert!(gives_session(&os(&["--session-id", "x"])));
        assert!(gives_session(&os(&["-r"])));
        assert!(gives_session(&os(&["--continue"])));
    }

    #[test]
    fn the_profile_header_joins_the_users_headers() {
        assert_eq!(
            custom_headers(Some("X-A: 1\nX-Switchboard-Profile: old"), "cheap"),
            "X-A: 1\nX-Switchboard-Profile: cheap"
        );
        assert_eq!(
            custom_headers(None, "cheap"),
            "X-Switchboard-Profile: cheap"
        );
    }
}
