//! Tool names Gemini accepts: `^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$`. Other names (long
//! `mcp__server__tool` names, names with other characters) get a deterministic short form, and the
//! pair is recorded in `ResponseContext.tool_names` so responses can restore the original.

use sha2::{Digest, Sha256};

const MAX_LEN: usize = 64;

/// Whether Gemini accepts `name` as a function name.
pub(crate) fn is_valid(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    name.len() <= MAX_LEN
        && (first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// The name sent to Gemini for the client's `name`: itself when valid, else a sanitised prefix
/// plus a hash of the whole name (so two long names sharing a prefix stay distinct).
pub(crate) fn upstream_name(name: &str) -> String {
    if is_valid(name) {
        return name.to_owned();
    }
    let mut clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !clean.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        clean.insert(0, '_');
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    clean.truncate(MAX_LEN - hash.len() - 1);
    format!("{clean}_{hash}")
}

/// Records the mapping for `original` in `map` (upstream → original) and returns the upstream
/// name.
pub(crate) fn map_name(original: &str, map: &mut Vec<(String, String)>) -> String {
    let up = upstream_name(original);
    if up != original && !map.iter().any(|(u, _)| *u == up) {
        map.push((up.clone(), original.to_owned()));
    }
    up
}

/// The client's name for an upstream `name`.
pub(crate) fn original_name<'a>(name: &'a str, map: &'a [(String, String)]) -> &'a str {
    map.iter()
        .find(|(u, _)| u == name)
        .map_or(name, |(_, o)| o.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_pass_and_others_are_shortened() {
        assert_eq!(upstream_name("Bash"), "Bash");
        assert_eq!(
            upstream_name("mcp__echo__echo_text"),
            "mcp__echo__echo_text"
        );
        let long = format!("mcp__{}__tool", "x".repeat(80));
        let short = upstream_name(&long);
        assert!(is_valid(&short), "{short}");
        assert_eq!(short, upstream_name(&long));
        assert_ne!(upstream_name(&format!("{long}2")), short);
        assert!(is_valid(&upstream_name("9 lives/tool")));
        let mut map = Vec::new();
        let up = map_name(&long, &mut map);
        assert_eq!(original_name(&up, &map), long);
        assert_eq!(original_name("Bash", &map), "Bash");
    }
}
