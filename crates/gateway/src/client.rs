//! The upstream leg's HTTP client: hyper-util's pooled client (the one reqwest is a layer over),
//! called directly. TCP by hyper-util's connector; https by rustls through hyper-rustls (the ring
//! provider and Mozilla's roots from webpki-roots, as reqwest's `rustls-tls` has it), offering
//! HTTP/2 and HTTP/1.1 by ALPN; plain http is HTTP/1.1. Of what reqwest added on top, only its
//! resending of requests an HTTP/2 upstream refused unprocessed is kept ([`send`]): no redirects
//! are followed (a 3xx is an answer like any other), nothing is decompressed. Proxies (from the
//! config or the environment, as reqwest read them) are [`crate::egress`]'s: this module is the
//! direct path, unchanged by them.
//!
//! Host names are resolved by the system (`getaddrinfo` on a blocking thread) unless a
//! [`Resolve`] is given: tests give one so they never ask a real DNS server.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::{
    ConfigBuilderExt as _, HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream,
};
use hyper_util::client::legacy::ResponseFuture;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The client: every request body is whole in memory when it is sent (so its `content-length` is
/// known and set by hyper).
pub(crate) type Client = hyper_util::client::legacy::Client<Connector, Full<Bytes>>;

/// The addresses a name resolves to, when they are known.
pub type Resolving = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>>;

/// Resolves upstream host names instead of the system's resolver (see
/// [`AppState::with_resolver`](crate::AppState::with_resolver)).
pub trait Resolve: Send + Sync {
    /// The addresses of `host`, a name as it appears in an endpoint's URL (IP addresses are never
    /// looked up). Give them port 0: it is replaced by the URL's port, or the scheme's (a port
    /// in the URL always wins). An error fails the attempt as a connect error whose message
    /// includes `dns error` and this one.
    fn resolve(&self, host: &str) -> Resolving;
}

/// The client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot set up TLS for upstream connections: {0}")]
    Tls(#[from] rustls::Error),
}

/// The settings the reqwest client had, its defaults included: TCP keep-alive probes after 15 s
/// idle (every 15 s, 3 of them) and a 30 s `TCP_USER_TIMEOUT`, so a dead connection is noticed.
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
const TCP_KEEPALIVE_RETRIES: u32 = 3;
#[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const POOL_MAX_IDLE_PER_HOST: usize = 256;
const HTTP2_KEEPALIVE: Duration = Duration::from_secs(30);

/// The TLS configuration for upstreams: the ring provider and Mozilla's roots, no ALPN yet (the
/// connectors set it).
///
/// # Errors
/// The TLS configuration was refused (not expected with the built-in provider).
pub(crate) fn tls_config() -> Result<rustls::ClientConfig, ClientError> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_webpki_roots()
    .with_no_client_auth())
}

/// Builds the upstream client for direct connections. `connect_timeout` bounds the whole of
/// establishing a connection: resolving the name, TCP and the TLS handshake.
#[cfg(test)]
pub(crate) fn build(
    connect_timeout: Duration,
    resolver: Option<Arc<dyn Resolve>>,
) -> Result<Client, ClientError> {
    Ok(build_with(
        connect_timeout,
        Resolver::from(resolver),
        tls_config()?,
    ))
}

/// The direct client with the TLS configuration given (its ALPN protocols are set here).
pub(crate) fn build_with(
    connect_timeout: Duration,
    resolver: Resolver,
    tls: rustls::ClientConfig,
) -> Client {
    let tcp = tcp_connector(connect_timeout, resolver);
    // ALPN offers h2, then http/1.1.
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(tcp);
    let connector = Connector {
        inner: https,
        timeout: connect_timeout,
    };
    client_builder().build(connector)
}

/// hyper-util's TCP connector as every upstream connection uses it (to a provider or a proxy).
pub(crate) fn tcp_connector(
    connect_timeout: Duration,
    resolver: Resolver,
) -> HttpConnector<Resolver> {
    let mut tcp = HttpConnector::new_with_resolver(resolver);
    // The https connector above it decides by scheme; this one must accept both.
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(connect_timeout));
    tcp.set_keepalive(Some(TCP_KEEPALIVE));
    tcp.set_keepalive_interval(Some(TCP_KEEPALIVE));
    tcp.set_keepalive_retries(Some(TCP_KEEPALIVE_RETRIES));
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    tcp.set_tcp_user_timeout(Some(TCP_USER_TIMEOUT));
    tcp
}

