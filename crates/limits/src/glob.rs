//! Globs for model names and `User-Agent`s: `*` any run of characters, `?` one, everything else
//! itself, ignoring ASCII case. Linear in the text for one `*` (the common case), and never
//! worse than text × pattern: no input can make a match slow.

/// Longest pattern accepted.
pub const MAX_PATTERN: usize = 128;

/// Checks a pattern: 1 to 128 printable ASCII characters, no spaces.
///
/// # Errors
/// Why it is refused.
pub fn validate(pattern: &str) -> Result<(), &'static str> {
    if pattern.is_empty() {
        return Err("it is empty");
    }
    if pattern.len() > MAX_PATTERN {
        return Err("it is longer than 128 characters");
    }
    if !pattern.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("use printable ASCII without spaces");
    }
    Ok(())
}

/// Whether `text` matches `pattern` (the whole of it).
#[must_use]
pub fn matches(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it is now taken to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&t[ti]) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs_match_as_documented() {
        for (p, t, want) in [
            ("claude-sonnet-*", "claude-sonnet-4-5", true),
            ("claude-sonnet-*", "claude-opus-4-1", false),
            ("*haiku*", "claude-haiku-4-5-20251001", true),
            ("CLAUDE-*", "claude-x", true),
            (
                "claude-cli/*",
                "claude-cli/2.1.330 (external, sdk-cli)",
                true,
            ),
            ("claude-cli/*", "python-httpx/0.28", false),
            ("gpt-?o", "gpt-4o", true),
            ("gpt-?o", "gpt-4oo", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("**", "anything", true),
        ] {
            assert_eq!(matches(p, t), want, "{p} ~ {t}");
        }
    }

    #[test]
    fn hostile_patterns_stay_fast() {
        let text = "a".repeat(10_000);
        assert!(!matches("*a*a*a*a*a*a*a*b", &text));
    }
}
