//! One client connection, served by hyper until it closes, the server drains it, or the
//! shutdown deadline drops it; and the [`Listener`] connections come from (plain TCP, or TLS
//! with HTTP/2 and HTTP/1.1 offered by ALPN).
//!
//! Slow clients are bounded here: hyper closes an HTTP/1 connection whose request headers take
//! longer than `header_timeout` (counted from when it starts reading a request, so a kept-alive
//! connection left idle that long is closed too). Before the first request a connection is not
//! yet hyper's (its first bytes are peeked at to tell HTTP/1 from an HTTP/2 preface, and hyper
//! has no clock for HTTP/2), so the same limit is applied here until the first request reaches
//! the router.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use futures::FutureExt as _;
use futures::future::Either;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::proxy;
use crate::state::AppState;

/// Where connections come from, and what they may ask for.
pub struct Listener {
    pub tcp: TcpListener,
    /// TLS (`[server] tls_cert`/`tls_key`), swapped on reload: each new connection takes the
    /// configuration in force when it is accepted.
    pub tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    /// Whether the proxy routes are served here (not on a listener of the control plane's own,
    /// `[admin] listen`).
    pub proxy: bool,
}

impl Listener {
    /// A plain-TCP listener for every route.
    #[must_use]
    pub fn plain(tcp: TcpListener) -> Self {
        Self {
            tcp,
            tls: None,
            proxy: true,
        }
    }

    pub(crate) fn tls(&self) -> Option<TlsAcceptor> {
        self.tls.as_ref().map(|t| TlsAcceptor::from(t.load_full()))
    }
}

/// The connection a request came on, in every request's extensions (and given to the proxy
/// pipeline directly): the door checks `Host` and `Origin` against the address the client
/// reached, and sets `Secure` cookies under TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    pub remote: SocketAddr,
    /// The address the client connected to.
    pub local: Option<SocketAddr>,
    pub tls: bool,
}

/// What a connection's requests are served by.
pub(crate) struct Served {
    pub(crate) state: AppState,
    /// Every route but the proxy routes the pipeline takes directly.
    pub(crate) router: Router,
    /// Whether the proxy routes are served on this listener.
    pub(crate) proxy: bool,
    /// `[server] max_headers`/`max_header_bytes` as they stood when the connection was
    /// accepted: hyper refuses requests beyond twice them by itself (a bare 431, the
    /// connection closed); up to that, admission refuses them in the client's dialect.
    pub(crate) input: switchboard_config::InputLimits,
}

/// What an HTTP/2 client with prior knowledge (h2c) sends first.
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The protocol a connection speaks, told from its first bytes.
enum Proto {
    Http1,
    Http2,
    /// Fewer bytes than the HTTP/2 preface arrived, and they begin it: hyper-util's detector
    /// reads on until it knows.
    Undecided,
}

/// Peeks at the first bytes (nothing is consumed). `None`: closed before sending anything.
///
/// Peeking rather than letting hyper-util's detector read them keeps HTTP/1 connections to one
/// 8 KiB read buffer: after the detector's 24-byte read, hyper's first read found less than
/// 8 KiB of room and doubled the buffer, 16 KiB for every connection (heaptrack, 1,000 open
/// streams).
async fn sniff(tcp: &TcpStream) -> Option<Proto> {
    let mut buf = [0u8; 24];
    let n = tcp.peek(&mut buf).await.ok()?;
    let seen = buf.get(..n).filter(|s| !s.is_empty())?;
    Some(if !H2_PREFACE.starts_with(seen) {
        Proto::Http1
    } else if n == H2_PREFACE.len() {
        Proto::Http2
    } else {
        Proto::Undecided
    })
}

