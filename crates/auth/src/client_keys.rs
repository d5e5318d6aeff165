//! Client keys: what the SDKs and Claude Code present to the proxy routes (`x-api-key` or
//! `Authorization: Bearer`), `sb-` and 32 random bytes in URL-safe base64.
//!
//! A key is stored only as its HMAC-SHA256 under a server key ([`KeyHasher`]), kept in the
//! secret store as [`HASH_KEY_SECRET`] (sealed with the master key, shared by every gateway on
//! the database). Keys have 256 random bits, so a fast keyed hash is enough — the request path
//! pays two SHA-256 blocks, not a password hash — and a database reader without the server key
//! can't even check a guess. The digest found is compared again in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use switchboard_config::SecretString;
use switchboard_store::Digest;

use crate::token::{RngError, TOKEN_BYTES, random_bytes};
use crate::vault::{Secrets, VaultError};

/// What every client key starts with.
pub const PREFIX: &str = "sb-";
/// Characters of a key after its prefix.
const BODY_LEN: usize = (TOKEN_BYTES * 4).div_ceil(3);
/// The secret-store name of the server key the digests are made with. Once it exists, the
/// gateway requires a key (or the gateway token) on every proxy request.
pub const HASH_KEY_SECRET: &str = "switchboard.client-keys";

/// Whether `s` has a client key's shape: the prefix, then exactly 43 URL-safe base64
/// characters. Checked before hashing, so garbage costs nothing.
#[must_use]
pub fn looks_like_key(s: &[u8]) -> bool {
    s.strip_prefix(PREFIX.as_bytes()).is_some_and(|body| {
        body.len() == BODY_LEN
            && body
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    })
}

/// A new client key.
///
/// # Errors
/// The RNG is unavailable.
pub fn generate() -> Result<SecretString, RngError> {
    let bytes = zeroize::Zeroizing::new(random_bytes::<TOKEN_BYTES>()?);
    let mut s = String::with_capacity(PREFIX.len() + BODY_LEN);
    s.push_str(PREFIX);
    URL_SAFE_NO_PAD.encode_string(&bytes[..], &mut s);
    Ok(SecretString::new(s))
}

/// How a key is shown once made: first 10 characters, `…`, last 4.
#[must_use]
pub fn hint(key: &SecretString) -> String {
    key.masked()
}

/// The keyed digest of client keys. Cheap to clone; the key's inner and outer pads are hashed
/// once, here, so a digest costs two SHA-256 blocks.
#[derive(Clone)]
pub struct KeyHasher {
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHasher(<secret>)")
    }
}

impl KeyHasher {
    /// A hasher under `key`.
    #[must_use]
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            keyed: <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
        }
    }

    /// The digest a key is stored and looked up by.
    #[must_use]
    pub fn digest(&self, key: &[u8]) -> Digest {
        let mut mac = self.keyed.clone();
        mac.update(key);
        mac.finalize().into_bytes().into()
    }

    /// The server key from the secret store, if a client key was ever made.
    ///
    /// # Errors
    /// The store failed, or the secret is sealed with another master key or altered.
    pub async fn load(secrets: &Secrets) -> Result<Option<Self>, VaultError> {
        match secrets.get(HASH_KEY_SECRET).await {
            Ok(v) => Ok(Some(Self::from_secret(&v)?)),
            Err(VaultError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The server key, made and stored first if there is none. If two processes make one at
    /// once, both read back and use the one stored last.
    ///
    /// # Errors
    /// As [`KeyHasher::load`]; the RNG failed.
    pub async fn load_or_create(secrets: &Secrets, now: DateTime<Utc>) -> Result<Self, VaultError> {
        if let Some(h) = Self::load(secrets).await? {
            return Ok(h);
        }
        let bytes = zeroize::Zeroizing::new(random_bytes::<32>()?);
        let value = SecretString::new(URL_SAFE_NO_PAD.encode(&bytes[..]));
        secrets.set(HASH_KEY_SECRET, &value, now).await?;
        let stored = secrets.get(HASH_KEY_SECRET).await?;
        Self::from_secret(&stored)
    }

    fn from_secret(value: &SecretString) -> Result<Self, VaultError> {
        let bytes =
            zeroize::Zeroizing::new(URL_SAFE_NO_PAD.decode(value.expose()).map_err(|_| {
                VaultError::InvalidValue {
                    name: HASH_KEY_SECRET.into(),
                }
            })?);
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::InvalidValue {
                name: HASH_KEY_SECRET.into(),
            })?;
        Ok(Self::new(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_their_shape_and_digests_depend_on_the_server_key() {
        let a = generate().expect("rng");
        let b = generate().expect("rng");
        assert_ne!(a, b);
        assert!(a.expose().starts_with("sb-"));
        assert_eq!(a.expose().len(), 3 + 43);
        assert!(looks_like_key(a.expose().as_bytes()));
        assert!(!looks_like_key(b"sb-short"));
        assert!(!looks_like_key(format!("{}=", a.expose()).as_bytes()));
        assert!(!looks_like_key(b"sk-ant-api03-0123456789"));
        let h1 = KeyHasher::new(&[1; 32]);
        let h2 = KeyHasher::new(&[2; 32]);
        let k = a.expose().as_bytes();
        assert_eq!(h1.digest(k), h1.digest(k));
        assert_ne!(h1.digest(k), h2.digest(k));
        assert_ne!(h1.digest(k), h1.digest(b.expose().as_bytes()));
        let shown = hint(&a);
        assert!(shown.starts_with(&a.expose()[..10]) && shown.ends_with(&a.expose()[42..]));
        assert!(!format!("{h1:?}").contains('1'));
    }

    #[test]
    fn the_digest_is_hmac_sha256() {
        // RFC 4231 test case 2.
        let mut key = [0_u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex::encode(KeyHasher::new(&key).digest(b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
