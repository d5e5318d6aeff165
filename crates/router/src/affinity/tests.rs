use serde_json::Value;

use super::*;

const S: fn(u64) -> Duration = Duration::from_secs;

/// A recorded Claude Code request: `headers` as `[name, value]` pairs and the parsed `body`.
struct Recorded {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn recorded(json: &str) -> Recorded {
    let v: Value = serde_json::from_str(json).expect("fixture is JSON");
    let headers = v["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|h| {
            (
                h[0].as_str().expect("name").to_owned(),
                h[1].as_str().expect("value").to_owned(),
            )
        })
        .collect();
    let body = serde_json::to_vec(&v["body"]).expect("body");
    Recorded { headers, body }
}

const MESSAGES: &str = include_str!("../../tests/fixtures/claude-code/p-mode-bearer-request.json");
const COUNT_TOKENS: &str =
    include_str!("../../tests/fixtures/claude-code/count-tokens-request.json");

fn headers(r: &Recorded) -> impl Iterator<Item = (&str, &str)> {
    r.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
}

#[test]
fn a_claude_code_request_is_identified_by_its_session_header() {
    let r = recorded(MESSAGES);
    let user_id = metadata_user_id(&r.body);
    let got = session_id(headers(&r), user_id.as_deref(), None).expect("a session");
    assert_eq!(
        got,
        SessionId {
            id: "b5362d82-8fab-4731-ae9e-a9c61c57cdfe".into(),
            source: SessionSource::Header
        }
    );
}

#[test]
fn without_the_header_the_session_comes_from_metadata_user_id_and_agrees() {
    let r = recorded(MESSAGES);
    let user_id = metadata_user_id(&r.body).expect("Claude Code sends metadata.user_id");
    let no_header = r
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(SESSION_HEADER))
        .map(|(n, v)| (n.as_str(), v.as_str()));
    let got = session_id(no_header, Some(&user_id), None).expect("a session");
    assert_eq!(got.source, SessionSource::MetadataJson);
    assert_eq!(got.id, "b5362d82-8fab-4731-ae9e-a9c61c57cdfe");
}

#[test]
fn count_tokens_has_no_metadata_but_the_header_still_names_the_session() {
    let r = recorded(COUNT_TOKENS);
    assert_eq!(metadata_user_id(&r.body), None);
    let got = session_id(headers(&r), None, None).map(|s| s.id);
    assert_eq!(got.as_deref(), Some("31aa76a0-d433-4b18-95bb-6762673d6474"));
}

