//! Switchboard's configuration: the TOML file a user writes, checked and compiled into typed
//! [`Config`] that the router and server use. Two phases: parse the raw document keeping spans
//! (`toml_edit`), then compile it, collecting *every* error (file, line, field, why) rather than
//! the first.
//!
//! - [`load_file`] / [`compile_str`]: text to [`Config`] or a list of [`ConfigError`]s.
//! - [`default_config`]: the configuration used when there is no file (pass-through to Anthropic).
//! - [`render_errors`]: errors as `file:line:column: field: message` lines.
//! - [`PRESETS`]: the known providers an endpoint can name with `preset = "…"`.
//!
//! `${VAR}` references in string values are expanded from an environment passed in as a
//! closure ([`env_from_process`] in production, a map in tests), so compiling never reads or
//! changes process state. No network I/O; the only file access is reading the config file
//! itself ([`load_file`]).

mod admin;
mod compile;
pub mod edit;
mod endpoint;
mod env;
mod error;
mod fields;
mod model;
mod observe;
mod pool;
mod preset;
mod profile;
mod proxy;
mod reader;
mod secret;

use std::path::Path;

pub use error::{ConfigError, render_errors};
pub use fields::{SECRET_PREFIX, is_secret_name};
pub use model::*;
pub use preset::{PRESETS, Preset, preset};
pub use profile::is_profile_name;
pub use proxy::{PROXY_SCHEMES, ProxySetting, ProxyUrl, mask_proxy_url, parse_proxy_url};
pub use reader::Secrets;
pub use secret::{SecretString, mask};

use crate::error::Locator;
use crate::reader::Cx;

/// Reads and compiles the file at `path`. Errors name the path as given.
///
/// # Errors
/// Every problem in the file, or one error when it cannot be read.
pub fn load_file(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigError>> {
    load_file_with(path, env, no_secret_store())
}

/// As [`load_file`], with `secret:NAME` values looked up in `secrets`.
///
/// # Errors
/// As [`load_file`].
pub fn load_file_with(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: Secrets<'_>,
) -> Result<Config, Vec<ConfigError>> {
    match std::fs::read_to_string(path) {
        Ok(text) => compile_with(&text, ConfigSource::File(path.to_path_buf()), env, secrets),
        Err(e) => Err(vec![ConfigError {
            file: Some(path.to_path_buf()),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read the configuration file: {e}"),
        }]),
    }
}

/// Compiles configuration text. `source` names the file in errors (none for
/// [`ConfigSource::Default`]) and is stored in [`Config::source`].
///
/// # Errors
/// Every problem found, sorted by position: syntax errors (then nothing else is checked),
/// unknown keys, wrong types, invalid values, missing variables.
pub fn compile_str(
    text: &str,
    source: ConfigSource,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigError>> {
    compile_with(text, source, env, no_secret_store())
}

fn no_secret_store() -> Secrets<'static> {
    Secrets::Unavailable("this configuration was read without the secret store".to_owned())
}

/// As [`compile_str`], with `secret:NAME` values looked up in `secrets`.
///
/// # Errors
/// As [`compile_str`].
pub fn compile_with(
    text: &str,
    source: ConfigSource,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: Secrets<'_>,
) -> Result<Config, Vec<ConfigError>> {
    let file = match &source {
        ConfigSource::File(p) => Some(p.clone()),
        ConfigSource::Default => None,
    };
    let locator = Locator::new(text);
    // Syntax is checked with `toml` first: `toml_edit` 0.23's error recovery panics on some
    // invalid documents ("all items have spans", found by fuzz/ — e.g. "={ []\0\nt ."), and
    // both parsers report the same message and span for the errors they share.
    if let Err(e) = toml::from_str::<toml::Table>(text) {
        let diag = error::Diag {
            span: e.span(),
            field: String::new(),
            message: format!("TOML syntax error: {}", e.message().trim_end()),
        };
        return Err(vec![locator.error(file.as_ref(), diag)]);
    }
    let doc = match toml_edit::Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let diag = error::Diag {
                span: e.span(),
                field: String::new(),
                message: format!("TOML syntax error: {}", e.message().trim_end()),
            };
            return Err(vec![locator.error(file.as_ref(), diag)]);
        }
    };
    let mut cx = Cx::new(env, secrets);
    let config = compile::compile_root(&mut cx, doc.as_table(), source);
    if cx.diags.is_empty() {
        return Ok(config);
    }
    let mut errors: Vec<ConfigError> = cx
        .diags
        .into_iter()
        .map(|d| locator.error(file.as_ref(), d))
        .collect();
    errors.sort_by_key(|e| (e.line, e.column));
    Err(errors)
}

/// The configuration used when there is no file: listen on [`DEFAULT_LISTEN`] and pass every
/// request through to `https://api.anthropic.com` with the client's own credentials.
#[must_use]
pub fn default_config() -> Config {
    Config {
        source: ConfigSource::Default,
        server: compile::default_server(),
        endpoints: vec![endpoint::default_endpoint()],
        models: ModelMap::default(),
        routing: RoutingConfig::default(),
        storage: StorageConfig::default(),
        pricing: Vec::new(),
        audit: AuditConfig::default(),
        log_file: LogFileConfig::default(),
        opentelemetry: None,
        admin: AdminConfig::default(),
        pools: Vec::new(),
        profiles: Vec::new(),
    }
}

/// Looks variables up in the process environment (unset or non-UTF-8 counts as missing).
pub fn env_from_process() -> impl Fn(&str) -> Option<String> {
    |name| std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `fuzz/` (target `config`): `toml_edit` 0.23.10 panicked with "all items have
    /// spans" on this document instead of reporting a syntax error.
    #[test]
    fn toml_edit_recovery_panic_is_a_syntax_error() {
        let errs = compile_str("={ []\0\nt .", ConfigSource::Default, &|_| None)
            .expect_err("invalid TOML");
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.starts_with("TOML syntax error"), "{errs:?}");
    }
}
