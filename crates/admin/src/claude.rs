//! Claude Code's files on the gateway's machine, for the dashboard's Claude Code page: the
//! user settings as they bear on the gateway, MCP servers in their three scopes, and skills —
//! each route a thin call into `switchboard_claude` (which never loses a byte of the user's
//! files), run on a blocking thread (file I/O, `git`).
//!
//! The files are those of the user who runs the gateway (its `HOME`, `CLAUDE_CONFIG_DIR`), as
//! the CLI's `switchboard mcp` and `skills` commands find them; `project` (a folder) selects a
//! project's local and project scopes. Secrets in MCP entries (`env` and `headers` values whose
//! names look secret) are shown masked, and an edit that sends a masked value back keeps the
//! value it stands for.
//!
//! A change (an MCP server or a skill added, edited, switched or removed) runs commands as the
//! gateway's user the next time Claude Code starts: by default (`[admin] claude_files =
//! "local"`) only a request over a loopback connection may make one ([`FromHere`]).

use std::path::{Path, PathBuf};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path as UrlPath, Query, State};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchboard_claude::mcp::{self, FieldEdit, Location, Scope};
use switchboard_claude::skills::{self, Install, Target};
use switchboard_claude::{Error as ClaudeError, Paths, settings};

use crate::AdminState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use switchboard_config::ClaudeFilesAccess;
use switchboard_gateway::ConnInfo;

pub(crate) mod openapi;

impl From<ClaudeError> for ApiError {
    fn from(e: ClaudeError) -> Self {
        // A git URL in a message (a failed clone) may carry a password: masked.
        let text = scrub_urls(&e.to_string());
        match e {
            ClaudeError::NotFound(_) => Self::NotFound(text),
            ClaudeError::Exists(_) | ClaudeError::Contended { .. } => Self::Conflict(text),
            ClaudeError::Io { .. } | ClaudeError::State { .. } => Self::Internal(text),
            _ => Self::BadRequest(text),
        }
    }
}

/// Proof that a request may change Claude Code's files, by `[admin] claude_files` and where
/// it comes from.
pub(crate) struct FromHere;

impl FromRequestParts<AdminState> for FromHere {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &AdminState,
    ) -> Result<Self, ApiError> {
        let remote = parts.extensions.get::<ConnInfo>().map(|c| c.remote.ip());
        let access = state.control().live().config.admin.claude_files;
        may_change(access, remote).map(|()| Self)
    }
}

/// Whether a request from `remote` (`None`: not known) may change Claude Code's files.
fn may_change(access: ClaudeFilesAccess, remote: Option<std::net::IpAddr>) -> Result<(), ApiError> {
    let local = remote.is_some_and(|ip| ip.to_canonical().is_loopback());
    match access {
        ClaudeFilesAccess::Any => Ok(()),
        ClaudeFilesAccess::Local if local => Ok(()),
        ClaudeFilesAccess::Local => Err(ApiError::Forbidden(
            "Claude Code's files on the gateway's machine can be changed only from that machine \
             (the CLI, or a browser on it): an MCP server or a skill runs commands as its user. \
             Set [admin] claude_files = \"any\" to allow admins elsewhere"
                .into(),
        )),
    }
}

/// `text` with the password of every `scheme://user:password@host…` in it masked.
fn scrub_urls(text: &str) -> String {
    let ends = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '(' | ')' | '<' | '>');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest[..at].rfind(ends).map_or(0, |i| i + 1);
        let end = rest[at..].find(ends).map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        out.push_str(&switchboard_config::mask_proxy_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Masks the password of every skill source URL (`"location"`) in an answer.
fn scrub_sources(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, inner) in m.iter_mut() {
                match inner {
                    Value::String(s) if k == "location" => *s = scrub_urls(s),
                    _ => scrub_sources(inner),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(scrub_sources),
        _ => {}
    }
}

/// Runs `f` (file I/O, maybe `git`) on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("the task did not finish: {e}")))?
}

