//! The OpenAPI operations of the control plane beyond the query API: signing in, users and
//! sessions, secrets, operations, endpoints, the configuration file and settings, replay, and
//! the dashboard's own files. [`super::openapi`] assembles them with the query API's.

use serde_json::{Value, json};

/// What the document says of one route.
pub(crate) struct AdminOp {
    pub(crate) id: &'static str,
    pub(crate) summary: &'static str,
    /// The JSON request body's schema, if the route takes one.
    pub(crate) body: Option<Value>,
    /// The 200 answer's content (media type → schema).
    pub(crate) ok: Value,
    /// Query parameters of its own (name, description, schema).
    pub(crate) query: Vec<(&'static str, &'static str, Value)>,
    /// Query parameters it takes but does not need.
    pub(crate) optional_query: Vec<(&'static str, &'static str, Value)>,
}

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_ok(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn obj(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

/// Header parameters of a write of the configuration file.
pub(crate) fn header_params(path: &str, method: &str) -> Vec<Value> {
    let writes_file = method != "GET"
        && (path.starts_with("/api/admin/endpoints")
            && !path.ends_with("/test")
            && !path.ends_with("/reset")
            || path == "/api/admin/settings");
    if writes_file {
        vec![json!({
            "name": "If-Match", "in": "header", "required": false,
            "description": "The configuration file's version (GET /api/admin/config) the change is based on; also accepted as `version` in the body. When the file is at another version the write is refused with 409, the current version and a unified diff of what changed. Without it the change applies to the file as it is.",
            "schema": {"type": "string"},
        })]
    } else {
        Vec::new()
    }
}

/// The operation of `method` `path`, or `None` for a route this document does not know (a
/// test fails).
pub(crate) fn op(method: &str, path: &str) -> Option<AdminOp> {
    let op = |id, summary, body: Option<Value>, ok: Value| AdminOp {
        id,
        summary,
        body,
        ok,
        query: Vec::new(),
        optional_query: Vec::new(),
    };
    let written = || json_ok(r("Written"));
    Some(match (method, path) {
        ("GET", "/ui/login") => {
            let mut o = op(
                "redeemLoginLink",
                "Redeems a one-time login link (`switchboard ui` mints them): sets the session cookie and redirects to the dashboard.",
                None,
                json!({"text/html": {"schema": {"type": "string"}}}),
            );
            o.query.push((
                "token",
                "The link's one-time token.",
                json!({"type": "string"}),
            ));
            o
        }
        ("GET", "/ui") => op(
            "dashboardRoot",
            "Redirects to /ui/.",
            None,
            json!({"text/html": {"schema": {"type": "string"}}}),
        ),
        ("GET", "/ui/") => op(
            "dashboard",
            "The dashboard's page.",
            None,
            json!({"text/html": {"schema": {"type": "string"}}}),
        ),
        ("GET", "/ui/{path}") => op(
            "dashboardAsset",
            "One of the dashboard's embedded files (scripts, styles, vendored libraries and their licenses).",
            None,
            json!({"*/*": {"schema": {"type": "string"}}}),
        ),
        ("POST", "/api/admin/login") => op(
            "login",
            "Signs in with a user name and password; sets the HttpOnly, SameSite=Strict session cookie. Rate-limited per address and user.",
            Some(obj(
                json!({"name": {"type": "string"}, "password": {"type": "string"}}),
            )),
            json_ok(r("Session")),
        ),
        ("GET", "/api/admin/session") => op(
            "getSession",
            "Who is signed in, and the CSRF token every state change of this session must send as x-csrf-token.",
            None,
            json_ok(r("Session")),
        ),
        ("POST", "/api/admin/logout") => op(
            "logout",
            "Ends the caller's session and clears its cookie.",
            None,
            json_ok(obj(json!({"signed_out": {"type": "boolean"}}))),
        ),
        ("POST", "/api/admin/links") => op(
            "createLoginLink",
            "Mints a one-time login link for the caller.",
            None,
            json_ok(obj(
                json!({"path": {"type": "string"}, "expires_in_s": {"type": "integer"}}),
            )),
        ),
        ("GET", "/api/admin/users") => op(
            "listUsers",
            "The admin users.",
            None,
            json_ok(obj(json!({"users": {"type": "array", "items": r("User")}}))),
        ),
        ("POST", "/api/admin/users") => op(
            "addUser",
            "Adds a user (Argon2id password).",
            Some(obj(
                json!({"name": {"type": "string"}, "password": {"type": ["string", "null"]}, "role": {"type": "string", "enum": ["admin", "member"]}}),
            )),
            json_ok(r("User")),
        ),
        ("DELETE", "/api/admin/users/{name}") => op(
            "removeUser",
            "Removes a user (never the last admin) and ends their sessions.",
            None,
            json_ok(obj(json!({"removed": r("User")}))),
        ),
        ("PUT", "/api/admin/users/{name}/password") => op(
            "setPassword",
            "Sets a user's password; their other sessions end.",
            Some(obj(json!({"password": {"type": "string"}}))),
            json_ok(obj(json!({}))),
        ),
        ("GET", "/api/admin/sessions") => op(
            "listSessions",
            "The open admin sessions (the caller's marked).",
            None,
            json_ok(obj(
                json!({"sessions": {"type": "array", "items": {"type": "object"}}}),
            )),
        ),
        ("DELETE", "/api/admin/sessions/{id}") => op(
            "revokeSession",
            "Ends one session.",
            None,
            json_ok(obj(json!({"revoked": {"type": "string"}}))),
        ),
        ("POST", "/api/admin/sessions/revoke-others") => op(
            "revokeOtherSessions",
            "Ends every session but the caller's (sign out others).",
            None,
            json_ok(obj(json!({"revoked": {"type": "integer"}}))),
        ),
        ("GET", "/api/admin/secrets") => op(
            "listSecrets",
            "The secret store: names and masked values only.",
            None,
            json_ok(obj(
                json!({"secrets": {"type": "array", "items": obj(json!({"name": {"type": "string"}, "masked": {"type": "string"}}))}}),
            )),
        ),
        ("POST", "/api/admin/secrets/rotate-master") => op(
            "rotateMasterKey",
            "Reseals every secret with a new master key in one transaction.",
            Some(obj(json!({"new_key": {"type": ["string", "null"]}}))),
            json_ok(obj(
                json!({"previous_key_id": {"type": "string"}, "key_id": {"type": "string"}, "resealed": {"type": "integer"}}),
            )),
        ),
        ("PUT", "/api/admin/secrets/{name}") => op(
            "setSecret",
            "Stores (encrypted) or replaces a secret, used from the config as `secret:NAME`; reloads.",
            Some(obj(json!({"value": {"type": "string"}}))),
            json_ok(obj(
                json!({"name": {"type": "string"}, "masked": {"type": "string"}, "reload": r("Reload")}),
            )),
        ),
        ("DELETE", "/api/admin/secrets/{name}") => op(
            "deleteSecret",
            "Deletes a secret; reloads.",
            None,
            json_ok(obj(
                json!({"deleted": {"type": "string"}, "reload": r("Reload")}),
            )),
        ),
        ("GET", "/status") => op(
            "getStatus",
            "Version, config source and reload errors, log queue and losses, tasks, each endpoint's health, cooldown and proxy.",
            None,
            json_ok(json!({"type": "object"})),
        ),
        ("GET", "/metrics") => op(
            "getMetrics",
            "Prometheus text format 0.0.4 (also open, or to a scrape token, per [admin] metrics).",
            None,
            json!({"text/plain": {"schema": {"type": "string"}}}),
        ),
        ("POST", "/api/admin/reload") => op(
            "reload",
            "Re-reads the configuration file and the secrets it refers to.",
            None,
            json_ok(r("Reload")),
        ),
        ("POST", "/api/admin/endpoints/{name}/reset") => op(
            "resetEndpoint",
            "Clears an endpoint's cooldown and failure counts: it takes traffic at once.",
            None,
            json_ok(obj(json!({"reset": {"type": "string"}}))),
        ),
        ("GET", "/api/admin/endpoints") => op(
            "listEndpoints",
            "Every configured endpoint in priority order: its configuration (literal keys masked, `secret:NAME` and `${VAR}` shown as written), enabled, live state (healthy, cooling_down, degraded, disabled) with cooldown end and reason, and the last hour's attempts, error rate and latency p50/p95 from the log.",
            None,
            json_ok(obj(
                json!({"path": {"type": "string"}, "version": {"type": "string"}, "endpoints": {"type": "array", "items": r("Endpoint")}}),
            )),
        ),
        ("POST", "/api/admin/endpoints") => op(
            "addEndpoint",
            "Adds an endpoint at the lowest priority, written to the configuration file (comments and layout kept) and reloaded. A typed api_key goes to the secret store as endpoint-NAME-key and the file gets `secret:endpoint-NAME-key`; `secret:NAME` and `${VAR}` are written as given; null or absent: the client's own credentials pass through.",
            Some(r("EndpointForm")),
            written(),
        ),
        ("PUT", "/api/admin/endpoints/order") => op(
            "reorderEndpoints",
            "Sets the priority order (every endpoint once, first tried first). With dry_run, answers the new order and the file's diff without writing.",
            Some(obj(
                json!({"order": {"type": "array", "items": {"type": "string"}}, "dry_run": {"type": "boolean"}, "version": {"type": "string"}}),
            )),
            written(),
        ),
        ("PUT", "/api/admin/endpoints/{name}") => op(
            "updateEndpoint",
            "Sets the fields given (null removes one, e.g. api_key null for pass-through); the rest of the endpoint's table stays as written. `name` renames it.",
            Some(r("EndpointForm")),
            written(),
        ),
        ("DELETE", "/api/admin/endpoints/{name}") => op(
            "deleteEndpoint",
            "Removes the endpoint (and the comments above it) from the file; the last one stays.",
            None,
            written(),
        ),
        ("POST", "/api/admin/endpoints/{name}/enable") => op(
            "enableEndpoint",
            "Enables the endpoint (removes `enabled = false`).",
            None,
            written(),
        ),
        ("POST", "/api/admin/endpoints/{name}/disable") => op(
            "disableEndpoint",
            "Disables the endpoint (`enabled = false`): it stays configured and takes no traffic.",
            None,
            written(),
        ),
        ("POST", "/api/admin/endpoints/{name}/test") => op(
            "testEndpoint",
            "A real minimal request through this endpoint alone (max_tokens 16, \"Reply with OK\", its model mapping and translation, its own key), tried once without putting it in cooldown, and logged. A pass-through endpoint needs api_key, used for this request only and never stored.",
            Some(obj(
                json!({"api_key": {"type": ["string", "null"]}, "model": {"type": ["string", "null"], "description": "Requested model; default the endpoint's first mapped model, else claude-haiku-4-5."}}),
            )),
            json_ok(r("TestResult")),
        ),
        ("POST", "/api/admin/models/resolve") => op(
            "resolveModel",
            "For each endpoint (or the one named): the model it would be sent for `model`, and the rule that decided (the endpoint's map, else the global [models]; exact, glob or role).",
            Some(obj(
                json!({"model": {"type": "string"}, "endpoint": {"type": ["string", "null"]}}),
            )),
            json_ok(r("ModelResolution")),
        ),
        ("POST", "/api/admin/requests/{id}/replay") => op(
            "replayRequest",
            "Sends the logged client request again (its audited body; refused when audit has none) to `endpoint` (once, whatever its health) or through the usual routing (null), with mapping and translation applied, logged as its own request with replay_of = id. Answers the replay and the original side by side. A client's credential is never stored (audit masks it): a pass-through endpoint needs api_key for this request only.",
            Some(obj(
                json!({"endpoint": {"type": ["string", "null"]}, "api_key": {"type": ["string", "null"]}}),
            )),
            json_ok(r("Replay")),
        ),
        ("GET", "/api/admin/config") => op(
            "getConfig",
            "The configuration file: its path, text and version (SHA-256 of its bytes, for If-Match). Without a file (the built-in default), `exists` is false and `text` is what the first write starts from, at the path it will be created (the file `serve` reads next time).",
            None,
            json_ok(obj(
                json!({"path": {"type": "string"}, "exists": {"type": "boolean"}, "text": {"type": "string"}, "version": {"type": "string"}}),
            )),
        ),
        ("GET", "/api/admin/config/download") => op(
            "downloadConfig",
            "The configuration file as a text/plain attachment (no secret is ever written in it by the dashboard).",
            None,
            json!({"text/plain": {"schema": {"type": "string"}}}),
        ),
        ("GET", "/api/admin/settings") => op(
            "getSettings",
            "Audit, log file and price overrides in force, and the file's version.",
            None,
            json_ok(r("Settings")),
        ),
        ("PUT", "/api/admin/settings") => op(
            "putSettings",
            "Writes any of audit {enabled, retention, max_bytes, max_request_bytes}, log_file {enabled, dir} (null removes a key) and pricing (the whole list of overrides) back to the file, and reloads.",
            Some(obj(
                json!({"audit": {"type": "object"}, "log_file": {"type": "object"}, "pricing": {"type": "array", "items": r("Price")}, "version": {"type": "string"}}),
            )),
            written(),
        ),
        _ if path.starts_with("/api/admin/claude/") || path.starts_with("/api/admin/profiles") => {
            return crate::claude::openapi::op(method, path);
        }
        _ => {
            let (id, summary, body, ok) = crate::keys::openapi::op(method, path)?;
            op(id, summary, body, ok)
        }
    })
}

/// The schemas the admin operations refer to (response shapes are checked by the server's
/// tests against real answers).
pub(crate) fn schemas() -> Value {
    let s = || json!({"type": "string"});
    let ns = || json!({"type": ["string", "null"]});
    let ni = || json!({"type": ["integer", "null"], "minimum": 0});
    let nn = || json!({"type": ["number", "null"]});
    let side = obj(json!({
        "request_id": {"type": "string", "format": "uuid"},
        "status": {"type": "integer"},
        "endpoint": ns(),
        "model": ns(),
        "text": ns(),
        "stop_reason": ns(),
        "input_tokens": ni(),
        "output_tokens": ni(),
        "cache_creation_input_tokens": ni(),
        "cache_read_input_tokens": ni(),
        "cost_usd": nn(),
        "ttft_ms": ni(),
        "latency_ms": ni(),
        "error": ns(),
    }));
    let mut replay = side.clone();
    replay["properties"]["replay_of"] = json!({"type": "string", "format": "uuid"});
    replay["properties"]["original"] = r("ReplaySide");
    let mut all = json!({
        "Reload": obj(json!({"ok": {"type": "boolean"}, "reloaded": {"type": "boolean"}, "error": s()})),
        "Session": obj(json!({"user": {"type": ["object", "null"]}, "via": s(), "csrf_token": ns(), "expires_at": ns()})),
        "User": obj(json!({"id": s(), "name": s(), "role": s(), "has_password": {"type": "boolean"}, "created_at": s(), "updated_at": s()})),
        "Written": {
            "type": "object",
            "description": "A change of the configuration file: where, its new version, the unified diff, and the reload's result (null for a dry run).",
            "properties": {
                "path": s(),
                "version": s(),
                "diff": s(),
                "reload": {"type": ["object", "null"], "description": "Reload (ok, reloaded, error); null for a dry run."},
                "endpoint": s(),
                "enabled": {"type": "boolean"},
                "deleted": s(),
                "order": {"type": "array", "items": s()},
                "dry_run": {"type": "boolean"},
            },
            "required": ["path", "version", "diff", "reload"],
        },
        "Endpoint": obj(json!({
            "name": s(), "priority": {"type": "integer"},
            "kind": {"type": "string", "enum": ["anthropic", "openai", "gemini"]},
            "preset": ns(), "base_url": s(),
            "api_key": {"type": ["string", "null"], "description": "`secret:NAME` or `${VAR}` as written; a literal key masked; null: pass-through."},
            "credentials": {"type": "string", "enum": ["own", "pass-through"]},
            "auth": s(), "headers": {"type": "object"},
            "models": {"type": "array", "items": obj(json!({"pattern": s(), "target": s()}))},
            "max_output_tokens": ni(), "count_tokens": {"type": "boolean"}, "enabled": {"type": "boolean"},
            "proxy": ns(),
            "state": {"type": "string", "enum": ["healthy", "cooling_down", "degraded", "disabled"]},
            "cooldown_until": {"type": ["string", "null"], "format": "date-time"},
            "reason": ns(), "consecutive_failures": {"type": "integer"},
            "recent": obj(json!({"window_s": {"type": "integer"}, "attempts": {"type": "integer"}, "failures": {"type": "integer"}, "error_rate": nn(), "latency_p50_ms": ni(), "latency_p95_ms": ni(), "truncated": {"type": "boolean"}})),
        })),
        "EndpointForm": obj(json!({
            "name": s(), "kind": s(), "preset": ns(), "base_url": ns(),
            "api_key": {"type": ["string", "null"], "description": "A key (stored in the secret store, never in the file), `secret:NAME`, `${VAR}`, or null for pass-through."},
            "auth": ns(), "headers": {"type": ["object", "null"]},
            "models": {"type": ["array", "object", "null"], "description": "[{pattern, target}, …] in order (or an object, whose order JSON does not keep)."},
            "max_output_tokens": ni(), "count_tokens": {"type": ["boolean", "null"]}, "enabled": {"type": ["boolean", "null"]},
            "proxy": ns(), "version": s(),
        })),
        "TestResult": obj(json!({"ok": {"type": "boolean"}, "status": {"type": "integer"}, "latency_ms": {"type": "integer"}, "model": ns(), "text": ns(), "error": ns(), "request_id": s()})),
        "ModelResolution": obj(json!({
            "model": s(),
            "endpoints": {"type": "array", "items": obj(json!({
                "endpoint": s(), "enabled": {"type": "boolean"}, "model": s(),
                "rule": {"type": ["object", "null"], "properties": {"source": {"type": "string", "enum": ["endpoint", "global"]}, "pattern": s(), "target": s(), "match": {"type": "string", "enum": ["exact", "glob", "role"]}}},
            }))},
        })),
        "ReplaySide": side,
        "Replay": replay,
        "Price": obj(json!({"pattern": s(), "input": {"type": "number"}, "output": {"type": "number"}, "cache_write": nn(), "cache_write_1h": nn(), "cache_read": nn()})),
        "Settings": obj(json!({
            "path": s(), "version": s(),
            "audit": obj(json!({"enabled": {"type": "boolean"}, "retention": s(), "max_bytes": {"type": "integer"}, "max_request_bytes": {"type": "integer"}})),
            "log_file": obj(json!({"enabled": {"type": "boolean"}, "dir": ns()})),
            "pricing": {"type": "array", "items": r("Price")},
        })),
    });
    if let (Some(m), Value::Object(claude)) =
        (all.as_object_mut(), crate::claude::openapi::schemas())
    {
        m.extend(claude);
    }
    all
}
