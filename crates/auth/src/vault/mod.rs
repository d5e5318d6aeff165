//! Secrets at rest: upstream keys stored in the database sealed with XChaCha20-Poly1305 under
//! the master key ([`MasterKey`]), referenced from the config as `secret:NAME`.
//!
//! Each secret has a fresh random 24-byte nonce (XChaCha's nonces are long enough to draw at
//! random without fear of a repeat) and its name as associated data, so a sealed value copied
//! under another name does not open. Each row carries the id of the key that sealed it: a
//! secret sealed with another key fails with an error naming both ids and where the key in use
//! came from, and nothing stored is ever changed or deleted because of it.

mod key;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use switchboard_config::{SecretString, mask};
use switchboard_store::{AdminStore, PutSecret, Resealed, SecretRow, StoreError};

pub use self::key::{KeySource, MASTER_KEY_ENV, MASTER_KEY_FILE, MasterKey, NEW_MASTER_KEY_FILE};
use crate::files;
use crate::token::{RngError, random_bytes};

/// Longest secret name, in characters.
pub const MAX_SECRET_NAME: usize = 64;
/// Largest secret value, in bytes.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;
/// Times a rotation reads and reseals again when secrets changed under it.
const ROTATION_TRIES: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "invalid secret name {name:?}: use 1 to {MAX_SECRET_NAME} letters, digits, '_', '-' or \
         '.'"
    )]
    InvalidName { name: String },
    #[error("the value of secret {name:?} is empty or larger than {MAX_SECRET_BYTES} bytes")]
    InvalidValue { name: String },
    #[error("no secret named {name:?}: `switchboard secrets set {name}` stores one")]
    NotFound { name: String },
    #[error(
        "no secret named {}: `switchboard secrets set NAME` stores one",
        names.join(", ")
    )]
    Missing { names: Vec<String> },
    #[error(
        "{} sealed with master key {stored_key_id}, but the key in use is {key_id} (from \
         {key_source}): set {MASTER_KEY_ENV} to the key {stored_key_id}, or restore the key \
         file that holds it; nothing stored was changed",
        match name { Some(name) => format!("secret {name:?} is"), None => "the stored secrets are".to_owned() }
    )]
    KeyMismatch {
        name: Option<String>,
        stored_key_id: String,
        key_id: String,
        key_source: KeySource,
    },
    #[error(
        "secret {name:?} does not open with master key {key_id} although it carries that key's \
         id: the stored value was altered or moved from another name; set it again"
    )]
    Corrupt { name: String, key_id: String },
    #[error(
        "{origin} is not a master key: {reason}; give 32 random bytes as base64 or hex \
         (`openssl rand -base64 32` makes one)"
    )]
    InvalidKey { origin: KeySource, reason: String },
    #[error(
        "the master key file {} is readable by others (mode {mode:o}): `chmod 600` it, and \
         consider `switchboard secrets rotate-master`, since the key may have been copied",
        path.display()
    )]
    InsecureKeyFile { path: PathBuf, mode: u32 },
    #[error("cannot use the master key file {}: {reason}", path.display())]
    KeyFile { path: PathBuf, reason: String },
    #[error(
        "the database holds secrets sealed with master key {} but there is no key file {}: \
         restore it, or set {MASTER_KEY_ENV} to that key; a new key would not open them",
        stored_key_ids.join(", "), path.display()
    )]
    KeyFileMissing {
        path: PathBuf,
        stored_key_ids: Vec<String>,
    },
    #[error(
        "an interrupted master-key rotation left {path}.new (key {new_key_id}) beside {path} \
         (key {}), but the stored secrets carry key {}: neither file opens them; restore the \
         right key file or set {MASTER_KEY_ENV}",
        old_key_id.as_deref().unwrap_or("missing"), stored_key_ids.join(", "),
        path = path.display()
    )]
    RotationUnclear {
        path: PathBuf,
        old_key_id: Option<String>,
        new_key_id: String,
        stored_key_ids: Vec<String>,
    },
    #[error(
        "the master key comes from {MASTER_KEY_ENV}: give the rotation the new key (and set \
         {MASTER_KEY_ENV} to it afterwards)"
    )]
    RotationNeedsKey,
    #[error("the new master key is the key in use ({key_id}): nothing to rotate")]
    SameKey { key_id: String },
    #[error(
        "secrets were set or deleted during the master-key rotation {ROTATION_TRIES} times in a \
         row: nothing was changed; try again"
    )]
    RotationConflict,
    #[error(
        "the secret {name} is the server key client keys are checked with: deleting it would \
         lock out every client key"
    )]
    Reserved { name: String },
    #[error("secret storage failed: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// Checks a secret name: 1 to 64 ASCII letters, digits, `_`, `-`, `.`.
