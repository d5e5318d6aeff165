//! Command-line arguments: clap structs only, no behaviour.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Switchboard: an LLM gateway for Claude Code and other Anthropic API clients.
///
/// With no subcommand, runs `switchboard serve`.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Log filter, e.g. `debug` or `info,switchboard_router=debug` (default: RUST_LOG, else info).
    #[arg(long, global = true, value_name = "FILTER")]
    pub(crate) log_level: Option<String>,

    /// Log output format (logs go to stderr).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub(crate) log_format: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the gateway (the default).
    Serve(ServeArgs),
    /// Work with configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Ask a running gateway for its endpoints, their health and cooldowns.
    Status(StatusArgs),
    /// Open the dashboard of the running gateway in the browser (a one-time sign-in link).
    Ui(UiArgs),
    /// Admin users with passwords, for teams and remote access.
    Admin(AdminArgs),
    /// Upstream keys kept encrypted in the database (`api_key = "secret:NAME"`).
    Secrets(SecretsArgs),
    /// Client keys: made (shown once), limited, listed, revoked, rotated.
    Keys(crate::commands::keys::KeysArgs),
    /// Users that keys belong to, with their budgets.
    Users(crate::commands::keys::UsersArgs),
    /// Teams of users, with budgets their keys share.
    Teams(crate::commands::keys::TeamsArgs),
    /// Point Claude Code's user settings at the gateway (`setup claude`), or take it back.
    #[command(subcommand)]
    Setup(crate::commands::setup::SetupCommand),
    /// Claude Code's MCP servers: user, local and project scope.
    #[command(subcommand)]
    Mcp(crate::commands::mcp::McpCommand),
    /// Claude Code skills: install from git, a folder or an archive; list, update, remove.
    #[command(subcommand)]
    Skills(crate::commands::skills::SkillsCommand),
    /// Profiles: an endpoint order and a model map each; list them, show one, put one in force.
    Profile(crate::commands::profile::ProfileArgs),
    /// Run Claude Code through the gateway (started if need be), touching none of your files.
    Claude(crate::commands::claude::ClaudeArgs),
    /// Claude Code's status line: profile, endpoint, this session's cost and tokens, budget.
    Statusline(crate::commands::statusline::StatuslineArgs),
}

#[derive(Debug, Default, Args)]
pub(crate) struct ServeArgs {
    /// Configuration file (default: $SWITCHBOARD_HOME/config.toml if it exists, else the
    /// built-in pass-through to https://api.anthropic.com).
    #[arg(long, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Listen address, overriding `server.listen` (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,

    /// Serve beyond loopback even without a gateway token for the proxy routes (anyone who can
    /// reach the port may use your providers' credits). Logged loudly, shown in `/status`.
    #[arg(long)]
    pub(crate) insecure_public: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UiArgs {
    /// Print the link instead of opening a browser.
    #[arg(long)]
    pub(crate) print: bool,

    /// Gateway URL (default: from the configuration).
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,

    /// Configuration file used to find the gateway (resolved as for `serve`).
    #[arg(long, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    #[command(subcommand)]
    pub(crate) command: AdminCommand,

    /// Configuration file naming the database (resolved as for `serve`).
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Add an admin (password prompted for, or one line of stdin).
    Add {
        name: String,
        /// A member rather than an admin.
        #[arg(long)]
        member: bool,
    },
    /// Change a user's password (prompted for, or one line of stdin).
    Passwd { name: String },
    /// List the users.
    List,
    /// Remove a user and sign out their sessions.
    Remove { name: String },
}

#[derive(Debug, Args)]
pub(crate) struct SecretsArgs {
    #[command(subcommand)]
    pub(crate) command: SecretsCommand,

    /// Configuration file naming the database (resolved as for `serve`).
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SecretsCommand {
    /// Store a secret, encrypted (value from stdin, or prompted for without echo).
    Set { name: String },
    /// Names and masked values.
    List,
    /// Delete a secret.
    Delete { name: String },
    /// Re-encrypt every secret with a new master key.
    RotateMaster,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate a configuration file and print every error, or a summary when it is valid.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The file to check (default: as `serve` resolves it).
    #[arg(env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Gateway URL (default: http:// + the configured listen address).
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,

    /// Print the raw `/status` JSON.
    #[arg(long)]
    pub(crate) json: bool,

    /// Configuration file used to find the gateway and its token (resolved as for `serve`).
    #[arg(long, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}
