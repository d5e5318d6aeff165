//! `switchboard skills`: install Claude Code skills from a git repository, a folder or an
//! archive, and list, show, update and remove them (`switchboard_claude::skills`).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use switchboard_claude::skills::{self, Install, SkillInfo, Target};
use switchboard_claude::{Error, Paths};

use crate::commands::{print_out, table};

#[derive(Debug, Subcommand)]
pub(crate) enum SkillsCommand {
    /// Install from a git repository (any URL git understands, OWNER/REPO for GitHub), a folder,
    /// or a zip / tar / tar.gz archive. Files are copied; the source is recorded for `update`.
    Install(InstallArgs),
    /// The skills in ~/.claude/skills and, with --project, a project's .claude/skills.
    List(ListArgs),
    /// One skill: its front matter, source and local changes.
    Show(NameArgs),
    /// Fetch a skill's recorded source again and show (and apply) what changed.
    Update(UpdateArgs),
    /// Remove a skill's folder.
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub(crate) struct Place {
    /// Use this project's .claude/skills instead of ~/.claude/skills (no DIR: the current folder).
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = ".")]
    project: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct InstallArgs {
    source: String,
    /// The skill to install when the source holds several (its name or its folder's).
    #[arg(long)]
    name: Option<String>,
    /// Install every skill the source holds.
    #[arg(long, conflicts_with = "name")]
    all: bool,
    /// Branch, tag or commit (git).
    #[arg(long = "ref", value_name = "REF")]
    reference: Option<String>,
    /// A folder inside the source to look in.
    #[arg(long = "path", value_name = "SUBDIR")]
    subdir: Option<String>,
    /// Replace an installed skill of the same name.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    place: Place,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    place: Place,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    name: String,
    #[command(flatten)]
    place: Place,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// The skill (default with --all: every skill Switchboard installed there).
    #[arg(required_unless_present = "all")]
    name: Option<String>,
    #[arg(long, conflicts_with = "name")]
    all: bool,
    /// Show what would change, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Overwrite files edited since the install.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    place: Place,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    name: String,
    /// Remove it even if Switchboard did not install it, or its files were edited.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    place: Place,
}

fn target(place: &Place) -> anyhow::Result<Target> {
    Ok(match &place.project {
        None => Target::User,
        Some(dir) => Target::project(dir)?,
    })
}

/// The `git` binary: `SWITCHBOARD_GIT`, else `git` on the PATH.
fn git() -> PathBuf {
    std::env::var_os("SWITCHBOARD_GIT")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("git"), PathBuf::from)
}

