//! `switchboard serve`: load the configuration, open the log store, bind, print the banner,
//! serve until SIGINT/SIGTERM, drain, flush the log, exit.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use switchboard_auth::vault::MASTER_KEY_ENV;
use switchboard_config::{Config, render_errors};
use switchboard_gateway::ProxyEnv;
use switchboard_server::{ConfigFile, Options, StartError};
use switchboard_store::SQLITE_FILE_NAME;

use crate::args::ServeArgs;
use crate::commands::{
    EXIT_CONFIG, client_addr, config_path, credentials, data_dir, mask_url, proxy_column,
    proxy_summary, table,
};

/// Runs the gateway until SIGINT/SIGTERM.
///
/// Two runtimes: the server's, and a one-thread runtime for the log writer, trace export,
/// background jobs and signals (`switchboard_server::Options::background`). When the grace
/// period ends with requests still running, the server drops their connections, which drops
/// those requests; each one's log record is completed as it drops and sent to the writer, still
/// running on its own runtime. Only then is the writer drained, so a request cut off by the
/// deadline still leaves its row.
pub(crate) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let data_dir = data_dir()?;
    let path = config_path(args.config, Some(&data_dir));
    let file = ConfigFile::new(path.clone());
    // Errors in the file are reported before anything else happens.
    let (config, _) = match file.peek() {
        Ok(c) => c,
        Err(errors) => return Ok(config_errors(&errors)),
    };

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the server runtime")?;
    let log_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("switchboard-log")
        .enable_all()
        .build()
        .context("cannot start the log runtime")?;

    // Signal handlers go in first, so a signal arriving during start-up is a graceful stop.
    let stop = log_rt.block_on(async { Signals::new().map(watch_signals) });
    let stop = stop.context("cannot install signal handlers")?;

    let mut options = Options::new(file, data_dir.clone());
    options.listen = args.listen;
    options.insecure_public = args.insecure_public;
    options.master_key = std::env::var(MASTER_KEY_ENV).ok();
    options.background = Some(log_rt.handle().clone());
    let running = match server_rt.block_on(switchboard_server::start(options)) {
        Ok(r) => r,
        Err(StartError::Config(errors)) => return Ok(config_errors(&errors)),
        Err(StartError::Store(e)) => {
            return Err(anyhow::anyhow!(
                "cannot open the database ({}): {e}",
                database(&config, &data_dir)
            ));
        }
        Err(e) => return Err(anyhow::Error::new(e)),
    };
    let link = server_rt
        .block_on(running.admin.login_link())
        .map_err(|e| anyhow::anyhow!("cannot make a login link: {e}"))?;
    let live = running.state.live();
    let token_var = live
        .config
        .server
        .auth_token
        .as_ref()
        .and_then(|t| env_var_holding(t.expose()));
    let text = banner(&Banner {
        config: &live.config,
        url: &running.url(),
        data_dir: &data_dir,
        path: path.as_deref(),
        token_var: token_var.as_deref(),
        env: &ProxyEnv::from_process(),
        login: &format!("{}{link}", running.admin_url()),
        insecure_public: running.insecure_public,
    });
    drop(live);
    eprint!("{text}");
    let state = running.state.clone();
    let log = running.log.clone();
    let grace = state.live().config.server.shutdown_grace;
    server_rt.block_on(async move {
        let _ = stop.await;
        tracing::info!(
            "shutting down: no new connections; draining in-flight requests for up to {}s (press Ctrl-C again to exit now)",
            grace.as_secs()
        );
        running.shutdown().await;
    });
    // Requests still running past the grace period end here, logging as they drop.
    server_rt.shutdown_timeout(Duration::from_secs(1));
    // Their spans were queued as they dropped: send them while the log runtime is up.
    state.shutdown_traces();
    drop(log_rt);
    let stats = log.stats();
    tracing::info!(
        written = stats.written,
        dropped = stats.dropped,
        lost = stats.lost,
        "request log flushed; stopped"
    );
    Ok(ExitCode::SUCCESS)
}

fn config_errors(errors: &[switchboard_config::ConfigError]) -> ExitCode {
    eprint!("{}", render_errors(errors));
    let n = errors.len();
    eprintln!(
        "switchboard: not starting: {n} configuration error{}",
        if n == 1 { "" } else { "s" }
    );
    ExitCode::from(EXIT_CONFIG)
}

/// Spawns the signal task (on the current runtime): the first SIGINT/SIGTERM fires the
/// returned receiver; a second one exits at once with status 130.
fn watch_signals(mut signals: Signals) -> tokio::sync::oneshot::Receiver<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let first = signals.recv().await;
        tracing::info!(signal = first, "signal received");
        let _ = tx.send(());
        let second = signals.recv().await;
        eprintln!("switchboard: {second} again: exiting now without draining");
        std::process::exit(130);
    });
    rx
}

