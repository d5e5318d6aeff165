//! The HTTP layer of Switchboard: proxy routes (`/v1/messages`, `/v1/chat/completions`, …),
//! operational routes (`/health`, `/status`), the upstream over hyper-util's client, the streaming
//! tee, and hot reload.
//!
//! - [`app`] builds the axum router over an [`AppState`]; [`serve`] runs it on a listener until a
//!   shutdown signal, then drains in-flight requests up to a deadline.
//! - Request handlers are thin: read the request once, hand it to `switchboard_router::route`
//!   with an [`upstream`](crate::upstream) that builds each attempt for its own endpoint, and
//!   shape the answer. Errors become HTTP only in `error::ApiError`.
//! - Nothing on the request path spawns tasks: a client that goes away drops its response, which
//!   drops the upstream request and completes the log row.

mod admin;
pub mod api;
mod audit;
mod body;
mod client;
mod connection;
mod egress;
mod error;
mod log;
mod logfile;
pub mod maintenance;
mod metrics;
mod otel;
mod pricing;
mod proxy;
pub mod reload;
mod state;
mod stream;
mod upstream;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, head, post};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use admin::status_json;
pub use client::{ClientError, Resolve, Resolving};
pub use egress::{ProxyChoice, ProxyEnv, ProxySource, proxy_for};
pub use state::{AppState, Endpoint, Live, ReloadStatus, UpstreamOptions};

/// The gateway's routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/v1/messages", post(proxy::create_message))
        .route("/v1/messages/count_tokens", post(proxy::count_tokens))
        .route("/v1/chat/completions", post(proxy::chat_completions))
        .route("/chat/completions", post(proxy::chat_completions))
        .route("/v1/models", get(proxy::list_models))
        .route("/api/hello", head(admin::hello).get(admin::hello))
        .route("/api/event_logging/batch", post(admin::event_logging))
        .route("/health", get(admin::health))
        .route("/status", get(admin::status))
        .route("/metrics", get(metrics::metrics))
        .merge(api::router(state.clone()))
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish for up to `grace` before closing what remains.
///
/// Each connection is served by hyper (HTTP/1.1, or HTTP/2 with prior knowledge) on its own task,
/// with two limits from `[server]` as they stand when the connection is accepted:
/// `header_timeout` for a request's headers, and the same for a new connection's first request
/// to begin (a client that connects and sends nothing is closed too). `body_timeout` is enforced
/// where the body is read (the proxy handlers).
///
/// # Errors
/// None at present: accept errors are logged and retried (after a second when they are not
/// about one connection, e.g. out of file descriptors), as `axum::serve` did.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let router = app(state.clone());
    // `draining`: finish the request in hand, take no new one. `closing`: drop what remains.
    let draining = CancellationToken::new();
    let closing = CancellationToken::new();
    let connections = TaskTracker::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
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
        let header_timeout = state.live().config.server.header_timeout;
        connections.spawn(connection::serve(
            tcp,
            remote,
            state.clone(),
            router.clone(),
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
