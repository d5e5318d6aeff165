//! Admin sessions: an opaque cookie value (`sbs_…`, 32 random bytes) of which the store keeps
//! only the SHA-256, an absolute lifetime, an idle timeout, and a CSRF token bound to the session.
//!
//! The CSRF token is derived from the cookie value (HMAC-SHA256 keyed with it), so the control
//! plane can hand it to a page again after a reload without storing it anywhere readable: the
//! store keeps its SHA-256, against which [`Sessions::verify_csrf`] compares in constant time. A
//! page on another origin can make the browser send the cookie, never read the token.
//!
//! `last_seen_at` is written at most once per [`SessionPolicy::touch_interval`], so a dashboard
//! polling every second costs one read per request, not a write.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use switchboard_config::SecretString;
use switchboard_store::{AdminStore, Digest, SessionRow, StoreError, User};
use uuid::Uuid;

use crate::token::{self, RngError, TokenKind};

/// Longest client address and user agent kept with a session; longer ones are cut (they are
/// shown in the session list, and come from the client).
const MAX_CLIENT_ADDR: usize = 64;
const MAX_USER_AGENT: usize = 256;

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// From creation to the end, however active (default 7 days).
    pub lifetime: TimeDelta,
    /// Without a request for this long, the session ends (default 12 hours).
    pub idle_timeout: TimeDelta,
    /// `last_seen_at` is written when it is at least this old (default 1 minute); the idle
    /// timeout is therefore exact to within this.
    pub touch_interval: TimeDelta,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            lifetime: TimeDelta::days(7),
            idle_timeout: TimeDelta::hours(12),
            touch_interval: TimeDelta::minutes(1),
        }
    }
}

/// A session just made: what the control plane sets as the cookie and gives the page.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Public id, for listing and revoking.
    pub id: Uuid,
    /// The cookie's value (`HttpOnly; SameSite=Strict`, `Secure` under TLS).
    pub cookie_value: SecretString,
    /// The token every state-changing request must carry.
    pub csrf_token: SecretString,
    pub expires_at: DateTime<Utc>,
}

/// An authenticated session with its user. The control plane checks `user.role` itself: a
/// member's session authenticates, and is not an admin's.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub user: User,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    csrf_token: SecretString,
    csrf_hash: Digest,
}

impl Session {
    /// The session's CSRF token, to hand to the page (again, after a reload).
    #[must_use]
    pub fn csrf_token(&self) -> &SecretString {
        &self.csrf_token
    }
}

/// A session as listed: no secret or digest in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

impl From<SessionRow> for SessionInfo {
    fn from(row: SessionRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            client_addr: row.client_addr,
            user_agent: row.user_agent,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session storage failed: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// The session service. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn AdminStore>,
    policy: SessionPolicy,
}

impl Sessions {
    #[must_use]
    pub fn new(store: Arc<dyn AdminStore>, policy: SessionPolicy) -> Self {
        Self { store, policy }
    }