pub(crate) async fn serve(
    tcp: TcpStream,
    remote: SocketAddr,
    tls: Option<TlsAcceptor>,
    served: Served,
    header_timeout: Duration,
    draining: CancellationToken,
    closing: CancellationToken,
) {
    let local = tcp.local_addr().ok();
    let first_deadline = tokio::time::sleep(header_timeout);
    let mut first_deadline = std::pin::pin!(first_deadline);
    let conn = ConnInfo {
        remote,
        local,
        tls: tls.is_some(),
    };
    let Some(acceptor) = tls else {
        let proto = tokio::select! {
            p = sniff(&tcp) => p,
            () = &mut first_deadline => None,
            () = draining.cancelled() => None,
            () = closing.cancelled() => None,
        };
        let Some(proto) = proto else {
            tracing::debug!(%remote, "closing a connection that sent nothing");
            return;
        };
        let io = TokioIo::new(tcp);
        serve_io(
            io,
            proto,
            conn,
            served,
            header_timeout,
            first_deadline,
            &draining,
            &closing,
        )
        .await;
        return;
    };
    // The handshake counts against the first request's deadline: a client that opens a
    // connection and never finishes TLS is closed like one that never sends a request.
    let handshake = tokio::select! {
        h = acceptor.accept(tcp) => h.map_err(|e| tracing::debug!(%remote, error = %e, "TLS handshake failed")).ok(),
        () = &mut first_deadline => None,
        () = draining.cancelled() => None,
        () = closing.cancelled() => None,
    };
    let Some(stream) = handshake else {
        return;
    };
    let proto = match stream.get_ref().1.alpn_protocol() {
        Some(b"h2") => Proto::Http2,
        _ => Proto::Http1,
    };
    let io = TokioIo::new(stream);
    serve_io(
        io,
        proto,
        conn,
        served,
        header_timeout,
        first_deadline,
        &draining,
        &closing,
    )
    .await;
}

/// Serves one connection's requests with hyper, in the protocol it speaks.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, each argument a different thing"
)]
async fn serve_io<I>(
    io: TokioIo<I>,
    proto: Proto,
    conn: ConnInfo,
    served: Served,
    header_timeout: Duration,
    first_deadline: Pin<&mut tokio::time::Sleep>,
    draining: &CancellationToken,
    closing: &CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let remote = conn.remote;
    let max_headers = served.input.max_headers.saturating_mul(2);
    let max_header_list =
        u32::try_from(served.input.max_header_bytes.saturating_mul(2)).unwrap_or(u32::MAX);
    let first_request = Arc::new(Notify::new());
    let svc = {
        let first_request = first_request.clone();
        let Served {
            state,
            router,
            proxy,
            input: _,
        } = served;
        hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            first_request.notify_one();
            if proxy
                && let Some((dialect, op)) =
                    crate::routes::direct_route(req.method(), req.uri().path())
            {
                let req = req.map(axum::body::Body::new);
                // Boxed: hyper keeps a slot sized for this future for as long as the connection
                // lives, and the proxy's future is ~3.3 KiB, held by every open stream long after
                // the response head has gone out. Boxed, that memory is freed with the head.
                let served = Box::pin(proxy::handle(state.clone(), dialect, op, req, Some(conn)));
                return Either::Left(served.map(Ok::<_, Infallible>));
            }
            // Handlers read the connection from here (the door, the proxy routes via the router).
            req.extensions_mut().insert(conn);
            Either::Right(router.clone().oneshot(req))
        })
    };
    let watch = Watch {
        remote,
        first_request: &first_request,
        first_deadline,
        draining,
        closing,
    };
    match proto {
        Proto::Http1 => {
            let mut b = http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_headers(max_headers);
            let conn = std::pin::pin!(b.serve_connection(io, svc));
            watch.drive(conn, |c| c.graceful_shutdown()).await;
        }
        Proto::Http2 => {
            let mut b = http2::Builder::new(TokioExecutor::new());
            b.max_header_list_size(max_header_list);
            let conn = std::pin::pin!(b.serve_connection(io, svc));
            watch.drive(conn, |c| c.graceful_shutdown()).await;
        }
        Proto::Undecided => {
            let mut b = auto::Builder::new(TokioExecutor::new());
            b.http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_headers(max_headers);
            b.http2().max_header_list_size(max_header_list);
            let conn = std::pin::pin!(b.serve_connection(io, svc));
            watch.drive(conn, |c| c.graceful_shutdown()).await;
        }
    }
}

/// What a connection is watched for while hyper serves it.
struct Watch<'a> {
    remote: SocketAddr,
    first_request: &'a Notify,
    first_deadline: Pin<&'a mut tokio::time::Sleep>,
    draining: &'a CancellationToken,
    closing: &'a CancellationToken,
}

impl Watch<'_> {
    async fn drive<C, E>(mut self, mut conn: Pin<&mut C>, graceful: impl Fn(Pin<&mut C>))
    where
        C: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let remote = self.remote;
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
                () = self.first_request.notified(), if !greeted => greeted = true,
                () = self.first_deadline.as_mut(), if !greeted => {
                    tracing::debug!(%remote, "closing a connection that sent no request within header_timeout");
                    return;
                }
                () = self.draining.cancelled(), if !drained => {
                    drained = true;
                    graceful(conn.as_mut());
                }
                () = self.closing.cancelled() => return,
            }
        }
    }
}
