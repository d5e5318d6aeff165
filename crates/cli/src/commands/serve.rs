//! `switchboard serve`: load the configuration, open the log store, bind, print the banner,
//! serve until SIGINT/SIGTERM, drain, flush the log, exit.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use switchboard_config::{Config, ConfigSource, render_errors};
use switchboard_server::reload::{EnvFn, spawn_watcher};
use switchboard_server::{AppState, ProxyEnv};
use switchboard_store::{SQLITE_FILE_NAME, WriterOptions};
use tokio_util::sync::CancellationToken;

use crate::args::ServeArgs;
use crate::commands::{
    EXIT_CONFIG, client_addr, config_path, credentials, data_dir, load_config, mask_url,
    proxy_column, proxy_summary, table,
};

/// Runs the gateway until SIGINT/SIGTERM.
///
/// Two runtimes: the server's, and a one-thread runtime for the log writer and signals. When
/// the grace period ends with requests still running, the server drops their connections (and
/// then its runtime goes, with anything else left on it), which drops those requests; each one's
/// log record is completed as it drops and sent to the writer, which is still running on its own
/// runtime. Only then is the writer drained, so a request cut off by the deadline still leaves
/// its row.
pub(crate) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let data_dir = data_dir()?;
    let path = config_path(args.config, Some(&data_dir));
    let env: EnvFn = Arc::new(|name| std::env::var(name).ok());
    let mut config = match load_config(path.as_deref(), &|k| env(k)) {
        Ok(config) => config,
        Err(errors) => {
            eprint!("{}", render_errors(&errors));
            let n = errors.len();
            eprintln!(
                "switchboard: not starting: {n} configuration error{}",
                if n == 1 { "" } else { "s" }
            );
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;

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

    let listener = server_rt.block_on(bind(config.server.listen))?;
    // Port 0 resolves to a real port here, so `/status` and the banner show where we are.
    config.server.listen = listener
        .local_addr()
        .context("cannot read the bound address")?;

    let store = log_rt
        .block_on(switchboard_store::open(
            config.storage.url.as_deref(),
            &data_dir,
        ))
        .with_context(|| {
            format!(
                "cannot open the request log ({})",
                database(&config, &data_dir)
            )
        })?;
    let (log, writer) = {
        let _rt = log_rt.enter();
        switchboard_store::spawn_writer(
            store.clone(),
            config.storage.log_queue,
            WriterOptions::default(),
        )
    };
    let state = {
        // Trace export (`[opentelemetry]`) sends its batches on the log runtime, which outlives
        // the server's, so the last spans still go out after the requests stop.
        let _rt = log_rt.enter();
        AppState::new(config.clone(), log.clone(), data_dir.clone())
    }
    .context("cannot build the HTTP client")?
    .with_store(store.clone());
    let traces = state.clone();
    // Retention, the audit size cap and the optional request log file run beside the writer.
    let stop_jobs = CancellationToken::new();
    let jobs = {
        let _rt = log_rt.enter();
        switchboard_server::maintenance::spawn(state.clone(), store, stop_jobs.clone())
    };

    let token_var = config
        .server
        .auth_token
        .as_ref()
        .and_then(|t| env_var_holding(t.expose()));
    let banner = banner(
        &config,
        config.server.listen,
        &data_dir,
        path.as_deref(),
        token_var.as_deref(),
        &ProxyEnv::from_process(),
    );
    let served = server_rt.block_on(Box::pin(serve(listener, state, env, banner, stop)));

    // Requests still running past the grace period end here, logging as they drop.
    server_rt.shutdown_timeout(Duration::from_secs(1));
    // Their spans were queued as they dropped: send them while the log runtime is up.
    traces.shutdown_traces();
    stop_jobs.cancel();
    let _ = log_rt.block_on(jobs);
    log_rt.block_on(writer.shutdown());
    let stats = log.stats();
    tracing::info!(
        written = stats.written,
        dropped = stats.dropped,
        lost = stats.lost,
        "request log flushed; stopped"
    );
    served.context("the server failed")?;
    Ok(ExitCode::SUCCESS)
}

/// On the server's runtime: starts the config watcher, prints the banner, serves until `stop`.
async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    env: EnvFn,
    banner: String,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let live = state.live();
    let grace = live.config.server.shutdown_grace;
    let stop_watcher = CancellationToken::new();
    let watcher = match &live.config.source {
        ConfigSource::File(p) => {
            match spawn_watcher(state.clone(), p.clone(), env, stop_watcher.clone()) {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(path = %p.display(), error = %e, "cannot watch the configuration file: changes need a restart or SIGHUP");
                    None
                }
            }
        }
        ConfigSource::Default => None,
    };
    drop(live);
    eprint!("{banner}");
    let shutdown = async move {
        let _ = stop.await;
        tracing::info!(
            "shutting down: no new connections; draining in-flight requests for up to {}s (press Ctrl-C again to exit now)",
            grace.as_secs()
        );
    };
    let served = switchboard_server::serve(listener, state, shutdown, grace).await;
    stop_watcher.cancel();
    if let Some(handle) = watcher {
        let _ = handle.await;
    }
    served
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

async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(anyhow::anyhow!(
            "{addr} is already in use — is another switchboard running? use --listen to choose another address"
        )),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot listen on {addr}"))),
    }
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

/// The start-up banner (to stderr). `token_var` names an environment variable holding the
/// gateway token, if one does.
fn banner(
    config: &Config,
    local: SocketAddr,
    data_dir: &Path,
    path: Option<&Path>,
    token_var: Option<&str>,
    env: &ProxyEnv,
) -> String {
    let url = format!("http://{}", client_addr(local));
    let mut out = String::new();
    let _ = writeln!(out, "Switchboard {}", env!("CARGO_PKG_VERSION"));
    if client_addr(local) == local {
        let _ = writeln!(out, "  listening   {url}");
    } else {
        let _ = writeln!(
            out,
            "  listening   http://{local} (all interfaces; local clients use {url})"
        );
    }
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
        switchboard_config::compile_str(text, ConfigSource::File(PathBuf::from("sb.toml")), &|k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .expect("valid config")
    }

    #[test]
    fn default_banner_passes_credentials_through() {
        let cfg = switchboard_config::default_config();
        let local: SocketAddr = "127.0.0.1:8787".parse().expect("addr");
        let text = banner(
            &cfg,
            local,
            Path::new("/home/u/.switchboard"),
            None,
            None,
            &ProxyEnv::none(),
        );
        assert_eq!(
            text,
            "Switchboard 0.1.0
  listening   http://127.0.0.1:8787
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
        let local: SocketAddr = "0.0.0.0:9000".parse().expect("addr");
        let text = banner(
            &cfg,
            local,
            Path::new("/d"),
            Some(Path::new("sb.toml")),
            Some("SWITCHBOARD_TOKEN"),
            &ProxyEnv::none(),
        );
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
