//! One client connection, served by hyper until it closes, the server drains it, or the
//! shutdown deadline drops it.
//!
//! Slow clients are bounded here: hyper closes an HTTP/1 connection whose request headers take
//! longer than `header_timeout` (counted from when it starts reading a request, so a kept-alive
//! connection left idle that long is closed too). Before the first request a connection is not
//! yet hyper's HTTP/1 (it is still telling HTTP/1 from an HTTP/2 preface, with no clock), so the
//! same limit is applied here until the first request reaches the router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

pub(crate) async fn serve(
    tcp: TcpStream,
    remote: SocketAddr,
    router: Router,
    header_timeout: Duration,
    draining: CancellationToken,
    closing: CancellationToken,
) {
    let first_request = Arc::new(Notify::new());
    let svc = {
        let first_request = first_request.clone();
        hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            first_request.notify_one();
            // What `into_make_service_with_connect_info` did: handlers read the peer from here.
            req.extensions_mut().insert(ConnectInfo(remote));
            router.clone().oneshot(req)
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(tcp), svc);
    let mut conn = std::pin::pin!(conn);
    let first_deadline = tokio::time::sleep(header_timeout);
    let mut first_deadline = std::pin::pin!(first_deadline);
    let mut greeted = false;
    let mut drained = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%remote, error = %e, "connection ended with an error");
                }
                return;
            }
            () = first_request.notified(), if !greeted => greeted = true,
            () = &mut first_deadline, if !greeted => {
                tracing::debug!(%remote, "closing a connection that sent no request within header_timeout");
                return;
            }
            () = draining.cancelled(), if !drained => {
                drained = true;
                conn.as_mut().graceful_shutdown();
            }
            () = closing.cancelled() => return,
        }
    }
}
