//! The admin door's building blocks: who may enter the control plane and how, and the secrets
//! it keeps. The control plane (`crates/admin`, to come) wires them into HTTP.
//!
//! This crate owns the security logic and nothing of transport: **no HTTP, no axum**, no
//! cookies or headers, only the values that go in them. It never logs, `Debug`-prints or puts in
//! an error message a secret (tokens, passwords, keys, secret values are [`SecretString`]s,
//! masked when shown; errors name things, never their values). It never reads the process
//! environment or the clock for its decisions: `SWITCHBOARD_MASTER_KEY`'s value and `now` are
//! arguments, so tests control them; the rate limiter's time is `tokio::time`.
//!
//! - [`password`]: Argon2id PHC hashing and verification (OWASP parameters), blocking.
//! - [`token`]: prefixed random tokens (`sbs_`, `sbc_`, `sbl_`, `sba_`), their SHA-256
//!   digests (what is stored), constant-time comparison.
//! - [`LocalCredential`]: `admin.token` (0600) in the data directory, made by the gateway, read
//!   by the CLI.
//! - [`Sessions`]: admin sessions with lifetime, idle timeout and a CSRF token bound to each.
//! - [`Links`]: one-time login links.
//! - [`LoginLimiter`]: login attempts per address and per user, in memory.
//! - [`Users`]: names, roles, passwords, the password login.
//! - [`client_keys`]: client keys (`sb-…`), their keyed digest ([`KeyHasher`], HMAC-SHA256 under
//!   a server key in the vault); [`ClientKeys`]: keys, teams and budgets as the admin API and
//!   the CLI manage them.
//! - [`vault`]: [`MasterKey`] and [`Secrets`], XChaCha20-Poly1305 sealed secrets, master-key
//!   rotation that survives a crash.
//!
//! The services take an `Arc<dyn switchboard_store::AdminStore>` and are cheap to clone
//! ([`Secrets`] is one per process: share it in an `Arc`).

pub mod client_keys;
mod credential;
mod files;
mod keys;
mod limiter;
mod links;
pub mod password;
mod sessions;
pub mod token;
mod users;
pub mod vault;

pub use switchboard_config::SecretString;

pub use client_keys::KeyHasher;
pub use credential::{CREDENTIAL_FILE, CredentialError, LocalCredential};
pub use keys::{ClientKeys, KeyChange, KeyError, NewKey, Snapshot, parse_limits};
pub use limiter::{Limit, LimitPolicy, LoginLimiter, Scope, Throttled};
pub use links::{DEFAULT_LINK_TTL, LinkError, Links};
pub use sessions::{NewSession, Session, SessionError, SessionInfo, SessionPolicy, Sessions};
pub use users::{
    LOCAL_ADMIN, MAX_NAME_CHARS, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, UserError, Users,
    validate_name, validate_password,
};
pub use vault::{KeySource, MasterKey, Rotated, SecretSummary, Secrets, VaultError};

#[cfg(test)]
mod test_support;