/// The pool and HTTP/2 settings every upstream client has.
pub(crate) fn client_builder() -> hyper_util::client::legacy::Builder {
    let mut builder = hyper_util::client::legacy::Client::builder(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
        .http2_keep_alive_interval(HTTP2_KEEPALIVE);
    builder
}

/// What [`send`] sends with: the direct client, or one through a proxy ([`crate::egress`]).
pub(crate) trait SendRequest {
    fn request(&self, req: Request<Full<Bytes>>) -> ResponseFuture;
}

/// The https-or-http connector with one deadline over everything a new connection takes.
#[derive(Clone)]
pub(crate) struct Connector {
    inner: HttpsConnector<HttpConnector<Resolver>>,
    timeout: Duration,
}

impl tower::Service<Uri> for Connector {
    type Response = MaybeHttpsStream<TokioIo<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(connected) => connected,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("not connected within {timeout:?}"),
                )
                .into()),
            }
        })
    }
}

/// The system's resolver or the one given, as hyper-util's connector wants it.
#[derive(Clone)]
pub(crate) enum Resolver {
    System(GaiResolver),
    Given(Arc<dyn Resolve>),
}

impl From<Option<Arc<dyn Resolve>>> for Resolver {
    fn from(resolver: Option<Arc<dyn Resolve>>) -> Self {
        match resolver {
            Some(r) => Self::Given(r),
            None => Self::System(GaiResolver::new()),
        }
    }
}

impl tower::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        match self {
            Self::System(gai) => {
                let resolving = gai.call(name);
                Box::pin(async move { Ok(resolving.await?.collect::<Vec<_>>().into_iter()) })
            }
            Self::Given(r) => {
                let resolving = r.resolve(name.as_str());
                Box::pin(async move { Ok(resolving.await?.into_iter()) })
            }
        }
    }
}

/// How many times a request that an HTTP/2 upstream refused unprocessed is sent again.
const REFUSED_RETRIES: usize = 2;

/// Sends `first`; when an HTTP/2 upstream refused it without processing it (a graceful GOAWAY
/// that raced it, or `REFUSED_STREAM`), sends what `again` builds, at once, at most twice, as
/// reqwest did. Anything the upstream may have acted on is never sent again here.
pub(crate) async fn send(
    client: &impl SendRequest,
    first: Request<Full<Bytes>>,
    mut again: impl FnMut() -> Request<Full<Bytes>>,
) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
    let mut result = client.request(first).await;
    for _ in 0..REFUSED_RETRIES {
        match &result {
            Err(e) if refused_unprocessed(e) => result = client.request(again()).await,
            _ => break,
        }
    }
    result
}

/// The upstream said, over HTTP/2, that it did not process the request.
fn refused_unprocessed(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut src = Some(e);
    while let Some(s) = src {
        if let Some(h2) = s.downcast_ref::<h2::Error>() {
            let reason = h2.reason();
            return h2.is_remote()
                && ((h2.is_go_away() && reason == Some(h2::Reason::NO_ERROR))
                    || (h2.is_reset() && reason == Some(h2::Reason::REFUSED_STREAM)));
        }
        src = s.source();
    }
    false
}

/// `e` and its sources, `: `-separated.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        message.push_str(": ");
        message.push_str(&s.to_string());
        src = s.source();
    }
    message
}

