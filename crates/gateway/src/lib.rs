//! The data plane of Switchboard: the proxy pipeline (admit → read → route → respond) from the
//! client's connection to the upstream and back, with everything that rides along a request —
//! the streaming tee, audit capture, the request log, metrics and trace emission — and the
//! background jobs that keep the request log (retention, the log file).
//!
//! - [`serve`] accepts connections and serves them until shutdown, draining in-flight requests
//!   up to a deadline. The proxy routes of [`routes`] go straight to the pipeline; every other
//!   request goes to the router it is given (this crate's [`app`] merged with the control
//!   plane's, by `switchboard-server`).
//! - Handlers are thin: read the request once, hand it to `switchboard_router::route` with an
//!   [`upstream`](crate::upstream) that builds each attempt for its own endpoint, and shape the
//!   answer. Errors become HTTP only in `error::ApiError`.
//! - Nothing on the request path spawns tasks: a client that goes away drops its response, which
//!   drops the upstream request and completes the log row.
//!
//! This crate must never depend on the control plane: the admin API, the query API, `/status`
//! and `/metrics` reach it only through [`Control`] (swap the configuration, read and reset
//! health, follow the live feed, read the status and metrics documents).

mod admission;
mod audit;
mod body;
mod body_stream;
mod client;
mod clients;
mod connection;
mod control;
mod egress;
mod endpoint;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod hosts;
mod inject;
mod log;
mod logfile;
pub mod maintenance;
mod metrics;
mod open;
mod otel;
mod pricing;
mod profile;
mod proxy;
mod routes;
mod sessions;
mod shape;
mod state;
mod stream;
mod upstream;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use client::{ClientError, Resolve, Resolving};
pub use clients::{KeyEntry, KeySet, SHARED_TOKEN_NAME, budget_json};
pub use connection::{ConnInfo, Listener};
pub use control::{Control, EndpointHealth};
pub use egress::{ProxyChoice, ProxyEnv, ProxySource, proxy_for};
pub use endpoint::Endpoint;
pub use hosts::HostPolicy;
pub use inject::{InjectError, Injected, Injection};
pub use profile::{LiveProfile, Profiles};
pub use routes::routes;
pub use state::{AppState, Live, ReloadStatus, UpstreamOptions};

/// The data plane's router (every route of [`routes`]); `switchboard-server` merges the control
/// plane's into it.
pub fn app(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Serves `listener` until `shutdown` resolves, then lets in-flight requests finish for up to
/// `grace` before closing what remains. Proxy routes are served by the pipeline; everything else
/// by `router`.
///
/// Each connection is served by hyper (HTTP/1.1, or HTTP/2 by prior knowledge or by ALPN under
/// TLS) on its own task, with two limits from `[server]` as they stand when the connection is
/// accepted: `header_timeout` for a request's headers, and the same for a new connection's first
/// request to begin (a client that connects and sends nothing is closed too). `body_timeout` is
/// enforced where the body is read (the proxy handlers).
///
/// # Errors
/// None at present: accept errors are logged and retried (after a second when they are not
/// about one connection, e.g. out of file descriptors), as `axum::serve` did.
pub async fn serve(
    listener: Listener,
    state: AppState,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    // `draining`: finish the request in hand, take no new one. `closing`: drop what remains.
    let draining = CancellationToken::new();
    let closing = CancellationToken::new();
    let connections = TaskTracker::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.tcp.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        // TCP_NODELAY on the client leg: Nagle + delayed ACK held every SSE event after the
        // first ~40 ms (measured by bench/).
        let _ = tcp.set_nodelay(true);
        let (header_timeout, input) = {
            let live = state.live();
            (live.config.server.header_timeout, live.config.server.limits)
        };
        connections.spawn(connection::serve(
            tcp,
            remote,
            listener.tls(),
            connection::Served {
                state: state.clone(),
                router: router.clone(),
                proxy: listener.proxy,
                input,
            },
            header_timeout,
            draining.clone(),
            closing.clone(),
        ));
    }
    drop(listener);
    draining.cancel();
    connections.close();
    tokio::select! {
        () = connections.wait() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_s = grace.as_secs(), "shutdown deadline reached; closing remaining connections");
            // Dropping each connection drops its requests, which completes their log rows.
            closing.cancel();
            connections.wait().await;
        }
    }
    Ok(())
}

/// After a failed `accept`: nothing to do when it was about one connection; otherwise (out of
/// file descriptors, typically) wait a second so the loop doesn't spin while connections close.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
