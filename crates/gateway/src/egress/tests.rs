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
    let resp = crate::client::SendRequest::request(&route.client, req)
        .await
        .map_err(|e| {
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
    let url = |scheme: &str, creds: &str| format!("{scheme}://{creds}127.0.0.1:{}", socks.port());

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
