//! The data plane's routes, in one table. The connection serves the proxy routes straight from
//! it (past axum's router, whose routing cost ~5 % of a small request's instructions), and
//! [`crate::app`] builds the router from it for everything else; the assembled gateway's list
//! of routes (`switchboard_server::routes`) starts with [`routes`].

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Request, State};
use axum::routing::{MethodFilter, MethodRouter};
use http::Method;
use switchboard_core::{Access, RouteInfo};
use switchboard_protocol::Dialect;

use crate::connection::ConnInfo;
use crate::state::AppState;
use crate::upstream::Op;

/// What serves a route.
#[derive(Clone, Copy)]
enum Handler {
    /// A proxied request in `Dialect`.
    Proxy(Dialect, Op),
    /// `GET /v1/models`: forwarded, or listed from the model maps.
    Models,
    Hello,
    EventLogging,
    Health,
    /// `GET /v1/switchboard/usage`: a key holder's own usage and budgets.
    Usage,
    /// `GET /v1/switchboard/session`: a Claude Code session's totals (the status line).
    Session,
}

struct Entry {
    method: Method,
    path: &'static str,
    handler: Handler,
}

/// Every data-plane route. The proxy routes come first: the connection looks each request up
/// here in order.
static TABLE: [Entry; 11] = [
    Entry {
        method: Method::POST,
        path: "/v1/messages",
        handler: Handler::Proxy(Dialect::Anthropic, Op::Messages),
    },
    Entry {
        method: Method::POST,
        path: "/v1/messages/count_tokens",
        handler: Handler::Proxy(Dialect::Anthropic, Op::CountTokens),
    },
    Entry {
        method: Method::POST,
        path: "/v1/chat/completions",
        handler: Handler::Proxy(Dialect::OpenAiChat, Op::ChatCompletions),
    },
    Entry {
        method: Method::POST,
        path: "/chat/completions",
        handler: Handler::Proxy(Dialect::OpenAiChat, Op::ChatCompletions),
    },
    Entry {
        method: Method::GET,
        path: "/v1/models",
        handler: Handler::Models,
    },
    Entry {
        method: Method::GET,
        path: "/v1/switchboard/usage",
        handler: Handler::Usage,
    },
    Entry {
        method: Method::GET,
        path: "/v1/switchboard/session",
        handler: Handler::Session,
    },
    Entry {
        method: Method::HEAD,
        path: "/api/hello",
        handler: Handler::Hello,
    },
    Entry {
        method: Method::GET,
        path: "/api/hello",
        handler: Handler::Hello,
    },
    Entry {
        method: Method::POST,
        path: "/api/event_logging/batch",
        handler: Handler::EventLogging,
    },
    Entry {
        method: Method::GET,
        path: "/health",
        handler: Handler::Health,
    },
];

/// Every data-plane route with who may call it.
#[must_use]
pub fn routes() -> Vec<RouteInfo> {
    TABLE
        .iter()
        .map(|e| RouteInfo {
            method: e.method.as_str(),
            path: e.path,
            access: match e.handler {
                Handler::Proxy(..) | Handler::Models | Handler::Usage | Handler::Session => {
                    Access::Proxy
                }
                Handler::Hello | Handler::EventLogging | Handler::Health => Access::Open,
            },
        })
        .collect()
}

/// The proxied request a method and path name, if they name one: what the connection hands to
/// [`crate::proxy::handle`] directly.
pub(crate) fn direct_route(method: &Method, path: &str) -> Option<(Dialect, Op)> {
    TABLE.iter().find_map(|e| match e.handler {
        Handler::Proxy(dialect, op) if e.path == path && e.method == method => Some((dialect, op)),
        _ => None,
    })
}

/// The data plane's router: every route of [`TABLE`].
pub(crate) fn router() -> Router<AppState> {
    let mut paths: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for e in &TABLE {
        let on = paths.remove(e.path).unwrap_or_default();
        let Ok(filter) = MethodFilter::try_from(e.method.clone()) else {
            continue;
        };
        let on = match e.handler {
            Handler::Proxy(dialect, op) => on.on(
                filter,
                move |State(state): State<AppState>, req: Request| {
                    let conn = req.extensions().get::<ConnInfo>().copied();
                    crate::proxy::handle(state, dialect, op, req, conn)
                },
            ),
            Handler::Models => on.on(filter, crate::proxy::list_models),
            Handler::Hello => on.on(filter, crate::open::hello),
            Handler::EventLogging => on.on(filter, crate::open::event_logging),
            Handler::Health => on.on(filter, crate::open::health),
            Handler::Usage => on.on(filter, crate::clients::usage),
            Handler::Session => on.on(filter, crate::sessions::session),
        };
        paths.insert(e.path, on);
    }
    paths
        .into_iter()
        .fold(Router::new(), |router, (path, on)| router.route(path, on))
}
