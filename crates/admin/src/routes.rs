//! The control plane's routes, in one table: [`router`] mounts exactly these behind the door,
//! the door reads each one's [`Access`] from it, and [`routes`] lists them (the assembled
//! gateway's route list, and the test that every control-plane route refuses strangers, start
//! from it).

use std::collections::BTreeMap;

use axum::Router;
use axum::routing::{MethodRouter, delete, get, post, put};
use switchboard_core::{Access, RouteInfo};

use crate::{
    AdminState, account, api, claude, config, door, endpoints, keys, ops, profiles, secrets, send,
    settings, ui, users,
};

const READ: Access = Access::Admin { mutates: false };
const WRITE: Access = Access::Admin { mutates: true };
/// Any signed-in user; the handler shows a member only their own data.
const MEMBER_READ: Access = Access::Member { mutates: false };
const MEMBER_WRITE: Access = Access::Member { mutates: true };

struct Entry {
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AdminState>,
}

fn table() -> Vec<Entry> {
    let e = |method, path, access, handler| Entry {
        method,
        path,
        access,
        handler,
    };
    let mut t = vec![
        // Signing in.
        e("GET", "/ui/login", Access::Login, get(account::redeem_link)),
        // The dashboard's files: no data in them, so no admin needed (the door checks Host).
        e("GET", "/ui", Access::Login, get(ui::root)),
        e("GET", "/ui/", Access::Login, get(ui::index)),
        e("GET", "/ui/{*path}", Access::Login, get(ui::asset)),
        e(
            "POST",
            "/api/admin/login",
            Access::Login,
            post(account::login),
        ),
        e(
            "GET",
            "/api/admin/session",
            MEMBER_READ,
            get(account::session),
        ),
        e(
            "POST",
            "/api/admin/logout",
            MEMBER_WRITE,
            post(account::logout),
        ),
        e(
            "POST",
            "/api/admin/links",
            WRITE,
            post(account::create_link),
        ),
        // Users and sessions.
        e("GET", "/api/admin/users", READ, get(users::list)),
        e("POST", "/api/admin/users", WRITE, post(users::add)),
        e(
            "DELETE",
            "/api/admin/users/{name}",
            WRITE,
            delete(users::remove),
        ),
        e(
            "PUT",
            "/api/admin/users/{name}/password",
            WRITE,
            put(users::passwd),
        ),
        e("GET", "/api/admin/sessions", READ, get(users::sessions)),
        e(
            "DELETE",
            "/api/admin/sessions/{id}",
            WRITE,
            delete(users::revoke_session),
        ),
        e(
            "POST",
            "/api/admin/sessions/revoke-others",
            WRITE,
            post(users::revoke_other_sessions),
        ),
        // Secrets.
        e("GET", "/api/admin/secrets", READ, get(secrets::list)),
        e(
            "POST",
            "/api/admin/secrets/rotate-master",
            WRITE,
            post(secrets::rotate_master),
        ),
        e("PUT", "/api/admin/secrets/{name}", WRITE, put(secrets::set)),
        e(
            "DELETE",
            "/api/admin/secrets/{name}",
            WRITE,
            delete(secrets::remove),
        ),
        // Operations.
        e("GET", "/status", READ, get(ops::status)),
        e("GET", "/metrics", READ, get(ops::metrics)),
        e("POST", "/api/admin/reload", WRITE, post(ops::reload)),
        e(
            "POST",
            "/api/admin/endpoints/{name}/reset",
            WRITE,
            post(ops::reset_endpoint),
        ),
        // Endpoints, written back to the configuration file.
        e("GET", "/api/admin/endpoints", READ, get(endpoints::list)),
        e("POST", "/api/admin/endpoints", WRITE, post(endpoints::add)),
        e(
            "PUT",
            "/api/admin/endpoints/order",
            WRITE,
            put(endpoints::reorder),
        ),
        e(
            "PUT",
            "/api/admin/endpoints/{name}",
            WRITE,
            put(endpoints::update),
        ),
        e(
            "DELETE",
            "/api/admin/endpoints/{name}",
            WRITE,
            delete(endpoints::remove),
        ),
        e(
            "POST",
            "/api/admin/endpoints/{name}/enable",
            WRITE,
            post(endpoints::enable),
        ),
        e(
            "POST",
            "/api/admin/endpoints/{name}/disable",
            WRITE,
            post(endpoints::disable),
        ),
        e(
            "POST",
            "/api/admin/endpoints/{name}/test",
            WRITE,
            post(send::test),
        ),
        e(
            "POST",
            "/api/admin/models/resolve",
            WRITE,
            post(settings::resolve),
        ),
        e(
            "POST",
            "/api/admin/requests/{id}/replay",
            WRITE,
            post(send::replay),
        ),
        // The configuration file and the settings in it.
        e("GET", "/api/admin/config", READ, get(config::get)),
        e(
            "GET",
            "/api/admin/config/download",
            READ,
            get(config::download),
        ),
        e("GET", "/api/admin/settings", READ, get(settings::get)),
        e("PUT", "/api/admin/settings", WRITE, put(settings::put)),
        // Client keys, teams, budgets and usage (members: their own keys and usage).
        e("GET", "/api/admin/keys", MEMBER_READ, get(keys::list_keys)),
        e("POST", "/api/admin/keys", WRITE, post(keys::create_key)),
        e(
            "GET",
            "/api/admin/keys/{key}",
            MEMBER_READ,
            get(keys::get_key),
        ),
        e("PUT", "/api/admin/keys/{key}", WRITE, put(keys::update_key)),
        e(
            "POST",
            "/api/admin/keys/{key}/revoke",
            WRITE,
            post(keys::revoke_key),
        ),
        e(
            "POST",
            "/api/admin/keys/{key}/rotate",
            WRITE,
            post(keys::rotate_key),
        ),
        e(
            "PUT",
            "/api/admin/users/{name}/budgets",
            WRITE,
            put(keys::set_user_budgets),
        ),
        e(
            "GET",
            "/api/admin/teams",
            MEMBER_READ,
            get(keys::list_teams),
        ),
        e("POST", "/api/admin/teams", WRITE, post(keys::create_team)),
        e(
            "PUT",
            "/api/admin/teams/{name}",
            WRITE,
            put(keys::set_team_budgets),
        ),
        e(
            "DELETE",
            "/api/admin/teams/{name}",
            WRITE,
            delete(keys::remove_team),
        ),
        e(
            "POST",
            "/api/admin/teams/{name}/members",
            WRITE,
            post(keys::add_member),
        ),
        e(
            "DELETE",
            "/api/admin/teams/{name}/members/{user}",
            WRITE,
            delete(keys::remove_member),
        ),
        e("GET", "/api/admin/usage", MEMBER_READ, get(keys::usage)),
        // Profiles: listed, and the one in force switched (written to the file).
        e("GET", "/api/admin/profiles", READ, get(profiles::list)),
        e(
            "PUT",
            "/api/admin/profiles/active",
            WRITE,
            put(profiles::set_active),
        ),
        // Claude Code's files on the gateway's machine (settings, MCP servers, skills).
        e(
            "GET",
            "/api/admin/claude/settings",
            READ,
            get(claude::settings_status),
        ),
        e("GET", "/api/admin/claude/mcp", READ, get(claude::mcp_list)),
        e(
            "POST",
            "/api/admin/claude/mcp",
            WRITE,
            post(claude::mcp_add),
        ),
        e(
            "PUT",
            "/api/admin/claude/mcp/{scope}/{name}",
            WRITE,
            put(claude::mcp_edit),
        ),
        e(
            "DELETE",
            "/api/admin/claude/mcp/{scope}/{name}",
            WRITE,
            delete(claude::mcp_remove),
        ),
        e(
            "POST",
            "/api/admin/claude/mcp/{scope}/{name}/enable",
            WRITE,
            post(claude::mcp_enable),
        ),
        e(
            "POST",
            "/api/admin/claude/mcp/{scope}/{name}/disable",
            WRITE,
            post(claude::mcp_disable),
        ),
        e(
            "GET",
            "/api/admin/claude/skills",
            READ,
            get(claude::skills_list),
        ),
        e(
            "POST",
            "/api/admin/claude/skills",
            WRITE,
            post(claude::skills_install),
        ),
        e(
            "POST",
            "/api/admin/claude/skills/{scope}/{name}/update",
            WRITE,
            post(claude::skills_update),
        ),
        e(
            "DELETE",
            "/api/admin/claude/skills/{scope}/{name}",
            WRITE,
            delete(claude::skills_remove),
        ),
    ];
    // The query API: reads only.
    t.extend(
        api::routes()
            .into_iter()
            .map(|r| e("GET", r.path, READ, r.handler)),
    );
    t
}