/// The name of an environment variable whose value is the gateway token, so the banner can
/// say `export ANTHROPIC_AUTH_TOKEN="$NAME"` without printing the token. `SWITCHBOARD_TOKEN`
/// (the documented name) wins; otherwise the first match by name.
fn env_var_holding(token: &str) -> Option<String> {
    if std::env::var("SWITCHBOARD_TOKEN").is_ok_and(|v| v == token) {
        return Some("SWITCHBOARD_TOKEN".to_owned());
    }
    let mut names: Vec<String> = std::env::vars()
        .filter(|(_, v)| v == token)
        .map(|(k, _)| k)
        .collect();
    names.sort();
    names.into_iter().next()
}

/// Where the request log lives, for people: a file path, or a URL without its password.
fn database(config: &Config, data_dir: &Path) -> String {
    match config.storage.url.as_deref() {
        None => format!("{} (SQLite)", data_dir.join(SQLITE_FILE_NAME).display()),
        Some(url) if url.starts_with("postgres") => format!("{} (PostgreSQL)", mask_url(url)),
        Some(url) => format!("{url} (SQLite)"),
    }
}

/// What the start-up banner shows.
struct Banner<'a> {
    config: &'a Config,
    /// Where clients on this machine reach the gateway.
    url: &'a str,
    data_dir: &'a Path,
    path: Option<&'a Path>,
    /// An environment variable holding the gateway token, if one does.
    token_var: Option<&'a str>,
    env: &'a ProxyEnv,
    /// The one-time dashboard link.
    login: &'a str,
    insecure_public: bool,
}

/// The start-up banner (to stderr). It never shows a secret: the token and keys are masked,
/// and the dashboard link works once, for a few minutes.
fn banner(b: &Banner<'_>) -> String {
    let Banner {
        config,
        url,
        data_dir,
        path,
        token_var,
        env,
        login,
        insecure_public,
    } = *b;
    let local = config.server.listen;
    let mut out = String::new();
    let _ = writeln!(out, "Switchboard {}", env!("CARGO_PKG_VERSION"));
    if client_addr(local) == local {
        let _ = writeln!(out, "  listening   {url}");
    } else {
        let _ = writeln!(
            out,
            "  listening   {local} (all interfaces; local clients use {url})"
        );
    }
    if insecure_public {
        let _ = writeln!(
            out,
            "  WARNING     --insecure-public: no gateway token; anyone who can reach {local} can use your providers' credits"
        );
    }
    if let Some(admin) = config.admin.listen {
        let _ = writeln!(
            out,
            "  admin       http://{} (dashboard, admin and query API)",
            client_addr(admin)
        );
    }
    let _ = writeln!(out, "  dashboard   {login}");
    let _ = writeln!(
        out,
        "              (a one-time sign-in link; `switchboard ui` opens a new one)"
    );
    let source = match path {
        Some(p) => format!("{} (reloaded on change and on SIGHUP)", p.display()),
        None => "built-in default: pass-through to https://api.anthropic.com".to_owned(),
    };
    let _ = writeln!(out, "  config      {source}");
    let _ = writeln!(out, "  data dir    {}", data_dir.display());
    let _ = writeln!(out, "  database    {}", database(config, data_dir));
    if let Some(t) = &config.opentelemetry {
        let _ = writeln!(out, "  traces      {}", crate::commands::traces(t));
    }
    let proxies = proxy_column(config, env);
    if proxies.is_some() || config.routing.proxy.is_some() {
        let _ = writeln!(out, "  proxy       {}", proxy_summary(config, env));
    }
    let _ = writeln!(out, "  endpoints   in priority order:");
    let rows: Vec<Vec<String>> = config
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let name = if e.enabled {
                e.name.clone()
            } else {
                format!("{} (disabled)", e.name)
            };
            let mut row = vec![
                format!("{}.", i + 1),
                name,
                e.kind.to_string(),
                e.base_url.to_string(),
                credentials(e),
            ];
            if let Some(p) = proxies.as_ref().and_then(|p| p.get(i)) {
                row.push(p.clone());
            }
            row
        })
        .collect();
    out.push_str(&table(&rows, "    "));
    let token = config.server.auth_token.as_ref();
    let _ = writeln!(
        out,
        "  auth        {}",
        token.map_or_else(
            || "none: any client that can reach the address may use the gateway".to_owned(),
            |t| format!("clients must present the gateway token ({})", t.masked())
        )
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Use with Claude Code:");
    let _ = writeln!(out, "  export ANTHROPIC_BASE_URL={url}");
    if let Some(t) = token {
        match token_var {
            Some(var) => {
                let _ = writeln!(
                    out,
                    "  export ANTHROPIC_AUTH_TOKEN=\"${var}\"   # the configured server.auth_token ({})",
                    t.masked()
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  export ANTHROPIC_AUTH_TOKEN=<server.auth_token>   # use the configured value ({})",
                    t.masked()
                );
            }
        }
    }
    let _ = writeln!(out, "  claude");
    let pass_through: Vec<&str> = config
        .endpoints
        .iter()
        .filter(|e| e.enabled && e.api_key.is_none())
        .map(|e| e.name.as_str())
        .collect();
    let note = match (token.is_some(), pass_through.is_empty()) {
        (false, false) => format!(
            "(no gateway token is set: Claude Code's own ANTHROPIC_API_KEY or login is passed through to {})",
            pass_through.join(", ")
        ),
        (false, true) => "(no gateway token is set: local clients use the configured endpoint keys; set server.auth_token to require a token)".to_owned(),
        (true, false) => format!(
            "(the gateway token is never forwarded: {} pass the client's own credentials through, so Claude Code also needs its ANTHROPIC_API_KEY)",
            pass_through.join(", ")
        ),
        (true, true) => String::new(),
    };
    if !note.is_empty() {
        let _ = writeln!(out, "{note}");
    }
    out
}