    #[must_use]
    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// A new session for `user` (after a password login or a redeemed link). Always a fresh
    /// id: a session id planted before login is never promoted.
    ///
    /// # Errors
    /// The store or the RNG failed.
    pub async fn create(
        &self,
        user: &User,
        client_addr: Option<&str>,
        user_agent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<NewSession, SessionError> {
        let cookie_value = token::generate(TokenKind::Session)?;
        let csrf_token = csrf_token_for(&cookie_value);
        let row = SessionRow {
            token_hash: token::digest(cookie_value.expose()),
            id: Uuid::now_v7(),
            user_id: user.id,
            csrf_hash: token::digest(csrf_token.expose()),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.policy.lifetime,
            client_addr: client_addr.map(|s| truncate(s, MAX_CLIENT_ADDR)),
            user_agent: user_agent.map(|s| truncate(s, MAX_USER_AGENT)),
        };
        self.store.insert_session(&row).await?;
        Ok(NewSession {
            id: row.id,
            cookie_value,
            csrf_token,
            expires_at: row.expires_at,
        })
    }

    /// The live session whose cookie is `cookie_value`. An expired or idle session is deleted
    /// and `None`; so is anything that is not a session cookie (without a lookup).
    ///
    /// # Errors
    /// The store failed.
    pub async fn authenticate(
        &self,
        cookie_value: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, SessionError> {
        if !TokenKind::Session.matches(cookie_value) {
            return Ok(None);
        }
        let token_hash = token::digest(cookie_value);
        let Some((row, user)) = self.store.get_session(&token_hash).await? else {
            return Ok(None);
        };
        if !self.is_live(&row, now) {
            self.store.delete_session(&token_hash).await?;
            return Ok(None);
        }
        let mut last_seen_at = row.last_seen_at;
        if now - last_seen_at >= self.policy.touch_interval {
            self.store.touch_session(&token_hash, now).await?;
            last_seen_at = now;
        }
        Ok(Some(Session {
            id: row.id,
            user,
            created_at: row.created_at,
            last_seen_at,
            expires_at: row.expires_at,
            client_addr: row.client_addr,
            user_agent: row.user_agent,
            csrf_token: csrf_token_for(&SecretString::new(cookie_value)),
            csrf_hash: row.csrf_hash,
        }))
    }

    /// Whether `presented` is `session`'s CSRF token, compared in constant time; a missing
    /// token is refused.
    #[must_use]
    pub fn verify_csrf(session: &Session, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| token::constant_time_eq(&token::digest(p), &session.csrf_hash))
    }

    /// Ends the session whose cookie is `cookie_value`; `false` when there was none.
    ///
    /// # Errors
    /// The store failed.
    pub async fn logout(&self, cookie_value: &str) -> Result<bool, SessionError> {
        if !TokenKind::Session.matches(cookie_value) {
            return Ok(false);
        }
        Ok(self
            .store
            .delete_session(&token::digest(cookie_value))
            .await?)
    }

    /// Live sessions of `user_id` (everyone's with `None`), oldest first.
    ///
    /// # Errors
    /// The store failed.
    pub async fn list(
        &self,
        user_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionInfo>, SessionError> {
        let rows = self.store.list_sessions(user_id).await?;
        Ok(rows
            .into_iter()
            .filter(|row| self.is_live(row, now))
            .map(SessionInfo::from)
            .collect())
    }

    /// Ends the session with public id `id`; `false` when there was none.
    ///
    /// # Errors
    /// The store failed.
    pub async fn revoke(&self, id: Uuid) -> Result<bool, SessionError> {
        Ok(self.store.delete_session_by_id(id).await?)
    }

    /// Ends every session of `user_id` but `keep` (log out everywhere else); returns how many.
    ///
    /// # Errors
    /// The store failed.
    pub async fn revoke_others(&self, user_id: Uuid, keep: Uuid) -> Result<u64, SessionError> {
        Ok(self.store.delete_user_sessions(user_id, Some(keep)).await?)
    }

    /// Deletes expired and idle sessions and expired login links (a periodic task); returns
    /// how many sessions.
    ///
    /// # Errors
    /// The store failed.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, SessionError> {
        self.store.delete_expired_login_links(now).await?;
        Ok(self
            .store
            .delete_expired_sessions(now, now - self.policy.idle_timeout)
            .await?)
    }

    fn is_live(&self, row: &SessionRow, now: DateTime<Utc>) -> bool {
        now < row.expires_at && now < row.last_seen_at + self.policy.idle_timeout
    }
}

/// The CSRF token of the session whose cookie is `cookie_value`.
fn csrf_token_for(cookie_value: &SecretString) -> SecretString {
    const LABEL: &[u8] = b"switchboard admin csrf v1";
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mac = <Hmac<Sha256>>::new_from_slice(cookie_value.expose().as_bytes())
        .map(|mac| mac.chain_update(LABEL).finalize().into_bytes())
        .unwrap_or_default();
    token::encode(TokenKind::Csrf, &mac)
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use switchboard_store::Role;

    use super::*;
    use crate::test_support::{at, store};

    async fn setup() -> (tempfile::TempDir, Arc<dyn AdminStore>, Sessions, User) {
        let (dir, store) = store().await;
        let user = User {
            id: Uuid::now_v7(),
            name: "alice".into(),
            role: Role::Admin,
            password_hash: None,
            created_at: at(0),
            updated_at: at(0),
        };
        assert!(store.create_user(&user).await.expect("create user"));
        let sessions = Sessions::new(Arc::clone(&store), SessionPolicy::default());
        (dir, store, sessions, user)
    }

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    #[tokio::test]
    async fn a_session_authenticates_with_its_cookie_only_and_stores_no_token() {
        let (_dir, store, sessions, user) = setup().await;
        let new = sessions
            .create(&user, Some("127.0.0.1"), Some("Firefox"), at(0))
            .await
            .expect("create");
        assert!(TokenKind::Session.matches(new.cookie_value.expose()));
        assert!(TokenKind::Csrf.matches(new.csrf_token.expose()));
        assert_eq!(new.expires_at, at(7 * DAY));

        let session = sessions
            .authenticate(new.cookie_value.expose(), at(1))
            .await
            .expect("authenticate")
            .expect("live");
        assert_eq!(session.id, new.id);
        assert_eq!(session.user, user);
        assert_eq!(session.client_addr.as_deref(), Some("127.0.0.1"));
        assert_eq!(
            session.csrf_token(),
            &new.csrf_token,
            "same token after a reload"
        );

        let other = token::generate(TokenKind::Session).expect("rng");
        for wrong in [other.expose(), "", "sbs_", new.csrf_token.expose()] {
            assert!(
                sessions
                    .authenticate(wrong, at(1))
                    .await
                    .expect("authenticate")
                    .is_none(),
                "{wrong:?}"
            );
        }

        let rows = store.list_sessions(None).await.expect("list");
        let row = rows.first().expect("one session");
        assert_eq!(row.token_hash, token::digest(new.cookie_value.expose()));
        assert_eq!(row.csrf_hash, token::digest(new.csrf_token.expose()));
        assert!(!format!("{rows:?}").contains(new.cookie_value.expose()));
    }

    #[tokio::test]
    async fn csrf_is_bound_to_the_session_and_refused_when_wrong_or_missing() {
        let (_dir, _store, sessions, user) = setup().await;
        let a = sessions.create(&user, None, None, at(0)).await.expect("a");
        let b = sessions.create(&user, None, None, at(0)).await.expect("b");
        let session_a = sessions
            .authenticate(a.cookie_value.expose(), at(0))
            .await
            .expect("authenticate")
            .expect("live");
        assert!(Sessions::verify_csrf(
            &session_a,
            Some(a.csrf_token.expose())
        ));
        assert!(!Sessions::verify_csrf(
            &session_a,
            Some(b.csrf_token.expose())
        ));
        assert!(!Sessions::verify_csrf(&session_a, None));
        assert!(!Sessions::verify_csrf(&session_a, Some("")));
        assert!(!Sessions::verify_csrf(
            &session_a,
            Some(a.cookie_value.expose())
        ));
    }

    #[tokio::test]
    async fn a_session_ends_at_its_absolute_lifetime_however_active() {
        let (_dir, store, sessions, user) = setup().await;
        let new = sessions
            .create(&user, None, None, at(0))
            .await
            .expect("create");
        // Active every 6 hours: never idle.
        for t in (1..28).map(|i| at(i * 6 * HOUR)) {
            assert!(
                sessions
                    .authenticate(new.cookie_value.expose(), t)
                    .await
                    .expect("authenticate")
                    .is_some(),
                "live at {t}"
            );
        }
        assert!(
            sessions
                .authenticate(new.cookie_value.expose(), at(7 * DAY))
                .await
                .expect("authenticate")
                .is_none(),
            "over at 7 days"
        );
        assert!(
            store.list_sessions(None).await.expect("list").is_empty(),
            "deleted"
        );
    }

    #[tokio::test]
    async fn a_session_idle_for_twelve_hours_ends() {
        let (_dir, store, sessions, user) = setup().await;
        let new = sessions
            .create(&user, None, None, at(0))
            .await
            .expect("create");
        let cookie = new.cookie_value.expose();
        assert!(
            sessions
                .authenticate(cookie, at(12 * HOUR - 1))
                .await
                .expect("authenticate")
                .is_some(),
            "1 s before the idle timeout"
        );
        // Seen at 12 h − 1 s: idle until 24 h − 1 s.
        assert!(
            sessions
                .authenticate(cookie, at(24 * HOUR - 1))
                .await
                .expect("authenticate")
                .is_none()
        );
        assert!(store.list_sessions(None).await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn last_seen_is_written_at_most_once_a_minute() {
        let (_dir, store, sessions, user) = setup().await;
        let new = sessions
            .create(&user, None, None, at(0))
            .await
            .expect("create");
        let cookie = new.cookie_value.expose();
        let stored = || async {
            store
                .list_sessions(None)
                .await
                .expect("list")
                .first()
                .expect("session")
                .last_seen_at
        };
        for secs in [1, 30, 59] {
            let s = sessions
                .authenticate(cookie, at(secs))
                .await
                .expect("authenticate")
                .expect("live");
            assert_eq!(s.last_seen_at, at(0));
            assert_eq!(stored().await, at(0), "no write at {secs} s");
        }
        let s = sessions
            .authenticate(cookie, at(60))
            .await
            .expect("authenticate")
            .expect("live");
        assert_eq!(s.last_seen_at, at(60));
        assert_eq!(stored().await, at(60), "written once a minute has passed");
        sessions
            .authenticate(cookie, at(119))
            .await
            .expect("authenticate")
            .expect("live");
        assert_eq!(stored().await, at(60));
    }

    #[tokio::test]
    async fn logout_revoke_and_revoke_others() {
        let (_dir, store, sessions, user) = setup().await;
        let bob = User {
            id: Uuid::now_v7(),
            name: "bob".into(),
            ..user.clone()
        };
        assert!(store.create_user(&bob).await.expect("create bob"));
        let mine = sessions.create(&user, None, None, at(0)).await.expect("1");
        let laptop = sessions.create(&user, None, None, at(1)).await.expect("2");
        let phone = sessions.create(&user, None, None, at(2)).await.expect("3");
        let bobs = sessions.create(&bob, None, None, at(3)).await.expect("4");

        let listed: Vec<Uuid> = sessions
            .list(Some(user.id), at(4))
            .await
            .expect("list")
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(listed, [mine.id, laptop.id, phone.id]);
        assert_eq!(sessions.list(None, at(4)).await.expect("list").len(), 4);

        assert!(sessions.revoke(phone.id).await.expect("revoke"));
        assert!(!sessions.revoke(phone.id).await.expect("revoke again"));
        assert_eq!(
            sessions
                .revoke_others(user.id, mine.id)
                .await
                .expect("others"),
            1,
            "the laptop"
        );
        let live = |cookie: SecretString| {
            let sessions = sessions.clone();
            async move {
                sessions
                    .authenticate(cookie.expose(), at(5))
                    .await
                    .expect("authenticate")
                    .is_some()
            }
        };
        assert!(live(mine.cookie_value.clone()).await);
        assert!(!live(laptop.cookie_value.clone()).await);
        assert!(!live(phone.cookie_value.clone()).await);
        assert!(
            live(bobs.cookie_value.clone()).await,
            "other users untouched"
        );

        assert!(
            sessions
                .logout(mine.cookie_value.expose())
                .await
                .expect("logout")
        );
        assert!(!live(mine.cookie_value.clone()).await);
        assert!(
            !sessions
                .logout(mine.cookie_value.expose())
                .await
                .expect("again")
        );
    }

    #[tokio::test]
    async fn purge_deletes_expired_and_idle_sessions_only() {
        let (_dir, store, sessions, user) = setup().await;
        let _old = sessions
            .create(&user, None, None, at(0))
            .await
            .expect("old");
        let fresh = sessions
            .create(&user, None, None, at(20 * HOUR))
            .await
            .expect("fresh");
        assert_eq!(
            sessions.purge_expired(at(21 * HOUR)).await.expect("purge"),
            1
        );
        let left = store.list_sessions(None).await.expect("list");
        assert_eq!(left.iter().map(|s| s.id).collect::<Vec<_>>(), [fresh.id]);
    }

    #[tokio::test]
    async fn long_client_strings_are_cut() {
        let (_dir, store, sessions, user) = setup().await;
        let agent = "A".repeat(10_000);
        sessions
            .create(&user, Some(&"1".repeat(500)), Some(&agent), at(0))
            .await
            .expect("create");
        let row = store
            .list_sessions(None)
            .await
            .expect("list")
            .pop()
            .expect("row");
        assert_eq!(row.user_agent.map(|s| s.len()), Some(MAX_USER_AGENT));
        assert_eq!(row.client_addr.map(|s| s.len()), Some(MAX_CLIENT_ADDR));
    }
}
