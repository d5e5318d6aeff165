//! `switchboard mcp`: Claude Code's MCP servers in the user scope (`~/.claude.json`), a
//! project's local scope (`projects[dir]` in the same file) and its `.mcp.json`
//! (`switchboard_claude::mcp`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value};
use switchboard_claude::Paths;
use switchboard_claude::mcp::{self, FieldEdit, Location, Scope, Server, Status};

use crate::commands::{print_out, table};

#[derive(Debug, Subcommand)]
pub(crate) enum McpCommand {
    /// The servers Claude Code sees from a project: local, project (.mcp.json) and user scope.
    List(ListArgs),
    /// One server's entry (secret-looking values masked).
    Show(NameArgs),
    /// Add a server: `add NAME -- COMMAND ARGS…` (stdio), `add NAME --url URL` (http), or
    /// `add NAME --json '{…}'`.
    Add(AddArgs),
    /// Change fields of a server; fields Switchboard does not know are kept.
    Edit(EditArgs),
    /// Remove a server.
    Remove(NameArgs),
    /// Turn a server on again.
    Enable(NameArgs),
    /// Turn a server off: for .mcp.json servers as Claude Code's approval prompt records it
    /// (disabledMcpjsonServers); user and local ones move to Switchboard's stash until `enable`.
    Disable(NameArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScopeArg {
    User,
    Local,
    Project,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Scope {
        match s {
            ScopeArg::User => Scope::User,
            ScopeArg::Local => Scope::Local,
            ScopeArg::Project => Scope::Project,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct Where {
    /// user (~/.claude.json, every project), local (this project, private) or project
    /// (.mcp.json, shared). Default: the one scope holding the server.
    #[arg(long, short, value_enum)]
    scope: Option<ScopeArg>,

    /// The project (default: the current folder).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    at: Where,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    name: String,
    #[command(flatten)]
    at: Where,
    /// Show env and header values unmasked (show).
    #[arg(long)]
    show_secrets: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// Letters, digits, `-` and `_`.
    name: String,

    /// user, local (the default, as for `claude mcp add`) or project.
    #[arg(long, short, value_enum, default_value = "local")]
    scope: ScopeArg,

    /// The project (default: the current folder).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,

    /// http (default with --url), sse, ws, or stdio (default with a command).
    #[arg(long, short, value_parser = ["stdio", "http", "sse", "ws"])]
    transport: Option<String>,

    /// The server's URL (http, sse, ws). `${VAR}` is expanded by Claude Code.
    #[arg(long, conflicts_with = "command")]
    url: Option<String>,

    /// A header `Name: value` (repeatable). Write secrets as `${VAR}`: Claude Code expands it.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,

    /// An environment variable `NAME=value` for a stdio server (repeatable).
    #[arg(long = "env", short = 'e', value_name = "NAME=VALUE")]
    env: Vec<String>,

    /// Claude Code's per-call timeout, in milliseconds (1000 or more).
    #[arg(long, value_name = "MS")]
    timeout: Option<u64>,

    /// The whole entry as JSON (as `claude mcp add-json`); its fields keep their order.
    #[arg(long, conflicts_with_all = ["url", "headers", "env", "transport", "command"])]
    json: Option<String>,

    /// The command and its arguments (after `--`).
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    name: String,
    #[command(flatten)]
    at: Where,
    #[arg(long)]
    url: Option<String>,
    /// Replace the command (stdio).
    #[arg(long)]
    command: Option<String>,
    /// Set an environment variable `NAME=value` (repeatable).
    #[arg(long = "set-env", value_name = "NAME=VALUE")]
    set_env: Vec<String>,
    /// Remove an environment variable (repeatable).
    #[arg(long = "unset-env", value_name = "NAME")]
    unset_env: Vec<String>,
    /// Set a header `Name: value` (repeatable).
    #[arg(long = "set-header", value_name = "NAME: VALUE")]
    set_header: Vec<String>,
    /// Remove a header (repeatable).
    #[arg(long = "unset-header", value_name = "NAME")]
    unset_header: Vec<String>,
    #[arg(long, value_name = "MS")]
    timeout: Option<u64>,
    /// Replace the whole entry with this JSON.
    #[arg(long)]
    json: Option<String>,
    /// Replace the arguments (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

pub(crate) fn run(command: McpCommand) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    match command {
        McpCommand::List(a) => list(&paths, &a),
        McpCommand::Show(a) => show(&paths, &a),
        McpCommand::Add(a) => add(&paths, &a),
        McpCommand::Edit(a) => edit(&paths, &a),
        McpCommand::Remove(a) => {
            let loc = resolve(&paths, &a.at, &a.name)?;
            mcp::remove(&paths, &loc, &a.name)?;
            print_out(&format!(
                "Removed {:?} from {}\n",
                a.name,
                loc.file(&paths).display()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        McpCommand::Enable(a) => {
            let loc = resolve(&paths, &a.at, &a.name)?;
            let t = mcp::enable(&paths, &loc, &a.name)?;
            print_out(&format!("{}\n{}\n", t.how, RESTART_NOTE))?;
            Ok(ExitCode::SUCCESS)
        }
        McpCommand::Disable(a) => {
            let loc = resolve(&paths, &a.at, &a.name)?;
            let t = mcp::disable(&paths, &loc, &a.name)?;
            print_out(&format!("{}\n{}\n", t.how, RESTART_NOTE))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

const RESTART_NOTE: &str =
    "A Claude Code session already running sees MCP server changes after a restart.";

fn project_dir(p: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    match p {
        Some(p) => Ok(p.clone()),
        None => std::env::current_dir().context("cannot find the current folder"),
    }
}

/// The scope asked for, or the one scope holding `name`.
fn resolve(paths: &Paths, at: &Where, name: &str) -> anyhow::Result<Location> {
    let dir = project_dir(at.project.as_ref())?;
    if let Some(scope) = at.scope {
        return Ok(Location::new(scope.into(), &dir)?);
    }
    let found: Vec<Scope> = mcp::list(paths, Some(&dir))?
        .into_iter()
        .filter(|s| s.name == name)
        .map(|s| s.scope)
        .collect();
    match found.as_slice() {
        [] => anyhow::bail!("no MCP server {name:?} for {}", dir.display()),
        [one] => Ok(Location::new(*one, &dir)?),
        many => {
            let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
            anyhow::bail!(
                "{name:?} is in several scopes ({}): pass --scope",
                names.join(", ")
            )
        }
    }
}

fn status_text(s: &Server) -> String {
    let mut t = match s.status {
        Status::Enabled => "enabled",
        Status::DisabledBySwitchboard => "disabled (switchboard)",
        Status::DisabledForProject => "disabled (project choice)",
        Status::DisabledInMcpMenu => "disabled (/mcp)",
        Status::NeedsApproval => "needs approval",
    }
    .to_owned();
    if let Some(by) = s.shadowed_by {
        t.push_str(&format!(", shadowed by {}", by.as_str()));
    }
    if s.problem.is_some() {
        t.push_str(", INVALID");
    }
    t
}

fn list(paths: &Paths, a: &ListArgs) -> anyhow::Result<ExitCode> {
    let dir = project_dir(a.at.project.as_ref())?;
    let mut servers = mcp::list(paths, Some(&dir))?;
    if let Some(scope) = a.at.scope {
        let scope: Scope = scope.into();
        servers.retain(|s| s.scope == scope);
    }
    if a.json {
        let masked: Vec<Server> = servers
            .into_iter()
            .map(|mut s| {
                s.entry = mcp::masked(&s.entry);
                s
            })
            .collect();
        print_out(&format!("{}\n", serde_json::to_string_pretty(&masked)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    if servers.is_empty() {
        print_out("No MCP servers.\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![vec![
        "NAME".to_owned(),
        "SCOPE".to_owned(),
        "TYPE".to_owned(),
        "STATUS".to_owned(),
        "TARGET".to_owned(),
    ]];
    for s in &servers {
        rows.push(vec![
            s.name.clone(),
            s.scope.as_str().to_owned(),
            s.transport.map_or("?", |t| t.as_str()).to_owned(),
            status_text(s),
            s.target(),
        ]);
    }
    let mut out = table(&rows, "");
    for s in &servers {
        if let Some(p) = &s.problem {
            out.push_str(&format!("warning: {p}\n"));
        }
    }
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn show(paths: &Paths, a: &NameArgs) -> anyhow::Result<ExitCode> {
    let loc = resolve(paths, &a.at, &a.name)?;
    let mut s = mcp::get(paths, &loc, &a.name)?;
    if !a.show_secrets {
        s.entry = mcp::masked(&s.entry);
    }
    if a.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&s)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = format!(
        "{} ({} scope, {}): {}\n",
        s.name,
        s.scope.as_str(),
        s.file.display(),
        status_text(&s)
    );
    out.push_str(&serde_json::to_string_pretty(&s.entry)?);
    out.push('\n');
    for w in s.warnings.iter().chain(s.problem.iter()) {
        out.push_str(&format!("warning: {w}\n"));
    }
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn split_pair<'a>(s: &'a str, sep: char, what: &str) -> anyhow::Result<(&'a str, &'a str)> {
    let (k, v) = s
        .split_once(sep)
        .with_context(|| format!("{what} {s:?}: expected NAME{sep}VALUE"))?;
    let k = k.trim();
    anyhow::ensure!(!k.is_empty(), "{what} {s:?}: the name is empty");
    Ok((k, if sep == ':' { v.trim_start() } else { v }))
}

/// The entry `add`'s flags describe, as JSON text with its fields in the usual order.
fn entry_from_flags(a: &AddArgs) -> anyhow::Result<String> {
    if let Some(json) = &a.json {
        return Ok(json.clone());
    }
    let mut m = Map::new();
    let transport = a
        .transport
        .clone()
        .unwrap_or_else(|| if a.url.is_some() { "http" } else { "stdio" }.to_owned());
    if transport == "stdio" {
        let (cmd, args) = a
            .command
            .split_first()
            .context("a stdio server needs a command: `switchboard mcp add NAME -- COMMAND ARGS…` (or --url)")?;
        anyhow::ensure!(
            a.headers.is_empty(),
            "--header applies to http, sse and ws servers"
        );
        m.insert("command".into(), Value::String(cmd.clone()));
        m.insert(
            "args".into(),
            Value::Array(args.iter().cloned().map(Value::String).collect()),
        );
        let mut env = Map::new();
        for e in &a.env {
            let (k, v) = split_pair(e, '=', "--env")?;
            env.insert(k.to_owned(), Value::String(v.to_owned()));
        }
        m.insert("env".into(), Value::Object(env));
    } else {
        anyhow::ensure!(a.env.is_empty(), "--env applies to stdio servers");
        m.insert("type".into(), Value::String(transport));
        m.insert(
            "url".into(),
            Value::String(
                a.url
                    .clone()
                    .context("--url is required for this transport")?,
            ),
        );
        if !a.headers.is_empty() {
            let mut h = Map::new();
            for e in &a.headers {
                let (k, v) = split_pair(e, ':', "--header")?;
                h.insert(k.to_owned(), Value::String(v.to_owned()));
            }
            m.insert("headers".into(), Value::Object(h));
        }
    }
    if let Some(t) = a.timeout {
        m.insert("timeout".into(), Value::from(t));
    }
    // serde_json's map sorts keys; write them in the order Claude Code's docs show instead.
    let order = [
        "type", "command", "args", "url", "headers", "env", "timeout",
    ];
    let fields: Vec<String> = order
        .iter()
        .filter_map(|k| {
            m.get(*k)
                .map(|v| format!("{}:{v}", Value::String((*k).to_owned())))
        })
        .collect();
    Ok(format!("{{{}}}", fields.join(",")))
}

fn add(paths: &Paths, a: &AddArgs) -> anyhow::Result<ExitCode> {
    let dir = project_dir(a.project.as_ref())?;
    let loc = Location::new(a.scope.into(), &dir)?;
    let entry = entry_from_flags(a)?;
    let warnings = mcp::add(paths, &loc, &a.name, &entry)?;
    let mut out = format!(
        "Added {:?} to the {} scope ({})\n",
        a.name,
        loc.scope().as_str(),
        loc.file(paths).display()
    );
    for w in warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    if loc.scope() == Scope::Project {
        out.push_str(
            "Claude Code asks each user to approve a .mcp.json server before its first use.\n",
        );
    }
    out.push_str(RESTART_NOTE);
    out.push('\n');
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn edit(paths: &Paths, a: &EditArgs) -> anyhow::Result<ExitCode> {
    let loc = resolve(paths, &a.at, &a.name)?;
    let mut edits = Vec::new();
    let set = |path: &[&str], v: Value| FieldEdit::Set {
        path: path.iter().map(|s| (*s).to_owned()).collect(),
        json: v.to_string(),
    };
    if let Some(json) = &a.json {
        edits.push(FieldEdit::Replace { json: json.clone() });
    }
    if let Some(url) = &a.url {
        edits.push(set(&["url"], Value::String(url.clone())));
    }
    if let Some(cmd) = &a.command {
        edits.push(set(&["command"], Value::String(cmd.clone())));
    }
    if !a.args.is_empty() {
        edits.push(set(
            &["args"],
            Value::Array(a.args.iter().cloned().map(Value::String).collect()),
        ));
    }
    for e in &a.set_env {
        let (k, v) = split_pair(e, '=', "--set-env")?;
        edits.push(set(&["env", k], Value::String(v.to_owned())));
    }
    for k in &a.unset_env {
        edits.push(FieldEdit::Remove {
            path: vec!["env".to_owned(), k.clone()],
        });
    }
    for e in &a.set_header {
        let (k, v) = split_pair(e, ':', "--set-header")?;
        edits.push(set(&["headers", k], Value::String(v.to_owned())));
    }
    for k in &a.unset_header {
        edits.push(FieldEdit::Remove {
            path: vec!["headers".to_owned(), k.clone()],
        });
    }
    if let Some(t) = a.timeout {
        edits.push(set(&["timeout"], Value::from(t)));
    }
    anyhow::ensure!(
        !edits.is_empty(),
        "nothing to change: see `switchboard mcp edit --help`"
    );
    let warnings = mcp::edit(paths, &loc, &a.name, &edits)?;
    let mut out = format!(
        "Updated {:?} in the {} scope ({})\n",
        a.name,
        loc.scope().as_str(),
        loc.file(paths).display()
    );
    for w in warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out.push_str(RESTART_NOTE);
    out.push('\n');
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}
