//! Users: names, roles and Argon2id passwords (`switchboard admin add|passwd|list|remove`), and
//! the password login.
//!
//! A login costs one Argon2id verification whether or not the name exists or has a password
//! (an unknown user is checked against a dummy hash), so its timing does not tell which names
//! exist. The hashing runs on tokio's blocking pool.
//!
//! The name `local` belongs to the machine's own admin: the user the credential file and the
//! one-time links log in as, created without a password by [`Users::ensure_local_admin`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use switchboard_config::SecretString;
use switchboard_store::{AdminStore, Role, StoreError, User};
use uuid::Uuid;

use crate::password::{self, PasswordError};

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, in bytes: far beyond any passphrase, short of a denial of
/// service.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest user name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The machine's own admin (no password; the credential file and login links).
pub const LOCAL_ADMIN: &str = "local";

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error(
        "invalid user name {name:?}: use 1 to {MAX_NAME_CHARS} letters, digits, '.', '_', '-' \
         or '@'"
    )]
    InvalidName { name: String },
    #[error(
        "the user name {LOCAL_ADMIN:?} is the machine's own admin (the credential file and \
         login links): choose another name"
    )]
    ReservedName,
    #[error("the password is too short: use at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("the password is too long: use at most {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
    #[error("a user named {name:?} already exists (names ignore case): choose another name")]
    NameTaken { name: String },
    #[error("no user named {name:?}: `switchboard admin list` shows who there is")]
    NotFound { name: String },
    #[error("user storage failed: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Checks a user name: 1 to 64 ASCII letters, digits, `.`, `_`, `-`, `@`.
///
/// # Errors
/// [`UserError::InvalidName`].
pub fn validate_name(name: &str) -> Result<(), UserError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if valid {
        Ok(())
    } else {
        Err(UserError::InvalidName {
            name: name.chars().take(MAX_NAME_CHARS + 1).collect(),
        })
    }
}

/// Checks a new password's length (at least 8 characters, at most 1024 bytes).
///
/// # Errors
/// [`UserError::PasswordTooShort`], [`UserError::PasswordTooLong`].
pub fn validate_password(password: &SecretString) -> Result<(), UserError> {
    let p = password.expose();
    if p.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::PasswordTooShort);
    }
    if p.len() > MAX_PASSWORD_BYTES {
        return Err(UserError::PasswordTooLong);
    }
    Ok(())
}

/// The user service. Cheap to clone.
#[derive(Clone)]
pub struct Users {
    store: Arc<dyn AdminStore>,
}

impl Users {
    #[must_use]
    pub fn new(store: Arc<dyn AdminStore>) -> Self {
        Self { store }
    }

    /// Adds a user; `password` `None` makes one who cannot log in with a password.
    ///
    /// # Errors
    /// An invalid or reserved name, a taken name, a password too short or long, a failed store.
    pub async fn add(
        &self,
        name: &str,
        role: Role,
        password: Option<&SecretString>,
        now: DateTime<Utc>,
    ) -> Result<User, UserError> {
        validate_name(name)?;
        if name.eq_ignore_ascii_case(LOCAL_ADMIN) {
            return Err(UserError::ReservedName);
        }
        let password_hash = match password {
            Some(p) => Some(hash(p).await?),
            None => None,
        };
        self.insert(name, role, password_hash, now).await
    }

    /// Sets `name`'s password and ends all their sessions (whoever had the old one is out).
    ///
    /// # Errors
    /// No such user, a password too short or long, a failed store.
    pub async fn passwd(
        &self,
        name: &str,
        password: &SecretString,
        now: DateTime<Utc>,
    ) -> Result<User, UserError> {
        let mut user = self.get(name).await?;
        let hash = hash(password).await?;
        if !self
            .store
            .set_password_hash(user.id, Some(&hash), now)
            .await?
        {
            return Err(UserError::NotFound { name: name.into() });
        }
        self.store.delete_user_sessions(user.id, None).await?;
        user.password_hash = Some(hash);
        user.updated_at = now;
        Ok(user)
    }

    /// Every user, by name.
    ///
    /// # Errors
    /// The store failed.
    pub async fn list(&self) -> Result<Vec<User>, UserError> {
        Ok(self.store.list_users().await?)
    }

    /// The user named `name` (ignoring case).
    ///
    /// # Errors
    /// No such user, or the store failed.
    pub async fn get(&self, name: &str) -> Result<User, UserError> {
        self.store
            .get_user_by_name(name)
            .await?
            .ok_or_else(|| UserError::NotFound { name: name.into() })
    }

