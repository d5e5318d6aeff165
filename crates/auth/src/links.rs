//! One-time login links (`sbl_…`): the banner prints one on first start, `switchboard ui`
//! asks for a fresh one. A link logs in as the user it was minted for, once, within a few
//! minutes; the store redeems it with one conditional `UPDATE`, so even two racing requests
//! cannot both use it.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use switchboard_config::SecretString;
use switchboard_store::{AdminStore, LoginLinkRow, StoreError};
use uuid::Uuid;

use crate::token::{self, RngError, TokenKind};

/// How long a link works when nothing else is said: long enough to click, short enough that a
/// link left in a terminal's scrollback is dead.
pub const DEFAULT_LINK_TTL: TimeDelta = TimeDelta::minutes(5);

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("login link storage failed: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rng(#[from] RngError),
}

/// The login-link service. Cheap to clone.
#[derive(Clone)]
pub struct Links {
    store: Arc<dyn AdminStore>,
}

impl Links {
    #[must_use]
    pub fn new(store: Arc<dyn AdminStore>) -> Self {
        Self { store }
    }

    /// A new link token for `user_id`, valid from `now` for `ttl` ([`DEFAULT_LINK_TTL`]).
    ///
    /// # Errors
    /// The store or the RNG failed.
    pub async fn mint(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
        ttl: TimeDelta,
    ) -> Result<SecretString, LinkError> {
        let token = token::generate(TokenKind::LoginLink)?;
        self.store
            .insert_login_link(&LoginLinkRow {
                token_hash: token::digest(token.expose()),
                user_id,
                created_at: now,
                expires_at: now + ttl,
                used_at: None,
            })
            .await?;
        Ok(token)
    }

    /// Uses the link: the user it logs in as, or `None` when it was used already, has expired,
    /// or is not a link at all.
    ///
    /// # Errors
    /// The store failed.
    pub async fn redeem(&self, token: &str, now: DateTime<Utc>) -> Result<Option<Uuid>, LinkError> {
        if !TokenKind::LoginLink.matches(token) {
            return Ok(None);
        }
        Ok(self
            .store
            .redeem_login_link(&token::digest(token), now)
            .await?)
    }

    /// Deletes links that have expired; returns how many.
    ///
    /// # Errors
    /// The store failed.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, LinkError> {
        Ok(self.store.delete_expired_login_links(now).await?)
    }
}

#[cfg(test)]
mod tests {
    use switchboard_store::{Role, User};

    use super::*;
    use crate::test_support::{at, store};

    async fn setup() -> (tempfile::TempDir, Arc<dyn AdminStore>, Links, Uuid) {
        let (dir, store) = store().await;
        let user = User {
            id: Uuid::now_v7(),
            name: "local".into(),
            role: Role::Admin,
            password_hash: None,
            created_at: at(0),
            updated_at: at(0),
        };
        assert!(store.create_user(&user).await.expect("create user"));
        (dir, Arc::clone(&store), Links::new(store), user.id)
    }

    #[tokio::test]
    async fn a_link_works_once() {
        let (_dir, _store, links, user) = setup().await;
        let link = links
            .mint(user, at(0), DEFAULT_LINK_TTL)
            .await
            .expect("mint");
        assert!(TokenKind::LoginLink.matches(link.expose()));
        assert_eq!(
            links.redeem(link.expose(), at(10)).await.expect("redeem"),
            Some(user)
        );
        assert_eq!(
            links.redeem(link.expose(), at(11)).await.expect("again"),
            None,
            "used twice → refused"
        );
    }

    #[tokio::test]
    async fn an_expired_link_is_refused_and_purged() {
        let (_dir, store, links, user) = setup().await;
        let link = links
            .mint(user, at(0), DEFAULT_LINK_TTL)
            .await
            .expect("mint");
        assert_eq!(
            links.redeem(link.expose(), at(300)).await.expect("redeem"),
            None,
            "expired at exactly 5 minutes"
        );
        let fresh = links
            .mint(user, at(299), DEFAULT_LINK_TTL)
            .await
            .expect("mint");
        assert_eq!(links.purge_expired(at(300)).await.expect("purge"), 1);
        assert_eq!(
            links.redeem(fresh.expose(), at(300)).await.expect("redeem"),
            Some(user)
        );
        let _ = store;
    }

    #[tokio::test]
    async fn strangers_and_other_tokens_are_refused_without_a_lookup() {
        let (_dir, _store, links, user) = setup().await;
        let link = links
            .mint(user, at(0), DEFAULT_LINK_TTL)
            .await
            .expect("mint");
        let session_like = link.expose().replacen("sbl_", "sbs_", 1);
        for wrong in ["", "sbl_", session_like.as_str()] {
            assert_eq!(links.redeem(wrong, at(1)).await.expect("redeem"), None);
        }
        let unknown = token::generate(TokenKind::LoginLink).expect("rng");
        assert_eq!(
            links.redeem(unknown.expose(), at(1)).await.expect("redeem"),
            None
        );
        assert_eq!(
            links.redeem(link.expose(), at(1)).await.expect("redeem"),
            Some(user),
            "the real one still works"
        );
    }

    #[tokio::test]
    async fn racing_redemptions_let_exactly_one_through() {
        let (_dir, _store, links, user) = setup().await;
        let link = links
            .mint(user, at(0), DEFAULT_LINK_TTL)
            .await
            .expect("mint");
        let attempts = (0..8).map(|_| {
            let links = links.clone();
            let link = link.clone();
            tokio::spawn(async move { links.redeem(link.expose(), at(1)).await })
        });
        let mut winners = 0;
        for attempt in attempts.collect::<Vec<_>>() {
            if attempt.await.expect("task").expect("redeem").is_some() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1);
    }
}