pub(crate) fn run(command: SkillsCommand) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    match command {
        SkillsCommand::Install(a) => install(&paths, &a),
        SkillsCommand::List(a) => list(&paths, &a),
        SkillsCommand::Show(a) => show(&paths, &a),
        SkillsCommand::Update(a) => update(&paths, &a),
        SkillsCommand::Remove(a) => {
            let dir = skills::remove(&paths, &target(&a.place)?, &a.name, a.force)?;
            print_out(&format!("Removed {}\n", dir.display()))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn install(paths: &Paths, a: &InstallArgs) -> anyhow::Result<ExitCode> {
    let mut req = Install::new(a.source.clone(), target(&a.place)?);
    req.name = a.name.clone();
    req.all = a.all;
    req.reference = a.reference.clone();
    req.subdir = a.subdir.clone();
    req.force = a.force;
    req.git = git();
    let done = match skills::install(paths, &req) {
        Err(Error::Ambiguous { candidates, .. }) if interactive() => {
            let Some(name) = pick(&candidates)? else {
                anyhow::bail!("nothing installed");
            };
            req.name = Some(name);
            skills::install(paths, &req)?
        }
        other => other?,
    };
    if a.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&done)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    for d in &done {
        out.push_str(&format!(
            "{} {} → {} ({} files from {}{})\n",
            if d.replaced { "Replaced" } else { "Installed" },
            d.name,
            d.dir.display(),
            d.files,
            d.source,
            d.commit
                .as_deref()
                .map(|c| format!(", commit {}", &c[..c.len().min(12)]))
                .unwrap_or_default()
        ));
        for w in &d.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
    }
    out.push_str("Claude Code picks up new and changed skills without a restart.\n");
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks on the terminal which of `candidates` (`name (folder)`) to install.
fn pick(candidates: &[String]) -> anyhow::Result<Option<String>> {
    let mut err = std::io::stderr().lock();
    writeln!(err, "This source holds several skills:")?;
    for (i, c) in candidates.iter().enumerate() {
        writeln!(err, "  {}) {c}", i + 1)?;
    }
    write!(
        err,
        "Install which one? [1-{}, empty to stop] ",
        candidates.len()
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let n: usize = line
        .parse()
        .with_context(|| format!("{line:?} is not a number"))?;
    let chosen = candidates
        .get(n.wrapping_sub(1))
        .with_context(|| format!("{n} is not between 1 and {}", candidates.len()))?;
    // `name (folder)`: the name is the first word.
    Ok(chosen.split(' ').next().map(str::to_owned))
}

fn project_of(place: &Place) -> Option<&Path> {
    place.project.as_deref()
}

fn list(paths: &Paths, a: &ListArgs) -> anyhow::Result<ExitCode> {
    let all = skills::list(paths, project_of(&a.place))?;
    if a.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&all)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        print_out("No skills.\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![vec![
        "NAME".to_owned(),
        "SCOPE".to_owned(),
        "SOURCE".to_owned(),
        "DESCRIPTION".to_owned(),
    ]];
    for s in &all {
        rows.push(vec![
            s.name.clone(),
            s.scope.to_owned(),
            source_text(s),
            description(s),
        ]);
    }
    print_out(&table(&rows, ""))?;
    Ok(ExitCode::SUCCESS)
}

fn source_text(s: &SkillInfo) -> String {
    let mut t = s.record.as_ref().map_or_else(
        || "(not installed by switchboard)".to_owned(),
        |r| r.source.to_string(),
    );
    if s.local_changes.is_some() {
        t.push_str(" [edited]");
    }
    t
}

fn description(s: &SkillInfo) -> String {
    match &s.meta {
        Some(m) => {
            let first = m.description.lines().next().unwrap_or("");
            let mut d: String = first.chars().take(60).collect();
            if first.chars().count() > 60 {
                d.push('…');
            }
            d
        }
        None => format!("INVALID: {}", s.problems.join("; ")),
    }
}

fn show(paths: &Paths, a: &NameArgs) -> anyhow::Result<ExitCode> {
    let s = skills::show(paths, &target(&a.place)?, &a.name)?;
    if a.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&s)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = format!("{} ({} skill) {}\n", s.name, s.scope, s.dir.display());
    if let Some(m) = &s.meta {
        out.push_str(&format!("  description: {}\n", m.description.trim_end()));
        if let Some(l) = &m.license {
            out.push_str(&format!("  license: {l}\n"));
        }
        if !m.allowed_tools.is_empty() {
            out.push_str(&format!("  allowed-tools: {}\n", m.allowed_tools.join(" ")));
        }
        out.push_str(&format!("  front matter: {}\n", m.keys.join(", ")));
        for w in &m.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
    }
    for p in &s.problems {
        out.push_str(&format!("problem: {p}\n"));
    }
    match &s.record {
        Some(r) => {
            out.push_str(&format!("  source: {}\n", r.source));
            if let Some(c) = &r.commit {
                out.push_str(&format!("  commit: {c}\n"));
            }
            out.push_str(&format!("  files: {}\n", r.files.len()));
        }
        None => out.push_str("  source: not installed by switchboard\n"),
    }
    if let Some(d) = &s.local_changes {
        out.push_str(&format!("  edited since install: {}\n", diff_text(d)));
    }
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn diff_text(d: &skills::Diff) -> String {
    let mut parts = Vec::new();
    for (sign, list) in [("+", &d.added), ("-", &d.removed), ("~", &d.modified)] {
        parts.extend(list.iter().map(|p| format!("{sign}{p}")));
    }
    parts.join(" ")
}

fn update(paths: &Paths, a: &UpdateArgs) -> anyhow::Result<ExitCode> {
    let target = target(&a.place)?;
    let names: Vec<String> = match &a.name {
        Some(n) => vec![n.clone()],
        None => skills::list(paths, project_of(&a.place))?
            .into_iter()
            .filter(|s| s.record.is_some() && (s.scope == "project") == a.place.project.is_some())
            .map(|s| s.name)
            .collect(),
    };
    let git = git();
    let mut reports = Vec::new();
    let mut failed = false;
    for name in &names {
        match skills::update(paths, &target, name, a.dry_run, a.force, &git) {
            Ok(r) => reports.push(r),
            Err(e) if names.len() > 1 => {
                eprintln!("error: {name}: {e}");
                failed = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
    if a.json {
        print_out(&format!("{}\n", serde_json::to_string_pretty(&reports)?))?;
    } else {
        let mut out = String::new();
        for r in &reports {
            let commits = match (&r.from_commit, &r.to_commit) {
                (Some(f), Some(t)) if f != t => format!(" ({} → {})", short(f), short(t)),
                _ => String::new(),
            };
            if r.changes.is_empty() {
                out.push_str(&format!("{}: up to date{commits}\n", r.name));
                continue;
            }
            let verb = if r.applied { "updated" } else { "would change" };
            out.push_str(&format!("{}: {verb}{commits}\n", r.name));
            for (sign, list) in [
                ("added", &r.changes.added),
                ("removed", &r.changes.removed),
                ("modified", &r.changes.modified),
            ] {
                for p in list {
                    out.push_str(&format!("  {sign:<8} {p}\n"));
                }
            }
            for w in &r.warnings {
                out.push_str(&format!("warning: {w}\n"));
            }
        }
        if names.is_empty() {
            out.push_str("No skills installed by switchboard here.\n");
        }
        print_out(&out)?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}
