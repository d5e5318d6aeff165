//! How upstream connections leave the gateway: directly, or through a proxy.
//!
//! Which proxy an endpoint uses is decided once per endpoint, when a configuration is loaded
//! (at start-up and on every reload), never per request: the endpoint's own `proxy`, else
//! `[routing] proxy` (with `[routing] no_proxy`), else the environment as reqwest 0.12 read it
//! ([`ProxyEnv`]: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, upper case first, matched
//! by hyper-util's [`Matcher`], the one reqwest uses). An endpoint's URL never changes host or
//! scheme between requests, so the answer holds for all of them.
//!
//! Endpoints that connect directly share the one direct client ([`crate::client`]), so the
//! common case costs nothing more per request than before. Each proxy has its own client and
//! pool (connections made through it are never reused for a route that should not take it),
//! kept across reloads while some endpoint still uses it. Through a proxy:
//! - an `https` upstream gets a CONNECT tunnel (hyper-util's [`Tunnel`]), then TLS to the
//!   provider inside it with the usual ALPN (HTTP/2 or HTTP/1.1);
//! - an `http` upstream is sent to the HTTP proxy in absolute form, with `Proxy-Authorization`
//!   when the proxy URL has credentials (as reqwest did: no tunnel);
//! - a `socks5://` or `socks4://` proxy gets the provider's address resolved here, a
//!   `socks5h://` or `socks4a://` one its name (hyper-util's [`SocksV5`] / [`SocksV4`]);
//! - an `https://` proxy is itself reached over TLS (without ALPN), as reqwest did.
//!
//! Credentials in a proxy URL are sent as `Proxy-Authorization: Basic` to HTTP proxies and as
//! SOCKS5 user/password authentication. Errors name the proxy with its password masked.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::str::FromStr as _;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http::{HeaderValue, Uri};
use http_body_util::Full;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::proxy::{SocksV4, SocksV5, Tunnel};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use switchboard_config::{EndpointConfig, ProxySetting, RoutingConfig, mask_proxy_url};
use tower::Service as _;

use crate::client::{self, ClientError, Resolve, Resolver, UpstreamClient};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A client whose connections all go through one proxy.
pub(crate) type ProxiedClient = hyper_util::client::legacy::Client<ProxyConnector, Full<Bytes>>;

