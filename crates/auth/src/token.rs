//! Opaque bearer tokens: 32 bytes from the operating system's RNG, URL-safe base64 without
//! padding, behind a prefix that says what the token is (`sbs_…` a session cookie), so a token
//! found in a log or a paste is recognisable and secret scanners can match it.
//!
//! Tokens are stored only as their SHA-256 [`digest`]: 256 random bits need no salt or slow
//! hash, and a database reader learns nothing that opens a door. Comparisons of secret values go
//! through [`constant_time_eq`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use switchboard_config::SecretString;
use switchboard_store::Digest;

/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;
/// Characters of a token after its prefix: unpadded base64 of [`TOKEN_BYTES`].
const BODY_LEN: usize = (TOKEN_BYTES * 4).div_ceil(3);

/// What a token is for; each has its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `sbs_`: an admin session's cookie value.
    Session,
    /// `sbc_`: a session's CSRF token (derived from the cookie, see `sessions`).
    Csrf,
    /// `sbl_`: a one-time login link.
    LoginLink,
    /// `sba_`: the local admin credential in the data directory.
    LocalAdmin,
}

impl TokenKind {
    /// The prefix, with its underscore.
    #[must_use]
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Session => "sbs_",
            Self::Csrf => "sbc_",
            Self::LoginLink => "sbl_",
            Self::LocalAdmin => "sba_",
        }
    }

    /// Whether `token` has this kind's shape: the prefix, then exactly the characters of 32
    /// bytes in URL-safe base64. Checked before any lookup, so garbage never reaches the
    /// database.
    #[must_use]
    pub fn matches(self, token: &str) -> bool {
        token.strip_prefix(self.prefix()).is_some_and(|body| {
            body.len() == BODY_LEN
                && body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }
}

/// The operating system's random number generator failed (it does not, short of a broken
/// system; nothing is generated from a weaker source instead).
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}; no token or key was made")]
pub struct RngError(getrandom::Error);

/// `N` bytes from the operating system's RNG.
///
/// # Errors
/// The RNG is unavailable.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RngError> {
    let mut bytes = [0_u8; N];
    getrandom::fill(&mut bytes).map_err(RngError)?;
    Ok(bytes)
}

/// A new token of `kind`: its prefix, then 32 random bytes in URL-safe base64.
///
/// # Errors
/// The RNG is unavailable.
pub fn generate(kind: TokenKind) -> Result<SecretString, RngError> {
    let bytes = zeroize::Zeroizing::new(random_bytes::<TOKEN_BYTES>()?);
    Ok(encode(kind, &bytes[..]))
}

/// `kind`'s prefix followed by `bytes` in URL-safe base64 (a derived token, such as a CSRF
/// token, has the same shape as a random one).
pub(crate) fn encode(kind: TokenKind, bytes: &[u8]) -> SecretString {
    let mut s = String::with_capacity(kind.prefix().len() + BODY_LEN);
    s.push_str(kind.prefix());
    URL_SAFE_NO_PAD.encode_string(bytes, &mut s);
    SecretString::new(s)
}

/// SHA-256 of a token: the form in which it is stored and looked up.
#[must_use]
pub fn digest(token: &str) -> Digest {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `a` and `b` are equal, in time that depends on their lengths only.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_their_prefix_and_shape_and_differ() {
        for kind in [
            TokenKind::Session,
            TokenKind::Csrf,
            TokenKind::LoginLink,
            TokenKind::LocalAdmin,
        ] {
            let a = generate(kind).expect("rng");
            let b = generate(kind).expect("rng");
            assert!(a.expose().starts_with(kind.prefix()));
            assert_eq!(a.expose().len(), 4 + 43);
            assert!(kind.matches(a.expose()), "{kind:?} token has its shape");
            assert_ne!(a, b, "two tokens are never equal");
        }
        let session = generate(TokenKind::Session).expect("rng");
        assert!(!TokenKind::LoginLink.matches(session.expose()));
        assert!(!TokenKind::Session.matches("sbs_short"));
        assert!(!TokenKind::Session.matches(&format!("{}=", session.expose())));
        assert!(!TokenKind::Session.matches(&format!("sbs_{}", "+".repeat(43))));
    }

    #[test]
    fn digest_is_sha256_and_compare_is_exact() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            hex::encode(digest("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"sane"));
        assert!(!constant_time_eq(b"same", b"same!"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
