//! `switchboard`: the gateway's binary. A thin shell over the library crates: it parses
//! arguments ([`args`]), sets up logging, resolves the configuration and data directory, and
//! runs one of the [`commands`]. `anyhow` lives here and nowhere else.
//!
//! Exit status: 0 success; 1 failure (a `config check` with errors, an unreachable gateway, a
//! port in use, …); 2 a configuration that does not compile (`serve`, `status`); a second
//! Ctrl-C during shutdown exits 130 at once.

mod args;
mod commands;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command, ConfigCommand, LogFormat};

/// jemalloc, not the C library's allocator: after a burst, glibc's malloc keeps most of the freed
/// heap (measured: 10 MiB live of 45–47 MiB resident after the bench's c=512 burst), and a
/// gateway's load comes in bursts. jemalloc returns it: a background thread purges pages that
/// have stayed free past the decay times `.cargo/config.toml` builds in
/// (`JEMALLOC_SYS_WITH_MALLOC_CONF`), and `_RJEM_MALLOC_CONF` overrides them at run time.
/// docs/benchmarks.md has the measurements.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(cli.log_level.as_deref(), cli.log_format) {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    match run(cli
        .command
        .unwrap_or(Command::Serve(args::ServeArgs::default())))
    {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => commands::serve::run(args),
        Command::Config(ConfigCommand::Check(args)) => commands::config::check(args),
        Command::Status(args) => runtime()?.block_on(commands::status::run(args)),
        Command::Ui(args) => runtime()?.block_on(commands::ui::run(args)),
        Command::Admin(args) => runtime()?.block_on(commands::admin::run(args)),
        Command::Secrets(args) => runtime()?.block_on(commands::secrets::run(args)),
        Command::Keys(args) => runtime()?.block_on(commands::keys::keys(args)),
        Command::Users(args) => runtime()?.block_on(commands::keys::users(args)),
        Command::Teams(args) => runtime()?.block_on(commands::keys::teams(args)),
        Command::Setup(command) => commands::setup::run(command),
        Command::Mcp(command) => commands::mcp::run(command),
        Command::Skills(command) => commands::skills::run(command),
        Command::Profile(args) => runtime()?.block_on(commands::profile::run(args)),
        Command::Claude(args) => commands::claude::run(args),
        Command::Statusline(args) => commands::statusline::run(args),
    }
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Logs go to stderr: `--log-level` if given, else `RUST_LOG`, else `info`.
fn init_logging(level: Option<&str>, format: LogFormat) -> anyhow::Result<()> {
    let filter = match level {
        Some(level) => EnvFilter::try_new(level)
            .map_err(|e| anyhow::anyhow!("invalid --log-level {level:?}: {e}"))?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}