///
/// # Errors
/// [`VaultError::InvalidName`].
pub fn validate_name(name: &str) -> Result<(), VaultError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_SECRET_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(VaultError::InvalidName {
            name: name.chars().take(MAX_SECRET_NAME + 1).collect(),
        })
    }
}

/// A secret as listed: its value masked (first 10 + `…` + last 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSummary {
    pub name: String,
    pub masked: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub previous_key_id: String,
    pub key_id: String,
    /// Secrets resealed.
    pub resealed: usize,
}

/// The secret service. One per process: it holds the key in use, which a rotation replaces.
pub struct Secrets {
    store: Arc<dyn AdminStore>,
    key: RwLock<Arc<MasterKey>>,
    /// One rotation at a time.
    rotation: tokio::sync::Mutex<()>,
}

impl Secrets {
    /// The vault of `store`, with the key [`MasterKey::load`] finds (`env_value` is
    /// `SWITCHBOARD_MASTER_KEY`'s value, read by the caller).
    ///
    /// # Errors
    /// As [`MasterKey::load`].
    pub async fn open(
        store: Arc<dyn AdminStore>,
        data_dir: &Path,
        env_value: Option<&str>,
    ) -> Result<Self, VaultError> {
        let key = MasterKey::load(data_dir, env_value, store.as_ref()).await?;
        Ok(Self::with_key(store, key))
    }

    /// The vault of `store` with a key the caller has (a rotation swaps its file when its
    /// source is [`KeySource::File`]).
    #[must_use]
    pub fn with_key(store: Arc<dyn AdminStore>, key: MasterKey) -> Self {
        Self {
            store,
            key: RwLock::new(Arc::new(key)),
            rotation: tokio::sync::Mutex::new(()),
        }
    }

    /// The key in use.
    #[must_use]
    pub fn key(&self) -> Arc<MasterKey> {
        Arc::clone(&self.key.read())
    }

    /// Stores `value` as `name`, sealed with the key in use, replacing any value it had.
    ///
    /// # Errors
    /// An invalid name or value; secrets sealed with another key are stored (nothing is
    /// written); the store failed.
    pub async fn set(
        &self,
        name: &str,
        value: &SecretString,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        validate_name(name)?;
        if value.expose().is_empty() || value.expose().len() > MAX_SECRET_BYTES {
            return Err(VaultError::InvalidValue { name: name.into() });
        }
        let key = self.key();
        let (nonce, ciphertext) = seal(&key, name, value.expose().as_bytes())?;
        let row = SecretRow {
            name: name.to_owned(),
            key_id: key.id().to_owned(),
            nonce,
            ciphertext,
            created_at: now,
            updated_at: now,
        };
        match self.store.put_secret(&row).await? {
            PutSecret::Stored => Ok(()),
            PutSecret::OtherKey { key_id } => Err(mismatch(None, key_id, &key)),
        }
    }

    /// The value of `name`.
    ///
    /// # Errors
    /// No such secret; sealed with another key; altered; the store failed.
    pub async fn get(&self, name: &str) -> Result<SecretString, VaultError> {
        validate_name(name)?;
        let row = self
            .store
            .get_secret(name)
            .await?
            .ok_or_else(|| VaultError::NotFound { name: name.into() })?;
        open(&self.key(), &row)
    }

