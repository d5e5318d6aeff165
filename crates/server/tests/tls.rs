//! The TLS listener end to end, with a certificate the test makes (no key is kept in the
//! repository): HTTP/2 and HTTP/1.1 by ALPN, `Secure` session cookies, and a certificate
//! replaced on reload.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::json;
use switchboard_test_support::{MockUpstream, Reply, TestGateway};

/// A throwaway CA and a certificate it signed for `localhost` and 127.0.0.1.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki(name: &str) -> Pki {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let mut leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("leaf params");
    leaf_params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().expect("ip")));
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("leaf");
    Pki {
        ca_pem: ca.pem(),
        cert_pem: leaf.pem(),
        key_pem: leaf_key.serialize_pem(),
    }
}

fn write(dir: &Path, p: &Pki) {
    std::fs::write(dir.join("cert.pem"), &p.cert_pem).expect("cert");
    std::fs::write(dir.join("key.pem"), &p.key_pem).expect("key");
}

fn client(ca: &str, http1: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("ca"))
        .tls_built_in_root_certs(false)
        .redirect(reqwest::redirect::Policy::none());
    if http1 {
        b = b.http1_only();
    }
    b.build().expect("client")
}

#[tokio::test]
async fn the_listener_serves_https_and_takes_a_new_certificate_on_reload() {
    let up = MockUpstream::start(Reply::json(
        200,
        switchboard_test_support::sse::anthropic_message("claude-x", "hi", 3, 1),
    ))
    .await;
    let certs = tempfile::tempdir().expect("dir");
    let first = pki("switchboard test CA one");
    write(certs.path(), &first);
    let server = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"",
        certs.path().join("cert.pem").display(),
        certs.path().join("key.pem").display()
    );
    let gw = TestGateway::builder()
        .endpoint("mock", "anthropic", &up.url(), "")
        .server(&server)
        .start()
        .await;
    assert!(gw.url.starts_with("https://"), "{}", gw.url);
    let body = json!({"model": "claude-x", "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}]});
    for (http1, version) in [
        (false, reqwest::Version::HTTP_2),
        (true, reqwest::Version::HTTP_11),
    ] {
        let resp = client(&first.ca_pem, http1)
            .post(format!("{}/v1/messages", gw.url))
            .header("x-api-key", "sk-client")
            .json(&body)
            .send()
            .await
            .expect("https request");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.version(), version);
        let v: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(v["content"][0]["text"], "hi");
    }
    // Plain HTTP on the TLS port is not served.
    let plain = reqwest::Client::new()
        .get(format!("{}/health", gw.url.replace("https://", "http://")))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    // Under TLS the session cookie is `Secure`.
    let link: serde_json::Value = client(&first.ca_pem, false)
        .post(format!("{}/api/admin/links", gw.url))
        .bearer_auth(&gw.admin_token)
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let resp = client(&first.ca_pem, false)
        .get(format!(
            "{}{}",
            gw.url,
            link["path"].as_str().expect("path")
        ))
        .send()
        .await
        .expect("redeem");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp.headers()["set-cookie"].to_str().expect("ascii");
    assert!(cookie.contains("; Secure"), "{cookie}");

    // A new certificate from another CA, put in force by a reload: new connections present it.
    let second = pki("switchboard test CA two");
    write(certs.path(), &second);
    let reloaded = client(&first.ca_pem, false)
        .post(format!("{}/api/admin/reload", gw.url))
        .bearer_auth(&gw.admin_token)
        .send()
        .await
        .expect("reload");
    assert_eq!(reloaded.status(), StatusCode::OK);
    let resp = client(&second.ca_pem, false)
        .get(format!("{}/health", gw.url))
        .send()
        .await
        .expect("the new certificate");
    assert_eq!(resp.status(), StatusCode::OK);
    let old = client(&first.ca_pem, false)
        .get(format!("{}/health", gw.url))
        .send()
        .await;
    assert!(old.is_err(), "the old CA no longer verifies: {old:?}");

    // A broken key file keeps the running certificate and says why.
    std::fs::write(certs.path().join("key.pem"), "not a key").expect("write");
    let refused = client(&second.ca_pem, false)
        .post(format!("{}/api/admin/reload", gw.url))
        .bearer_auth(&gw.admin_token)
        .send()
        .await
        .expect("reload");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let text = refused.text().await.expect("body");
    assert!(text.contains("no PEM private key"), "{text}");
    let resp = client(&second.ca_pem, false)
        .get(format!("{}/health", gw.url))
        .send()
        .await
        .expect("still the second certificate");
    assert_eq!(resp.status(), StatusCode::OK);
    gw.shutdown().await;
}
