//! Cooldowns by scope: an account, or one model on an account. A cooldown is only ever
//! extended: a later failure announcing an earlier reset never brings an account back early
//! (LiteLLM#40130 kept the first, shorter deadline; sub2api only extends).
//!
//! Keyed by account name, so a config reload keeps them. The lock is held for map operations
//! only, never across an await.

use std::collections::HashMap;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::classify::{Scope, Verdict};

/// Model cooldowns kept per account. Model names come from clients, so the list is bounded:
/// expired entries are dropped first, then the one that ends soonest.
const MAX_MODELS_PER_ACCOUNT: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cooling {
    pub until: Instant,
    pub scope: Scope,
    pub reason: &'static str,
}

#[derive(Debug, Default)]
struct Account {
    whole: Option<(Instant, &'static str)>,
    models: Vec<(String, Instant, &'static str)>,
}

/// Scoped cooldowns of every account.
#[derive(Debug, Default)]
pub struct Cooldowns {
    accounts: Mutex<HashMap<String, Account>>,
}

impl Cooldowns {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a classifier verdict for a request for `model` on `account`; returns the
    /// cooldown now in force at that scope, if the verdict asks for one.
    pub fn apply(
        &self,
        account: &str,
        model: &str,
        verdict: &Verdict,
        now: Instant,
    ) -> Option<Instant> {
        let until = verdict.cooldown_until?;
        match verdict.scope {
            Scope::Account => Some(self.extend(account, None, until, verdict.reason, now)),
            Scope::Model => Some(self.extend(account, Some(model), until, verdict.reason, now)),
            Scope::Request | Scope::Provider => None,
        }
    }

    /// Cools `account` (or only `model` on it) down until `until`, or later if a later cooldown
    /// is already in force; returns the end of the cooldown in force.
    pub fn extend(
        &self,
        account: &str,
        model: Option<&str>,
        until: Instant,
        reason: &'static str,
        now: Instant,
    ) -> Instant {
        let mut accounts = self.accounts.lock();
        let acc = accounts.entry(account.to_owned()).or_default();
        let Some(model) = model else {
            return match &mut acc.whole {
                Some((u, _)) if *u >= until => *u,
                slot => {
                    *slot = Some((until, reason));
                    until
                }
            };
        };
        if let Some(entry) = acc.models.iter_mut().find(|(m, _, _)| m == model) {
            if entry.1 < until {
                entry.1 = until;
                entry.2 = reason;
            }
            return entry.1;
        }
        if acc.models.len() >= MAX_MODELS_PER_ACCOUNT {
            acc.models.retain(|(_, u, _)| *u > now);
        }
        if acc.models.len() >= MAX_MODELS_PER_ACCOUNT
            && let Some(i) = (0..acc.models.len()).min_by_key(|&i| acc.models[i].1)
        {
            acc.models.swap_remove(i);
        }
        acc.models.push((model.to_owned(), until, reason));
        until
    }

    /// The cooldown keeping `model` on `account` out of service at `now`: the account's own or
    /// the model's, whichever ends later.
    #[must_use]
    pub fn cooling(&self, account: &str, model: &str, now: Instant) -> Option<Cooling> {
        let accounts = self.accounts.lock();
        let acc = accounts.get(account)?;
        let whole = acc
            .whole
            .filter(|(u, _)| *u > now)
            .map(|(until, reason)| Cooling {
                until,
                scope: Scope::Account,
                reason,
            });
        let per_model = acc
            .models
            .iter()
            .find(|(m, u, _)| m == model && *u > now)
            .map(|(_, until, reason)| Cooling {
                until: *until,
                scope: Scope::Model,
                reason,
            });
        match (whole, per_model) {
            (Some(a), Some(m)) => Some(if m.until > a.until { m } else { a }),
            (a, m) => a.or(m),
        }
    }

    /// Clears every cooldown of `account` (an admin reset, or a probe that succeeded).
    pub fn clear(&self, account: &str) {
        self.accounts.lock().remove(account);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_cooldown_is_never_shortened() {
        let c = Cooldowns::new();
        let t0 = Instant::now();
        assert_eq!(c.extend("a", None, t0 + S(600), "window", t0), t0 + S(600));
        assert_eq!(c.extend("a", None, t0 + S(5), "limit", t0), t0 + S(600));
        let got = c.cooling("a", "m", t0 + S(10)).expect("cooling");
        assert_eq!((got.until, got.reason), (t0 + S(600), "window"));
        assert_eq!(c.extend("a", Some("m"), t0 + S(60), "x", t0), t0 + S(60));
        assert_eq!(c.extend("a", Some("m"), t0 + S(30), "y", t0), t0 + S(60));
    }

    #[test]
    fn a_model_cooldown_leaves_other_models_in_service() {
        let c = Cooldowns::new();
        let t0 = Instant::now();
        c.extend("a", Some("claude-opus-4-5"), t0 + S(60), "opus week", t0);
        assert_eq!(
            c.cooling("a", "claude-opus-4-5", t0).map(|x| x.scope),
            Some(Scope::Model)
        );
        assert_eq!(c.cooling("a", "claude-sonnet-4-5", t0), None);
        assert_eq!(c.cooling("b", "claude-opus-4-5", t0), None);
        assert_eq!(c.cooling("a", "claude-opus-4-5", t0 + S(60)), None);
    }

    #[test]
    fn the_later_of_account_and_model_cooldown_is_reported() {
        let c = Cooldowns::new();
        let t0 = Instant::now();
        c.extend("a", None, t0 + S(10), "creds", t0);
        c.extend("a", Some("m"), t0 + S(100), "model", t0);
        assert_eq!(c.cooling("a", "m", t0).map(|x| x.until), Some(t0 + S(100)));
        assert_eq!(c.cooling("a", "n", t0).map(|x| x.until), Some(t0 + S(10)));
        c.clear("a");
        assert_eq!(c.cooling("a", "m", t0), None);
    }

    #[test]
    fn model_cooldowns_per_account_are_bounded() {
        let c = Cooldowns::new();
        let t0 = Instant::now();
        for i in 0..1000u64 {
            c.extend("a", Some(&format!("m{i}")), t0 + S(1000 + i), "x", t0);
        }
        let n = c.accounts.lock().get("a").map(|a| a.models.len());
        assert_eq!(n, Some(MAX_MODELS_PER_ACCOUNT));
        // The latest cooldowns are the ones kept.
        assert!(c.cooling("a", "m999", t0).is_some());
        assert!(c.cooling("a", "m0", t0).is_none());
    }
}
