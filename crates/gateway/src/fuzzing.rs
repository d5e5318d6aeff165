//! Admission and body reading as the proxy runs them, for the fuzz target
//! `fuzz/fuzz_targets/admission.rs`: not part of the API. A request's headers go through
//! admission (origin, content type, header limits, credentials against a table of client keys
//! with limits, the gateway token), its body through the bounded reader, the `model`/`stream`
//! parse and, as for a translated request, the shape check.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use switchboard_config::{Config, SecretString};
use switchboard_core::KeyId;
use tokio::time::Instant;

use crate::admission::{Clients, Gate};
use crate::clients::{KeyEntry, KeySet};

/// A valid client key of the harness (`x-api-key: sb-…` with these bytes admits).
pub const KEY: &str = "sb-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
/// The harness's gateway token.
pub const TOKEN: &str = "fuzz-gateway-token";

/// What one input came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Refused(String),
    /// Admitted; the body was read (`Ok(len)`) or refused.
    Admitted {
        key: Option<String>,
        body: Result<usize, String>,
    },
}

/// A gateway's admission with a key table (a valid key with every limit, a revoked key, an
/// expired key) and small input limits, and a runtime to read bodies on.
pub struct Harness {
    keys: crate::clients::Clients,
    hosts: crate::hosts::HostPolicy,
    config: Config,
    rt: tokio::runtime::Runtime,
}

impl Harness {
    /// # Panics
    /// A runtime cannot be built (the fuzz target cannot run at all).
    #[must_use]
    #[expect(clippy::expect_used, reason = "a harness for the fuzz target only")]
    pub fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let mut config = switchboard_config::default_config();
        config.server.auth_token = Some(SecretString::new(TOKEN.to_owned()));
        config.server.limits = switchboard_config::InputLimits {
            max_body_bytes: 64 << 10,
            max_headers: 32,
            max_header_bytes: 8 << 10,
            max_json_depth: 16,
            max_messages: 50,
            max_tools: 10,
            max_content_blocks: 100,
        };
        let hasher = switchboard_auth::KeyHasher::new(&[7; 32]);
        let limits: switchboard_limits::Limits = serde_json::from_str(
            r#"{"models":["claude-*"],"clients":["claude-cli/*","python*"],"rpm":1000,"tpm":100000,"concurrency":4,"budgets":["1usd/day","opus:1000tok/5h"]}"#,
        )
        .expect("limits");
        let entry = |name: &str, key: &str, revoked: bool, expired: bool| KeyEntry {
            id: KeyId::new(),
            name: name.into(),
            digest: hasher.digest(key.as_bytes()),
            user: None,
            team: None,
            limits: limits.clone(),
            expires_at: expired.then(|| chrono::Utc::now() - chrono::TimeDelta::hours(1)),
            revoked_at: revoked.then(chrono::Utc::now),
        };
        let keys = crate::clients::Clients::default();
        rt.block_on(async {
            keys.install(KeySet {
                hasher: Some(hasher.clone()),
                keys: vec![
                    entry("good", KEY, false, false),
                    entry(
                        "revoked",
                        "sb-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
                        true,
                        false,
                    ),
                    entry(
                        "expired",
                        "sb-CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
                        false,
                        true,
                    ),
                ],
                owners: Vec::new(),
            });
        });
        Self {
            keys,
            hosts: crate::hosts::HostPolicy::new(&config),
            config,
            rt,
        }
    }

    /// Admits `headers` and reads `chunks` as the body. Never panics, whatever arrives.
    pub fn run(&self, headers: &HeaderMap, chunks: Vec<Bytes>) -> Outcome {
        let gate = Gate {
            keys: &self.keys,
            hosts: &self.hosts,
            server: &self.config.server,
        };
        let limits = &self.config.server.limits;
        self.rt.block_on(async {
            let admitted = match gate.admit(headers, None, Instant::now(), Clients::Checked) {
                Ok(a) => a,
                Err((e, _)) => return Outcome::Refused(e.to_string()),
            };
            let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
            let body = axum::body::Body::from_stream(stream);
            let max = usize::try_from(limits.max_body_bytes).unwrap_or(usize::MAX);
            let read = crate::body::read(body, max, Duration::from_secs(5)).await;
            let key = admitted.key.as_ref().map(|k| k.name.clone());
            let body = match read {
                Err(e) => Err(e.to_string()),
                Ok(b) => {
                    assert!(b.len() <= max, "a body past the limit was read");
                    match crate::body::RequestHead::parse(&b) {
                        Err(e) => Err(e.to_string()),
                        Ok(head) => {
                            let shaped = crate::shape::check(&b, limits).map_err(|e| e.to_string());
                            if let (Some(k), Some(model)) = (&admitted.key, head.model.as_deref()) {
                                let _ = self.keys.limit(k, model, true, Instant::now());
                            }
                            shaped.map(|()| b.len())
                        }
                    }
                }
            };
            Outcome::Admitted { key, body }
        })
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(n.as_bytes()).expect("name"),
                http::HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn the_harness_admits_and_refuses_as_the_proxy_does() {
        let h = Harness::new();
        let body = || {
            vec![Bytes::from_static(
                br#"{"model":"claude-sonnet-4-5","messages":[]}"#,
            )]
        };
        let ua = ("user-agent", "claude-cli/2.1.330");
        assert_eq!(
            h.run(&headers(&[("x-api-key", KEY), ua]), body()),
            Outcome::Admitted {
                key: Some("good".into()),
                body: Ok(43)
            }
        );
        assert!(matches!(
            h.run(&headers(&[("x-api-key", KEY)]), body()),
            Outcome::Refused(m) if m.contains("not for this client")
        ));
        for (key, says) in [
            (
                "sb-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
                "was revoked",
            ),
            ("sb-CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", "expired"),
            (
                "sb-DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD",
                "invalid client key",
            ),
            ("nothing", "requires a client key"),
        ] {
            assert!(
                matches!(h.run(&headers(&[("x-api-key", key), ua]), body()), Outcome::Refused(m) if m.contains(says)),
                "{says}"
            );
        }
        let token = format!("Bearer {TOKEN}");
        assert_eq!(
            h.run(
                &headers(&[("authorization", &token)]),
                vec![Bytes::from(vec![b'x'; 70_000])]
            ),
            Outcome::Admitted {
                key: Some("auth_token".into()),
                body: Err("request body larger than 65536 bytes".into())
            }
        );
    }
}