/// The proxy variables of an environment, read once, as reqwest 0.12 read them (hyper-util's
/// `Matcher::from_env`): for each of `ALL_PROXY`, `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` the
/// upper-case name if it is set (even to nothing), else the lower-case one. An `https` upstream
/// takes `HTTPS_PROXY`, an `http` one `HTTP_PROXY`, each falling back to `ALL_PROXY` when unset
/// or unusable. `NO_PROXY` lists hosts that connect directly: `*`; a domain, which also matches
/// its subdomains (a leading `.` is optional); an IP address or CIDR range (matched against a
/// URL's IP address only, never a name's addresses). Loopback is not special: list it to bypass
/// the proxy. When `REQUEST_METHOD` is set (a CGI program) nothing is read (httpoxy).
pub struct ProxyEnv {
    matcher: Matcher,
    all: Option<(&'static str, String)>,
    http: Option<(&'static str, String)>,
    https: Option<(&'static str, String)>,
    no: Option<(&'static str, String)>,
    cgi: bool,
}

impl ProxyEnv {
    /// The process environment's.
    #[must_use]
    pub fn from_process() -> Self {
        Self::from_vars(&|name| match std::env::var_os(name) {
            // Only whether it is set matters.
            Some(_) if name == "REQUEST_METHOD" => Some(String::new()),
            // Not Unicode: skipped, as `std::env::var` does.
            Some(v) => v.into_string().ok(),
            None => None,
        })
    }

    /// The variables `get` gives (`None`: unset).
    #[must_use]
    pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Self {
        let first = |names: [&'static str; 2]| {
            names
                .into_iter()
                .find_map(|name| get(name).map(|v| (name, v)))
        };
        let all = first(["ALL_PROXY", "all_proxy"]);
        let http = first(["HTTP_PROXY", "http_proxy"]);
        let https = first(["HTTPS_PROXY", "https_proxy"]);
        let no = first(["NO_PROXY", "no_proxy"]);
        let cgi = get("REQUEST_METHOD").is_some();
        let matcher = if cgi {
            Matcher::builder().build()
        } else {
            Matcher::builder()
                .all(value(all.as_ref()))
                .http(value(http.as_ref()))
                .https(value(https.as_ref()))
                .no(value(no.as_ref()))
                .build()
        };
        Self {
            matcher,
            all,
            http,
            https,
            no,
            cgi,
        }
    }

    /// No proxy variables at all.
    #[must_use]
    pub fn none() -> Self {
        Self::from_vars(&|_| None)
    }

    /// The proxy for `dst` and the variable it came from, if `dst` goes through one.
    fn choose(&self, dst: &Uri) -> Option<(&str, &'static str)> {
        // The decision is the matcher's, NO_PROXY included; the rest only finds which variable
        // the matcher took, to show and to connect with.
        self.matcher.intercept(dst)?;
        let specific = if dst.scheme() == Some(&Scheme::HTTPS) {
            &self.https
        } else {
            &self.http
        };
        usable(specific.as_ref(), dst).or_else(|| usable(self.all.as_ref(), dst))
    }

    /// What was read, passwords masked, for `config check`: `NAME=value` pairs.
    #[must_use]
    pub fn describe(&self) -> Vec<String> {
        if self.cgi {
            return vec!["REQUEST_METHOD is set (CGI): proxy variables are ignored".to_owned()];
        }
        [&self.https, &self.http, &self.all, &self.no]
            .into_iter()
            .flatten()
            .map(|(name, value)| format!("{name}={}", mask_proxy_url(value)))
            .collect()
    }
}

impl fmt::Debug for ProxyEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.describe()).finish()
    }
}

/// A variable's value, or nothing when it is unset.
fn value<'a>(var: Option<&'a (&'static str, String)>) -> &'a str {
    var.map_or("", |(_, v)| v.as_str())
}

/// A variable's value and name, when it holds a proxy URL hyper-util can use for `dst`.
fn usable<'a>(
    var: Option<&'a (&'static str, String)>,
    dst: &Uri,
) -> Option<(&'a str, &'static str)> {
    var.filter(|(_, raw)| intercept(raw, "", dst).is_some())
        .map(|(name, raw)| (raw.as_str(), *name))
}

/// hyper-util's matcher for one proxy URL and a `NO_PROXY`-style list.
fn intercept(proxy: &str, no_proxy: &str, dst: &Uri) -> Option<Intercept> {
    Matcher::builder()
        .all(proxy)
        .no(no_proxy)
        .build()
        .intercept(dst)
}

/// Where an endpoint's proxy was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxySource {
    /// The endpoint's own `proxy`.
    Endpoint,
    /// `[routing] proxy`.
    Routing,
    /// An environment variable, by name.
    Environment(&'static str),
}

impl fmt::Display for ProxySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Endpoint => f.write_str("endpoint"),
            Self::Routing => f.write_str("routing"),
            Self::Environment(name) => f.write_str(name),
        }
    }
}

/// The proxy an endpoint's connections go through, as shown (password masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyChoice {
    pub url: String,
    pub source: ProxySource,
}

/// The proxy for `ep` under `routing` and `env`, with the URL as written (password included).
fn choose<'a>(
    ep: &'a EndpointConfig,
    routing: &'a RoutingConfig,
    env: &'a ProxyEnv,
) -> Option<(&'a str, ProxySource)> {
    let dst = Uri::try_from(ep.base_url.as_str()).ok()?;
    match (&ep.proxy, &routing.proxy) {
        (Some(ProxySetting::Direct), _) => None,
        (Some(ProxySetting::Via(url)), _) => Some((url.expose(), ProxySource::Endpoint)),
        (None, Some(ProxySetting::Direct)) => None,
        (None, Some(ProxySetting::Via(url))) => {
            intercept(url.expose(), &routing.no_proxy.join(","), &dst)?;
            Some((url.expose(), ProxySource::Routing))
        }
        (None, None) => env
            .choose(&dst)
            .map(|(raw, name)| (raw, ProxySource::Environment(name))),
    }
}

