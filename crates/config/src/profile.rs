//! Compiling `[[profiles]]` and checking `[routing] profile`: named routes through the
//! endpoints (an order and a model map each), one of them in force.

use std::collections::HashMap;
use std::time::Duration;

use toml_edit::Item;

use crate::error::Span;
use crate::fields::model_map;
use crate::model::{ClaudeVars, EndpointConfig, MAX_CLAUDE_TIMEOUT, Profile};
use crate::reader::{Cx, Section, missing, string_list, table_array};

pub(crate) const PROFILE_KEYS: &[&str] = &["name", "endpoints", "models", "claude"];
pub(crate) const CLAUDE_KEYS: &[&str] =
    &["model", "opus", "sonnet", "haiku", "subagent", "timeout"];

/// Whether `name` can name a profile: 1–64 ASCII letters, digits, `-`, `_` or `.` (it travels
/// in a header, `X-Switchboard-Profile`, and on command lines).
#[must_use]
pub fn is_profile_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Every profile of the `profiles` array, in file order; `endpoints` are the compiled ones,
/// which profiles may name.
pub(crate) fn profiles(cx: &mut Cx<'_>, item: &Item, endpoints: &[EndpointConfig]) -> Vec<Profile> {
    let tables = table_array(cx, item, "profiles");
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut out = Vec::new();
    for data in &tables {
        let s = data.open(cx, PROFILE_KEYS);
        if let Some(p) = profile(cx, s, &mut seen, endpoints) {
            out.push(p);
        }
    }
    out
}

fn profile(
    cx: &mut Cx<'_>,
    s: Section<'_>,
    seen: &mut HashMap<String, Span>,
    endpoints: &[EndpointConfig],
) -> Option<Profile> {
    let name = match s.string(cx, "name") {
        Some(n) if !is_profile_name(&n.value) => {
            let message = format!(
                "invalid profile name `{}`: use 1 to 64 letters, digits, `-`, `_` or `.`",
                n.value
            );
            cx.error(n.span, s.field("name"), message);
            None
        }
        Some(n) if seen.contains_key(&n.value) => {
            let message = format!("duplicate profile name `{}`: names must be unique", n.value);
            cx.error(n.span, s.field("name"), message);
            None
        }
        Some(n) => {
            seen.insert(n.value.clone(), n.span);
            Some(n.value)
        }
        None => {
            if !s.contains("name") {
                missing(cx, s, "name", "");
            }
            None
        }
    };
    let mut order = Vec::new();
    if let Some(list) = string_list(cx, s, "endpoints") {
        if list.is_empty() {
            cx.error(
                s.value_span("endpoints"),
                s.field("endpoints"),
                "names no endpoint; list at least one, or remove the key for every endpoint in file order",
            );
        }
        for (i, e) in list.into_iter().enumerate() {
            let field = format!("{}[{i}]", s.field("endpoints"));
            if order.contains(&e.value) {
                cx.error(e.span, field, format!("`{}` is listed twice", e.value));
            } else if endpoints.iter().any(|c| c.name == e.value) {
                order.push(e.value);
            } else {
                let names: Vec<&str> = endpoints.iter().map(|c| c.name.as_str()).collect();
                let message = format!(
                    "no endpoint named `{}`; the endpoints are: {}",
                    e.value,
                    names.join(", ")
                );
                cx.error(e.span, field, message);
            }
        }
    }
    let models = s
        .table(cx, "models")
        .map(|m| model_map(cx, m.any()))
        .unwrap_or_default();
    let claude = s
        .table(cx, "claude")
        .map(|c| {
            let c = c.open(cx, CLAUDE_KEYS);
            claude_vars(cx, c)
        })
        .unwrap_or_default();
    Some(Profile {
        name: name?,
        endpoints: order,
        models,
        claude,
    })
}

fn claude_vars(cx: &mut Cx<'_>, s: Section<'_>) -> ClaudeVars {
    let mut text = |key: &str| {
        let v = s.string(cx, key)?;
        if v.value.trim().is_empty() {
            cx.error(
                v.span,
                s.field(key),
                "is empty; set a model or remove the key",
            );
            return None;
        }
        Some(v.value)
    };
    let mut out = ClaudeVars {
        model: text("model"),
        opus: text("opus"),
        sonnet: text("sonnet"),
        haiku: text("haiku"),
        subagent: text("subagent"),
        timeout: None,
    };
    if let Some(d) = s.duration(cx, "timeout") {
        if d < Duration::from_millis(1) || d > MAX_CLAUDE_TIMEOUT {
            cx.error(
                s.value_span("timeout"),
                s.field("timeout"),
                "must be from 1ms to 24d (Claude Code's API_TIMEOUT_MS is at most 2147483647)",
            );
        } else {
            out.timeout = Some(d);
        }
    }
    out
}

