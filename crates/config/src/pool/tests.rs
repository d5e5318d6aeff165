use std::path::PathBuf;

use super::*;
use crate::{ConfigSource, compile_str, render_errors};

const ENDPOINTS: &str = r#"
[[endpoints]]
name = "a"
preset = "anthropic"
api_key = "k1"

[[endpoints]]
name = "b"
preset = "anthropic"
api_key = "k2"

[[endpoints]]
name = "c"
preset = "anthropic"
api_key = "k3"
"#;

fn compile(pools: &str) -> Result<Vec<PoolConfig>, String> {
    let text = format!("{ENDPOINTS}\n{pools}");
    let env = |name: &str| (name == "THIRD").then(|| "c".to_owned());
    compile_str(
        &text,
        ConfigSource::File(PathBuf::from("switchboard.toml")),
        &env,
    )
    .map(|c| c.pools)
    .map_err(|e| render_errors(&e))
}

/// Line `n` of a test's pools text (its first line, after the opening quote, is 1) is line `n + FIRST`.
const FIRST: usize = 17;

#[test]
fn a_pool_compiles_with_its_defaults() {
    let pools = compile(
        r#"
[[pools]]
name = "claude"
members = ["a", "b"]
"#,
    )
    .expect("valid");
    assert_eq!(
        pools,
        vec![PoolConfig {
            name: "claude".into(),
            members: vec![
                PoolMember {
                    endpoint: "a".into(),
                    weight: 1,
                    tier: 1
                },
                PoolMember {
                    endpoint: "b".into(),
                    weight: 1,
                    tier: 1
                },
            ],
            strategy: PoolStrategy::Priority,
            fallback: None,
            affinity: AffinitySettings::default(),
            breaker: BreakerSettings::default(),
        }]
    );
    assert!(pools[0].affinity.enabled);
    assert_eq!(pools[0].affinity.ttl, Duration::from_secs(3600));
}

#[test]
fn every_setting_is_read() {
    let pools = compile(
        r#"
[[pools]]
name = "spread"
strategy = "weighted"
members = [{ endpoint = "a", weight = 3 }, { endpoint = "b", weight = 1, tier = 2 }, "${THIRD}"]
fallback = "backup"
affinity = { enabled = false, ttl = "5m", header = "X-Session", max_sessions = 500 }
[pools.breaker]
consecutive_failures = 3
failure_rate = 25
min_requests = 20
window = "2m"
open_for = "10s"

[[pools]]
name = "backup"
strategy = "lowest_latency"
members = ["c"]
"#,
    )
    .expect("valid");
    let p = &pools[0];
    assert_eq!(p.strategy, PoolStrategy::Weighted);
    let m: Vec<(&str, u32, u32)> = p
        .members
        .iter()
        .map(|m| (m.endpoint.as_str(), m.weight, m.tier))
        .collect();
    assert_eq!(m, vec![("a", 3, 1), ("b", 1, 2), ("c", 1, 1)]);
    assert_eq!(p.fallback.as_deref(), Some("backup"));
    assert_eq!(
        p.affinity,
        AffinitySettings {
            enabled: false,
            ttl: Duration::from_secs(300),
            header: Some("x-session".into()),
            max_sessions: 500,
        }
    );
    assert_eq!(
        p.breaker,
        BreakerSettings {
            consecutive_failures: 3,
            failure_rate_percent: 25,
            min_requests: 20,
            window: Duration::from_secs(120),
            open_for: Duration::from_secs(10),
        }
    );
    assert_eq!(pools[1].strategy, PoolStrategy::LowestLatency);
}

#[test]
fn every_strategy_name_round_trips() {
    for (name, s) in PoolStrategy::NAMES.iter().zip(PoolStrategy::ALL) {
        assert_eq!(PoolStrategy::from_name(name), Some(s));
        assert_eq!(s.as_str(), *name);
    }
}

