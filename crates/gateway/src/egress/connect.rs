//! Connections through a proxy: the CONNECT tunnel, SOCKS handshakes and TLS to an `https://`
//! proxy, as a `tower::Service<Uri>` hyper-util's client pools ([`ProxyConnector`]).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::str::FromStr as _;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::uri::Scheme;
use http::{HeaderValue, Uri};
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::proxy::{SocksV4, SocksV5, Tunnel};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tower::Service as _;

use super::{intercept, shown};
use crate::client::Resolver;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What kind of proxy it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Http,
    Https,
    /// `remote_dns`: the proxy resolves the provider's name (`socks5h`).
    Socks5 {
        remote_dns: bool,
    },
    /// `remote_dns`: `socks4a`.
    Socks4 {
        remote_dns: bool,
    },
    /// Not a URL hyper-util can use (every connection fails, saying so).
    Unusable,
}

/// A proxy, ready to connect to.
pub(crate) struct ProxyTarget {
    pub(crate) kind: Kind,
    /// `scheme://host:port/`, credentials removed.
    uri: Uri,
    /// `http://host:port`, to open the TCP connection with.
    tcp: Uri,
    host: String,
    /// `Proxy-Authorization` (HTTP proxies with credentials).
    pub(crate) basic: Option<HeaderValue>,
    /// User and password (SOCKS5 proxies with credentials).
    socks_auth: Option<(String, String)>,
    /// The URL with its password masked.
    shown: String,
}

impl ProxyTarget {
    /// `url` as hyper-util's matcher reads it (credentials percent-decoded into Basic auth for
    /// HTTP proxies, kept raw for SOCKS). `dst` only selects the matcher's rule.
    pub(crate) fn new(url: &str, dst: Option<&Uri>) -> Self {
        let shown = shown(url);
        let any = Uri::from_static("https://upstream.invalid/");
        let parsed = intercept(url, "", dst.unwrap_or(&any));
        let unusable = || Self {
            kind: Kind::Unusable,
            uri: Uri::default(),
            tcp: Uri::default(),
            host: String::new(),
            basic: None,
            socks_auth: None,
            shown: shown.clone(),
        };
        let Some(i) = parsed else {
            return unusable();
        };
        let uri = i.uri().clone();
        let (kind, default_port) = match uri.scheme_str() {
            Some("http") => (Kind::Http, 80),
            Some("https") => (Kind::Https, 443),
            Some("socks5") => (Kind::Socks5 { remote_dns: false }, 1080),
            Some("socks5h") => (Kind::Socks5 { remote_dns: true }, 1080),
            Some("socks4") => (Kind::Socks4 { remote_dns: false }, 1080),
            Some("socks4a") => (Kind::Socks4 { remote_dns: true }, 1080),
            _ => return unusable(),
        };
        let Some(host) = uri.host().map(str::to_owned) else {
            return unusable();
        };
        let port = uri.port_u16().unwrap_or(default_port);
        let Ok(tcp) = Uri::try_from(format!("http://{host}:{port}/")) else {
            return unusable();
        };
        let uri = Uri::try_from(format!(
            "{}://{host}:{port}/",
            uri.scheme_str().unwrap_or("")
        ))
        .unwrap_or(uri);
        Self {
            kind,
            uri,
            tcp,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            basic: i.basic_auth().cloned(),
            socks_auth: i.raw_auth().map(|(u, p)| (u.to_owned(), p.to_owned())),
            shown,
        }
    }
}

/// Any byte stream a connection can run over.
trait Io: hyper::rt::Read + hyper::rt::Write + Unpin + Send {}
impl<T: hyper::rt::Read + hyper::rt::Write + Unpin + Send> Io for T {}
type BoxIo = Box<dyn Io>;

/// A connection made through a proxy.
pub(crate) struct ProxiedConn {
    io: BoxIo,
    /// Requests go to the proxy in absolute form.
    forwarded: bool,
    h2: bool,
}

impl Connection for ProxiedConn {
    fn connected(&self) -> Connected {
        let connected = Connected::new().proxy(self.forwarded);
        if self.h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl hyper::rt::Read for ProxiedConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for ProxiedConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}

/// Why a connection through a proxy failed: says which proxy (password masked) and at what
/// step; the cause is its source.
#[derive(Debug)]
pub(crate) struct ProxyError {
    proxy: String,
    step: String,
    source: Option<BoxError>,
}

impl ProxyError {
    fn new(target: &ProxyTarget, step: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            proxy: target.shown.clone(),
            step: step.into(),
            source: Some(source.into()),
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proxy {}: {}", self.proxy, self.step)
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A SOCKS handshake error: hyper-util's type is not exported and keeps the I/O error it wraps
/// out of its `Display` and `source`, so both its `Display` and `Debug` are kept here.
#[derive(Debug)]
struct HandshakeError(String);

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HandshakeError {}

fn handshake_error<E: fmt::Display + fmt::Debug>(e: &E) -> HandshakeError {
    let shown = e.to_string();
    let debug = format!("{e:?}");
    // `Io(Custom { kind: UnexpectedEof, error: "unexpected eof" })`: the cause `Display` drops.
    if debug.starts_with("Io(") {
        HandshakeError(format!("{shown} ({debug})"))
    } else {
        HandshakeError(shown)
    }
}

/// Opens every connection of a [`ProxiedClient`] through its proxy.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    pub(crate) target: Arc<ProxyTarget>,
    pub(crate) tcp: HttpConnector<Resolver>,
    pub(crate) resolver: Resolver,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) tls_proxy: Arc<rustls::ClientConfig>,
    pub(crate) timeout: Duration,
}

impl tower::Service<Uri> for ProxyConnector {
    type Response = ProxiedConn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxiedConn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let timeout = this.timeout;
            let target = this.target.clone();
            match tokio::time::timeout(timeout, this.connect(dst)).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(ProxyError::new(
                    &target,
                    "no connection",
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("not connected within {timeout:?}"),
                    ),
                )
                .into()),
            }
        })
    }
}

