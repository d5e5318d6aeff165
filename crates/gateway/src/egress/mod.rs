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
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http::{HeaderValue, Uri};
use http_body_util::Full;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use parking_lot::Mutex;
use switchboard_config::{EndpointConfig, ProxySetting, RoutingConfig, mask_proxy_url};

mod connect;
#[cfg(test)]
mod tests;

use self::connect::{Kind, ProxyConnector, ProxyTarget};
use crate::client::{self, ClientError, Resolve, Resolver};

/// A client whose connections all go through one proxy.
pub(crate) type ProxiedClient = hyper_util::client::legacy::Client<ProxyConnector, Full<Bytes>>;

/// The client an endpoint's requests go out on: the shared direct one, or one for the proxy the
/// endpoint goes through (each proxy has its own pool, so a connection made through one proxy,
/// or none, is never reused for a route that should take another).
#[derive(Clone)]
pub(crate) enum UpstreamClient {
    Direct(client::Client),
    Proxied(ProxiedClient),
}

impl client::SendRequest for UpstreamClient {
    fn request(
        &self,
        req: http::Request<Full<Bytes>>,
    ) -> hyper_util::client::legacy::ResponseFuture {
        match self {
            Self::Direct(c) => c.request(req),
            Self::Proxied(c) => c.request(req),
        }
    }
}

impl fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Direct(_) => "UpstreamClient::Direct",
            Self::Proxied(_) => "UpstreamClient::Proxied",
        })
    }
}

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