fn body<T>(b: Result<Json<T>, JsonRejection>, what: &str) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::BadRequest(format!("expected {what}: {}", e.body_text())))
}

/// `?project=DIR`: a project's folder (absolute), for its local and project scopes.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct Project {
    project: Option<PathBuf>,
}

impl Project {
    fn dir(&self) -> Result<Option<&Path>, ApiError> {
        match self.project.as_deref() {
            Some(p) if p.as_os_str().is_empty() => Ok(None),
            Some(p) if !p.is_absolute() => Err(ApiError::bad(
                "project",
                "give the project's folder as an absolute path",
            )),
            other => Ok(other),
        }
    }

    fn required(&self) -> Result<&Path, ApiError> {
        self.dir()?
            .ok_or_else(|| ApiError::bad("project", "this scope needs the project's folder"))
    }
}

fn parse_scope(word: &str) -> Result<Scope, ApiError> {
    match word {
        "user" => Ok(Scope::User),
        "local" => Ok(Scope::Local),
        "project" => Ok(Scope::Project),
        other => Err(ApiError::NotFound(format!(
            "no MCP scope {other:?}: user, local or project"
        ))),
    }
}

fn location(scope: Scope, project: &Project) -> Result<Location, ApiError> {
    Ok(match scope {
        Scope::User => Location::User,
        _ => Location::new(scope, project.required()?)?,
    })
}

fn target(scope: &str, project: &Project) -> Result<Target, ApiError> {
    match scope {
        "user" => Ok(Target::User),
        "project" => Ok(Target::project(project.required()?)?),
        other => Err(ApiError::NotFound(format!(
            "no skills scope {other:?}: user or project"
        ))),
    }
}

/// The `git` binary: `SWITCHBOARD_GIT`, else `git` on the PATH (as the CLI).
fn git() -> PathBuf {
    std::env::var_os("SWITCHBOARD_GIT")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("git"), PathBuf::from)
}

fn server_json(s: &mcp::Server) -> Value {
    json!({
        "name": s.name,
        "scope": s.scope,
        "project": s.project,
        "file": s.file,
        "entry": mcp::masked(&s.entry),
        "target": s.target(),
        "transport": s.transport,
        "problem": s.problem,
        "warnings": s.warnings,
        "status": s.status,
        "shadowed_by": s.shadowed_by,
    })
}

/// `GET /api/admin/claude/settings[?project=DIR]`: `~/.claude/settings.json` as it bears on
/// the gateway (`switchboard setup claude --status`).
pub(crate) async fn settings_status(
    State(state): State<AdminState>,
    Query(project): Query<Project>,
) -> Result<Json<Value>, ApiError> {
    let paths = state.claude_paths()?;
    let dir = project.dir()?.map(Path::to_path_buf);
    let status = blocking(move || Ok(settings::status(&paths, dir.as_deref())?)).await?;
    Ok(Json(json!(status)))
}

