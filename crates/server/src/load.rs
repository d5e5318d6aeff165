//! Loading the configuration with the secret store: `api_key = "secret:NAME"` values come from
//! the encrypted store, which lives in the database the configuration itself names. So a file
//! is compiled twice: once with every secret a placeholder, to learn the database and the
//! secret names it refers to; then, with those secrets decrypted, for real. The database
//! settings themselves cannot refer to the secret store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use switchboard_auth::vault::Secrets;
use switchboard_config::{Config, ConfigError, ConfigSource, Secrets as SecretLookup};

/// How the process environment is read when the config is (re)compiled.
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where the configuration comes from: a file, or the built-in default.
#[derive(Clone)]
pub struct ConfigFile {
    pub path: Option<PathBuf>,
    pub env: EnvFn,
}

impl ConfigFile {
    /// The file at `path` (`None`: the built-in default), `${VAR}` read from the process.
    #[must_use]
    pub fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            env: Arc::new(|name| std::env::var(name).ok()),
        }
    }

    /// The first pass: the configuration with every `secret:NAME` a placeholder, and the
    /// names referred to.
    ///
    /// # Errors
    /// Everything wrong with the file, each with its line.
    pub fn peek(&self) -> Result<(Config, Vec<String>), Vec<ConfigError>> {
        let Some(path) = &self.path else {
            return Ok((switchboard_config::default_config(), Vec::new()));
        };
        self.peek_text(&read(path)?, path)
    }

    /// [`ConfigFile::peek`] of `text`, as if it were the file at `path`.
    fn peek_text(
        &self,
        text: &str,
        path: &Path,
    ) -> Result<(Config, Vec<String>), Vec<ConfigError>> {
        let names = Mutex::new(BTreeSet::new());
        let record = |name: &str| {
            names.lock().insert(name.to_owned());
            Some(PLACEHOLDER.to_owned())
        };
        let config = switchboard_config::compile_with(
            text,
            ConfigSource::File(path.to_path_buf()),
            &|k| (self.env)(k),
            SecretLookup::Lookup(&record),
        )?;
        let names = names.into_inner().into_iter().collect();
        Ok((config, names))
    }

    /// The configuration with its secrets, from `secrets` (when there is a store to ask).
    ///
    /// # Errors
    /// Everything wrong with the file, including secrets it names that are not stored or
    /// cannot be decrypted (each error says which and why).
    pub async fn load(&self, secrets: Option<&Secrets>) -> Result<Config, Vec<ConfigError>> {
        let Some(path) = &self.path else {
            return Ok(switchboard_config::default_config());
        };
        self.load_text(&read(path)?, path, secrets).await
    }

    /// [`ConfigFile::load`] of `text`, as if it were the file at `path`: how the dashboard
    /// checks an edit before writing it.
    ///
    /// # Errors
    /// As [`ConfigFile::load`].
    pub async fn load_text(
        &self,
        text: &str,
        path: &Path,
        secrets: Option<&Secrets>,
    ) -> Result<Config, Vec<ConfigError>> {
        let (peeked, names) = self.peek_text(text, path)?;
        if names.is_empty() {
            return Ok(peeked);
        }
        let values = match secrets {
            Some(s) => {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                s.get_many(&refs).await.map_err(|e| {
                    vec![ConfigError {
                        file: Some(path.to_path_buf()),
                        line: 0,
                        column: 0,
                        field: String::new(),
                        message: format!("cannot read the secret store: {e}"),
                    }]
                })?
            }
            None => Default::default(),
        };
        let lookup = |name: &str| values.get(name).map(|v| v.expose().to_owned());
        let secrets_lookup = match secrets {
            Some(_) => SecretLookup::Lookup(&lookup),
            None => SecretLookup::Unavailable("the secret store could not be opened".to_owned()),
        };
        switchboard_config::compile_with(
            text,
            ConfigSource::File(path.to_path_buf()),
            &|k| (self.env)(k),
            secrets_lookup,
        )
    }

    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

/// The file's text, or the one error saying why it cannot be read.
fn read(path: &Path) -> Result<String, Vec<ConfigError>> {
    std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            file: Some(path.to_path_buf()),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read the configuration file: {e}"),
        }]
    })
}

/// What a secret reads as in the first pass: never sent anywhere (the first pass only finds the
/// database), and not a plausible key.
const PLACEHOLDER: &str = "secret-placeholder-of-the-first-pass";