/// Every control-plane route with who may call it.
#[must_use]
pub fn routes() -> Vec<RouteInfo> {
    table()
        .into_iter()
        .map(|e| RouteInfo {
            method: e.method,
            path: e.path,
            access: e.access,
        })
        .collect()
}

/// Who may call `method` `path` (a route's path as registered, e.g. `/api/requests/{id}`).
pub(crate) fn access(method: &str, path: &str) -> Option<Access> {
    // `HEAD` is answered by a `GET` route.
    let method = if method == "HEAD" { "GET" } else { method };
    ACCESS
        .get_or_init(|| {
            routes()
                .into_iter()
                .map(|r| ((r.method, r.path), r.access))
                .collect()
        })
        .get(&(method, path))
        .copied()
}

/// [`access`]'s index, built once.
static ACCESS: std::sync::OnceLock<BTreeMap<(&'static str, &'static str), Access>> =
    std::sync::OnceLock::new();

/// Every route of the table, behind the door.
pub(crate) fn router(state: AdminState) -> Router<AdminState> {
    let mut paths: BTreeMap<&'static str, MethodRouter<AdminState>> = BTreeMap::new();
    for e in table() {
        let on = match paths.remove(e.path) {
            Some(on) => on.merge(e.handler),
            None => e.handler,
        };
        paths.insert(e.path, on);
    }
    paths
        .into_iter()
        .fold(Router::new(), |router, (path, on)| router.route(path, on))
        .route_layer(axum::middleware::from_fn_with_state(state, door::guard))
}