    /// The values of `names` (the `secret:NAME` references of a config), all or an error
    /// naming every one that is missing.
    ///
    /// # Errors
    /// Missing secrets; sealed with another key; altered; the store failed.
    pub async fn get_many(
        &self,
        names: &[&str],
    ) -> Result<BTreeMap<String, SecretString>, VaultError> {
        for name in names {
            validate_name(name)?;
        }
        let key = self.key();
        let mut rows: BTreeMap<String, SecretRow> = self
            .store
            .list_secrets()
            .await?
            .into_iter()
            .map(|row| (row.name.clone(), row))
            .collect();
        let mut out = BTreeMap::new();
        let mut missing = Vec::new();
        for &name in names {
            match rows.remove(name) {
                Some(row) => {
                    out.insert(name.to_owned(), open(&key, &row)?);
                }
                None if out.contains_key(name) => {}
                None => missing.push(name.to_owned()),
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            missing.dedup();
            Err(VaultError::Missing { names: missing })
        }
    }

    /// Every secret by name, its value masked.
    ///
    /// # Errors
    /// A secret sealed with another key or altered; the store failed.
    pub async fn list(&self) -> Result<Vec<SecretSummary>, VaultError> {
        let key = self.key();
        self.store
            .list_secrets()
            .await?
            .into_iter()
            .map(|row| {
                Ok(SecretSummary {
                    masked: mask(open(&key, &row)?.expose()),
                    name: row.name,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                })
            })
            .collect()
    }

    /// Deletes `name`; `false` when there was none.
    ///
    /// # Errors
    /// An invalid name; the store failed.
    pub async fn delete(&self, name: &str) -> Result<bool, VaultError> {
        validate_name(name)?;
        if name == crate::client_keys::HASH_KEY_SECRET {
            return Err(VaultError::Reserved { name: name.into() });
        }
        Ok(self.store.delete_secret(name).await?)
    }

    /// Reseals every secret with a new master key in one transaction, then makes it the key in
    /// use. With a key file, `new_key` may be `None` (a random key is made); the file is swapped
    /// as the module docs of `key` describe, safe against a crash at any point. With the key in
    /// `SWITCHBOARD_MASTER_KEY`, `new_key` is required, and the caller sets the variable to it
    /// afterwards.
    ///
    /// # Errors
    /// No new key for an environment key; the same key; a secret that does not open with the
    /// key in use (nothing changed); secrets changing throughout; a key file or store failure.
    pub async fn rotate_master(
        &self,
        new_key: Option<MasterKey>,
        now: DateTime<Utc>,
    ) -> Result<Rotated, VaultError> {
        self.rotate(new_key, now, false).await
    }

    /// [`Secrets::rotate_master`]; with `crash_before_rename` it stops after the commit, as a
    /// crash there would (tests of the recovery).
    async fn rotate(
        &self,
        new_key: Option<MasterKey>,
        now: DateTime<Utc>,
        crash_before_rename: bool,
    ) -> Result<Rotated, VaultError> {
        let _one_at_a_time = self.rotation.lock().await;
        let current = self.key();
        let key_file = match current.source() {
            KeySource::File(path) => Some(path.clone()),
            KeySource::Env | KeySource::Given => None,
        };
        let new = match (new_key, &key_file) {
            (Some(key), Some(path)) => key.with_source(KeySource::File(path.clone())),
            (Some(key), None) => key.with_source(KeySource::Given),
            (None, Some(path)) => MasterKey::generate(KeySource::File(path.clone()))?,
            (None, None) => return Err(VaultError::RotationNeedsKey),
        };
        if new.id() == current.id() {
            return Err(VaultError::SameKey {
                key_id: new.id().to_owned(),
            });
        }
        let new_path = key_file
            .as_ref()
            .map(|path| path.with_file_name(NEW_MASTER_KEY_FILE));
        if let Some(new_path) = &new_path {
            files::replace(new_path, &new.file_line())
                .map_err(|e| key::key_file_error(new_path, e))?;
        }
        let resealed = match self.reseal(&current, &new, now).await {
            Ok(n) => n,
            Err(e) => {
                // Nothing was committed: the new key file must not survive to be mistaken
                // for a finished rotation.
                if let Some(new_path) = &new_path {
                    let _ = std::fs::remove_file(new_path);
                }
                return Err(e);
            }
        };
        let rotated = Rotated {
            previous_key_id: current.id().to_owned(),
            key_id: new.id().to_owned(),
            resealed,
        };
        if crash_before_rename {
            return Ok(rotated);
        }
        // The database is committed: the new key is the one in use from here on, even if the
        // rename fails (the next `MasterKey::load` finishes it).
        *self.key.write() = Arc::new(new);
        if let (Some(path), Some(new_path)) = (&key_file, &new_path) {
            files::rename(new_path, path).map_err(|e| key::key_file_error(path, e))?;
        }
        Ok(rotated)
    }

    /// Reads, opens and reseals every secret, and commits them all in one transaction; again
    /// when secrets changed in between.
    async fn reseal(
        &self,
        current: &MasterKey,
        new: &MasterKey,
        now: DateTime<Utc>,
    ) -> Result<usize, VaultError> {
        for _ in 0..ROTATION_TRIES {
            let rows = self.store.list_secrets().await?;
            let mut resealed = Vec::with_capacity(rows.len());
            for row in &rows {
                let value = open(current, row)?;
                let (nonce, ciphertext) = seal(new, &row.name, value.expose().as_bytes())?;
                resealed.push(Resealed {
                    name: row.name.clone(),
                    previous_nonce: row.nonce.clone(),
                    nonce,
                    ciphertext,
                });
            }
            if self
                .store
                .reseal_all_secrets(new.id(), &resealed, now)
                .await?
            {
                return Ok(resealed.len());
            }
        }
        Err(VaultError::RotationConflict)
    }
}

fn cipher(key: &MasterKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.bytes().into())
}

