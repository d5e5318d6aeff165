//! Active probes: which members a background prober should visit, and at most one probe in
//! flight per account.
//!
//! A member behind an open breaker or an account-wide cooldown gets no traffic, so nothing tells
//! whether it has recovered (lidge-jun/opencodex#915: a reset-derived cooldown that never
//! recovers early). A probe — a cheap valid request, or the provider's models call — is sent to
//! such a member every `interval`; its success brings the member back through the same slow
//! start as a breaker trial ([`crate::Pool::probe_succeeded`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

#[derive(Debug, Default)]
struct Slot {
    last: Option<Instant>,
    in_flight: bool,
}

/// Probe bookkeeping for every account.
#[derive(Debug)]
pub struct Probes {
    interval: Duration,
    slots: Mutex<HashMap<String, Slot>>,
}

impl Probes {
    #[must_use]
    pub fn new(interval: Duration) -> Arc<Self> {
        Arc::new(Self {
            interval,
            slots: Mutex::default(),
        })
    }

    /// Leave to probe `account` now: `None` while a probe of it is in flight, or within
    /// `interval` of the last one's start.
    #[must_use]
    pub fn try_start(self: &Arc<Self>, account: &str, now: Instant) -> Option<ProbeGuard> {
        let mut slots = self.slots.lock();
        let slot = slots.entry(account.to_owned()).or_default();
        if slot.in_flight || slot.last.is_some_and(|l| now < l + self.interval) {
            return None;
        }
        slot.in_flight = true;
        slot.last = Some(now);
        Some(ProbeGuard {
            probes: Arc::clone(self),
            account: account.to_owned(),
        })
    }

    /// Forgets accounts no longer configured (a reload), so the table follows the config.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.slots.lock().retain(|a, _| keep(a));
    }
}

/// A probe in flight; dropping it (finished, failed or cancelled) frees the account's slot.
#[derive(Debug)]
#[must_use = "the probe's slot is held until this is dropped"]
pub struct ProbeGuard {
    probes: Arc<Probes>,
    account: String,
}

impl ProbeGuard {
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }
}

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        if let Some(slot) = self.probes.slots.lock().get_mut(&self.account) {
            slot.in_flight = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[tokio::test(start_paused = true)]
    async fn one_probe_per_account_at_a_time_and_per_interval() {
        let p = Probes::new(S(60));
        let g = p.try_start("a", Instant::now()).expect("first probe");
        assert!(p.try_start("a", Instant::now()).is_none(), "one in flight");
        assert!(
            p.try_start("b", Instant::now()).is_some(),
            "accounts are independent"
        );
        drop(g);
        assert!(
            p.try_start("a", Instant::now()).is_none(),
            "not within the interval"
        );
        tokio::time::advance(S(60)).await;
        assert!(p.try_start("a", Instant::now()).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_probe_frees_its_slot() {
        let p = Probes::new(Duration::ZERO);
        let p2 = Arc::clone(&p);
        let probe = async move {
            let _g = p2.try_start("a", Instant::now()).expect("slot");
            std::future::pending::<()>().await;
        };
        assert!(tokio::time::timeout(S(5), probe).await.is_err());
        assert!(p.try_start("a", Instant::now()).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_reload_forgets_removed_accounts() {
        let p = Probes::new(S(60));
        drop(p.try_start("gone", Instant::now()));
        p.retain(|a| a != "gone");
        assert!(p.try_start("gone", Instant::now()).is_some());
    }
}
