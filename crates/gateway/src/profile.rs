//! Profiles on the request path: which endpoints a request goes to, in which order, and the
//! model map checked first. The profile in force (`[routing] profile`) applies to every request;
//! one naming another in [`PROFILE_HEADER`] gets that one (a `switchboard claude --profile`
//! session keeps its profile whatever the choice in force).
//!
//! Cost for a request without the header: one header-map lookup, nothing allocated (the
//! endpoint list is the one built at reload, shared by reference).

use std::sync::Arc;

use http::{HeaderMap, HeaderName};
use serde_json::{Value, json};
use switchboard_config::{Config, ModelMap, ROLES, is_model_pattern};

use crate::endpoint::Endpoint;
use crate::error::ApiError;

/// `X-Switchboard-Profile`: the profile a request asks for. Never forwarded upstream.
pub(crate) const PROFILE_HEADER: HeaderName =
    HeaderName::from_static(switchboard_config::PROFILE_HEADER);

/// One profile as the request path uses it.
#[derive(Debug)]
pub struct LiveProfile {
    pub name: Arc<str>,
    /// Its enabled endpoints, in its order.
    pub endpoints: Vec<Arc<Endpoint>>,
    pub models: ModelMap,
}

/// Every profile of the configuration, and the one in force.
#[derive(Debug, Default)]
pub struct Profiles {
    pub list: Vec<LiveProfile>,
    /// Index into `list` of the profile in force.
    active: Option<usize>,
}

impl Profiles {
    /// Each profile's endpoints picked from `enabled` (every enabled endpoint, in file order).
    pub(crate) fn new(config: &Config, enabled: &[Arc<Endpoint>]) -> Self {
        let list: Vec<LiveProfile> = config
            .profiles
            .iter()
            .map(|p| LiveProfile {
                name: p.name.as_str().into(),
                endpoints: if p.endpoints.is_empty() {
                    enabled.to_vec()
                } else {
                    p.endpoints
                        .iter()
                        .filter_map(|n| enabled.iter().find(|e| &e.cfg.name == n).cloned())
                        .collect()
                },
                models: p.models.clone(),
            })
            .collect();
        let active = config
            .routing
            .profile
            .as_ref()
            .and_then(|name| list.iter().position(|p| *p.name == **name));
        Self { list, active }
    }

    /// The profile in force, if any.
    #[must_use]
    pub fn active(&self) -> Option<&LiveProfile> {
        self.active.and_then(|i| self.list.get(i))
    }

    /// The profile a request with `headers` is routed with: the one it names, else the one in
    /// force. A name no profile has is refused (the client should know its profile is gone).
    pub(crate) fn for_request(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<&LiveProfile>, ApiError> {
        let Some(value) = headers.get(PROFILE_HEADER) else {
            return Ok(self.active());
        };
        let wanted = value.as_bytes();
        if let Some(p) = self.list.iter().find(|p| p.name.as_bytes() == wanted) {
            return Ok(Some(p));
        }
        let names: Vec<&str> = self.list.iter().map(|p| &*p.name).collect();
        let shown: String = String::from_utf8_lossy(wanted).chars().take(64).collect();
        Err(ApiError::BadRequest(if names.is_empty() {
            format!("unknown profile {shown:?} in {PROFILE_HEADER}: this gateway has no profiles")
        } else {
            format!(
                "unknown profile {shown:?} in {PROFILE_HEADER}; this gateway has: {}",
                names.join(", ")
            )
        }))
    }
}

/// What `GET /v1/models` lists for `profile` (its model map), or `None` when it has no map:
/// each role as `claude-ROLE` (`small-fast` as `claude-haiku` when there is no `haiku` rule),
/// each exact name as written, globs not at all; the display name is the model it maps to.
/// Claude Code's discovery keeps ids that contain `claude`, and sends the id picked, which the
/// map rewrites (the role word is in it).
pub(crate) fn discovered_models(profile: &LiveProfile) -> Option<Vec<(String, String)>> {
    if profile.models.is_empty() {
        return None;
    }
    let has_haiku = profile.models.rules.iter().any(|r| r.pattern == "haiku");
    let mut out: Vec<(String, String)> = Vec::new();
    for rule in &profile.models.rules {
        let id = match rule.pattern.as_str() {
            "small-fast" if has_haiku => continue,
            "small-fast" => "claude-haiku".to_owned(),
            role if ROLES.contains(&role) => format!("claude-{role}"),
            glob if is_model_pattern(glob) => continue,
            exact => exact.to_owned(),
        };
        if !out.iter().any(|(i, _)| *i == id) {
            out.push((id, format!("{} ({})", rule.target, profile.name)));
        }
    }
    Some(out)
}

/// A models list in the caller's dialect.
pub(crate) fn models_json(
    openai: bool,
    models: &[(String, String)],
    created: chrono::DateTime<chrono::Utc>,
) -> Value {
    if openai {
        json!({
            "object": "list",
            "data": models.iter().map(|(id, _)| json!({"id": id, "object": "model", "created": created.timestamp(), "owned_by": "switchboard"})).collect::<Vec<_>>(),
        })
    } else {
        json!({
            "data": models.iter().map(|(id, name)| json!({"type": "model", "id": id, "display_name": name, "created_at": created.to_rfc3339()})).collect::<Vec<_>>(),
            "has_more": false,
            "first_id": models.first().map(|(id, _)| id),
            "last_id": models.last().map(|(id, _)| id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(rules: &[(&str, &str)]) -> LiveProfile {
        LiveProfile {
            name: "cheap".into(),
            endpoints: Vec::new(),
            models: ModelMap {
                rules: rules
                    .iter()
                    .map(|(p, t)| switchboard_config::ModelRule {
                        pattern: (*p).into(),
                        target: (*t).into(),
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn discovery_lists_roles_as_claude_ids_and_exact_names_as_written() {
        let p = profile(&[
            ("sonnet", "deepseek-chat"),
            ("claude-opus-4-1", "deepseek-reasoner"),
            ("claude-3-*", "old"),
            ("small-fast", "tiny"),
        ]);
        assert_eq!(
            discovered_models(&p).expect("a map"),
            [
                (
                    "claude-sonnet".to_owned(),
                    "deepseek-chat (cheap)".to_owned()
                ),
                (
                    "claude-opus-4-1".to_owned(),
                    "deepseek-reasoner (cheap)".to_owned()
                ),
                ("claude-haiku".to_owned(), "tiny (cheap)".to_owned()),
            ]
        );
        assert_eq!(p.models.resolve("claude-sonnet"), Some("deepseek-chat"));
        assert_eq!(p.models.resolve("claude-haiku"), Some("tiny"));
        assert!(discovered_models(&profile(&[])).is_none());
    }

    #[test]
    fn a_request_names_its_profile_or_gets_the_one_in_force() {
        let profiles = Profiles {
            list: vec![
                profile(&[]),
                LiveProfile {
                    name: "best".into(),
                    endpoints: Vec::new(),
                    models: ModelMap::default(),
                },
            ],
            active: Some(1),
        };
        let mut h = HeaderMap::new();
        assert_eq!(
            profiles.for_request(&h).expect("ok").map(|p| &*p.name),
            Some("best")
        );
        h.insert(PROFILE_HEADER, http::HeaderValue::from_static("cheap"));
        assert_eq!(
            profiles.for_request(&h).expect("ok").map(|p| &*p.name),
            Some("cheap")
        );
        h.insert(PROFILE_HEADER, http::HeaderValue::from_static("gone"));
        let e = profiles.for_request(&h).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "unknown profile \"gone\" in x-switchboard-profile; this gateway has: cheap, best"
        );
    }
}