/// `(nonce, ciphertext)` of `plaintext` under `key`, with `name` as associated data.
fn seal(key: &MasterKey, name: &str, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
    let nonce = random_bytes::<24>()?;
    let ciphertext = cipher(key)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: name.as_bytes(),
            },
        )
        // Only for plaintexts beyond 256 GiB.
        .map_err(|_| VaultError::InvalidValue { name: name.into() })?;
    Ok((nonce.to_vec(), ciphertext))
}

/// The value of `row`, if `key` sealed it.
fn open(key: &MasterKey, row: &SecretRow) -> Result<SecretString, VaultError> {
    if row.key_id != key.id() {
        return Err(mismatch(Some(&row.name), row.key_id.clone(), key));
    }
    let corrupt = || VaultError::Corrupt {
        name: row.name.clone(),
        key_id: key.id().to_owned(),
    };
    if row.nonce.len() != 24 {
        return Err(corrupt());
    }
    let plaintext = zeroize::Zeroizing::new(
        cipher(key)
            .decrypt(
                XNonce::from_slice(&row.nonce),
                Payload {
                    msg: &row.ciphertext,
                    aad: row.name.as_bytes(),
                },
            )
            .map_err(|_| corrupt())?,
    );
    let value = std::str::from_utf8(&plaintext).map_err(|_| corrupt())?;
    Ok(SecretString::new(value))
}

fn mismatch(name: Option<&str>, stored_key_id: String, key: &MasterKey) -> VaultError {
    VaultError::KeyMismatch {
        name: name.map(str::to_owned),
        stored_key_id,
        key_id: key.id().to_owned(),
        key_source: key.source().clone(),
    }
}

#[cfg(test)]
mod tests;