/// The proxy `ep`'s connections go through under `routing` and `env` (`None`: direct), for
/// display: what `/status` and `config check` show.
#[must_use]
pub fn proxy_for(
    ep: &EndpointConfig,
    routing: &RoutingConfig,
    env: &ProxyEnv,
) -> Option<ProxyChoice> {
    choose(ep, routing, env).map(|(url, source)| ProxyChoice {
        url: shown(url),
        source,
    })
}

/// A proxy URL as errors and `/status` show it: password masked, no trailing `/`.
fn shown(url: &str) -> String {
    mask_proxy_url(url.trim_end_matches('/'))
}

/// How requests to one endpoint go out.
#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) client: UpstreamClient,
    /// The proxy, when there is one.
    pub(crate) proxy: Option<ProxyChoice>,
    /// Requests are sent to an HTTP proxy in absolute form (an `http` upstream): a `407` is the
    /// proxy's answer, not the provider's.
    pub(crate) forwarded: bool,
    /// `Proxy-Authorization` for those requests.
    pub(crate) forward_auth: Option<HeaderValue>,
    /// The cache key of the client, when it is a proxy's.
    key: Option<String>,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.proxy {
            None => f.write_str("direct"),
            Some(p) => write!(f, "via {} ({})", p.url, p.source),
        }
    }
}

/// The clients and what it takes to make one for a new proxy.
pub(crate) struct Egress {
    direct: UpstreamClient,
    env: ProxyEnv,
    timeout: Duration,
    resolver: Resolver,
    /// TLS to providers through a proxy: ALPN h2, http/1.1.
    tls: Arc<rustls::ClientConfig>,
    /// TLS to an `https://` proxy: no ALPN (the CONNECT is HTTP/1.1).
    tls_proxy: Arc<rustls::ClientConfig>,
    proxied: Mutex<HashMap<String, ProxiedClient>>,
}

impl Egress {
    /// `connect_timeout` bounds everything a new connection takes, through a proxy too.
    pub(crate) fn new(
        connect_timeout: Duration,
        resolver: Option<Arc<dyn Resolve>>,
        env: ProxyEnv,
    ) -> Result<Self, ClientError> {
        Ok(Self::with_tls(
            connect_timeout,
            Resolver::from(resolver),
            env,
            client::tls_config()?,
        ))
    }

    pub(crate) fn with_tls(
        timeout: Duration,
        resolver: Resolver,
        env: ProxyEnv,
        tls: rustls::ClientConfig,
    ) -> Self {
        let mut tls_proxy = tls.clone();
        tls_proxy.alpn_protocols.clear();
        let direct = client::build_with(timeout, resolver.clone(), tls.clone());
        let mut tls = tls;
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self {
            direct: UpstreamClient::Direct(direct),
            env,
            timeout,
            resolver,
            tls: Arc::new(tls),
            tls_proxy: Arc::new(tls_proxy),
            proxied: Mutex::new(HashMap::new()),
        }
    }

