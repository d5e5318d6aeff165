//! The HTTP layer of Switchboard: proxy routes (`/v1/messages`, `/v1/chat/completions`, …),
//! operational routes (`/health`, `/status`), the reqwest-backed upstream, the streaming tee, and
//! hot reload.
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
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, head, post};

pub use admin::status_json;
pub use state::{AppState, Endpoint, Live, ReloadStatus};

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
/// # Errors
/// The listener failed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = tx.send(());
    };
    // TCP_NODELAY on the client leg: axum::serve doesn't set it, and Nagle + delayed ACK held
    // every SSE event after the first ~40 ms (measured by bench/).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    let deadline = async move {
        if rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = server.into_future() => r,
        () = deadline => {
            tracing::warn!(grace_s = grace.as_secs(), "shutdown deadline reached; closing remaining connections");
            Ok(())
        }
    }
}