    /// Removes `name` with their sessions and login links.
    ///
    /// # Errors
    /// No such user, or the store failed.
    pub async fn remove(&self, name: &str) -> Result<User, UserError> {
        let user = self.get(name).await?;
        if !self.store.delete_user(user.id).await? {
            return Err(UserError::NotFound { name: name.into() });
        }
        Ok(user)
    }

    /// The user `name` if `password` is theirs; `None` otherwise, at the same cost whether the
    /// name exists, has a password or not. The caller checks the role (members have no admin
    /// access) and counts the attempt with [`crate::LoginLimiter`].
    ///
    /// # Errors
    /// The store failed, or the stored hash is unusable (the error says to set it again).
    pub async fn verify_login(
        &self,
        name: &str,
        password: &SecretString,
    ) -> Result<Option<User>, UserError> {
        let user = if validate_name(name).is_ok() {
            self.store.get_user_by_name(name).await?
        } else {
            None
        };
        let password = password.clone();
        match user.and_then(|u| u.password_hash.clone().map(|stored| (u, stored))) {
            Some((user, stored)) => {
                let ok = tokio::task::spawn_blocking(move || {
                    password::verify(password.expose(), &stored)
                })
                .await??;
                Ok(ok.then_some(user))
            }
            None => {
                tokio::task::spawn_blocking(move || password::verify_dummy(password.expose()))
                    .await?;
                Ok(None)
            }
        }
    }

    /// The machine's own admin, created (no password) when missing.
    ///
    /// # Errors
    /// The store failed.
    pub async fn ensure_local_admin(&self, now: DateTime<Utc>) -> Result<User, UserError> {
        if let Some(user) = self.store.get_user_by_name(LOCAL_ADMIN).await? {
            return Ok(user);
        }
        match self.insert(LOCAL_ADMIN, Role::Admin, None, now).await {
            // Made by another process in between.
            Err(UserError::NameTaken { .. }) => self.get(LOCAL_ADMIN).await,
            other => other,
        }
    }