impl ProxyConnector {
    async fn connect(mut self, dst: Uri) -> Result<ProxiedConn, ProxyError> {
        let target = self.target.clone();
        let https = dst.scheme() == Some(&Scheme::HTTPS);
        let host = dst.host().unwrap_or_default().to_owned();
        let port = dst.port_u16().unwrap_or(if https { 443 } else { 80 });
        if target.kind == Kind::Unusable {
            return Err(unusable(&target));
        }
        let stream = self.open().await?;
        let stream = match target.kind {
            Kind::Http | Kind::Https if !https => {
                return Ok(ProxiedConn {
                    io: stream,
                    forwarded: true,
                    h2: false,
                });
            }
            Kind::Http | Kind::Https => {
                let mut tunnel = Tunnel::new(target.uri.clone(), Given(Some(stream)));
                if let Some(auth) = &target.basic {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let authority = Uri::try_from(format!("https://{host}:{port}/"))
                    .map_err(|e| ProxyError::new(&target, "bad upstream address", e))?;
                tunnel
                    .call(authority)
                    .await
                    .map_err(|e| ProxyError::new(&target, format!("CONNECT {host}:{port}"), e))?
            }
            Kind::Socks5 { remote_dns } | Kind::Socks4 { remote_dns } => {
                let v4 = matches!(target.kind, Kind::Socks4 { .. });
                let addr = if remote_dns || is_ip(&host) {
                    host.clone()
                } else {
                    self.resolve(&host, v4).await?
                };
                let socks_dst = Uri::try_from(format!("http://{addr}:{port}/"))
                    .map_err(|e| ProxyError::new(&target, "bad upstream address", e))?;
                let step = format!("SOCKS connection to {host}:{port}");
                if v4 {
                    SocksV4::new(target.uri.clone(), Given(Some(stream)))
                        .call(socks_dst)
                        .await
                        .map_err(|e| ProxyError::new(&target, step, handshake_error(&e)))?
                } else {
                    let mut socks = SocksV5::new(target.uri.clone(), Given(Some(stream)));
                    if let Some((user, pass)) = &target.socks_auth {
                        socks = socks.with_auth(user.clone(), pass.clone());
                    }
                    socks
                        .call(socks_dst)
                        .await
                        .map_err(|e| ProxyError::new(&target, step, handshake_error(&e)))?
                }
            }
            Kind::Unusable => return Err(unusable(&target)),
        };
        if !https {
            return Ok(ProxiedConn {
                io: stream,
                forwarded: false,
                h2: false,
            });
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name = rustls::pki_types::ServerName::try_from(bare.to_owned())
            .map_err(|e| ProxyError::new(&target, format!("TLS with {host}"), e))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, TokioIo::new(stream))
            .await
            .map_err(|e| ProxyError::new(&target, format!("TLS with {host} through it"), e))?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok(ProxiedConn {
            io: Box::new(TokioIo::new(tls)),
            forwarded: false,
            h2,
        })
    }

    /// A connection to the proxy itself: TCP, and TLS for an `https://` proxy.
    async fn open(&mut self) -> Result<BoxIo, ProxyError> {
        let target = self.target.clone();
        let tcp = self
            .tcp
            .call(target.tcp.clone())
            .await
            .map_err(|e| ProxyError::new(&target, "cannot connect", e))?;
        if target.kind != Kind::Https {
            return Ok(Box::new(tcp));
        }
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| ProxyError::new(&target, "TLS", e))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls_proxy.clone())
            .connect(name, tcp.into_inner())
            .await
            .map_err(|e| ProxyError::new(&target, "TLS with the proxy", e))?;
        Ok(Box::new(TokioIo::new(tls)))
    }

    /// The provider's address, for proxies that take one (`socks5://`, `socks4://`): resolved
    /// by the gateway's resolver, the first address (an IPv4 one for SOCKS4).
    async fn resolve(&mut self, host: &str, v4: bool) -> Result<String, ProxyError> {
        let target = self.target.clone();
        let name = Name::from_str(host)
            .map_err(|e| ProxyError::new(&target, format!("resolving {host}"), e))?;
        let addrs = self
            .resolver
            .call(name)
            .await
            .map_err(|e| ProxyError::new(&target, format!("resolving {host}"), e))?;
        let mut addrs = addrs.filter(|a| !v4 || a.is_ipv4());
        match addrs.next() {
            Some(a) if a.is_ipv6() => Ok(format!("[{}]", a.ip())),
            Some(a) => Ok(a.ip().to_string()),
            None => Err(ProxyError::new(
                &target,
                format!("resolving {host}"),
                io::Error::new(io::ErrorKind::NotFound, "no usable address"),
            )),
        }
    }
}

fn unusable(target: &ProxyTarget) -> ProxyError {
    ProxyError::new(
        target,
        "cannot be used",
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a proxy URL hyper-util can read",
        ),
    )
}

fn is_ip(host: &str) -> bool {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok()
}

/// A connector that hands over a connection already open (to the proxy), once: hyper-util's
/// tunnel and SOCKS connectors then run their handshake over it.
struct Given(Option<BoxIo>);

impl tower::Service<Uri> for Given {
    type Response = BoxIo;
    type Error = io::Error;
    type Future = std::future::Ready<io::Result<BoxIo>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _proxy: Uri) -> Self::Future {
        std::future::ready(
            self.0
                .take()
                .ok_or_else(|| io::Error::other("the proxy connection was used already")),
        )
    }
}
