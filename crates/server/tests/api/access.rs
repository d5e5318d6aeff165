//! Who gets an answer: loopback peers only, with the auth token when one is configured.

use super::*;

fn from_peer(uri: &str, peer: &str) -> Request<Body> {
    let addr: SocketAddr = peer.parse().expect("socket address");
    let mut req = Request::get(uri).body(Body::empty()).expect("request");
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

#[tokio::test]
async fn answers_only_loopback_peers() {
    let api = api().await;
    for peer in ["127.0.0.1:40000", "[::1]:40000", "[::ffff:127.0.0.1]:40000"] {
        let (status, _, _) = api.send(from_peer("/api/stats", peer)).await;
        assert_eq!(status, StatusCode::OK, "{peer}");
    }
    for peer in ["10.1.2.3:40000", "192.168.0.7:40000", "[2001:db8::1]:40000"] {
        for path in switchboard_server::api::paths() {
            let path = path.replace("{id}", &Uuid::nil().to_string());
            let (status, _, body) = api.send(from_peer(&path, peer)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{peer} {path}");
            let v: Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(v["error"]["type"], "forbidden");
        }
    }
    // Claude Code's start-up routes under /api/ are not part of the query API.
    let (status, _, _) = api.send(from_peer("/api/hello", "10.1.2.3:40000")).await;
    assert_eq!(status, StatusCode::OK);
    let mut req = Request::post("/api/event_logging/batch")
        .body(Body::from("{}"))
        .expect("request");
    req.extensions_mut().insert(ConnectInfo(
        "10.1.2.3:40000".parse::<SocketAddr>().expect("addr"),
    ));
    assert_eq!(api.send(req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn requires_the_auth_token_when_one_is_configured() {
    let api = api_with("auth_token = \"sb-secret-token\"", true).await;
    let get = |h: Option<(&str, &str)>| {
        let mut b = Request::get("/api/stats");
        if let Some((k, v)) = h {
            b = b.header(k, v);
        }
        b.body(Body::empty()).expect("request")
    };
    let (status, _, body) = api.send(get(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["error"]["type"], "unauthorized");
    assert_eq!(
        api.send(get(Some(("x-api-key", "wrong")))).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.send(get(Some(("x-api-key", "sb-secret-token"))))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        api.send(get(Some(("authorization", "Bearer sb-secret-token"))))
            .await
            .0,
        StatusCode::OK
    );
    // A non-loopback peer is refused even with the token.
    let mut req = from_peer("/api/stats", "10.0.0.1:1234");
    req.headers_mut()
        .insert("x-api-key", "sb-secret-token".parse().expect("header"));
    assert_eq!(api.send(req).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn without_a_store_the_api_is_unavailable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config =
        switchboard_config::compile_str("", ConfigSource::Default, &|_| None).expect("config");
    let store = switchboard_store::open(None, dir.path())
        .await
        .expect("store");
    let (log, _writer) = switchboard_store::spawn_writer(store, 10, WriterOptions::default());
    let state = AppState::new(config, log, dir.path().to_path_buf()).expect("state");
    let resp = switchboard_server::app(state)
        .oneshot(
            Request::get("/api/requests")
                .body(Body::empty())
                .expect("req"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
}