    /// How `ep`'s requests go out under `routing`.
    pub(crate) fn route(&self, ep: &EndpointConfig, routing: &RoutingConfig) -> Route {
        let Some((url, source)) = choose(ep, routing, &self.env) else {
            return Route {
                client: self.direct.clone(),
                proxy: None,
                forwarded: false,
                forward_auth: None,
                key: None,
            };
        };
        let dst = Uri::try_from(ep.base_url.as_str()).ok();
        let target = ProxyTarget::new(url, dst.as_ref());
        let forwarded =
            ep.base_url.scheme() == "http" && matches!(target.kind, Kind::Http | Kind::Https);
        let forward_auth = forwarded.then(|| target.basic.clone()).flatten();
        let client = self
            .proxied
            .lock()
            .entry(url.to_owned())
            .or_insert_with(|| {
                client::client_builder().build(ProxyConnector {
                    target: Arc::new(target),
                    tcp: client::tcp_connector(self.timeout, self.resolver.clone()),
                    resolver: self.resolver.clone(),
                    tls: self.tls.clone(),
                    tls_proxy: self.tls_proxy.clone(),
                    timeout: self.timeout,
                })
            })
            .clone();
        Route {
            client: UpstreamClient::Proxied(client),
            proxy: Some(ProxyChoice {
                url: shown(url),
                source,
            }),
            forwarded,
            forward_auth,
            key: Some(url.to_owned()),
        }
    }

    /// Forgets the clients of proxies no route in `in_use` takes (requests in flight keep
    /// theirs until they finish).
    pub(crate) fn retain<'a>(&self, in_use: impl Iterator<Item = &'a Route>) {
        let keys: Vec<&str> = in_use.filter_map(|r| r.key.as_deref()).collect();
        self.proxied
            .lock()
            .retain(|k, _| keys.contains(&k.as_str()));
    }

    pub(crate) fn env(&self) -> &ProxyEnv {
        &self.env
    }
}

/// What kind of proxy it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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
struct ProxyTarget {
    kind: Kind,
    /// `scheme://host:port/`, credentials removed.
    uri: Uri,
    /// `http://host:port`, to open the TCP connection with.
    tcp: Uri,
    host: String,
    /// `Proxy-Authorization` (HTTP proxies with credentials).
    basic: Option<HeaderValue>,
    /// User and password (SOCKS5 proxies with credentials).
    socks_auth: Option<(String, String)>,
    /// The URL with its password masked.
    shown: String,
}

