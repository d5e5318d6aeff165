//! The master key: 32 bytes from `SWITCHBOARD_MASTER_KEY` (base64 or hex), else from
//! `master.key` in the data directory (mode 0600, base64, created on first use).
//!
//! Rotation swaps the key file in three steps, each of which survives a crash: the new key is
//! written to `master.key.new`; the secrets are resealed with it in one database transaction;
//! `master.key.new` is renamed over `master.key`. [`MasterKey::load`] finishes or undoes a swap
//! that a crash interrupted by asking the store which key the secrets carry (one table never
//! mixes keys): the new key's id → finish the rename; the old key's → delete `master.key.new`.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};
use switchboard_config::SecretString;
use switchboard_store::AdminStore;
use zeroize::Zeroizing;

use super::VaultError;
use crate::files;
use crate::token::random_bytes;

/// File name of the master key inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";
/// The next key during a rotation, until it is renamed over [`MASTER_KEY_FILE`].
pub const NEW_MASTER_KEY_FILE: &str = "master.key.new";
/// The environment variable the key may come from (read by the caller, never by this crate).
pub const MASTER_KEY_ENV: &str = "SWITCHBOARD_MASTER_KEY";

/// Where the key in use came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `SWITCHBOARD_MASTER_KEY`.
    Env,
    /// A key file.
    File(PathBuf),
    /// Passed in by the caller (a rotation's new key when the key lives in the environment).
    Given,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env => f.write_str(MASTER_KEY_ENV),
            Self::File(path) => write!(f, "the key file {}", path.display()),
            Self::Given => f.write_str("the key given to the rotation"),
        }
    }
}

/// A 256-bit master key. Zeroed when dropped; `Debug` shows its id and source only.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
    id: String,
    source: KeySource,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    fn from_bytes(bytes: Zeroizing<[u8; 32]>, source: KeySource) -> Self {
        let digest = Sha256::digest(&bytes[..]);
        Self {
            id: hex::encode(&digest[..8]),
            bytes,
            source,
        }
    }

    /// A new random key.
    ///
    /// # Errors
    /// The RNG is unavailable.
    pub fn generate(source: KeySource) -> Result<Self, VaultError> {
        Ok(Self::from_bytes(
            Zeroizing::new(random_bytes::<32>()?),
            source,
        ))
    }

    /// Parses a key written as base64 (standard or URL-safe, padded or not: 43 or 44
    /// characters) or hex (64 characters) of 32 bytes; surrounding whitespace is ignored.
    ///
    /// # Errors
    /// [`VaultError::InvalidKey`], which names `source` and never shows the value.
    pub fn parse(value: &str, source: KeySource) -> Result<Self, VaultError> {
        let value = value.trim();
        let invalid = |reason: String| VaultError::InvalidKey {
            origin: source.clone(),
            reason,
        };
        let decoded = Zeroizing::new(
            if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                hex::decode(value).map_err(|e| invalid(e.to_string()))?
            } else {
                [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                    .iter()
                    .find_map(|engine| engine.decode(value).ok())
                    .ok_or_else(|| invalid("it is neither base64 nor hex".to_owned()))?
            },
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| invalid(format!("it decodes to {} bytes, not 32", decoded.len())))?;
        Ok(Self::from_bytes(Zeroizing::new(bytes), source))
    }

    /// The key of `SWITCHBOARD_MASTER_KEY`'s value (which the caller read).
    ///
    /// # Errors
    /// As [`MasterKey::parse`].
    pub fn from_env_value(value: &str) -> Result<Self, VaultError> {
        Self::parse(value, KeySource::Env)
    }

    /// The key to use: `env_value` (`SWITCHBOARD_MASTER_KEY`'s value, when set and not
    /// empty), else `data_dir/master.key`, finishing or undoing an interrupted rotation first
    /// (see the module docs), and created on first use; but never while the store holds
    /// secrets, which a new key could not open (then the error names the key they need).
    ///
    /// # Errors
    /// An invalid key; a key file that others may read, or that cannot be read or made; a
    /// missing key file while secrets exist; an interrupted rotation that matches neither key.
    pub async fn load(
        data_dir: &Path,
        env_value: Option<&str>,
        store: &dyn AdminStore,
    ) -> Result<Self, VaultError> {
        if let Some(value) = env_value.filter(|v| !v.trim().is_empty()) {
            return Self::from_env_value(value);
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        let new_path = data_dir.join(NEW_MASTER_KEY_FILE);
        if let Some(new) = read_key_file(&new_path)? {
            recover(&path, &new_path, new, store).await?;
        }
        if let Some(key) = read_key_file(&path)? {
            return Ok(key);
        }
        let stored = store.secret_key_ids().await?;
        if !stored.is_empty() {
            return Err(VaultError::KeyFileMissing {
                path,
                stored_key_ids: stored,
            });
        }
        files::create_dir(data_dir).map_err(|e| key_file_error(&path, e))?;
        let key = Self::generate(KeySource::File(path.clone()))?;
        if files::create_new(&path, &key.file_line()).map_err(|e| key_file_error(&path, e))? {
            return Ok(key);
        }
        // Another process made it first: use theirs.
        read_key_file(&path)?.ok_or_else(|| VaultError::KeyFile {
            path: path.clone(),
            reason: "it vanished while being created".to_owned(),
        })
    }

    /// Short hex of SHA-256(key): stored with every secret it seals, shown in errors.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    #[must_use]
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// The key in base64, as `SWITCHBOARD_MASTER_KEY` takes it (to print a new key once).
    #[must_use]
    pub fn encoded(&self) -> SecretString {
        SecretString::new(STANDARD.encode(&self.bytes[..]))
    }

    pub(super) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    pub(super) fn with_source(mut self, source: KeySource) -> Self {
        self.source = source;
        self
    }

    pub(super) fn file_line(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{}\n", self.encoded().expose()))
    }
}

