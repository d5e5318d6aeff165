//! The login rate limit: at most so many attempts per client address and per user name in a
//! sliding window (by default 10 per address and 5 per user in 15 minutes), in memory.
//!
//! Every attempt counts as a failure the moment it is admitted ([`LoginLimiter::admit`]) and is
//! taken back when it succeeds ([`LoginLimiter::succeeded`]), so that parallel guesses are
//! counted before their slow password checks finish. A success clears the user's count; it
//! takes back only its own attempt from the address's, so one valid account does not buy an
//! address unlimited guesses at the others.
//!
//! Keys: an IPv4 address, or an IPv6 address's /64 (one host is usually given a whole /64);
//! a user name folded to ASCII lower case and cut to 64 characters. Memory is bounded under
//! hostile input: each key holds at most its limit of instants, and each map at most
//! [`LimitPolicy::max_tracked`] keys (the least recently failed is dropped first; a flood from
//! many addresses can therefore push an address out early, which costs it nothing but its
//! count).
//!
//! Time is `tokio::time::Instant`, so tests run on paused time.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// At most `attempts` in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub attempts: usize,
    pub window: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitPolicy {
    pub per_address: Limit,
    pub per_user: Limit,
    /// Keys kept per map (addresses, users).
    pub max_tracked: usize,
}

impl Default for LimitPolicy {
    fn default() -> Self {
        const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);
        Self {
            per_address: Limit {
                attempts: 10,
                window: FIFTEEN_MINUTES,
            },
            per_user: Limit {
                attempts: 5,
                window: FIFTEEN_MINUTES,
            },
            max_tracked: 10_000,
        }
    }
}

/// Which count refused the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Address,
    User,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Address => "from this address",
            Self::User => "for this user",
        })
    }
}

/// An attempt refused: wait `retry_after` (the control plane sends it as `retry-after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many login attempts {scope}: try again in {} s", retry_after.as_secs().max(1))]
pub struct Throttled {
    pub retry_after: Duration,
    pub scope: Scope,
}

/// The login rate limiter. One per control plane; share it by reference or `Arc`.
#[derive(Debug)]
pub struct LoginLimiter {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    addresses: Tracker<IpAddr>,
    users: Tracker<String>,
}

impl LoginLimiter {
    #[must_use]
    pub fn new(policy: LimitPolicy) -> Self {
        Self {
            state: Mutex::new(State {
                addresses: Tracker::new(policy.per_address, policy.max_tracked),
                users: Tracker::new(policy.per_user, policy.max_tracked),
            }),
        }
    }

    /// Admits a login attempt from `addr` for `user` and counts it, or refuses it with how long
    /// to wait (the longer of the two waits when both counts are full). A refused attempt is
    /// not counted.
    ///
    /// # Errors
    /// [`Throttled`]: too many attempts from the address or for the user in the window.
    pub fn admit(&self, addr: IpAddr, user: &str) -> Result<(), Throttled> {
        let now = Instant::now();
        let (addr, user) = (address_key(addr), user_key(user));
        let mut state = self.state.lock();
        let by_addr = state
            .addresses
            .wait(&addr, now)
            .map(|w| (w, Scope::Address));
        let by_user = state.users.wait(&user, now).map(|w| (w, Scope::User));
        if let Some((retry_after, scope)) = by_addr.into_iter().chain(by_user).max() {
            return Err(Throttled { retry_after, scope });
        }
        state.addresses.record(addr, now);
        state.users.record(user, now);
        Ok(())
    }

    /// The attempt admitted for `user` from `addr` succeeded: the user's count is cleared, the
    /// address's loses that one attempt.
    pub fn succeeded(&self, addr: IpAddr, user: &str) {
        let mut state = self.state.lock();
        state.users.forget(&user_key(user));
        state.addresses.take_back(&address_key(addr));
    }