impl ProxyTarget {
    /// `url` as hyper-util's matcher reads it (credentials percent-decoded into Basic auth for
    /// HTTP proxies, kept raw for SOCKS). `dst` only selects the matcher's rule.
    fn new(url: &str, dst: Option<&Uri>) -> Self {
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
    target: Arc<ProxyTarget>,
    tcp: HttpConnector<Resolver>,
    resolver: Resolver,
    tls: Arc<rustls::ClientConfig>,
    tls_proxy: Arc<rustls::ClientConfig>,
    timeout: Duration,
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

#[cfg(test)]
mod tests {
    use http::{Request, StatusCode, Version};
    use http_body_util::BodyExt as _;
    use switchboard_config::{Config, ConfigSource, compile_str};
    use switchboard_test_support::{HttpProxy, SocksProxy};

    use super::*;
    use crate::client::tests::{loopback, tls_upstream, trusting_test_ca};

    fn config(toml: &str) -> Config {
        compile_str(toml, ConfigSource::Default, &|_| None).expect("valid config")
    }

    /// One endpoint at `base_url` with `extra` lines, and a `[routing]` body.
    fn endpoint(base_url: &str, extra: &str, routing: &str) -> Config {
        config(&format!(
            "[routing]\n{routing}\n[[endpoints]]\nname = \"e\"\nkind = \"openai\"\nbase_url = \"{base_url}\"\n{extra}\n"
        ))
    }

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProxyEnv::from_vars(&move |name| vars.get(name).cloned())
    }

    /// The proxy the one endpoint of `c` takes under `env`, as `url (source)`.
    fn chosen(c: &Config, env: &ProxyEnv) -> Option<String> {
        proxy_for(&c.endpoints[0], &c.routing, env).map(|p| format!("{} ({})", p.url, p.source))
    }

    #[test]
    fn the_environment_is_read_as_reqwest_read_it() {
        let https = endpoint("https://api.example.com/v1", "", "");
        let http = endpoint("http://api.example.com/v1", "", "");
        // The scheme's variable, else ALL_PROXY; upper case before lower case.
        let e = env(&[
            ("HTTPS_PROXY", "http://s.example:3128"),
            ("http_proxy", "http://h.example:3128"),
            ("ALL_PROXY", "socks5h://a.example:1080"),
            ("all_proxy", "http://ignored.example"),
        ]);
        assert_eq!(
            chosen(&https, &e).as_deref(),
            Some("http://s.example:3128 (HTTPS_PROXY)")
        );
        assert_eq!(
            chosen(&http, &e).as_deref(),
            Some("http://h.example:3128 (http_proxy)")
        );
        let e = env(&[("all_proxy", "socks5h://a.example:1080")]);
        assert_eq!(
            chosen(&https, &e).as_deref(),
            Some("socks5h://a.example:1080 (all_proxy)")
        );
        // An upper-case variable set to nothing hides the lower-case one, as in reqwest.
        let e = env(&[("HTTPS_PROXY", ""), ("https_proxy", "http://s.example")]);
        assert_eq!(chosen(&https, &e), None);
        // An unusable value falls back to ALL_PROXY; no scheme means http.
        let e = env(&[
            ("HTTPS_PROXY", "ftp://s.example"),
            ("ALL_PROXY", "user:pa55word@a.example:8080"),
        ]);
        assert_eq!(
            chosen(&https, &e).as_deref(),
            Some("user:…****@a.example:8080 (ALL_PROXY)")
        );
        // A CGI program reads none of them (httpoxy).
        let e = env(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://p")]);
        assert_eq!(chosen(&http, &e), None);
        assert_eq!(chosen(&https, &ProxyEnv::none()), None);
    }

    #[test]
    fn no_proxy_matches_domains_and_their_subdomains_addresses_ranges_and_star() {
        let via = |url: &str, no: &str| {
            let e = env(&[("HTTPS_PROXY", "http://p.example:3128"), ("NO_PROXY", no)]);
            chosen(&endpoint(url, "", ""), &e).is_some()
        };
        assert!(!via("https://api.example.com", "example.com"));
        assert!(!via("https://api.example.com", ".example.com"));
        assert!(!via("https://EXAMPLE.com", "example.com"));
        assert!(via("https://notexample.com", "example.com"));
        assert!(!via("https://10.1.2.3", "localhost, 10.0.0.0/8"));
        assert!(via("https://11.1.2.3", "10.0.0.0/8"));
        assert!(!via("https://[::1]:8443", "::1"));
        assert!(!via("https://anything.example", "*"));
        // Loopback is not special unless listed, and a name is not matched by its address.
        assert!(via("https://127.0.0.1:8443", "example.com"));
        assert!(via("https://localhost:8443", "127.0.0.1"));
        assert!(!via("https://localhost:8443", "localhost"));
        let e = env(&[("no_proxy", "example.com"), ("HTTPS_PROXY", "http://p")]);
        assert_eq!(
            chosen(&endpoint("https://api.example.com", "", ""), &e),
            None
        );
    }

    #[test]
    fn the_config_wins_over_the_environment_and_an_endpoint_over_routing() {
        let e = env(&[("HTTPS_PROXY", "http://env.example:3128")]);
        let routing = "proxy = \"http://alice:correct-horse-battery-staple@cfg.example:3128\"\nno_proxy = \"internal.example\"";
        let c = endpoint("https://api.example.com", "", routing);
        assert_eq!(
            chosen(&c, &e).as_deref(),
            Some("http://alice:correct-ho…aple@cfg.example:3128 (routing)")
        );
        // no_proxy applies to the routing proxy; the environment's NO_PROXY does not.
        let c = endpoint("https://api.internal.example", "", routing);
        assert_eq!(chosen(&c, &e), None);
        let e2 = env(&[("NO_PROXY", "*")]);
        let c = endpoint("https://api.example.com", "", routing);
        assert!(chosen(&c, &e2).is_some());
        // The endpoint's own choice wins, even over no_proxy.
        let c = endpoint(
            "https://api.internal.example",
            "proxy = \"socks5h://127.0.0.1\"",
            routing,
        );
        assert_eq!(
            chosen(&c, &e).as_deref(),
            Some("socks5h://127.0.0.1:1080 (endpoint)")
        );
        let c = endpoint("https://api.example.com", "proxy = \"none\"", "");
        assert_eq!(chosen(&c, &e), None);
        let c = endpoint("https://api.example.com", "", "proxy = false");
        assert_eq!(chosen(&c, &e), None);
    }

    fn egress() -> Egress {
        Egress::with_tls(
            Duration::from_secs(5),
            loopback(),
            ProxyEnv::none(),
            trusting_test_ca(),
        )
    }

    async fn get(route: &Route, port: u16) -> Result<(Version, String), String> {
        let mut req = Request::new(Full::default());
        *req.uri_mut() = format!("https://upstream.test:{port}/v1/models")
            .parse()
            .expect("uri");
        let resp = route.client.request(req).await.map_err(|e| {
            assert!(e.is_connect(), "a connect error: {e:?}");
            client::error_chain(&e)
        })?;
        assert_eq!(resp.status(), StatusCode::OK);
        let version = resp.version();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        Ok((version, String::from_utf8_lossy(&body).into_owned()))
    }

    fn route_to(egress: &Egress, port: u16, proxy: &str) -> Route {
        let c = endpoint(
            &format!("https://upstream.test:{port}"),
            &format!("proxy = \"{proxy}\""),
            "",
        );
        egress.route(&c.endpoints[0], &c.routing)
    }

    #[tokio::test]
    async fn https_goes_through_a_connect_tunnel_with_tls_and_alpn_inside_it() {
        let egress = egress();
        let proxy = HttpProxy::start().await;
        let h2 = tls_upstream(&[b"h2", b"http/1.1"]).await;
        let h1 = tls_upstream(&[b"http/1.1"]).await;
        for (port, want) in [(h2, Version::HTTP_2), (h1, Version::HTTP_11)] {
            let route = route_to(&egress, port, &proxy.url());
            assert!(!route.forwarded);
            for _ in 0..2 {
                let (version, seen) = get(&route, port).await.expect("through the proxy");
                assert_eq!(version, want);
                assert_eq!(seen, format!("{want:?}"), "the upstream saw the same");
            }
        }
        assert_eq!(proxy.tunnels(), 2, "one tunnel per upstream, then reused");
        assert_eq!(
            proxy.targets(),
            [format!("upstream.test:{h2}"), format!("upstream.test:{h1}")]
        );
    }

    #[tokio::test]
    async fn a_proxy_that_wants_credentials_gets_them_from_the_url_and_errors_name_it_masked() {
        let egress = egress();
        let password = "correct-horse-battery-staple";
        let proxy = HttpProxy::with_basic_auth("alice", password).await;
        let port = tls_upstream(&[b"h2"]).await;

        let e = get(&route_to(&egress, port, &proxy.url()), port)
            .await
            .expect_err("407");
        let want = format!(
            "proxy http://127.0.0.1:{}: CONNECT upstream.test:{port}: tunnel error: proxy authorization required",
            proxy.port()
        );
        assert!(e.contains(&want), "{e}");

        let wrong = format!(
            "http://alice:wrong-password-0123456789@127.0.0.1:{}",
            proxy.port()
        );
        let e = get(&route_to(&egress, port, &wrong), port)
            .await
            .expect_err("407");
        assert!(
            e.contains(&format!(
                "proxy http://alice:wrong-pass…6789@127.0.0.1:{}",
                proxy.port()
            )),
            "{e}"
        );
        assert!(!e.contains("wrong-password-0123456789"), "{e}");

        let right = format!("http://alice:{password}@127.0.0.1:{}", proxy.port());
        let (version, _) = get(&route_to(&egress, port, &right), port)
            .await
            .expect("with credentials");
        assert_eq!(version, Version::HTTP_2);
        assert_eq!((proxy.refused(), proxy.tunnels()), (2, 1));
    }

    #[tokio::test]
    async fn socks5h_sends_the_name_socks5_and_socks4_the_address_and_credentials_are_checked() {
        let egress = egress();
        let port = tls_upstream(&[b"h2", b"http/1.1"]).await;
        let socks = SocksProxy::with_auth("bob", "hunter2-hunter2-hunter2").await;
        let url =
            |scheme: &str, creds: &str| format!("{scheme}://{creds}127.0.0.1:{}", socks.port());

        let e = get(&route_to(&egress, port, &url("socks5h", "")), port)
            .await
            .expect_err("no credentials");
        assert!(
            e.contains(&format!(
                "proxy socks5h://127.0.0.1:{}: SOCKS connection to upstream.test:{port}",
                socks.port()
            )),
            "{e}"
        );
        let e = get(
            &route_to(&egress, port, &url("socks5h", "bob:wrong@")),
            port,
        )
        .await
        .expect_err("wrong credentials");
        assert!(
            e.contains("credentials not accepted") && !e.contains("bob:wrong"),
            "{e}"
        );

        let creds = "bob:hunter2-hunter2-hunter2@";
        let (v, _) = get(&route_to(&egress, port, &url("socks5h", creds)), port)
            .await
            .expect("socks5h");
        assert_eq!(v, Version::HTTP_2);
        get(&route_to(&egress, port, &url("socks5", creds)), port)
            .await
            .expect("socks5");
        assert_eq!(
            socks.targets(),
            [format!("upstream.test:{port}"), format!("127.0.0.1:{port}")],
            "socks5h: the proxy resolves the name; socks5: the gateway does"
        );

        let socks4 = SocksProxy::start().await;
        for scheme in ["socks4", "socks4a"] {
            let url = format!("{scheme}://127.0.0.1:{}", socks4.port());
            get(&route_to(&egress, port, &url), port)
                .await
                .expect(scheme);
        }
        assert_eq!(
            socks4.targets(),
            [format!("127.0.0.1:{port}"), format!("upstream.test:{port}")]
        );
    }

    #[tokio::test]
    async fn a_proxy_that_cannot_be_reached_is_a_connect_error_naming_it() {
        let egress = egress();
        // A port nothing listens on: bound, then closed.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let route = route_to(
            &egress,
            443,
            &format!("http://u:p4ssw0rd@127.0.0.1:{closed}"),
        );
        let e = get(&route, 443).await.expect_err("refused");
        assert!(
            e.contains(&format!(
                "proxy http://u:…****@127.0.0.1:{closed}: cannot connect"
            )),
            "{e}"
        );
        assert!(!e.contains("p4ssw0rd"), "{e}");
    }

    #[tokio::test]
    async fn routes_share_a_client_per_proxy_and_reloads_drop_unused_ones() {
        let egress = egress();
        let a = route_to(&egress, 1, "http://127.0.0.1:1");
        let b = route_to(&egress, 2, "http://127.0.0.1:1");
        let _c = route_to(&egress, 3, "socks5://127.0.0.1:2");
        assert_eq!(egress.proxied.lock().len(), 2);
        let direct = endpoint("https://api.example.com", "", "");
        let d = egress.route(&direct.endpoints[0], &direct.routing);
        assert!(matches!(d.client, UpstreamClient::Direct(_)) && d.proxy.is_none());
        egress.retain([&a, &b, &d].into_iter());
        assert_eq!(egress.proxied.lock().len(), 1);
        // A reload that takes only the SOCKS proxy again: a new client for it, the rest dropped.
        let c = route_to(&egress, 3, "socks5://127.0.0.1:2");
        egress.retain([&c].into_iter());
        let keys: Vec<String> = egress.proxied.lock().keys().cloned().collect();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].starts_with("socks5://127.0.0.1:2"), "{keys:?}");
    }
}