/// The key in `path`; `None` when there is no such file.
pub(super) fn read_key_file(path: &Path) -> Result<Option<MasterKey>, VaultError> {
    let Some(file) = files::read(path).map_err(|e| key_file_error(path, e))? else {
        return Ok(None);
    };
    if let Some(mode) = file.loose_mode {
        return Err(VaultError::InsecureKeyFile {
            path: path.to_owned(),
            mode,
        });
    }
    MasterKey::parse(&file.contents, KeySource::File(path.to_owned())).map(Some)
}

pub(super) fn key_file_error(path: &Path, e: std::io::Error) -> VaultError {
    VaultError::KeyFile {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Finishes (the secrets carry the new key, or there are none) or undoes (they carry the old
/// one) a rotation interrupted after `master.key.new` was written.
async fn recover(
    path: &Path,
    new_path: &Path,
    new: MasterKey,
    store: &dyn AdminStore,
) -> Result<(), VaultError> {
    let old = read_key_file(path)?;
    let stored = store.secret_key_ids().await?;
    let carries = |key: &MasterKey| stored.iter().all(|id| id == key.id());
    if carries(&new) {
        tracing::warn!(
            key_id = new.id(),
            "finishing a master-key rotation that was interrupted after the secrets were resealed"
        );
        files::rename(new_path, path).map_err(|e| key_file_error(path, e))?;
    } else if old.as_ref().is_some_and(carries) {
        tracing::warn!(
            key_id = new.id(),
            "undoing a master-key rotation that was interrupted before the secrets were resealed"
        );
        std::fs::remove_file(new_path).map_err(|e| key_file_error(new_path, e))?;
    } else {
        return Err(VaultError::RotationUnclear {
            path: path.to_owned(),
            old_key_id: old.map(|k| k.id().to_owned()),
            new_key_id: new.id().to_owned(),
            stored_key_ids: stored,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_from_base64_or_hex_and_nothing_else() {
        let bytes: Vec<u8> = (0_u8..32).collect();
        let hex_key = hex::encode(&bytes);
        let from_hex = MasterKey::parse(&hex_key, KeySource::Env).expect("hex");
        for text in [
            STANDARD.encode(&bytes),
            STANDARD_NO_PAD.encode(&bytes),
            URL_SAFE_NO_PAD.encode(&bytes),
            format!("  {}\n", STANDARD.encode(&bytes)),
            hex_key.to_uppercase(),
        ] {
            let key = MasterKey::parse(&text, KeySource::Env).expect("parses");
            assert_eq!(key.id(), from_hex.id(), "{text:?}");
            assert_eq!(key.bytes()[..], bytes[..]);
        }
        assert_eq!(from_hex.id().len(), 16);
        assert_eq!(
            MasterKey::parse(from_hex.encoded().expose(), KeySource::Env)
                .expect("own encoding")
                .id(),
            from_hex.id()
        );

        let short = MasterKey::from_env_value(&STANDARD.encode([7_u8; 16])).expect_err("short");
        assert_eq!(
            short.to_string(),
            "SWITCHBOARD_MASTER_KEY is not a master key: it decodes to 16 bytes, not 32; \
             give 32 random bytes as base64 or hex (`openssl rand -base64 32` makes one)"
        );
        let garbage = MasterKey::from_env_value("not a key!").expect_err("garbage");
        assert!(
            garbage.to_string().contains("neither base64 nor hex"),
            "{garbage}"
        );
        let secret_looking = "correct-horse-battery-staple-correct-horse";
        let err = MasterKey::from_env_value(secret_looking).expect_err("wrong length");
        assert!(
            !err.to_string().contains(secret_looking),
            "never echoes the value"
        );
    }

    #[test]
    fn debug_shows_the_id_not_the_key() {
        let key = MasterKey::generate(KeySource::Given).expect("rng");
        let shown = format!("{key:?}");
        assert!(shown.contains(key.id()));
        assert!(!shown.contains(key.encoded().expose()));
    }
}
