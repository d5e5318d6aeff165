//! A string that never shows itself in `Debug`, logs or error messages.

use std::fmt;

/// A secret (API key, token). `Debug` and `Display` print the masked form.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself: call only where it is sent on the wire.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The masked form: first 10 characters + `…` + last 4.
    #[must_use]
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks a secret as first 10 + `…` + last 4; short secrets are hidden entirely.
#[must_use]
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 16 {
        return "…".to_owned() + &"*".repeat(chars.len().min(4));
    }
    let head: String = chars[..10].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretString({})", self.masked())
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_first_ten_and_last_four() {
        assert_eq!(
            mask("sk-ant-api03-abcdefghijklmnop-XYZW"),
            "sk-ant-api…XYZW"
        );
        assert_eq!(
            format!(
                "{:?}",
                SecretString::new("sk-ant-api03-abcdefghijklmnop-XYZW")
            ),
            "SecretString(sk-ant-api…XYZW)"
        );
        assert!(!mask("short").contains("short"));
    }
}