    async fn insert(
        &self,
        name: &str,
        role: Role,
        password_hash: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<User, UserError> {
        let user = User {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            role,
            password_hash,
            created_at: now,
            updated_at: now,
        };
        if self.store.create_user(&user).await? {
            Ok(user)
        } else {
            Err(UserError::NameTaken { name: name.into() })
        }
    }
}

/// Validates and hashes a new password on the blocking pool.
async fn hash(password: &SecretString) -> Result<String, UserError> {
    validate_password(password)?;
    let password = password.clone();
    Ok(tokio::task::spawn_blocking(move || password::hash(password.expose())).await??)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{at, store};

    fn pw(s: &str) -> SecretString {
        SecretString::new(s)
    }

    #[test]
    fn names_are_checked() {
        for good in [
            "a",
            "alice",
            "Alice.Smith",
            "ops_team-1",
            "me@example.com",
            &"x".repeat(64),
        ] {
            validate_name(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
        }
        for bad in [
            "",
            "with space",
            "semi;colon",
            "émile",
            "a/b",
            &"x".repeat(65),
        ] {
            let err = validate_name(bad).expect_err("invalid");
            assert!(
                err.to_string().contains("use 1 to 64 letters, digits"),
                "{bad:?}: {err}"
            );
        }
        assert!(matches!(
            validate_password(&pw("1234567")),
            Err(UserError::PasswordTooShort)
        ));
        validate_password(&pw("12345678")).expect("8 is enough");
        validate_password(&pw("ünïcödé!")).expect("8 characters, not bytes");
        assert!(matches!(
            validate_password(&pw(&"x".repeat(1025))),
            Err(UserError::PasswordTooLong)
        ));
    }

    #[tokio::test]
    async fn add_list_passwd_remove() {
        let (_dir, store) = store().await;
        let users = Users::new(Arc::clone(&store));
        let alice = users
            .add("alice", Role::Admin, Some(&pw("first password")), at(0))
            .await
            .expect("add");
        assert!(
            alice
                .password_hash
                .as_deref()
                .is_some_and(|h| h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"))
        );
        users
            .add("bob", Role::Member, None, at(1))
            .await
            .expect("add a user without a password");
        let err = users
            .add("ALICE", Role::Admin, None, at(2))
            .await
            .expect_err("taken");
        assert_eq!(
            err.to_string(),
            "a user named \"ALICE\" already exists (names ignore case): choose another name"
        );
        assert!(matches!(
            users.add("Local", Role::Admin, None, at(2)).await,
            Err(UserError::ReservedName)
        ));
        assert!(matches!(
            users
                .add("carol", Role::Admin, Some(&pw("short")), at(2))
                .await,
            Err(UserError::PasswordTooShort)
        ));
        let names: Vec<String> = users
            .list()
            .await
            .expect("list")
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["alice", "bob"]);

        let sessions = crate::Sessions::new(Arc::clone(&store), crate::SessionPolicy::default());
        let session = sessions
            .create(&alice, None, None, at(3))
            .await
            .expect("session");
        let changed = users
            .passwd("Alice", &pw("second password"), at(4))
            .await
            .expect("passwd");
        assert_eq!(changed.updated_at, at(4));
        assert!(
            sessions
                .authenticate(session.cookie_value.expose(), at(5))
                .await
                .expect("authenticate")
                .is_none(),
            "a new password ends the old sessions"
        );
        assert!(
            users
                .verify_login("alice", &pw("first password"))
                .await
                .expect("verify")
                .is_none()
        );
        assert_eq!(
            users
                .verify_login("alice", &pw("second password"))
                .await
                .expect("verify")
                .map(|u| u.id),
            Some(alice.id)
        );
        assert!(matches!(
            users.passwd("nobody", &pw("whatever123"), at(5)).await,
            Err(UserError::NotFound { .. })
        ));

        users.remove("bob").await.expect("remove");
        assert!(matches!(
            users.remove("bob").await,
            Err(UserError::NotFound { .. })
        ));
        assert_eq!(users.list().await.expect("list").len(), 1);
    }

    #[tokio::test]
    async fn a_login_is_refused_for_a_wrong_password_an_unknown_user_and_no_password() {
        let (_dir, store) = store().await;
        let users = Users::new(store);
        users
            .add("alice", Role::Admin, Some(&pw("right password")), at(0))
            .await
            .expect("add");
        users.ensure_local_admin(at(0)).await.expect("local admin");
        let login = |name: &'static str, password: &'static str| {
            let users = users.clone();
            async move {
                users
                    .verify_login(name, &pw(password))
                    .await
                    .expect("verify")
                    .map(|u| u.name)
            }
        };
        assert_eq!(
            login("alice", "right password").await.as_deref(),
            Some("alice")
        );
        assert_eq!(
            login("ALICE", "right password").await.as_deref(),
            Some("alice")
        );
        assert_eq!(login("alice", "wrong password").await, None);
        assert_eq!(login("mallory", "right password").await, None);
        assert_eq!(
            login("local", "").await,
            None,
            "no password, no password login"
        );
        assert_eq!(login("not a valid name!", "x").await, None);
    }

    /// The unknown user costs one Argon2id verification like the known one: the minimum of
    /// several runs of each (robust to a busy machine) are within a factor of two.
    #[tokio::test]
    async fn an_unknown_user_is_refused_after_the_same_argon2id_work() {
        let (_dir, store) = store().await;
        let users = Users::new(store);
        users
            .add("alice", Role::Admin, Some(&pw("right password")), at(0))
            .await
            .expect("add");
        for name in ["alice", "mallory", "not a valid name!"] {
            let user = users
                .verify_login(name, &pw("wrong password"))
                .await
                .expect("verify");
            assert!(user.is_none(), "{name}");
        }
        // The unknown user's path verifies against the dummy hash, which is a real hash of
        // today's parameters: the full Argon2id work is done (a hash that failed to parse
        // would return at once), so the time taken does not tell names apart. (Timing it
        // here would make a test that fails on a busy machine.)
        assert!(!password::needs_rehash(password::DUMMY_HASH));
        assert_eq!(
            password::verify("wrong password", password::DUMMY_HASH).ok(),
            Some(false)
        );
    }

    #[tokio::test]
    async fn the_local_admin_is_made_once() {
        let (_dir, store) = store().await;
        let users = Users::new(store);
        let first = users.ensure_local_admin(at(0)).await.expect("make");
        assert_eq!(
            (first.name.as_str(), first.role),
            (LOCAL_ADMIN, Role::Admin)
        );
        assert_eq!(first.password_hash, None);
        let again = users.ensure_local_admin(at(1)).await.expect("find");
        assert_eq!(again.id, first.id);
    }
}