/// `GET /api/admin/claude/mcp[?project=DIR]`: every MCP server Claude Code would see (the user
/// scope, and a project's local and project scopes), disabled ones included, secrets masked.
pub(crate) async fn mcp_list(
    State(state): State<AdminState>,
    Query(project): Query<Project>,
) -> Result<Json<Value>, ApiError> {
    let paths = state.claude_paths()?;
    let dir = project.dir()?.map(Path::to_path_buf);
    let servers = blocking(move || Ok(mcp::list(&paths, dir.as_deref())?)).await?;
    Ok(Json(json!({
        "servers": servers.iter().map(server_json).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewServer {
    scope: String,
    project: Option<PathBuf>,
    name: String,
    entry: Map<String, Value>,
}

/// `POST /api/admin/claude/mcp` `{scope, project?, name, entry}`: adds a server (name and
/// entry checked as Claude Code would; a name taken in that scope is refused).
pub(crate) async fn mcp_add(
    State(state): State<AdminState>,
    _: FromHere,
    form: Result<Json<NewServer>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let form = body(form, "{\"scope\", \"project\"?, \"name\", \"entry\": {…}}")?;
    let project = Project {
        project: form.project.clone(),
    };
    let loc = location(parse_scope(&form.scope)?, &project)?;
    let paths = state.claude_paths()?;
    let json = Value::Object(form.entry).to_string();
    let name = form.name;
    let (warnings, name) =
        blocking(move || Ok((mcp::add(&paths, &loc, &name, &json)?, name))).await?;
    Ok(Json(json!({"added": name, "warnings": warnings})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditServer {
    /// Fields to set (`null` removes one); fields not named are left as they are.
    entry: Map<String, Value>,
}

/// `PUT /api/admin/claude/mcp/{scope}/{name}[?project=DIR]` `{"entry": {field: value|null}}`:
/// sets the fields given and leaves the others (and fields the dashboard does not know) as
/// written. In `env` and `headers`, a value sent back as it was shown masked keeps its secret.
pub(crate) async fn mcp_edit(
    State(state): State<AdminState>,
    _: FromHere,
    UrlPath((scope, name)): UrlPath<(String, String)>,
    Query(project): Query<Project>,
    form: Result<Json<EditServer>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let form = body(form, "{\"entry\": {field: value or null}}")?;
    let loc = location(parse_scope(&scope)?, &project)?;
    let paths = state.claude_paths()?;
    let warnings = blocking(move || {
        let current = mcp::get(&paths, &loc, &name)?.entry;
        let edits = field_edits(&current, form.entry);
        Ok(mcp::edit(&paths, &loc, &name, &edits)?)
    })
    .await?;
    Ok(Json(json!({"warnings": warnings})))
}

/// The edits that make `current` hold `fields`; a masked secret sent back is the secret.
fn field_edits(current: &Value, fields: Map<String, Value>) -> Vec<FieldEdit> {
    let shown = mcp::masked(current);
    fields
        .into_iter()
        .map(|(key, value)| {
            let value = match (key.as_str(), value) {
                ("env" | "headers", Value::Object(mut inner)) => {
                    for (k, v) in &mut inner {
                        if shown.get(&key).and_then(|m| m.get(k)) == Some(v)
                            && let Some(real) = current.get(&key).and_then(|m| m.get(k))
                        {
                            v.clone_from(real);
                        }
                    }
                    Value::Object(inner)
                }
                (_, v) => v,
            };
            match value {
                Value::Null => FieldEdit::Remove { path: vec![key] },
                v => FieldEdit::Set {
                    path: vec![key],
                    json: v.to_string(),
                },
            }
        })
        .collect()
}

/// `DELETE /api/admin/claude/mcp/{scope}/{name}[?project=DIR]`.
pub(crate) async fn mcp_remove(
    State(state): State<AdminState>,
    _: FromHere,
    UrlPath((scope, name)): UrlPath<(String, String)>,
    Query(project): Query<Project>,
) -> Result<Json<Value>, ApiError> {
    let loc = location(parse_scope(&scope)?, &project)?;
    let paths = state.claude_paths()?;
    let name = blocking(move || {
        mcp::remove(&paths, &loc, &name)?;
        Ok(name)
    })
    .await?;
    Ok(Json(json!({"removed": name})))
}

async fn toggle(
    state: &AdminState,
    scope: &str,
    name: String,
    project: &Project,
    enable: bool,
) -> Result<Json<Value>, ApiError> {
    let loc = location(parse_scope(scope)?, project)?;
    let paths = state.claude_paths()?;
    let done = blocking(move || {
        Ok(if enable {
            mcp::enable(&paths, &loc, &name)?
        } else {
            mcp::disable(&paths, &loc, &name)?
        })
    })
    .await?;
    Ok(Json(json!(done)))
}

/// `POST /api/admin/claude/mcp/{scope}/{name}/enable[?project=DIR]`.
pub(crate) async fn mcp_enable(
    State(state): State<AdminState>,
    _: FromHere,
    UrlPath((scope, name)): UrlPath<(String, String)>,
    Query(project): Query<Project>,
) -> Result<Json<Value>, ApiError> {
    toggle(&state, &scope, name, &project, true).await
}

/// `POST /api/admin/claude/mcp/{scope}/{name}/disable[?project=DIR]`: user and local servers
/// go to Switchboard's stash (every byte kept for enable), project ones are declined for the
/// project as Claude Code records it.
pub(crate) async fn mcp_disable(
    State(state): State<AdminState>,
    _: FromHere,
    UrlPath((scope, name)): UrlPath<(String, String)>,
    Query(project): Query<Project>,
) -> Result<Json<Value>, ApiError> {
    toggle(&state, &scope, name, &project, false).await
}

/// `GET /api/admin/claude/skills[?project=DIR]`: the user's skills and a project's.
pub(crate) async fn skills_list(
    State(state): State<AdminState>,
    Query(project): Query<Project>,
) -> Result<Json<Value>, ApiError> {
    let paths = state.claude_paths()?;
    let dir = project.dir()?.map(Path::to_path_buf);
    let list = blocking(move || Ok(skills::list(&paths, dir.as_deref())?)).await?;
    let mut v = json!({"skills": list});
    scrub_sources(&mut v);
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSkill {
    /// A git URL (`file://` too), `OWNER/REPO`, a folder or an archive on the gateway's machine.
    source: String,
    #[serde(rename = "ref")]
    reference: Option<String>,
    /// A folder inside the source.
    path: Option<String>,
    /// The skill to take from a source holding several.
    name: Option<String>,
    #[serde(default)]
    all: bool,
    #[serde(default)]
    force: bool,
    /// `user` (default) or `project`.
    scope: Option<String>,
    project: Option<PathBuf>,
}

/// `POST /api/admin/claude/skills` `{source, ref?, path?, name?, all?, force?, scope?,
/// project?}`: installs (copies) a skill after checking its `SKILL.md`; a source with several
/// skills and no `name` is refused with their names.
pub(crate) async fn skills_install(
    State(state): State<AdminState>,
    _: FromHere,
    form: Result<Json<NewSkill>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let form = body(
        form,
        "{\"source\", \"ref\"?, \"path\"?, \"name\"?, \"scope\"?, \"project\"?}",
    )?;
    let project = Project {
        project: form.project.clone(),
    };
    let target = target(form.scope.as_deref().unwrap_or("user"), &project)?;
    let paths = state.claude_paths()?;
    let mut req = Install::new(form.source.trim(), target);
    req.reference = form.reference.filter(|r| !r.trim().is_empty());
    req.subdir = form.path.filter(|p| !p.trim().is_empty());
    req.name = form.name.filter(|n| !n.trim().is_empty());
    req.all = form.all;
    req.force = form.force;
    req.git = git();
    let installed = blocking(move || Ok(skills::install(&paths, &req)?)).await?;
    let mut v = json!({"installed": installed});
    scrub_sources(&mut v);
    Ok(Json(v))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateSkill {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    force: bool,
}

/// `POST /api/admin/claude/skills/{scope}/{name}/update[?project=DIR]` `{dry_run?, force?}`:
/// fetches the recorded source again and says what changed (and replaces the files unless
/// `dry_run`; files the user edited are kept unless `force`).
pub(crate) async fn skills_update(
    State(state): State<AdminState>,
    _: FromHere,
    UrlPath((scope, name)): UrlPath<(String, String)>,
    Query(project): Query<Project>,
    form: Option<Json<UpdateSkill>>,
) -> Result<Json<Value>, ApiError> {
    let form = form.map(|Json(f)| f).unwrap_or_default();
    let target = target(&scope, &project)?;
    let paths = state.claude_paths()?;
    let git = git();
    let updated = blocking(move || {
        Ok(skills::update(
            &paths,
            &target,
            &name,
            form.dry_run,
            form.force,
            &git,
        )?)
    })
    .await?;
    Ok(Json(json!(updated)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RemoveSkill {
    project: Option<PathBuf>,
    #[serde(default)]
    force: bool,
}

/// `DELETE /api/admin/claude/skills/{scope}/{name}[?project=DIR&force=true]`: removes the
/// skill's folder (one Switchboard did not install, or edited since, needs `force`).
pub(crate) async fn skills_remove(
    State(state): State<AdminState>,
    _: FromHere,
    UrlPath((scope, name)): UrlPath<(String, String)>,
    Query(q): Query<RemoveSkill>,
) -> Result<Json<Value>, ApiError> {
    let project = Project { project: q.project };
    let target = target(&scope, &project)?;
    let paths = state.claude_paths()?;
    let dir = blocking(move || Ok(skills::remove(&paths, &target, &name, q.force)?)).await?;
    Ok(Json(json!({"removed": dir})))
}

/// The Claude Code files this gateway manages: its override, else the process's `HOME`.
pub(crate) fn paths(over: Option<&Paths>) -> Result<Paths, ApiError> {
    match over {
        Some(p) => Ok(p.clone()),
        None => Paths::from_env().map_err(ApiError::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_files_change_only_from_the_machine_unless_allowed_anywhere() {
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().expect("ip"));
        let local = ClaudeFilesAccess::Local;
        assert!(may_change(local, ip("127.0.0.1")).is_ok());
        assert!(may_change(local, ip("127.0.0.53")).is_ok());
        assert!(may_change(local, ip("::1")).is_ok());
        assert!(may_change(local, ip("::ffff:127.0.0.1")).is_ok());
        for far in ["192.168.1.20", "10.0.0.1", "::ffff:192.168.1.20", "fe80::1"] {
            let Err(ApiError::Forbidden(why)) = may_change(local, ip(far)) else {
                panic!("{far} may change Claude Code's files");
            };
            assert!(why.contains("claude_files = \"any\""), "{why}");
        }
        assert!(may_change(local, None).is_err(), "unknown: refused");
        assert!(may_change(ClaudeFilesAccess::Any, ip("192.168.1.20")).is_ok());
    }

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            scrub_urls(
                "git clone -- https://me:ghp_0123456789abcdefWXYZ@github.com/a/b.git failed"
            ),
            "git clone -- https://me:ghp_012345…WXYZ@github.com/a/b.git failed"
        );
        assert_eq!(
            scrub_urls("\"file:///tmp/x\" and ssh://git@host/r"),
            "\"file:///tmp/x\" and ssh://git@host/r"
        );
        let mut v = json!({"skills": [{"record": {"source": {"kind": "git", "location": "https://u:secret-password-long-enough@h/r.git"}}}]});
        scrub_sources(&mut v);
        assert_eq!(
            v["skills"][0]["record"]["source"]["location"],
            "https://u:secret-pas…ough@h/r.git"
        );
    }

    #[test]
    fn a_masked_secret_sent_back_keeps_the_secret() {
        let current = json!({"command": "npx", "env": {"API_TOKEN": "tok-0123456789abcdefghij", "MODE": "a"}});
        let shown = mcp::masked(&current);
        let mut fields = Map::new();
        fields.insert(
            "env".into(),
            json!({"API_TOKEN": shown["env"]["API_TOKEN"], "MODE": "b"}),
        );
        fields.insert("args".into(), Value::Null);
        let edits = field_edits(&current, fields);
        assert_eq!(edits.len(), 2);
        assert!(edits.contains(&FieldEdit::Set {
            path: vec!["env".into()],
            json: r#"{"API_TOKEN":"tok-0123456789abcdefghij","MODE":"b"}"#.into()
        }));
        assert!(edits.contains(&FieldEdit::Remove {
            path: vec!["args".into()]
        }));
    }
}
