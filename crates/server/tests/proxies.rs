//! The gateway behind proxies, end to end: the environment's proxy and NO_PROXY, `[routing]
//! proxy` and an endpoint's own, an HTTP proxy that wants credentials, SOCKS5, and a reload
//! that changes the proxy. Everything is on loopback: the proxies are the test doubles of
//! `switchboard-test-support`, upstream names are given by `FakeDns`, and the proxy variables
//! are handed to the gateway (`TestGatewayBuilder::proxy_env`), never set in this process.
//! (https through a `CONNECT` tunnel, with TLS and ALPN inside it, is tested in
//! `src/egress.rs`, where the test CA can be trusted.)

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Value, json};
use switchboard_gateway::ProxyEnv;
use switchboard_test_support::{FakeDns, HttpProxy, MockUpstream, Reply, SocksProxy, TestGateway};

fn message() -> Value {
    json!({"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
}

async fn upstream() -> MockUpstream {
    MockUpstream::start(Reply::json(
        200,
        r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#,
    ))
    .await
}

fn env(vars: &[(&str, &str)]) -> ProxyEnv {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ProxyEnv::from_vars(&move |name| vars.get(name).cloned())
}

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::test]
async fn the_environments_proxy_is_used_and_no_proxy_bypasses_it() {
    let up = upstream().await;
    let proxy = HttpProxy::start().await;
    let port = up.addr().port();
    let dns = FakeDns::new().host("api.test", LOOPBACK);
    let gw = TestGateway::builder()
        .resolver(dns.clone())
        .proxy_env(env(&[
            ("HTTP_PROXY", &proxy.url()),
            ("NO_PROXY", "direct.test"),
        ]))
        .endpoint("a", "anthropic", &format!("http://api.test:{port}"), "")
        .start()
        .await;
    for _ in 0..2 {
        let resp = gw.post("/v1/messages", &message()).await;
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(up.hits(), 2);
    assert_eq!(proxy.forwarded(), 1, "one connection to the proxy, reused");
    assert_eq!(proxy.targets(), [format!("api.test:{port}")]);
    assert!(
        dns.lookups().is_empty(),
        "the proxy, not the gateway, resolves the upstream: {:?}",
        dns.lookups()
    );
    let status = gw.status().await;
    assert_eq!(
        status["endpoints"][0]["proxy"],
        json!({"url": proxy.url(), "from": "HTTP_PROXY"})
    );
    gw.shutdown().await;

    // Listed in NO_PROXY: direct.
    let dns = FakeDns::new().host("direct.test", LOOPBACK);
    let gw = TestGateway::builder()
        .resolver(dns.clone())
        .proxy_env(env(&[
            ("http_proxy", &proxy.url()),
            ("no_proxy", "localhost, .direct.test"),
        ]))
        .endpoint("a", "anthropic", &format!("http://direct.test:{port}"), "")
        .start()
        .await;
    assert_eq!(gw.post("/v1/messages", &message()).await.status(), 200);
    assert_eq!(up.hits(), 3);
    assert_eq!(proxy.forwarded(), 1, "not through the proxy");
    assert_eq!(dns.lookups(), ["direct.test"]);
    assert_eq!(gw.status().await["endpoints"][0]["proxy"], Value::Null);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_proxy_refusing_the_credentials_is_a_connect_failure_naming_it_masked_and_fails_over() {
    let up = upstream().await;
    let password = "correct-horse-battery-staple";
    let proxy = HttpProxy::with_basic_auth("alice", password).await;
    let wrong = format!(
        "http://alice:wrong-password-0123456789@127.0.0.1:{}",
        proxy.port()
    );
    let gw = TestGateway::builder()
        .routing(&format!(
            "max_retries = 1\nbackoff = {{ initial = \"1ms\", max = \"2ms\" }}\nfailure_cooldown = \"0s\"\nproxy = \"{wrong}\"\n"
        ))
        .endpoint("proxied", "anthropic", &up.url(), "")
        .endpoint("direct", "anthropic", &up.url(), "proxy = \"none\"")
        .start()
        .await;
    let resp = gw.post("/v1/messages", &message()).await;
    assert_eq!(resp.status(), 200, "served by the direct endpoint");
    let r = &gw.wait_for_logs(1).await[0];
    assert_eq!(r.endpoint.as_deref(), Some("direct"));
    let (failed, _) = r.attempts.split_at(r.attempts.len() - 1);
    assert_eq!(
        failed.len(),
        2,
        "retried like a connect error: {:?}",
        r.attempts
    );
    for a in failed {
        let e = a.error.as_deref().unwrap_or_default();
        assert_eq!((a.endpoint.as_str(), a.status), ("proxied", None), "{e}");
        assert!(
            e.contains(&format!(
                "proxy http://alice:wrong-pass…6789@127.0.0.1:{}: HTTP 407 Proxy Authentication Required",
                proxy.port()
            )),
            "{e}"
        );
        assert!(!e.contains("wrong-password-0123456789"), "{e}");
    }
    assert_eq!(proxy.refused(), 2);
    let status = gw.status().await;
    let shown = status.to_string();
    assert!(!shown.contains("wrong-password-0123456789"), "{shown}");
    assert_eq!(status["endpoints"][1]["proxy"], Value::Null);
    assert_eq!(
        status["endpoints"][0]["proxy"]["from"], "routing",
        "{status}"
    );
    gw.shutdown().await;

    // With the right credentials, sent as Proxy-Authorization on each forwarded request.
    let right = format!("http://alice:{password}@127.0.0.1:{}", proxy.port());
    let gw = TestGateway::builder()
        .endpoint(
            "proxied",
            "anthropic",
            &up.url(),
            &format!("proxy = \"{right}\""),
        )
        .start()
        .await;
    assert_eq!(gw.post("/v1/messages", &message()).await.status(), 200);
    assert_eq!(proxy.forwarded(), 1);
    let seen = proxy.auth_seen();
    assert!(
        seen.last()
            .and_then(Option::as_deref)
            .is_some_and(|a| a.starts_with("Basic ")),
        "{seen:?}"
    );
    let recorded = &up.requests()[0];
    assert_eq!(
        recorded.header("proxy-authorization"),
        None,
        "the proxy's credentials are not passed on"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn an_endpoint_can_go_through_socks5_while_another_stays_direct() {
    let up = upstream().await;
    let port = up.addr().port();
    let socks = SocksProxy::with_auth("bob", "hunter2-hunter2-hunter2").await;
    let dns = FakeDns::new()
        .host("api.test", LOOPBACK)
        .host("other.test", LOOPBACK);
    let gw = TestGateway::builder()
        .resolver(dns.clone())
        .proxy_env(env(&[("ALL_PROXY", "http://127.0.0.1:9")]))
        .routing("max_retries = 0\nproxy = \"none\"\n")
        .endpoint(
            "socks",
            "anthropic",
            &format!("http://api.test:{port}"),
            &format!(
                "proxy = \"socks5h://bob:hunter2-hunter2-hunter2@127.0.0.1:{}\"",
                socks.port()
            ),
        )
        .endpoint(
            "direct",
            "anthropic",
            &format!("http://other.test:{port}"),
            "",
        )
        .start()
        .await;
    assert_eq!(gw.post("/v1/messages", &message()).await.status(), 200);
    assert_eq!(socks.tunnels(), 1);
    assert_eq!(socks.targets(), [format!("api.test:{port}")]);
    assert!(dns.lookups().is_empty(), "socks5h: {:?}", dns.lookups());
    let status = gw.status().await;
    assert_eq!(
        status["endpoints"][0]["proxy"],
        json!({"url": format!("socks5h://bob:hunter2-hu…ter2@127.0.0.1:{}", socks.port()), "from": "endpoint"})
    );
    assert_eq!(
        status["endpoints"][1]["proxy"],
        Value::Null,
        "`[routing] proxy = \"none\"` wins over ALL_PROXY"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_reload_changes_the_proxy_for_new_connections() {
    let up = upstream().await;
    let proxy = HttpProxy::start().await;
    let other = HttpProxy::start().await;
    let gw = TestGateway::builder()
        .endpoint(
            "a",
            "anthropic",
            &up.url(),
            &format!("proxy = \"{}\"", proxy.url()),
        )
        .start()
        .await;
    assert_eq!(gw.post("/v1/messages", &message()).await.status(), 200);
    assert_eq!(proxy.forwarded(), 1);

    let config = |extra: &str| {
        let toml = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[[endpoints]]\nname = \"a\"\nkind = \"anthropic\"\nbase_url = \"{}\"\n{extra}\n",
            up.url()
        );
        switchboard_config::compile_str(&toml, switchboard_config::ConfigSource::Default, &|_| None)
            .expect("valid config")
    };
    gw.state
        .swap_config(config(&format!("proxy = \"{}\"", other.url())));
    assert_eq!(gw.post("/v1/messages", &message()).await.status(), 200);
    assert_eq!((proxy.forwarded(), other.forwarded()), (1, 1));

    gw.state.swap_config(config("proxy = \"none\""));
    assert_eq!(gw.post("/v1/messages", &message()).await.status(), 200);
    assert_eq!((proxy.forwarded(), other.forwarded()), (1, 1), "direct now");
    assert_eq!(up.hits(), 3);
    gw.shutdown().await;
}
