//! Passwords as Argon2id PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), with the
//! parameters OWASP's password storage cheat sheet gives for Argon2id: 19 MiB of memory, two
//! passes, one lane. The parameters travel inside each stored string, so raising them later
//! leaves old hashes verifiable ([`needs_rehash`] says which to redo at the next login).
//!
//! Each call takes tens of milliseconds of CPU and 19 MiB: callers on an async runtime run
//! these functions on a blocking thread (`tokio::task::spawn_blocking`), as [`crate::Users`]
//! does.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::token::{RngError, random_bytes};

/// Memory cost in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over the memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

/// A hash of a password nobody knows, with the parameters above: verified against when the
/// user does not exist or has no password, so that a failed login costs the same either way
/// and its timing does not tell which names exist.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$\
     c3dpdGNoYm9hcmQtZHVtbXk$yfB7ynwvQ0TMsrHX5+J3ZGIEqkpgbBQaYbH4TsNe8Bk";

/// Hashing or verification failed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error(transparent)]
    Rng(#[from] RngError),
    /// The stored hash is not an Argon2id PHC string this build can check.
    #[error(
        "the stored password hash is not an Argon2id PHC string ({0}); set the password again \
         with `switchboard admin passwd NAME`"
    )]
    InvalidStoredHash(String),
    /// Argon2 refused its input (never with the parameters above).
    #[error("Argon2id hashing failed: {0}")]
    Hash(String),
}

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with a fresh 16-byte salt into a PHC string. Blocking: see the module
/// docs.
///
/// # Errors
/// The RNG is unavailable.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    let hash = argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` is the one `stored` was made from. The comparison inside is constant
/// time. Blocking: see the module docs.
///
/// # Errors
/// `stored` is not an Argon2id PHC string.
pub fn verify(password: &str, stored: &str) -> Result<bool, PasswordError> {
    let parsed =
        PasswordHash::new(stored).map_err(|e| PasswordError::InvalidStoredHash(e.to_string()))?;
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return Err(PasswordError::InvalidStoredHash(format!(
            "algorithm {}",
            parsed.algorithm
        )));
    }
    match argon2()?.verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(PasswordError::InvalidStoredHash(e.to_string())),
    }
}

/// Spends what [`verify`] spends, and says nothing: for a login whose user does not exist or
/// has no password.
pub fn verify_dummy(password: &str) {
    let _ = verify(password, DUMMY_HASH);
}

/// Whether `stored` was made with other parameters than today's (or is not a PHC string), so
/// that a successful login should store a fresh hash.
#[must_use]
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm != argon2::ARGON2ID_IDENT
        || parsed.version != Some(Version::V0x13.into())
        || params.m_cost() != MEMORY_KIB
        || params.t_cost() != ITERATIONS
        || params.p_cost() != PARALLELISM
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_owasp_argon2id_parameters_and_verifies() {
        let stored = hash("correct horse battery staple").expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "PHC string with explicit parameters: {stored}"
        );
        assert!(verify("correct horse battery staple", &stored).expect("verify"));
        assert!(!verify("correct horse battery stapler", &stored).expect("verify"));
        assert!(!verify("", &stored).expect("verify"));
        assert!(!needs_rehash(&stored));
    }

    #[test]
    fn same_password_gets_a_different_salt_each_time() {
        let a = hash("same password").expect("hash");
        let b = hash("same password").expect("hash");
        assert_ne!(a, b);
        assert!(verify("same password", &b).expect("verify"));
    }

    #[test]
    fn the_dummy_hash_has_todays_parameters() {
        // Otherwise an unknown user would cost less (or more) than a known one.
        assert!(!needs_rehash(DUMMY_HASH));
        assert!(!verify("", DUMMY_HASH).expect("dummy hash parses"));
    }

    #[test]
    fn foreign_or_malformed_stored_hashes_are_errors_not_matches() {
        let argon2i = "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$\
                       iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A";
        assert!(matches!(
            verify("x", argon2i),
            Err(PasswordError::InvalidStoredHash(_))
        ));
        assert!(needs_rehash(argon2i));
        assert!(matches!(
            verify("x", "plaintext"),
            Err(PasswordError::InvalidStoredHash(_))
        ));
        let weaker = "$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHQ$\
                      iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A";
        assert!(needs_rehash(weaker));
    }
}