/// SIGINT and SIGTERM (Ctrl-C only where there are no Unix signals).
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Self> {
        Ok(Self {})
    }

    /// The next signal's name.
    #[cfg(unix)]
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn config(text: &str, env: &[(&str, &str)]) -> Config {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        switchboard_config::compile_str(
            text,
            switchboard_config::ConfigSource::File(PathBuf::from("sb.toml")),
            &|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
        )
        .expect("valid config")
    }

    #[test]
    fn default_banner_passes_credentials_through() {
        let cfg = switchboard_config::default_config();
        let text = banner(&Banner {
            config: &cfg,
            url: "http://127.0.0.1:8787",
            data_dir: Path::new("/home/u/.switchboard"),
            path: None,
            token_var: None,
            env: &ProxyEnv::none(),
            login: "http://127.0.0.1:8787/ui/login?token=sbl_x",
            insecure_public: false,
        });
        assert_eq!(
            text,
            "Switchboard 0.1.0
  listening   http://127.0.0.1:8787
  dashboard   http://127.0.0.1:8787/ui/login?token=sbl_x
              (a one-time sign-in link; `switchboard ui` opens a new one)
  config      built-in default: pass-through to https://api.anthropic.com
  data dir    /home/u/.switchboard
  database    /home/u/.switchboard/switchboard.db (SQLite)
  endpoints   in priority order:
    1.  anthropic  anthropic  https://api.anthropic.com/  pass-through
  auth        none: any client that can reach the address may use the gateway

Use with Claude Code:
  export ANTHROPIC_BASE_URL=http://127.0.0.1:8787
  claude
(no gateway token is set: Claude Code's own ANTHROPIC_API_KEY or login is passed through to anthropic)
"
            .replace("0.1.0", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn token_banner_never_shows_the_token() {
        let cfg = config(
            r#"
[server]
auth_token = "${SWITCHBOARD_TOKEN}"
[[endpoints]]
name = "primary"
kind = "anthropic"
base_url = "https://api.anthropic.com"
api_key = "${KEY}"
[storage]
url = "postgres://sb:hunter2@db/sb"
"#,
            &[
                ("SWITCHBOARD_TOKEN", "gw-secret-token-0123456789"),
                ("KEY", "sk-ant-api03-abcdefghijklmnop-XYZW"),
            ],
        );
        let mut cfg = cfg;
        cfg.server.listen = "0.0.0.0:9000".parse().expect("addr");
        let text = banner(&Banner {
            config: &cfg,
            url: "http://127.0.0.1:9000",
            data_dir: Path::new("/d"),
            path: Some(Path::new("sb.toml")),
            token_var: Some("SWITCHBOARD_TOKEN"),
            env: &ProxyEnv::none(),
            login: "http://127.0.0.1:9000/ui/login?token=sbl_x",
            insecure_public: false,
        });
        assert!(!text.contains("gw-secret-token-0123456789"), "{text}");
        assert!(!text.contains("abcdefghijklmnop"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("postgres://sb:****@db/sb (PostgreSQL)"),
            "{text}"
        );
        assert!(
            text.contains("  export ANTHROPIC_BASE_URL=http://127.0.0.1:9000\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  export ANTHROPIC_AUTH_TOKEN=\"$SWITCHBOARD_TOKEN\"   # the configured server.auth_token (gw-secret-…6789)\n  claude\n"
            ),
            "{text}"
        );
        assert!(text.contains("x-api-key sk-ant-api…XYZW"), "{text}");
    }
}
