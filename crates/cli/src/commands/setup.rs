//! `switchboard setup claude`: point Claude Code's user settings at the gateway
//! (`switchboard_claude::settings`), show how they stand (`--status`), or take it back (`--undo`).
//!
//! The token never comes from the command line (argv is visible to every user in `ps`): it is
//! read from standard input (`--token-from-stdin`) or from a named environment variable.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use switchboard_claude::Paths;
use switchboard_claude::settings::{self, Action, SetupOptions};
use switchboard_config::{env_from_process, render_errors};

use crate::commands::{client_addr, config_path, data_dir, load_config, print_out, table};

#[derive(Debug, Subcommand)]
pub(crate) enum SetupCommand {
    /// Write the gateway's URL and token into ~/.claude/settings.json (only those keys; every
    /// other byte of the file is kept), with an exact --undo.
    Claude(ClaudeArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("token").multiple(false))]
pub(crate) struct ClaudeArgs {
    /// Gateway URL for ANTHROPIC_BASE_URL (default: http:// + the configured listen address).
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// Read the token for ANTHROPIC_AUTH_TOKEN from standard input (one line).
    #[arg(long, group = "token")]
    token_from_stdin: bool,

    /// Read the token for ANTHROPIC_AUTH_TOKEN from this environment variable.
    #[arg(long, value_name = "VAR", group = "token")]
    token_env: Option<String>,

    /// Send this profile's name to the gateway with every request
    /// (`X-Switchboard-Profile` in ANTHROPIC_CUSTOM_HEADERS).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,

    /// API_TIMEOUT_MS: how long Claude Code waits for a response.
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,

    /// CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 (no autoupdate, telemetry, error reports; also
    /// no gateway model discovery refresh).
    #[arg(long)]
    disable_nonessential_traffic: bool,

    /// Turn attribution off: `header` (the attribution block in the system prompt,
    /// CLAUDE_CODE_ATTRIBUTION_HEADER=0) and/or `commits` (attribution.commit and .pr).
    #[arg(long, value_enum, value_name = "WHAT", num_args = 1.., value_delimiter = ',')]
    attribution_off: Vec<Attribution>,

    /// Show the gateway in Claude Code's status line (a status line you already have is
    /// chained, not replaced).
    #[arg(long)]
    statusline: bool,

    /// Put back every key setup changed (a key changed since is left alone and reported).
    #[arg(long, conflicts_with_all = ["url", "token", "profile", "timeout_ms", "disable_nonessential_traffic", "attribution_off", "statusline", "status"])]
    undo: bool,

    /// Show the settings as they bear on the gateway, change nothing.
    #[arg(long, conflicts_with_all = ["url", "token", "profile", "timeout_ms", "disable_nonessential_traffic", "attribution_off", "statusline"])]
    status: bool,

    /// A project whose own settings to check too (with --status; default: the current folder).
    #[arg(long, value_name = "DIR", requires = "status")]
    project: Option<PathBuf>,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,

    /// Configuration file used to find the gateway's address (resolved as for `serve`).
    #[arg(long, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Attribution {
    Header,
    Commits,
}

const RESTART_NOTE: &str = "Claude Code reads these settings when it starts: sessions already running keep the ones they started with; restart them.";

