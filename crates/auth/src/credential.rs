//! The local admin credential: a token (`sba_…`) in `admin.token` in the data directory, mode
//! 0600, made by the gateway on first start and read by the CLI, so `switchboard status` and
//! every admin command work for the user who started the gateway without typing anything, and
//! for nobody else on the machine (Jupyter's local login, with the file system as the door).
//!
//! A credential file that others may read (group or other mode bits set) is treated as leaked:
//! the gateway ([`LocalCredential::load_or_create`]) replaces it with a new credential in a 0600
//! file and logs a warning (path and mode, never the token); the CLI
//! ([`LocalCredential::read`]) refuses it and says why. Fixing the mode instead would keep a
//! token that others may already have copied; replacing it costs the local user nothing, since
//! the CLI reads the file anew each time.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use switchboard_config::SecretString;

use crate::files;
use crate::token::{self, RngError, TokenKind};

/// File name of the credential inside the data directory.
pub const CREDENTIAL_FILE: &str = "admin.token";

/// The credential file could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(
        "no admin credential at {}: start the gateway with this data directory once (it \
         creates one), or run as the user who started it", path.display()
    )]
    Missing { path: PathBuf },
    #[error(
        "cannot access the admin credential {}: {source}; it belongs to the user who started \
         the gateway", path.display()
    )]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "the admin credential {} is readable by others (mode {mode:o}); it may have been \
         copied: restart the gateway, which replaces it with a new one (mode 600)", path.display()
    )]
    Insecure { path: PathBuf, mode: u32 },
    #[error(
        "the admin credential {} is not one this gateway made: delete it and restart the \
         gateway to get a new one", path.display()
    )]
    Malformed { path: PathBuf },
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// The local admin credential. `Debug` shows it masked.
#[derive(Clone)]
pub struct LocalCredential {
    token: SecretString,
    path: PathBuf,
}

impl fmt::Debug for LocalCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCredential")
            .field("token", &self.token)
            .field("path", &self.path)
            .finish()
    }
}

impl LocalCredential {
    /// The gateway's side: the credential in `data_dir`, created (with the directory, 0700)
    /// when missing, replaced when others may read it or it is not a credential (a warning is
    /// logged). Blocking file I/O, a few hundred bytes.
    ///
    /// # Errors
    /// The directory or file cannot be created or read.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, CredentialError> {
        let path = data_dir.join(CREDENTIAL_FILE);
        let io = |source| CredentialError::Io {
            path: path.clone(),
            source,
        };
        files::create_dir(data_dir).map_err(io)?;
        // Twice at most: a file another process created between our read and our create.
        for _ in 0..2 {
            match Self::read_at(&path) {
                Ok(credential) => return Ok(credential),
                Err(CredentialError::Missing { .. }) => {
                    let token = token::generate(TokenKind::LocalAdmin)?;
                    if files::create_new(&path, &line(&token)).map_err(io)? {
                        return Ok(Self { token, path });
                    }
                }
                Err(CredentialError::Insecure { mode, .. }) => {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format_args!("{mode:o}"),
                        "the admin credential was readable by others: replaced with a new one \
                         (mode 600)"
                    );
                    return Self::replace(path);
                }
                Err(CredentialError::Malformed { .. }) => {
                    tracing::warn!(
                        path = %path.display(),
                        "the admin credential file held no credential: replaced with a new one"
                    );
                    return Self::replace(path);
                }
                Err(e) => return Err(e),
            }
        }
        Self::read_at(&path)
    }

    /// The CLI's side: the credential in `data_dir`, as the gateway made it.
    ///
    /// # Errors
    /// No file, a file this user cannot read, one that others may read, or one that holds no
    /// credential; each error says what to do.
    pub fn read(data_dir: &Path) -> Result<Self, CredentialError> {
        Self::read_at(&data_dir.join(CREDENTIAL_FILE))
    }

    fn read_at(path: &Path) -> Result<Self, CredentialError> {
        let file = files::read(path)
            .map_err(|source| CredentialError::Io {
                path: path.to_owned(),
                source,
            })?
            .ok_or_else(|| CredentialError::Missing {
                path: path.to_owned(),
            })?;
        if let Some(mode) = file.loose_mode {
            return Err(CredentialError::Insecure {
                path: path.to_owned(),
                mode,
            });
        }
        let value = file.contents.trim();
        if !TokenKind::LocalAdmin.matches(value) {
            return Err(CredentialError::Malformed {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            token: SecretString::new(value),
            path: path.to_owned(),
        })
    }

    fn replace(path: PathBuf) -> Result<Self, CredentialError> {
        let token = token::generate(TokenKind::LocalAdmin)?;
        files::replace(&path, &line(&token)).map_err(|source| CredentialError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Self { token, path })
    }

    /// The token, to send as the CLI's bearer credential.
    #[must_use]
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// Where it is stored.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `presented` is this credential, compared in constant time.
    #[must_use]
    pub fn verify(&self, presented: &str) -> bool {
        token::constant_time_eq(presented.as_bytes(), self.token.expose().as_bytes())
    }
}

fn line(token: &SecretString) -> String {
    format!("{}\n", token.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_mode_600_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let made = LocalCredential::load_or_create(&data).expect("create");
        assert!(TokenKind::LocalAdmin.matches(made.token().expose()));
        #[cfg(unix)]
        {
            assert_eq!(files::mode(&data.join(CREDENTIAL_FILE)), 0o600);
            assert_eq!(files::mode(&data), 0o700, "a new data directory is private");
        }
        let again = LocalCredential::load_or_create(&data).expect("load");
        assert_eq!(again.token(), made.token(), "the second start keeps it");
        let cli = LocalCredential::read(&data).expect("read");
        assert_eq!(cli.token(), made.token());
        assert!(cli.verify(made.token().expose()));
        assert!(!cli.verify("sba_wrong"));
        assert!(
            !format!("{made:?}").contains(made.token().expose()),
            "Debug masks the token"
        );
    }

    #[test]
    fn reading_a_missing_credential_says_what_to_do() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = LocalCredential::read(dir.path()).expect_err("no file");
        assert!(matches!(err, CredentialError::Missing { .. }));
        assert!(err.to_string().contains("start the gateway"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_credential_readable_by_others_is_refused_by_the_cli_and_replaced_by_the_gateway() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let made = LocalCredential::load_or_create(dir.path()).expect("create");
        let path = dir.path().join(CREDENTIAL_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");

        let err = LocalCredential::read(dir.path()).expect_err("refused");
        assert!(
            matches!(err, CredentialError::Insecure { mode: 0o644, .. }),
            "{err}"
        );

        let replaced = LocalCredential::load_or_create(dir.path()).expect("replaced");
        assert_ne!(replaced.token(), made.token(), "a leaked token is not kept");
        assert_eq!(files::mode(&path), 0o600);
        assert_eq!(
            LocalCredential::read(dir.path()).expect("read").token(),
            replaced.token()
        );
    }

    #[test]
    fn a_file_holding_no_credential_is_refused_then_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        files::create_new(&dir.path().join(CREDENTIAL_FILE), "hello\n").expect("write");
        let err = LocalCredential::read(dir.path()).expect_err("refused");
        assert!(matches!(err, CredentialError::Malformed { .. }), "{err}");
        let made = LocalCredential::load_or_create(dir.path()).expect("replaced");
        assert!(TokenKind::LocalAdmin.matches(made.token().expose()));
    }
}