#[test]
fn mistakes_are_reported_with_where_and_what() {
    let errors = compile(
        r#"
[[pools]]
name = "a"
members = []

[[pools]]
name = "p 1"
strategy = "round-robin"
members = ["a", "a", "zz", { endpoint = "b", weight = 2, tier = 99 }, 7]
[pools.affinity]
ttl = "0s"
header = "bad header"
colour = "red"
[pools.breaker]
failure_rate = 150
open_for = "0s"

[[pools]]
members = ["a"]
"#,
    )
    .expect_err("invalid");
    let l = |n: usize| n + FIRST;
    let want = [
        format!(
            "switchboard.toml:{}:8: pools[0].name: `a` is already an endpoint's name: a pool needs a name of its own, so that a rule naming it is not ambiguous",
            l(2)
        ),
        format!(
            "switchboard.toml:{}:11: pools[0].members: names no endpoint; a pool needs at least one member",
            l(3)
        ),
        format!(
            "switchboard.toml:{}:8: pools[1].name: invalid pool name `p 1`: use 1 to 64 letters, digits, `-`, `_` or `.`",
            l(6)
        ),
        format!(
            "switchboard.toml:{}:12: pools[1].strategy: unknown strategy `round-robin`; did you mean `round_robin`?",
            l(7)
        ),
        format!(
            "switchboard.toml:{}:17: pools[1].members[1]: `a` is listed twice",
            l(8)
        ),
        format!(
            "switchboard.toml:{}:22: pools[1].members[2]: no endpoint named `zz`; the endpoints are: a, b, c",
            l(8)
        ),
        format!(
            "switchboard.toml:{}:55: pools[1].members[3].weight: has no effect with strategy \"priority\": weights are read by strategy = \"weighted\"",
            l(8)
        ),
        format!(
            "switchboard.toml:{}:65: pools[1].members[3].tier: 99 is out of range: expected 1 to 16",
            l(8)
        ),
        format!(
            "switchboard.toml:{}:71: pools[1].members[4]: expected an endpoint name or a {{ endpoint, weight, tier }} table, found integer",
            l(8)
        ),
        format!(
            "switchboard.toml:{}:7: pools[1].affinity.ttl: must be longer than zero and at most 7 days (it should cover the prompt cache's TTL: 5 minutes or an hour)",
            l(10)
        ),
        format!(
            "switchboard.toml:{}:10: pools[1].affinity.header: `bad header` is not a valid HTTP header name",
            l(11)
        ),
        format!(
            "switchboard.toml:{}:1: pools[1].affinity.colour: unknown key",
            l(12)
        ),
        format!(
            "switchboard.toml:{}:16: pools[1].breaker.failure_rate: 150 is out of range: expected 0 to 100",
            l(14)
        ),
        format!(
            "switchboard.toml:{}:12: pools[1].breaker.open_for: must be longer than zero",
            l(15)
        ),
        format!(
            "switchboard.toml:{}:1: pools[2].name: missing required key `name`",
            l(17)
        ),
    ];
    let got: Vec<&str> = errors.lines().collect();
    for w in &want {
        assert!(
            got.iter().any(|g| g.starts_with(w.as_str())),
            "missing:\n{w}\nin:\n{errors}"
        );
    }
    assert_eq!(got.len(), want.len(), "{errors}");
}

#[test]
fn fallbacks_must_name_another_pool_and_form_no_cycle() {
    let errors = compile(
        r#"
[[pools]]
name = "x"
members = ["a"]
fallback = "y"

[[pools]]
name = "y"
members = ["b"]
fallback = "x"

[[pools]]
name = "z"
members = ["c"]
fallback = "z"

[[pools]]
name = "w"
members = ["c"]
fallback = "nowhere"
"#,
    )
    .expect_err("invalid");
    let l = |n: usize| n + FIRST;
    let want = [
        format!(
            "switchboard.toml:{}:12: pools[0].fallback: fallbacks form a cycle: x → y → x",
            l(4)
        ),
        format!(
            "switchboard.toml:{}:12: pools[2].fallback: a pool cannot fall back to itself",
            l(14)
        ),
        format!(
            "switchboard.toml:{}:12: pools[3].fallback: no pool named `nowhere`; the pools are: x, y, z, w",
            l(19)
        ),
    ];
    assert_eq!(errors.lines().collect::<Vec<_>>(), want, "{errors}");
    // A chain that ends is fine.
    compile(
        r#"
[[pools]]
name = "x"
members = ["a"]
fallback = "y"

[[pools]]
name = "y"
members = ["b"]
"#,
    )
    .expect("a chain without a cycle");
}

/// `docs/configuration.md` documents every pool key in its own section.
#[test]
fn configuration_doc_lists_every_pool_key() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
    let doc = std::fs::read_to_string(path).expect("docs/configuration.md");
    for (heading, keys) in [
        ("[[pools]]", POOL_KEYS),
        ("[pools.affinity]", AFFINITY_KEYS),
        ("[pools.breaker]", BREAKER_KEYS),
        ("[[pools]]", MEMBER_KEYS),
    ] {
        let start = doc
            .find(&format!("## `{heading}`"))
            .unwrap_or_else(|| panic!("no section {heading}"));
        let section = &doc[start..];
        let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
        let section = &section[..end];
        for key in keys {
            assert!(
                section.contains(&format!("| `{key}` |")),
                "{heading} {key} is not documented"
            );
        }
    }
    for name in PoolStrategy::NAMES {
        assert!(doc.contains(&format!("`{name}`")), "strategy {name}");
    }
}
