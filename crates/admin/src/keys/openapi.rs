//! The OpenAPI operations of client keys, teams, budgets and usage (the control plane's document
//! at `/api/openapi.json` takes them from here).

use serde_json::{Value, json};

fn json_ok(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn obj(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

fn budgets() -> Value {
    json!({"type": "array", "items": {"type": "string", "description": "[FAMILY:]AMOUNT/WINDOW: 5usd/day, 2000000tok/5h, opus:10usd/week"}})
}

fn limits() -> Value {
    obj(json!({
        "models": {"type": "array", "items": {"type": "string"}, "description": "Globs on the requested model; empty: any."},
        "endpoints": {"type": "array", "items": {"type": "string"}, "description": "Endpoint names the key's requests may go to; empty: all."},
        "clients": {"type": "array", "items": {"type": "string"}, "description": "Globs on the client's User-Agent (claude-cli/* for Claude Code only); empty: any."},
        "concurrency": {"type": "integer", "minimum": 1},
        "rpm": {"type": "integer", "minimum": 1},
        "tpm": {"type": "integer", "minimum": 1},
        "budgets": budgets(),
    }))
}

fn key() -> Value {
    obj(json!({
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string"},
        "hint": {"type": "string", "description": "The key masked: first 10 characters, …, last 4."},
        "user": {"type": ["string", "null"]},
        "team": {"type": ["string", "null"]},
        "limits": limits(),
        "state": {"type": "string", "enum": ["active", "revoked", "expired"]},
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "last_used_at": {"type": ["string", "null"], "format": "date-time"},
        "in_flight": {"type": "integer"},
        "budgets": {"type": "array", "items": budget_state()},
        "key": {"type": "string", "description": "The key itself: only in the answer that made it (create, rotate), never again."},
    }))
}

fn budget_state() -> Value {
    obj(json!({
        "scope": {"type": "string", "enum": ["key", "user", "team"]},
        "name": {"type": "string"},
        "budget": {"type": "string"},
        "window": {"type": "string", "enum": ["5h", "day", "week", "month"]},
        "family": {"type": ["string", "null"]},
        "unit": {"type": "string", "enum": ["usd", "tokens"]},
        "limit": {"type": "number"},
        "spent": {"type": "number"},
        "remaining": {"type": "number"},
        "exhausted": {"type": "boolean"},
        "frees_at": {"type": ["string", "null"], "format": "date-time"},
    }))
}

fn team() -> Value {
    obj(json!({
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string"},
        "budgets": budgets(),
        "budget_state": {"type": "array", "items": budget_state()},
        "members": {"type": "array", "items": {"type": "string"}},
    }))
}

/// `(operation id, summary, request body, 200 content)` of a route of this module.
pub(crate) fn op(
    method: &str,
    path: &str,
) -> Option<(&'static str, &'static str, Option<Value>, Value)> {
    let written = || json_ok(json!({"type": "object"}));
    Some(match (method, path) {
        ("GET", "/api/admin/keys") => (
            "listKeys",
            "Client keys with usage since the start and their budgets (a member: their own).",
            None,
            json_ok(obj(
                json!({"keys": {"type": "array", "items": key()}, "required": {"type": "boolean"}}),
            )),
        ),
        ("POST", "/api/admin/keys") => (
            "createKey",
            "Makes a client key; the answer's `key` is shown once.",
            Some(obj(json!({
                "name": {"type": "string"},
                "user": {"type": "string", "description": "Default: the caller."},
                "team": {"type": "string"},
                "limits": limits(),
                "expires_in": {"type": "string", "description": "30d, 12h…"},
                "expires_at": {"type": "string", "format": "date-time"},
            }))),
            json_ok(key()),
        ),
        ("GET", "/api/admin/keys/{key}") => (
            "getKey",
            "One client key by name or id (a member: their own).",
            None,
            json_ok(key()),
        ),
        ("PUT", "/api/admin/keys/{key}") => (
            "updateKey",
            "Changes a key's team, limits (replaced whole) or expiry.",
            Some(obj(json!({
                "team": {"type": ["string", "null"]},
                "limits": limits(),
                "expires_at": {"type": ["string", "null"], "format": "date-time"},
                "expires_in": {"type": "string"},
            }))),
            json_ok(key()),
        ),
        ("POST", "/api/admin/keys/{key}/revoke") => (
            "revokeKey",
            "Revokes a key: refused from the next request on.",
            None,
            json_ok(key()),
        ),
        ("POST", "/api/admin/keys/{key}/rotate") => (
            "rotateKey",
            "A new key in place of the old one (same name, owner, limits), shown once.",
            None,
            json_ok(key()),
        ),
        ("PUT", "/api/admin/users/{name}/budgets") => (
            "setUserBudgets",
            "Budgets all of a user's keys share.",
            Some(obj(json!({"budgets": budgets()}))),
            written(),
        ),
        ("GET", "/api/admin/teams") => (
            "listTeams",
            "Teams with members and budgets (a member: their teams).",
            None,
            json_ok(obj(json!({"teams": {"type": "array", "items": team()}}))),
        ),
        ("POST", "/api/admin/teams") => (
            "createTeam",
            "Makes a team.",
            Some(obj(
                json!({"name": {"type": "string"}, "budgets": budgets()}),
            )),
            json_ok(team()),
        ),
        ("PUT", "/api/admin/teams/{name}") => (
            "setTeamBudgets",
            "Budgets all of a team's keys share.",
            Some(obj(json!({"budgets": budgets()}))),
            json_ok(team()),
        ),
        ("DELETE", "/api/admin/teams/{name}") => (
            "removeTeam",
            "Removes a team; its keys stay, charged to no team.",
            None,
            written(),
        ),
        ("POST", "/api/admin/teams/{name}/members") => (
            "addTeamMember",
            "Adds a user to a team.",
            Some(obj(json!({"user": {"type": "string"}}))),
            written(),
        ),
        ("DELETE", "/api/admin/teams/{name}/members/{user}") => (
            "removeTeamMember",
            "Takes a user out of a team.",
            None,
            written(),
        ),
        ("GET", "/api/admin/usage") => (
            "usage",
            "Usage per key, user or team from the request log, with each one's budgets and what is left (query: by=key|user|team, from, to, bucket=hour|day). A member: their own keys and themselves.",
            None,
            json_ok(obj(json!({
                "by": {"type": "string"},
                "rows": {"type": "array", "items": obj(json!({
                    "name": {"type": "string"},
                    "totals": {"type": "object"},
                    "budgets": {"type": "array", "items": budget_state()},
                }))},
                "series": {"type": "array", "items": {"type": "object"}},
            }))),
        ),
        _ => return None,
    })
}
