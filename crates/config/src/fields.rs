//! Field readers shared by several sections: secrets, model maps, header tables.

use crate::error::suggest;
use crate::model::{ModelMap, ModelRule, ROLES};
use crate::reader::{Cx, Secrets, Section, string_map};
use crate::secret::SecretString;

/// A secret string value: written in the file (usually as `${VAR}`), or `secret:NAME`, a
/// secret from the encrypted secret store (`switchboard secrets set NAME`). An empty one (often
/// an empty variable) is an error, not "no secret".
pub(crate) fn secret(cx: &mut Cx<'_>, s: Section<'_>, key: &str) -> Option<SecretString> {
    let value = s.string(cx, key)?;
    if value.value.is_empty() {
        cx.error(
            value.span,
            s.field(key),
            "is empty; set a value or remove the key",
        );
        return None;
    }
    let Some(name) = value.value.strip_prefix(SECRET_PREFIX) else {
        return Some(SecretString::new(value.value));
    };
    if !is_secret_name(name) {
        let message = format!(
            "`{}` is not a valid secret reference: secret names are 1-64 letters, digits, `_`, `-` or `.`",
            value.value
        );
        cx.error(value.span, s.field(key), message);
        return None;
    }
    match cx.secrets.lookup(name) {
        Some(v) => Some(v),
        None => {
            let message = match &cx.secrets {
                Secrets::Unavailable(why) => {
                    format!("refers to the secret `{name}`, but {why}")
                }
                _ => format!(
                    "refers to the secret `{name}`, which is not in the secret store: add it with `switchboard secrets set {name}`"
                ),
            };
            cx.error(value.span, s.field(key), message);
            None
        }
    }
}

/// How a value refers to the secret store: `api_key = "secret:NAME"`.
pub const SECRET_PREFIX: &str = "secret:";

/// Whether `name` can name a secret: 1–64 ASCII letters, digits, `_`, `-`, `.`.
#[must_use]
pub fn is_secret_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A model map: keys are roles, globs or exact model ids; values are the upstream model.
pub(crate) fn model_map(cx: &mut Cx<'_>, s: Section<'_>) -> ModelMap {
    let mut rules = Vec::new();
    for (key, target) in string_map(cx, s) {
        let field = s.field(&key.value);
        if key.value.trim().is_empty() {
            cx.error(key.span, field, "model pattern is empty");
            continue;
        }
        if target.value.trim().is_empty() {
            cx.error(target.span, field, "target model is empty");
            continue;
        }
        let plain =
            !key.value.contains(['*', '?']) && !key.value.chars().any(|c| c.is_ascii_digit());
        let close = if plain && !ROLES.contains(&key.value.as_str()) {
            suggest(&key.value, ROLES)
        } else {
            None
        };
        if let Some(role) = close {
            let message = format!(
                "unknown role `{}`; did you mean `{role}`? (roles: {})",
                key.value,
                ROLES.join(", ")
            );
            cx.error(key.span, field, message);
            continue;
        }
        rules.push(ModelRule {
            pattern: key.value,
            target: target.value,
        });
    }
    ModelMap { rules }
}

/// A `headers` table: valid header names, values without control characters.
pub(crate) fn headers(cx: &mut Cx<'_>, s: Section<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in string_map(cx, s) {
        let field = s.field(&name.value);
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.value.is_empty() || !name.value.chars().all(token) {
            cx.error(
                name.span,
                field,
                format!("invalid header name `{}`", name.value),
            );
        } else if value.value.chars().any(|c| c.is_control() && c != '\t') {
            cx.error(
                value.span,
                field,
                "header value contains a control character",
            );
        } else {
            out.push((name.value, value.value));
        }
    }
    out
}