#[test]
fn session_ids_from_every_source_in_order() {
    let legacy = "user_3c691c74d909c204abfdc537c3564807f157b94f08f4fe75ea9e2f2a7b440b9e_account__session_58f77df0-6584-4063-8caa-13a68cd54ef0";
    let json = r#"{"device_id":"3c69","account_uuid":"","session_id":"58f77df0-6584-4063-8caa-13a68cd54ef0","parent_session_id":"x"}"#;
    let long = "a".repeat(MAX_SESSION_ID_LEN + 1);
    type Case<'a> = (
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
        Option<(&'a str, SessionSource)>,
    );
    #[rustfmt::skip]
    let cases: &[Case] = &[
        (&[("X-Claude-Code-Session-Id", "h1"), ("x-session", "c1")], Some(json), Some(("h1", SessionSource::Header))),
        (&[("x-session", "c1")], Some(json), Some(("58f77df0-6584-4063-8caa-13a68cd54ef0", SessionSource::MetadataJson))),
        (&[], Some(legacy), Some(("58f77df0-6584-4063-8caa-13a68cd54ef0", SessionSource::MetadataLegacy))),
        (&[("X-Session", "c1")], Some("user_abc"), Some(("c1", SessionSource::ConfiguredHeader))),
        (&[("x-claude-code-session-id", "  ")], None, None),
        (&[("x-claude-code-session-id", "a\u{7}b")], None, None),
        (&[("x-claude-code-session-id", long.as_str())], None, None),
        (&[], Some(r#"{"session_id":""}"#), None),
        (&[], Some("{not json"), None),
        (&[], Some("user_x_session_NOT-HEX!"), None),
        (&[], Some("user_x_session_"), None),
        (&[("x-other", "z")], None, None),
    ];
    for (h, user_id, want) in cases {
        let got = session_id(h.iter().copied(), *user_id, Some("x-session"));
        let want = want.map(|(id, source)| SessionId {
            id: id.into(),
            source,
        });
        assert_eq!(got, want, "headers {h:?} user_id {user_id:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_binding_slides_with_use_and_expires_after_the_ttl_unused() {
    let a = Affinity::new(AffinityConfig::default());
    a.bind("p", "s", 2, Instant::now());
    for _ in 0..5 {
        tokio::time::advance(S(3000)).await;
        assert_eq!(a.get("p", "s", Instant::now()), Some(2));
    }
    tokio::time::advance(S(3600)).await;
    assert_eq!(a.get("p", "s", Instant::now()), None);
    assert_eq!(a.get("q", "s", Instant::now()), None);
}

#[tokio::test(start_paused = true)]
async fn a_session_moves_when_its_account_fails_and_does_not_snap_back() {
    let a = Affinity::new(AffinityConfig::default());
    let now = Instant::now;
    let healthy = |down: Option<usize>| move |m: usize| Some(m) != down;
    // First request: the strategy picks member 0, and the session stays there.
    assert_eq!(
        a.resolve("p", "s", now(), healthy(None), || Some(0)),
        Some(0)
    );
    for _ in 0..10 {
        let got = a.resolve("p", "s", now(), healthy(None), || Some(1));
        assert_eq!(got, Some(0));
    }
    // Member 0 fails: the session moves to what the strategy picks among the rest.
    assert_eq!(
        a.resolve("p", "s", now(), healthy(Some(0)), || Some(1)),
        Some(1)
    );
    // Member 0 recovers: the session stays on 1 (its cache is there now).
    tokio::time::advance(S(60)).await;
    for _ in 0..10 {
        assert_eq!(
            a.resolve("p", "s", now(), healthy(None), || Some(0)),
            Some(1)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn subagents_follow_their_session() {
    let a = Affinity::new(AffinityConfig::default());
    let parent = [("x-claude-code-session-id", "s1")];
    let subagent = [
        ("x-claude-code-session-id", "s1"),
        ("x-claude-code-agent-id", "agent-7"),
    ];
    let sid = |h: &[(&'static str, &'static str)]| {
        session_id(h.iter().copied(), None, None).expect("sid").id
    };
    let first = a.resolve("p", &sid(&parent), Instant::now(), |_| true, || Some(2));
    let sub = a.resolve("p", &sid(&subagent), Instant::now(), |_| true, || Some(0));
    assert_eq!((first, sub), (Some(2), Some(2)));
}

#[tokio::test(start_paused = true)]
async fn client_input_cannot_grow_the_table_past_its_capacity() {
    let a = Affinity::new(AffinityConfig {
        capacity: 100,
        ..AffinityConfig::default()
    });
    a.bind("p", "keep", 1, Instant::now());
    for i in 0..10_000 {
        tokio::time::advance(Duration::from_millis(1)).await;
        if i % 50 == 0 {
            // A session in use is renewed and so survives the flood.
            assert_eq!(a.get("p", "keep", Instant::now()), Some(1));
        }
        a.bind("p", &format!("flood-{i}"), 0, Instant::now());
        assert!(a.len() <= 100);
    }
    assert_eq!(a.len(), 100);
    assert_eq!(a.get("p", "keep", Instant::now()), Some(1));
    // The oldest flood entries went first.
    assert_eq!(a.get("p", "flood-0", Instant::now()), None);
    assert_eq!(a.get("p", "flood-9999", Instant::now()), Some(0));
}

#[tokio::test(start_paused = true)]
async fn expired_bindings_are_dropped_before_live_ones() {
    let a = Affinity::new(AffinityConfig {
        capacity: 3,
        ttl: S(10),
    });
    a.bind("p", "old", 0, Instant::now());
    tokio::time::advance(S(11)).await;
    a.bind("p", "a", 0, Instant::now());
    a.bind("p", "b", 0, Instant::now());
    assert_eq!(
        a.len(),
        2,
        "the expired binding went when the next was made"
    );
    a.bind("p", "c", 0, Instant::now());
    a.bind("p", "d", 0, Instant::now());
    assert_eq!(a.len(), 3);
    assert_eq!(a.get("p", "a", Instant::now()), None);
    a.unbind("p", "d");
    assert_eq!(a.get("p", "d", Instant::now()), None);
}