pub(crate) fn run(command: SetupCommand) -> anyhow::Result<ExitCode> {
    let SetupCommand::Claude(args) = command;
    let paths = Paths::from_env()?;
    if args.status {
        return status(&paths, &args);
    }
    if args.undo {
        return undo(&paths, args.json);
    }
    let base_url = match args.url.clone() {
        Some(url) => url,
        None => gateway_url(args.config.clone())?,
    };
    let auth_token = if args.token_from_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the token from standard input")?;
        let token = text.trim().to_owned();
        anyhow::ensure!(!token.is_empty(), "no token on standard input");
        Some(token)
    } else if let Some(var) = &args.token_env {
        let token = std::env::var(var)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .with_context(|| format!("the environment variable {var} is not set"))?;
        Some(token.trim().to_owned())
    } else {
        None
    };
    let statusline = if args.statusline {
        let exe = std::env::current_exe().context("cannot find the switchboard binary")?;
        Some(format!(
            "{} statusline",
            settings_quote(&exe.to_string_lossy())
        ))
    } else {
        None
    };
    let opts = SetupOptions {
        base_url,
        auth_token,
        timeout_ms: args.timeout_ms,
        disable_nonessential_traffic: args.disable_nonessential_traffic,
        attribution_header_off: args.attribution_off.contains(&Attribution::Header),
        commit_attribution_off: args.attribution_off.contains(&Attribution::Commits),
        profile: args.profile.clone(),
        statusline,
    };
    let report = settings::setup(&paths, &opts)?;
    if args.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let changed = report.changes.iter().any(|c| c.action != Action::Unchanged);
    let mut out = String::new();
    let verb = if report.created_file {
        "Created"
    } else if changed {
        "Updated"
    } else {
        "Already set up:"
    };
    out.push_str(&format!("{verb} {}\n", report.path.display()));
    let rows: Vec<Vec<String>> = report
        .changes
        .iter()
        .map(|c| {
            let mark = match c.action {
                Action::Added => "added",
                Action::Replaced => "replaced",
                Action::Unchanged => "unchanged",
            };
            vec![mark.to_owned(), c.key.clone(), c.value.clone()]
        })
        .collect();
    out.push_str(&table(&rows, "  "));
    if let Some(backup) = &report.backup {
        out.push_str(&format!(
            "Backup of the previous file: {}\n",
            backup.display()
        ));
    }
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    if changed || report.created_file {
        out.push_str(RESTART_NOTE);
        out.push('\n');
    }
    out.push_str("Undo with: switchboard setup claude --undo\n");
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn undo(paths: &Paths, json: bool) -> anyhow::Result<ExitCode> {
    let report = settings::undo(paths)?;
    if json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    if report.removed_file {
        out.push_str(&format!(
            "Removed {} (setup had created it)\n",
            report.path.display()
        ));
    } else {
        out.push_str(&format!("Restored {}\n", report.path.display()));
    }
    for key in &report.restored {
        out.push_str(&format!("  restored  {key}\n"));
    }
    if !report.left_alone.is_empty() {
        out.push_str("Left alone (changed since setup; they are yours now):\n");
        for l in &report.left_alone {
            out.push_str(&format!("  {}: {}\n", l.key, l.reason));
        }
    }
    if report.identical_to_original && !report.removed_file {
        out.push_str("The file is byte for byte what it was before setup.\n");
    }
    if let Some(backup) = &report.backup {
        out.push_str(&format!(
            "Backup of the file as it was: {}\n",
            backup.display()
        ));
    }
    out.push_str(RESTART_NOTE);
    out.push('\n');
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn status(paths: &Paths, args: &ClaudeArgs) -> anyhow::Result<ExitCode> {
    let project = match &args.project {
        Some(p) => p.clone(),
        None => std::env::current_dir().context("cannot find the current folder")?,
    };
    let s = settings::status(paths, Some(&project))?;
    if args.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&s)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = format!("{}", s.path.display());
    out.push_str(match (s.exists, s.set_up) {
        (false, _) => ": does not exist\n",
        (true, true) => ": set up by switchboard\n",
        (true, false) => ": not set up by switchboard\n",
    });
    if let Some(problem) = &s.problem {
        out.push_str(&format!("  problem: {problem}\n"));
    }
    let rows: Vec<Vec<String>> = s
        .keys
        .iter()
        .map(|k| {
            let who = match (k.managed, k.ours) {
                (true, true) => "switchboard",
                (true, false) => "changed since setup",
                (false, _) => "",
            };
            vec![
                k.key.clone(),
                k.value.clone().unwrap_or_else(|| "(absent)".to_owned()),
                who.to_owned(),
            ]
        })
        .collect();
    out.push_str(&table(&rows, "  "));
    for w in &s.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// `http://` + the configured listen address, as `status` finds the gateway.
fn gateway_url(config: Option<PathBuf>) -> anyhow::Result<String> {
    let dir = data_dir().ok();
    let path = config_path(config, dir.as_deref());
    match load_config(path.as_deref(), &env_from_process()) {
        Ok(config) => Ok(format!("http://{}", client_addr(config.server.listen))),
        Err(errors) => {
            eprint!("{}", render_errors(&errors));
            anyhow::bail!("cannot find the gateway's address: fix the configuration or pass --url")
        }
    }
}

/// A path as one word for the shell Claude Code runs the status line with.
fn settings_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