    /// Keys tracked (addresses, users), for tests and metrics.
    #[must_use]
    pub fn tracked(&self) -> (usize, usize) {
        let state = self.state.lock();
        (state.addresses.map.len(), state.users.map.len())
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(LimitPolicy::default())
    }
}

fn address_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !((1_u128 << 64) - 1))),
        },
    }
}

fn user_key(user: &str) -> String {
    user.chars()
        .take(64)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Recent attempts per key, oldest first, at most `limit.attempts` each.
#[derive(Debug)]
struct Tracker<K> {
    map: HashMap<K, VecDeque<Instant>>,
    limit: Limit,
    cap: usize,
}

impl<K: Hash + Eq + Clone> Tracker<K> {
    fn new(limit: Limit, cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            limit,
            cap: cap.max(1),
        }
    }

    /// How long `key` must wait before its next attempt; `None`: it may go now.
    fn wait(&mut self, key: &K, now: Instant) -> Option<Duration> {
        let times = self.map.get_mut(key)?;
        prune(times, now, self.limit.window);
        if times.is_empty() {
            self.map.remove(key);
            return None;
        }
        if times.len() < self.limit.attempts {
            return None;
        }
        let oldest = *times.front()?;
        Some((oldest + self.limit.window).saturating_duration_since(now))
    }

    fn record(&mut self, key: K, now: Instant) {
        if !self.map.contains_key(&key) && self.map.len() >= self.cap {
            self.evict(now);
        }
        let times = self.map.entry(key).or_default();
        times.push_back(now);
        while times.len() > self.limit.attempts {
            times.pop_front();
        }
    }

    fn forget(&mut self, key: &K) {
        self.map.remove(key);
    }

    fn take_back(&mut self, key: &K) {
        if let Some(times) = self.map.get_mut(key) {
            times.pop_back();
            if times.is_empty() {
                self.map.remove(key);
            }
        }
    }

    /// Makes room for one key: drops every key whose attempts have all left the window, or
    /// failing that the one that failed least recently.
    fn evict(&mut self, now: Instant) {
        let window = self.limit.window;
        self.map.retain(|_, times| {
            times
                .back()
                .is_some_and(|&t| now.duration_since(t) < window)
        });
        if self.map.len() < self.cap {
            return;
        }
        let stalest = self
            .map
            .iter()
            .min_by_key(|(_, times)| times.back().copied())
            .map(|(key, _)| key.clone());
        if let Some(key) = stalest {
            self.map.remove(&key);
        }
    }
}

