//! The OpenAPI operations and schemas of profiles and of Claude Code's files (settings, MCP
//! servers, skills); the control plane's document at `/api/openapi.json` takes them from here.

use serde_json::{Value, json};

use crate::api::openapi_admin::AdminOp;

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_ok(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn obj(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

fn project() -> (&'static str, &'static str, Value) {
    (
        "project",
        "A project's folder on the gateway's machine (absolute): its local scope (`projects[DIR]` in ~/.claude.json), its .mcp.json and its .claude/skills. Needed for the local and project scopes.",
        json!({"type": "string"}),
    )
}

/// The operation of `method` `path` for a profile or Claude Code route.
pub(crate) fn op(method: &str, path: &str) -> Option<AdminOp> {
    let op = |id, summary, body: Option<Value>, ok: Value, project_query: bool| AdminOp {
        id,
        summary,
        body,
        ok,
        query: Vec::new(),
        optional_query: if project_query {
            vec![project()]
        } else {
            Vec::new()
        },
    };
    let string_array = || json!({"type": "array", "items": {"type": "string"}});
    Some(match (method, path) {
        ("GET", "/api/admin/profiles") => op(
            "listProfiles",
            "Every profile of the configuration in force (`[[profiles]]`: endpoints in order, model map, Claude Code variables), which one is in force, and the file's version.",
            None,
            json_ok(r("Profiles")),
            false,
        ),
        ("PUT", "/api/admin/profiles/active") => op(
            "useProfile",
            "Puts a profile in force (null: none) by writing `[routing] profile` to the configuration file (comments kept) and reloading: the next request is routed with it, nothing restarts. An unknown name is refused with the names there are.",
            Some(obj(json!({
                "profile": {"type": ["string", "null"]},
                "version": {"type": "string", "description": "The file's version the switch is based on (or If-Match)."},
            }))),
            json_ok(r("Written")),
            false,
        ),
        ("GET", "/api/admin/claude/settings") => op(
            "claudeSettings",
            "~/.claude/settings.json (or $CLAUDE_CONFIG_DIR's) as it bears on the gateway: whether `switchboard setup claude` wrote it, each key it manages (still its value, or changed since), the other gateway-related keys, secrets masked (first 10 characters, …, last 4), and warnings; a malformed file is reported with its line, never written.",
            None,
            json_ok(r("ClaudeSettings")),
            true,
        ),
        ("GET", "/api/admin/claude/mcp") => op(
            "listMcpServers",
            "Every MCP server Claude Code would see: the user scope, and with `project` that project's local scope and .mcp.json; disabled ones included, secret-looking env and header values masked.",
            None,
            json_ok(obj(
                json!({"servers": {"type": "array", "items": r("McpServer")}}),
            )),
            true,
        ),
        ("POST", "/api/admin/claude/mcp") => op(
            "addMcpServer",
            "Adds a server to a scope: stdio {command, args, env} or http/sse/ws {type, url, headers}. The name (letters, digits, - and _) and the entry are checked as Claude Code checks them; a name taken in that scope is refused (409). Only that entry of the file is written; every other key keeps its bytes. Over a loopback connection only (403 from elsewhere) unless `[admin] claude_files = \"any\"`: it makes Claude Code run commands as the gateway's user.",
            Some(obj(json!({
                "scope": {"type": "string", "enum": ["user", "local", "project"]},
                "project": {"type": "string", "description": "The project's folder (local and project scopes)."},
                "name": {"type": "string"},
                "entry": {"type": "object"},
            }))),
            json_ok(obj(
                json!({"added": {"type": "string"}, "warnings": string_array()}),
            )),
            false,
        ),
        ("PUT", "/api/admin/claude/mcp/{scope}/{name}") => op(
            "editMcpServer",
            "Sets the entry's fields given (null removes one) and keeps every other field, known or not. In env and headers, a value sent back as it was shown masked keeps the secret it stands for. Over a loopback connection only (403 from elsewhere) unless `[admin] claude_files = \"any\"`: it makes Claude Code run commands as the gateway's user.",
            Some(obj(json!({"entry": {"type": "object"}}))),
            json_ok(obj(json!({"warnings": string_array()}))),
            true,
        ),
        ("DELETE", "/api/admin/claude/mcp/{scope}/{name}") => op(
            "removeMcpServer",
            "Removes the server's entry (only that entry: the rest of the file keeps its bytes). Over a loopback connection only (403 from elsewhere) unless `[admin] claude_files = \"any\"`: it makes Claude Code run commands as the gateway's user.",
            None,
            json_ok(obj(json!({"removed": {"type": "string"}}))),
            true,
        ),
        ("POST", "/api/admin/claude/mcp/{scope}/{name}/enable") => op(
            "enableMcpServer",
            "Turns a disabled server back on: a user or local one comes back from Switchboard's stash byte for byte; a project one is approved for the project as Claude Code records it. Over a loopback connection only (403 from elsewhere) unless `[admin] claude_files = \"any\"`: it makes Claude Code run commands as the gateway's user.",
            None,
            json_ok(r("McpToggled")),
            true,
        ),
        ("POST", "/api/admin/claude/mcp/{scope}/{name}/disable") => op(
            "disableMcpServer",
            "Turns a server off without losing it: a user or local one moves to Switchboard's stash (Claude Code no longer sees it), a project one is declined for the project. Over a loopback connection only (403 from elsewhere) unless `[admin] claude_files = \"any\"`: it makes Claude Code run commands as the gateway's user.",
            None,
            json_ok(r("McpToggled")),
            true,
        ),
        ("GET", "/api/admin/claude/skills") => op(
            "listSkills",
            "The user's skills (~/.claude/skills) and, with `project`, the project's: each one's SKILL.md front matter (or why it is invalid), where Switchboard installed it from, and files changed since.",
            None,
            json_ok(obj(
                json!({"skills": {"type": "array", "items": r("Skill")}}),
            )),
            true,
        ),
        ("POST", "/api/admin/claude/skills") => op(
            "installSkill",
            "Installs (copies) a skill from a git URL (file:// too; a ref and a folder inside allowed), OWNER/REPO on GitHub, or a folder or zip/tar archive on the gateway's machine, after checking its SKILL.md against the published rules; an invalid skill is refused with the reasons, a source holding several without `name` with their names. Over a loopback connection only (403 from elsewhere) unless `[admin] claude_files = \"any\"`: it makes Claude Code run commands as the gateway's user.",
            Some(obj(json!({
                "source": {"type": "string"},
                "ref": {"type": "string"},
                "path": {"type": "string", "description": "A folder inside the source."},
                "name": {"type": "string", "description": "The skill to take from a source holding several."},
                "all": {"type": "boolean"},
                "force": {"type": "boolean", "description": "Replace a skill of that name."},
                "scope": {"type": "string", "enum": ["user", "project"]},
                "project": {"type": "string"},
            }))),
            json_ok(obj(
                json!({"installed": {"type": "array", "items": r("SkillInstalled")}}),
            )),
            false,
        ),
        ("POST", "/api/admin/claude/skills/{scope}/{name}/update") => op(
            "updateSkill",
            "Fetches a Switchboard-installed skill's recorded source again and says what changed (files added, removed, modified); replaces the files unless `dry_run`. Files the user edited are kept unless `force`. Over a loopback connection only (403 from elsewhere) unless `[admin] claude_files = \"any\"`: it makes Claude Code run commands as the gateway's user.",
            Some(obj(
                json!({"dry_run": {"type": "boolean"}, "force": {"type": "boolean"}}),
            )),
            json_ok(obj(json!({
                "name": {"type": "string"},
                "from_commit": {"type": ["string", "null"]},
                "to_commit": {"type": ["string", "null"]},
                "changes": r("SkillDiff"),
                "applied": {"type": "boolean"},
                "warnings": string_array(),
            }))),
            true,
        ),
        ("DELETE", "/api/admin/claude/skills/{scope}/{name}") => {
            let mut o = op(
                "removeSkill",
                "Removes a skill's folder. One Switchboard did not install, or one edited since, needs `force=true`. Over a loopback connection only (403 from elsewhere) unless `[admin] claude_files = \"any\"`: it makes Claude Code run commands as the gateway's user.",
                None,
                json_ok(obj(json!({"removed": {"type": "string"}}))),
                true,
            );
            o.optional_query.push((
                "force",
                "Remove it even if Switchboard did not install it or it was edited since.",
                json!({"type": "boolean"}),
            ));
            o
        }
        _ => return None,
    })
}

/// `{scope}` and `{name}` of this module's paths.
pub(crate) fn path_param(path: &str, name: &str) -> Option<(&'static str, Value)> {
    let mcp = path.starts_with("/api/admin/claude/mcp/");
    let skills = path.starts_with("/api/admin/claude/skills/");
    match name {
        "scope" if mcp => Some((
            "user, local or project.",
            json!({"type": "string", "enum": ["user", "local", "project"]}),
        )),
        "scope" if skills => Some((
            "user or project.",
            json!({"type": "string", "enum": ["user", "project"]}),
        )),
        "name" if mcp => Some((
            "The server's name (letters, digits, - and _).",
            json!({"type": "string"}),
        )),
        "name" if skills => Some(("The skill's folder name.", json!({"type": "string"}))),
        _ => None,
    }
}

/// The schemas of this module's answers (checked by the server's tests against real answers).
pub(crate) fn schemas() -> Value {
    let s = || json!({"type": "string"});
    let ns = || json!({"type": ["string", "null"]});
    let b = || json!({"type": "boolean"});
    let strings = || json!({"type": "array", "items": {"type": "string"}});
    let source = obj(json!({
        "kind": {"type": "string", "enum": ["git", "folder", "archive"]},
        "location": {"type": "string", "description": "A URL (its password masked) or a path."},
        "reference": s(),
        "subdir": s(),
    }));
    json!({
        "Profiles": obj(json!({
            "path": s(), "version": s(), "active": ns(),
            "profiles": {"type": "array", "items": obj(json!({
                "name": s(), "active": b(),
                "endpoints": strings(),
                "all_endpoints": {"type": "boolean", "description": "The profile names no endpoints: every endpoint, in file order."},
                "disabled_endpoints": strings(),
                "models": {"type": "array", "items": obj(json!({"pattern": s(), "target": s()}))},
                "claude_env": {"type": "object", "description": "Claude Code's variables the launcher sets for it (ANTHROPIC_MODEL, …)."},
            }))},
        })),
        "ClaudeSettings": obj(json!({
            "path": s(), "exists": b(),
            "problem": {"type": ["string", "null"], "description": "Why the file cannot be used (malformed: with its line and column)."},
            "set_up": {"type": "boolean", "description": "`switchboard setup claude` recorded a setup of this file (undo knows each key's previous value)."},
            "keys": {"type": "array", "items": obj(json!({
                "key": s(),
                "value": {"type": ["string", "null"], "description": "As written, secrets masked; null: absent."},
                "managed": b(), "ours": b(),
            }))},
            "warnings": strings(),
        })),
        "McpServer": obj(json!({
            "name": s(),
            "scope": {"type": "string", "enum": ["user", "local", "project"]},
            "project": ns(), "file": s(),
            "entry": {"type": "object", "description": "The entry as written, every field kept; secret-looking env and header values masked."},
            "target": s(),
            "transport": {"type": ["string", "null"], "enum": ["stdio", "http", "sse", "ws", null]},
            "problem": ns(), "warnings": strings(),
            "status": {"type": "string", "enum": ["enabled", "disabled_by_switchboard", "disabled_for_project", "disabled_in_mcp_menu", "needs_approval"]},
            "shadowed_by": {"type": ["string", "null"], "enum": ["user", "local", "project", null]},
        })),
        "McpToggled": obj(json!({"file": s(), "how": s(), "already": b()})),
        "SkillDiff": obj(json!({"added": strings(), "removed": strings(), "modified": strings()})),
        "SkillSource": source,
        "Skill": obj(json!({
            "name": s(), "dir": s(),
            "scope": {"type": "string", "enum": ["user", "project"]},
            "meta": {"type": ["object", "null"], "properties": {
                "name": s(), "description": s(), "license": ns(), "compatibility": ns(),
                "allowed_tools": strings(), "metadata": {"type": "object"}, "keys": strings(), "warnings": strings(),
            }},
            "problems": strings(),
            "record": {"type": ["object", "null"], "description": "Switchboard installed it: from where, at which commit, when.", "properties": {
                "source": r("SkillSource"), "rel": s(), "commit": ns(), "installed_at": {"type": "integer"},
            }},
            "local_changes": {"type": ["object", "null"], "properties": {"added": strings(), "removed": strings(), "modified": strings()}},
        })),
        "SkillInstalled": obj(json!({
            "name": s(), "dir": s(), "source": r("SkillSource"), "commit": ns(),
            "files": {"type": "integer"}, "replaced": b(), "warnings": strings(),
        })),
    })
}