/// Reports `[routing] profile` when it names no profile.
pub(crate) fn check_active(cx: &mut Cx<'_>, root: Section<'_>, active: &str, profiles: &[Profile]) {
    if profiles.iter().any(|p| p.name == active) {
        return;
    }
    let span = root
        .get("routing")
        .and_then(Item::as_table_like)
        .and_then(|t| t.get("profile"))
        .and_then(Item::span)
        .or_else(|| root.span());
    let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    let message = if names.is_empty() {
        format!("no profile named `{active}`: there are no [[profiles]]")
    } else {
        format!(
            "no profile named `{active}`; the profiles are: {}",
            names.join(", ")
        )
    };
    cx.error(span, "routing.profile", message);
}

#[cfg(test)]
mod tests {
    use crate::{ConfigSource, compile_str, render_errors};

    const ENDPOINTS: &str = r#"
[[endpoints]]
name = "a"
kind = "anthropic"
base_url = "http://127.0.0.1:9"

[[endpoints]]
name = "b"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
"#;

    fn compile(text: &str) -> Result<crate::Config, String> {
        let text = format!("{ENDPOINTS}{text}");
        compile_str(&text, ConfigSource::Default, &|_| None).map_err(|e| render_errors(&e))
    }

    #[test]
    fn profiles_compile_with_their_order_map_and_claude_variables() {
        let c = compile(
            r#"
[routing]
profile = "cheap"

[[profiles]]
name = "all"

[[profiles]]
name = "cheap"
endpoints = ["b", "a"]
[profiles.models]
sonnet = "deepseek-chat"
[profiles.claude]
model = "sonnet"
haiku = "claude-haiku-4-5"
timeout = "15m"
"#,
        )
        .expect("compiles");
        assert_eq!(c.routing.profile.as_deref(), Some("cheap"));
        assert_eq!(c.profiles.len(), 2);
        assert!(c.profiles[0].endpoints.is_empty());
        let cheap = &c.profiles[1];
        assert_eq!(cheap.endpoints, ["b", "a"]);
        assert_eq!(
            cheap.models.resolve("claude-sonnet-4-5"),
            Some("deepseek-chat")
        );
        assert_eq!(
            cheap.claude.env(),
            [
                ("ANTHROPIC_MODEL", "sonnet".to_owned()),
                (
                    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
                    "claude-haiku-4-5".to_owned()
                ),
                ("API_TIMEOUT_MS", "900000".to_owned()),
            ]
        );
    }

    #[test]
    fn every_mistake_in_profiles_is_reported() {
        let errors = compile(
            r#"
[routing]
profile = "chaep"

[[profiles]]
name = "cheap"
endpoints = ["b", "c", "b"]
colour = "red"
[profiles.claude]
opus = ""
timeout = "30d"

[[profiles]]
name = "cheap"

[[profiles]]
name = "with space"

[[profiles]]
endpoints = []
"#,
        )
        .expect_err("mistakes");
        for want in [
            "routing.profile: no profile named `chaep`; the profiles are: cheap",
            "profiles[0].colour: unknown key `colour`",
            "profiles[0].endpoints[1]: no endpoint named `c`; the endpoints are: a, b",
            "profiles[0].endpoints[2]: `b` is listed twice",
            "profiles[0].claude.opus: is empty",
            "profiles[0].claude.timeout: must be from 1ms to 24d",
            "profiles[1].name: duplicate profile name `cheap`",
            "profiles[2].name: invalid profile name `with space`",
            "profiles[3].endpoints: names no endpoint",
            "profiles[3].name: missing required key `name`",
        ] {
            assert!(errors.contains(want), "{want:?} not in:\n{errors}");
        }
    }

    #[test]
    fn an_active_profile_needs_profiles() {
        let errors = compile("[routing]\nprofile = \"x\"\n").expect_err("no profiles");
        assert!(
            errors.contains("routing.profile: no profile named `x`: there are no [[profiles]]"),
            "{errors}"
        );
    }
}