fn prune(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|&t| now.duration_since(t) >= window)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));
    const MINUTE: Duration = Duration::from_secs(60);

    fn policy() -> LimitPolicy {
        LimitPolicy::default()
    }

    #[tokio::test(start_paused = true)]
    async fn a_user_is_locked_after_five_attempts_until_the_first_leaves_the_window() {
        let limiter = LoginLimiter::new(policy());
        for i in 0..5 {
            limiter
                .admit(ADDR, "alice")
                .unwrap_or_else(|e| panic!("attempt {i} admitted: {e}"));
            tokio::time::advance(MINUTE).await;
        }
        // Attempts at 0..4 min; now 5 min: the first leaves the window at 15 min.
        let refused = limiter
            .admit(OTHER, "Alice")
            .expect_err("locked for the user");
        assert_eq!(
            refused,
            Throttled {
                retry_after: 10 * MINUTE,
                scope: Scope::User
            }
        );
        assert_eq!(
            refused.to_string(),
            "too many login attempts for this user: try again in 600 s"
        );
        limiter
            .admit(ADDR, "bob")
            .expect("another user is not locked");

        tokio::time::advance(10 * MINUTE - Duration::from_millis(1)).await;
        assert!(
            limiter.admit(ADDR, "alice").is_err(),
            "still locked 1 ms before"
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        limiter
            .admit(ADDR, "alice")
            .expect("unlocked once the first attempt is 15 min old");
        let again = limiter
            .admit(ADDR, "alice")
            .expect_err("one slot freed, one used");
        assert_eq!(again.retry_after, MINUTE, "the next leaves at 16 min");
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_is_locked_after_ten_attempts_at_any_users() {
        let limiter = LoginLimiter::new(policy());
        for i in 0..10 {
            limiter
                .admit(ADDR, &format!("user{i}"))
                .unwrap_or_else(|e| panic!("attempt {i} admitted: {e}"));
        }
        let refused = limiter.admit(ADDR, "someone").expect_err("address locked");
        assert_eq!(refused.scope, Scope::Address);
        assert_eq!(refused.retry_after, 15 * MINUTE);
        limiter
            .admit(OTHER, "someone")
            .expect("another address is not");
        tokio::time::advance(15 * MINUTE).await;
        limiter
            .admit(ADDR, "someone")
            .expect("unlocked after the window");
    }

    #[tokio::test(start_paused = true)]
    async fn success_clears_the_user_and_takes_back_only_its_own_attempt_from_the_address() {
        let limiter = LoginLimiter::new(policy());
        for i in 0..4 {
            limiter
                .admit(ADDR, "alice")
                .unwrap_or_else(|e| panic!("{i}: {e}"));
        }
        limiter.admit(ADDR, "alice").expect("fifth admitted");
        limiter.succeeded(ADDR, "alice");
        for i in 0..5 {
            limiter
                .admit(OTHER, "alice")
                .unwrap_or_else(|e| panic!("{i}: {e}"));
        }
        // ADDR: 5 attempts, one taken back → 4; six more guesses at others would reach 10.
        for i in 0..6 {
            limiter
                .admit(ADDR, &format!("u{i}"))
                .unwrap_or_else(|e| panic!("{i}: {e}"));
        }
        assert_eq!(
            limiter.admit(ADDR, "u9").map_err(|t| t.scope),
            Err(Scope::Address)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn ipv6_hosts_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let limiter = LoginLimiter::new(policy());
        for i in 0..10_u16 {
            let addr: IpAddr = format!("2001:db8:1:2::{i:x}").parse().expect("ipv6");
            limiter.admit(addr, &format!("u{i}")).expect("admitted");
        }
        let same_64: IpAddr = "2001:db8:1:2:ffff::1".parse().expect("ipv6");
        assert!(limiter.admit(same_64, "x").is_err(), "one /64, one count");
        let next_64: IpAddr = "2001:db8:1:3::1".parse().expect("ipv6");
        limiter.admit(next_64, "x").expect("another /64");

        for i in 0..10 {
            limiter.admit(ADDR, &format!("v{i}")).expect("admitted");
        }
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("mapped");
        assert!(
            limiter.admit(mapped, "y").is_err(),
            "mapped IPv4 is the IPv4"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn memory_stays_bounded_under_a_flood_of_names_and_addresses() {
        let limiter = LoginLimiter::new(LimitPolicy {
            max_tracked: 100,
            ..policy()
        });
        for i in 0..10_000_u32 {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from_bits(0x0a00_0000 + i));
            let _ = limiter.admit(addr, &format!("{i}-{}", "x".repeat(1000)));
        }
        assert_eq!(limiter.tracked(), (100, 100));
        // The newest stay: the last address is still counted.
        let last = IpAddr::V4(std::net::Ipv4Addr::from_bits(0x0a00_0000 + 9_999));
        for i in 0..9 {
            limiter.admit(last, &format!("z{i}")).expect("admitted");
        }
        assert_eq!(
            limiter.admit(last, "z9").map_err(|t| t.scope),
            Err(Scope::Address),
            "its first attempt was kept"
        );
        tokio::time::advance(15 * MINUTE).await;
        limiter.admit(ADDR, "fresh").expect("admitted");
        assert_eq!(limiter.tracked(), (1, 1), "expired keys make room first");
    }
}