/// Whether `e` or one of its sources is a timeout.
pub(crate) fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut src = Some(e);
    while let Some(s) = src {
        if let Some(h) = s.downcast_ref::<hyper::Error>()
            && h.is_timeout()
        {
            return true;
        }
        if let Some(io) = s.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::TimedOut
        {
            return true;
        }
        src = s.source();
    }
    false
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::Ipv4Addr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http::{Request, StatusCode, Version};
    use http_body_util::BodyExt as _;
    use hyper_util::server::conn::auto;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::net::TcpListener;

    use super::*;

    /// A throwaway CA and a certificate for `upstream.test` signed by it, made for this test
    /// run: (CA certificate, leaf certificate, leaf key as PKCS#8), DER.
    pub(crate) struct TestPki {
        pub(crate) ca: Vec<u8>,
        pub(crate) leaf: Vec<u8>,
        pub(crate) leaf_key: Vec<u8>,
    }

    pub(crate) static PKI: std::sync::LazyLock<TestPki> = std::sync::LazyLock::new(|| {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "switchboard test CA");
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        let leaf = rcgen::CertificateParams::new(vec!["upstream.test".to_owned()])
            .expect("leaf params")
            .signed_by(&leaf_key, &ca, &ca_key)
            .expect("leaf certificate");
        TestPki {
            ca: ca.der().to_vec(),
            leaf: leaf.der().to_vec(),
            leaf_key: leaf_key.serialize_der(),
        }
    });

    /// `upstream.test` is loopback.
    pub(crate) struct Loopback;

    impl Resolve for Loopback {
        fn resolve(&self, host: &str) -> Resolving {
            let found = host == "upstream.test";
            Box::pin(async move {
                if found {
                    Ok(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))])
                } else {
                    Err(io::Error::new(io::ErrorKind::NotFound, "unknown"))
                }
            })
        }
    }

    pub(crate) fn loopback() -> Resolver {
        Resolver::Given(Arc::new(Loopback))
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// TLS for `upstream.test`, offering `alpn` protocols.
    fn server_tls(alpn: &[&[u8]]) -> rustls::ServerConfig {
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(PKI.leaf.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(PKI.leaf_key.clone())),
            )
            .expect("certificate");
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        cfg
    }

    /// An https server for `upstream.test` that answers each request with the HTTP version it
    /// was made with; it offers `alpn` protocols.
    pub(crate) async fn tls_upstream(alpn: &[&[u8]]) -> u16 {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_tls(alpn)));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| {
                        let v = format!("{:?}", req.version());
                        async move { Ok::<_, hyper::Error>(http::Response::new(Full::<Bytes>::from(v))) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        port
    }

    pub(crate) fn trusting_test_ca() -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(PKI.ca.clone()))
            .expect("test CA");
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth()
    }

    async fn get(client: &Client, port: u16) -> Result<(Version, String), String> {
        let uri: Uri = format!("https://upstream.test:{port}/v1/models")
            .parse()
            .expect("uri");
        let mut req = Request::new(Full::default());
        *req.uri_mut() = uri;
        let resp = client.request(req).await.map_err(|e| {
            assert!(e.is_connect(), "{e:?}");
            error_chain(&e)
        })?;
        assert_eq!(resp.status(), StatusCode::OK);
        let version = resp.version();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        Ok((version, String::from_utf8_lossy(&body).into_owned()))
    }

    #[tokio::test]
    async fn https_speaks_http2_when_the_upstream_offers_it_and_http1_otherwise() {
        let timeout = Duration::from_secs(5);
        let client = build_with(timeout, loopback(), trusting_test_ca());
        let h2 = tls_upstream(&[b"h2", b"http/1.1"]).await;
        let h1 = tls_upstream(&[b"http/1.1"]).await;
        let none = tls_upstream(&[]).await;
        for (port, want) in [
            (h2, Version::HTTP_2),
            (h1, Version::HTTP_11),
            (none, Version::HTTP_11),
        ] {
            let (version, seen) = get(&client, port).await.expect("response");
            assert_eq!(version, want);
            assert_eq!(seen, format!("{want:?}"), "the upstream saw the same");
        }
    }

    /// An HTTP/2 (over TLS) upstream that refuses the first `refuse` requests with
    /// `REFUSED_STREAM` and answers the others; it counts the requests it saw.
    async fn refusing_h2_upstream(refuse: usize) -> (u16, Arc<AtomicUsize>) {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_tls(&[b"h2"])));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, seen) = (acceptor.clone(), counter.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut conn) = h2::server::handshake(tls).await else {
                        return;
                    };
                    while let Some(Ok((_req, mut respond))) = conn.accept().await {
                        if seen.fetch_add(1, Ordering::SeqCst) < refuse {
                            respond.send_reset(h2::Reason::REFUSED_STREAM);
                        } else {
                            let _ = respond.send_response(http::Response::new(()), true);
                        }
                    }
                });
            }
        });
        (port, seen)
    }

    async fn send_get(
        client: &crate::egress::UpstreamClient,
        port: u16,
    ) -> Result<Response<Incoming>, String> {
        let make = || {
            let mut req = Request::new(Full::default());
            *req.uri_mut() = format!("https://upstream.test:{port}/v1/models")
                .parse()
                .expect("uri");
            req
        };
        send(client, make(), make)
            .await
            .map_err(|e| error_chain(&e))
    }

    #[tokio::test]
    async fn a_request_an_http2_upstream_refused_unprocessed_is_sent_again_twice_at_most() {
        let client = crate::egress::UpstreamClient::Direct(build_with(
            Duration::from_secs(5),
            loopback(),
            trusting_test_ca(),
        ));
        let (port, seen) = refusing_h2_upstream(2).await;
        let resp = send_get(&client, port).await.expect("third try answered");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(seen.load(Ordering::SeqCst), 3);

        let (port, seen) = refusing_h2_upstream(usize::MAX).await;
        let e = send_get(&client, port)
            .await
            .expect_err("refused each time");
        assert!(e.contains("refused stream"), "{e}");
        assert_eq!(seen.load(Ordering::SeqCst), 3, "sent once and again twice");
    }

    #[tokio::test]
    async fn https_upstreams_are_verified_against_the_built_in_roots() {
        let port = tls_upstream(&[b"h2", b"http/1.1"]).await;
        let client = build(Duration::from_secs(5), Some(Arc::new(Loopback))).expect("client");
        let e = get(&client, port)
            .await
            .expect_err("the test CA is not trusted");
        assert!(e.contains("invalid peer certificate"), "{e}");
    }
}
