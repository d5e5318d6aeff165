//! Tool names and schemas for upstreams stricter than Anthropic.
//!
//! Names: OpenAI accepts `^[a-zA-Z0-9_-]{1,64}$` and Gemini `^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$`,
//! while Claude Code sends MCP tools as `mcp__<server>__<tool>`, which can be longer. A name that
//! breaks the target's rule is replaced by a deterministic short name (legal prefix + `_` + 8 hex
//! digits of its SHA-256), and the pair is recorded in [`crate::ResponseContext::tool_names`] so
//! the response translation can restore the client's name. The same original always maps to the
//! same short name, so history and new calls agree across turns.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// What a target accepts as a function name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameRules {
    pub(crate) max_len: usize,
    /// Whether a character may appear in a name.
    pub(crate) legal: fn(char) -> bool,
    /// Whether a character may start a name.
    pub(crate) first: fn(char) -> bool,
}

/// OpenAI chat completions: `^[a-zA-Z0-9_-]{1,64}$`.
pub(crate) const OPENAI_NAMES: NameRules = NameRules {
    max_len: 64,
    legal: |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
    first: |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
};

/// Gemini function declarations: `^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$`.
pub(crate) const GEMINI_NAMES: NameRules = NameRules {
    max_len: 64,
    legal: |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'),
    first: |c| c.is_ascii_alphabetic() || c == '_',
};

/// Length of the hash suffix of a shortened name (`_` + 8 hex digits).
const SUFFIX_LEN: usize = 9;

/// The name to send upstream for `name`: `name` itself when legal, else a deterministic legal
/// replacement.
#[must_use]
pub(crate) fn upstream_name(name: &str, rules: NameRules) -> String {
    let legal = !name.is_empty()
        && name.len() <= rules.max_len
        && name.chars().next().is_some_and(rules.first)
        && name.chars().all(rules.legal);
    if legal {
        return name.to_owned();
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let mut prefix: String = name
        .chars()
        .map(|c| if (rules.legal)(c) { c } else { '_' })
        .take(rules.max_len - SUFFIX_LEN)
        .collect();
    if !prefix.chars().next().is_some_and(rules.first) {
        prefix.insert(0, '_');
        prefix.truncate(rules.max_len - SUFFIX_LEN);
    }
    format!("{prefix}_{hash}")
}

/// Records the names shortened for one request (upstream → original).
#[derive(Debug, Default, Clone)]
pub(crate) struct ToolNameMap {
    pairs: Vec<(String, String)>,
}

impl ToolNameMap {
    /// The upstream name for `original`, recording the pair when it differs.
    pub(crate) fn map(&mut self, original: &str, rules: NameRules) -> String {
        let short = upstream_name(original, rules);
        if short != original && !self.pairs.iter().any(|(s, _)| *s == short) {
            self.pairs.push((short.clone(), original.to_owned()));
        }
        short
    }

    /// The pairs, for [`crate::ResponseContext::tool_names`].
    pub(crate) fn into_pairs(self) -> Vec<(String, String)> {
        self.pairs
    }
}

/// The client's name for a name the upstream used (unchanged when it wasn't shortened).
#[must_use]
pub(crate) fn restore_name<'a>(pairs: &'a [(String, String)], upstream: &'a str) -> &'a str {
    pairs
        .iter()
        .find(|(short, _)| short == upstream)
        .map_or(upstream, |(_, orig)| orig.as_str())
}

/// A JSON schema cleaned for OpenAI-compatible backends: `$schema` removed everywhere (several
/// backends reject it), an empty `additionalProperties: {}` removed (Claude Code emits it,
/// anthropics/claude-code#17112), and the root made an object schema, which function
/// `parameters` must be.
#[must_use]
pub(crate) fn openai_parameters(schema: Option<Value>) -> Value {
    let mut schema = match schema {
        Some(Value::Object(m)) => Value::Object(m),
        _ => serde_json::json!({"type": "object", "properties": {}}),
    };
    strip_schema_keywords(&mut schema);
    if let Value::Object(m) = &mut schema {
        if !m.contains_key("type") {
            m.insert("type".into(), Value::String("object".into()));
        }
        if m.get("type").and_then(Value::as_str) == Some("object") && !m.contains_key("properties")
        {
            m.insert("properties".into(), Value::Object(serde_json::Map::new()));
        }
    }
    schema
}

fn strip_schema_keywords(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("$schema");
            if m.get("additionalProperties")
                .is_some_and(|a| a.as_object().is_some_and(serde_json::Map::is_empty))
            {
                m.remove("additionalProperties");
            }
            for (key, child) in m.iter_mut() {
                // Property names are data, not keywords: recurse into their schemas only.
                if key == "properties" || key == "$defs" || key == "definitions" {
                    if let Value::Object(props) = child {
                        props.values_mut().for_each(strip_schema_keywords);
                    }
                } else {
                    strip_schema_keywords(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_schema_keywords),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn legal_names_are_unchanged() {
        assert_eq!(upstream_name("Bash", OPENAI_NAMES), "Bash");
        assert_eq!(
            upstream_name("mcp__echo__echo_text", OPENAI_NAMES),
            "mcp__echo__echo_text"
        );
    }

    #[test]
    fn long_or_illegal_names_are_shortened_deterministically() {
        let long = format!("mcp__{}__tool", "s".repeat(80));
        let a = upstream_name(&long, OPENAI_NAMES);
        assert_eq!(a.len(), 64);
        assert_eq!(a, upstream_name(&long, OPENAI_NAMES));
        assert!(a.chars().all(|c| (OPENAI_NAMES.legal)(c)));
        let dotted = upstream_name("my.tool", OPENAI_NAMES);
        assert!(dotted.starts_with("my_tool_"));
        assert_ne!(upstream_name("9lives", GEMINI_NAMES), "9lives");
        assert!(upstream_name("9lives", GEMINI_NAMES).starts_with("_9lives_"));
    }

    #[test]
    fn map_records_and_restores() {
        let mut m = ToolNameMap::default();
        let long = "x".repeat(70);
        let short = m.map(&long, OPENAI_NAMES);
        assert_eq!(m.map("Read", OPENAI_NAMES), "Read");
        let pairs = m.into_pairs();
        assert_eq!(pairs.len(), 1);
        assert_eq!(restore_name(&pairs, &short), long);
        assert_eq!(restore_name(&pairs, "Read"), "Read");
    }

    #[test]
    fn schema_cleanup() {
        let s = openai_parameters(Some(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"$schema": {"type": "string"}, "a": {"type": "object", "additionalProperties": {}}},
        })));
        assert_eq!(
            s,
            json!({"type": "object", "properties": {"$schema": {"type": "string"}, "a": {"type": "object"}}})
        );
        assert_eq!(
            openai_parameters(None),
            json!({"type": "object", "properties": {}})
        );
    }
}
