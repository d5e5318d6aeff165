//! Finding a model's entry: exact id, then the id without its date or routing decorations, then
//! the most specific glob. No loose prefix matching: a sibling model (`gpt-5-pro` next to `gpt-5`)
//! must not borrow a price.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::Price;

/// Ids and patterns, normalized, with their prices.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    exact: HashMap<String, Price>,
    /// `(pattern, literal characters, price)`, in insertion order.
    globs: Vec<(String, usize, Price)>,
}

impl Table {
    /// Adds `pattern` (an id or a glob); a later entry for the same pattern replaces the earlier.
    pub(crate) fn add(&mut self, pattern: &str, price: &Price) {
        let key = normalize(pattern).into_owned();
        if key.contains(['*', '?']) {
            let literal = key.chars().filter(|c| !matches!(c, '*' | '?')).count();
            self.globs.retain(|(p, _, _)| *p != key);
            self.globs.push((key, literal, price.clone()));
        } else {
            self.exact.insert(key, price.clone());
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.exact.len() + self.globs.len()
    }

    /// The entry for a normalized model id.
    pub(crate) fn find(&self, key: &str) -> Option<&Price> {
        if self.exact.is_empty() && self.globs.is_empty() {
            // No `[pricing]` overrides, the usual case: nothing to strip or scan.
            return None;
        }
        if let Some(p) = self.exact.get(key) {
            return Some(p);
        }
        let bare = strip(key);
        if let Some(p) = self.exact.get(bare.as_str()) {
            return Some(p);
        }
        let mut best: Option<(usize, &Price)> = None;
        for (pattern, literal, price) in &self.globs {
            let hit = glob_match(pattern, key) || glob_match(pattern, &bare);
            if hit && best.is_none_or(|(n, _)| *literal > n) {
                best = Some((*literal, price));
            }
        }
        best.map(|(_, p)| p)
    }
}

/// Lower case, trimmed, `.` as `-` (`claude-sonnet-4.5` and `claude-sonnet-4-5` are one model;
/// so are `gpt-4.1` and `gpt-4-1`). Borrowed when already normal, as most ids are.
pub(crate) fn normalize(model: &str) -> Cow<'_, str> {
    let normal = |b: &u8| !b.is_ascii_uppercase() && *b != b'.';
    if model.trim().len() == model.len() && model.as_bytes().iter().all(normal) {
        return Cow::Borrowed(model);
    }
    model
        .trim()
        .chars()
        .map(|c| match c {
            '.' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A normalized id without decorations: Claude Code's `[1m]`, routing prefixes (`anthropic/…`,
/// `models/…`), Bedrock's `us.anthropic.` and `-v1:0`, Vertex's `@20250929`, and trailing dates
/// or snapshot numbers (`-20250929`, `-2024-08-06`, `-0709`, `-001`) or `-latest`.
fn strip(key: &str) -> String {
    let mut s = key;
    if let Some(i) = s.find('[') {
        s = &s[..i];
    }
    if let Some(i) = s.rfind('/') {
        s = &s[i + 1..];
    }
    if let Some(i) = s.find("claude-").filter(|i| *i > 0) {
        s = &s[i..];
    }
    if let Some(i) = s.find('@') {
        s = &s[..i];
    }
    let mut segments: Vec<&str> = s.split('-').collect();
    loop {
        let n = segments.len();
        if n < 2 {
            break;
        }
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let last = segments[n - 1];
        let bedrock_version = last.strip_prefix('v').is_some_and(|v| {
            let mut parts = v.splitn(2, ':');
            parts.next().is_some_and(digits) && parts.next().is_none_or(digits)
        });
        if n >= 4
            && digits(segments[n - 3])
            && segments[n - 3].len() == 4
            && digits(segments[n - 2])
            && segments[n - 2].len() == 2
            && digits(last)
            && last.len() == 2
        {
            segments.truncate(n - 3);
        } else if last == "latest" || bedrock_version || (digits(last) && last.len() >= 3) {
            segments.truncate(n - 1);
        } else {
            break;
        }
    }
    segments.join("-")
}

/// `*` matches any run of characters, `?` one character.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_dates_prefixes_and_suffixes() {
        for (from, to) in [
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("claude-sonnet-4-5[1m]", "claude-sonnet-4-5"),
            ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
            (
                "us-anthropic-claude-sonnet-4-5-20250929-v1:0",
                "claude-sonnet-4-5",
            ),
            ("anthropic/claude-opus-4-1", "claude-opus-4-1"),
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("grok-4-0709", "grok-4"),
            ("gemini-2-0-flash-001", "gemini-2-0-flash"),
            ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
            ("claude-opus-4-5", "claude-opus-4-5"),
            ("gpt-4-1", "gpt-4-1"),
            ("o3", "o3"),
        ] {
            assert_eq!(strip(from), to, "{from}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match(
            "claude-sonnet-4-5*",
            "claude-sonnet-4-5-20250929"
        ));
        assert!(glob_match("gpt-?o", "gpt-4o"));
        assert!(!glob_match("gemini-2-5-flash-preview*", "gemini-2-5-flash"));
    }
}
