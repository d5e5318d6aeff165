//! `switchboard profile list|show|use NAME`: the configuration's `[[profiles]]` and the one in
//! force (`[routing] profile`).
//!
//! When the gateway runs, it does the work (`/api/admin/profiles`): the switch is written to the
//! file and in force for the next request, nothing restarted. When it does not, this process
//! edits the file itself (only `[routing] profile`, every comment kept, atomically) and the
//! gateway reads it when it starts.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use switchboard_config::edit::{self, Field};
use switchboard_config::{Config, Profile, render_errors};
use switchboard_server::ConfigFile;

use crate::commands::remote::{Remote, RemoteError};
use crate::commands::{config_path, data_dir, print_out, table};

#[derive(Debug, Args)]
pub(crate) struct ProfileArgs {
    #[command(subcommand)]
    pub(crate) command: ProfileCommand,
    /// Configuration file (resolved as for `serve`).
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProfileCommand {
    /// Every profile, the one in force marked.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One profile: its endpoints in order, its model map, what `switchboard claude` sets.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Put a profile in force: the next request follows it (no restart of the gateway or of
    /// Claude Code). `--none`: no profile, every endpoint in file order.
    Use {
        #[arg(required_unless_present = "none")]
        name: Option<String>,
        #[arg(long, conflicts_with = "name")]
        none: bool,
    },
}

pub(crate) async fn run(args: ProfileArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::locate(None, args.config.clone()).ok();
    match args.command {
        ProfileCommand::List { json: as_json } => {
            let v = listing(remote.as_ref(), args.config.clone()).await?;
            if as_json {
                print_out(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
                return Ok(ExitCode::SUCCESS);
            }
            let profiles = v["profiles"].as_array().cloned().unwrap_or_default();
            if profiles.is_empty() {
                print_out(&format!(
                    "No profiles in {}: add [[profiles]] (docs/configuration.md#profiles).\n",
                    text(&v["path"])
                ))?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut rows = vec![
                ["", "NAME", "ENDPOINTS", "MODELS"]
                    .map(str::to_owned)
                    .to_vec(),
            ];
            for p in &profiles {
                rows.push(vec![
                    if p["active"] == true { "*" } else { "" }.to_owned(),
                    text(&p["name"]),
                    endpoints(p),
                    models(p),
                ]);
            }
            let mut out = table(&rows, "");
            if v["active"].is_null() {
                out.push_str("No profile in force: every endpoint in file order.\n");
            }
            print_out(&out)?;
        }
        ProfileCommand::Show {
            name,
            json: as_json,
        } => {
            let v = listing(remote.as_ref(), args.config.clone()).await?;
            let p = v["profiles"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name.as_str()))
                .cloned()
                .with_context(|| no_such(&name, &v))?;
            if as_json {
                print_out(&format!("{}\n", serde_json::to_string_pretty(&p)?))?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut out = format!(
                "{name}{}\n",
                if p["active"] == true {
                    " (in force)"
                } else {
                    ""
                }
            );
            out.push_str(&format!("  endpoints  {}\n", endpoints(&p)));
            let rules = p["models"].as_array().cloned().unwrap_or_default();
            if rules.is_empty() {
                out.push_str("  models     (the endpoints' own maps)\n");
            } else {
                out.push_str("  models\n");
                let rows: Vec<Vec<String>> = rules
                    .iter()
                    .map(|r| vec![text(&r["pattern"]), "→".to_owned(), text(&r["target"])])
                    .collect();
                out.push_str(&table(&rows, "    "));
            }
            if let Some(env) = p["claude_env"].as_object().filter(|e| !e.is_empty()) {
                out.push_str("  switchboard claude sets\n");
                let rows: Vec<Vec<String>> =
                    env.iter().map(|(k, v)| vec![k.clone(), text(v)]).collect();
                out.push_str(&table(&rows, "    "));
            }
            print_out(&out)?;
        }
        ProfileCommand::Use { name, none } => {
            let name = if none { None } else { name };
            let body = json!({ "profile": name });
            let asked = match &remote {
                Some(r) => match r.put("/api/admin/profiles/active", &body).await {
                    Ok(v) => Some(v),
                    Err(RemoteError::Unreachable { .. }) => None,
                    Err(e) => return Err(anyhow::anyhow!("{e}")),
                },
                None => None,
            };
            let what = name
                .as_deref()
                .map_or_else(|| "No profile".to_owned(), |n| format!("The profile {n}"));
            if asked.is_some() {
                eprintln!("{what} is in force: the next request follows it.");
            } else {
                let path = use_locally(args.config.clone(), name.as_deref())?;
                eprintln!(
                    "{what} is in force ({}). The gateway is not running: it reads this when it starts.",
                    path.display()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `GET /api/admin/profiles` from the running gateway, else the same from the file.
async fn listing(remote: Option<&Remote>, config: Option<PathBuf>) -> anyhow::Result<Value> {
    if let Some(r) = remote {
        match r.get("/api/admin/profiles").await {
            Ok(v) => return Ok(v),
            Err(RemoteError::Unreachable { .. }) => {}
            Err(e) => return Err(anyhow::anyhow!("{e}")),
        }
    }
    let (path, config) = local_config(config)?;
    Ok(json!({
        "path": path.as_ref().map(|p| p.display().to_string()),
        "active": config.routing.profile,
        "profiles": config.profiles.iter().map(|p| profile_json(&config, p)).collect::<Vec<_>>(),
    }))
}

/// The configuration file and what it compiles to (`secret:NAME` values left unread).
pub(crate) fn local_config(config: Option<PathBuf>) -> anyhow::Result<(Option<PathBuf>, Config)> {
    let dir = data_dir()?;
    let path = config_path(config, Some(&dir));
    let (config, _) = ConfigFile::new(path.clone()).peek().map_err(|errors| {
        anyhow::anyhow!(
            "{}the configuration has errors: fix them first",
            render_errors(&errors)
        )
    })?;
    Ok((path, config))
}

/// One profile as `GET /api/admin/profiles` shows it.
fn profile_json(c: &Config, p: &Profile) -> Value {
    let endpoints: Vec<&str> = if p.endpoints.is_empty() {
        c.endpoints.iter().map(|e| e.name.as_str()).collect()
    } else {
        p.endpoints.iter().map(String::as_str).collect()
    };
    let env: Map<String, Value> = p
        .claude
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    json!({
        "name": p.name,
        "active": c.routing.profile.as_deref() == Some(p.name.as_str()),
        "endpoints": endpoints,
        "all_endpoints": p.endpoints.is_empty(),
        "models": p.models.rules.iter().map(|r| json!({"pattern": r.pattern, "target": r.target})).collect::<Vec<_>>(),
        "claude_env": env,
    })
}

/// Writes `[routing] profile` into the file (checked first against its profiles).
fn use_locally(config: Option<PathBuf>, name: Option<&str>) -> anyhow::Result<PathBuf> {
    let (path, compiled) = local_config(config)?;
    let path = path.context(
        "there is no configuration file (the built-in default has no profiles): pass --config",
    )?;
    if let Some(name) = name
        && !compiled.profiles.iter().any(|p| p.name == name)
    {
        anyhow::bail!(
            "{}",
            no_such(
                name,
                &json!({"profiles": compiled.profiles.iter().map(|p| json!({"name": p.name})).collect::<Vec<_>>()})
            )
        );
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let field = name.map_or(Field::Remove, |n| Field::Text(n.to_owned()));
    let new = edit::set_values(&text, &["routing"], &[("profile".to_owned(), field)])?;
    write_atomically(&path, new.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn no_such(name: &str, listing: &Value) -> String {
    let names: Vec<String> = listing["profiles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| text(&p["name"]))
        .collect();
    if names.is_empty() {
        format!("no profile named {name:?}: the configuration has no [[profiles]]")
    } else {
        format!(
            "no profile named {name:?}; the profiles are: {}",
            names.join(", ")
        )
    }
}

/// A temporary file beside `path`, flushed, given the old file's permissions, renamed over it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        if let Some(p) = permissions {
            f.set_permissions(p)?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn endpoints(p: &Value) -> String {
    let names: Vec<String> = p["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    let mut s = names.join(" → ");
    if p["all_endpoints"] == true {
        s.push_str(" (all)");
    }
    s
}

fn models(p: &Value) -> String {
    let rules: Vec<String> = p["models"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| format!("{}→{}", text(&r["pattern"]), text(&r["target"])))
        .collect();
    if rules.is_empty() {
        "-".to_owned()
    } else {
        rules.join(", ")
    }
}
