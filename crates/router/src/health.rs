//! Per-endpoint health: cooldowns and counters. Keyed by endpoint name, so reloading the config
//! keeps an endpoint's cooldown. The lock is held only for map operations, never across an await.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

#[derive(Debug, Clone, Default)]
struct State {
    cooldown_until: Option<Instant>,
    cooldown_reason: Option<String>,
    consecutive_failures: u32,
    successes: u64,
    failures: u64,
    last_error: Option<String>,
    last_success: Option<Instant>,
}

/// Health of all endpoints.
#[derive(Debug, Default)]
pub struct Health {
    states: Mutex<HashMap<String, State>>,
}

/// A point-in-time view of one endpoint, for `/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    pub name: String,
    /// Time left in the current cooldown; `None` when the endpoint is in service.
    pub cooldown_remaining: Option<Duration>,
    pub cooldown_reason: Option<String>,
    pub consecutive_failures: u32,
    pub successes: u64,
    pub failures: u64,
    pub last_error: Option<String>,
    /// Time since the last success.
    pub since_last_success: Option<Duration>,
}

impl Health {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The end of `name`'s cooldown if it is cooling down at `now`. An expired cooldown is
    /// cleared here: endpoints return to service by themselves.
    #[must_use]
    pub fn cooling_until(&self, name: &str, now: Instant) -> Option<Instant> {
        let mut states = self.states.lock();
        let st = states.get_mut(name)?;
        match st.cooldown_until {
            Some(until) if until > now => Some(until),
            Some(_) => {
                st.cooldown_until = None;
                st.cooldown_reason = None;
                None
            }
            None => None,
        }
    }

    /// Put `name` out of service until `until` (a later existing cooldown is kept).
    pub fn cool_down(&self, name: &str, until: Instant, reason: &str) {
        let mut states = self.states.lock();
        let st = states.entry(name.to_owned()).or_default();
        if st.cooldown_until.is_none_or(|u| u < until) {
            st.cooldown_until = Some(until);
            st.cooldown_reason = Some(reason.to_owned());
        }
        st.failures += 1;
        st.consecutive_failures += 1;
        st.last_error = Some(reason.to_owned());
    }

    pub fn record_success(&self, name: &str, now: Instant) {
        let mut states = self.states.lock();
        let st = states.entry(name.to_owned()).or_default();
        st.successes += 1;
        st.consecutive_failures = 0;
        st.last_success = Some(now);
    }

    pub fn record_failure(&self, name: &str, error: &str) {
        let mut states = self.states.lock();
        let st = states.entry(name.to_owned()).or_default();
        st.failures += 1;
        st.consecutive_failures += 1;
        st.last_error = Some(error.to_owned());
    }

    /// Clears a cooldown by hand (admin action).
    pub fn reset(&self, name: &str) {
        if let Some(st) = self.states.lock().get_mut(name) {
            st.cooldown_until = None;
            st.cooldown_reason = None;
            st.consecutive_failures = 0;
        }
    }

    /// Status of the given endpoints, in the given order.
    #[must_use]
    pub fn snapshot<'a>(
        &self,
        names: impl Iterator<Item = &'a str>,
        now: Instant,
    ) -> Vec<EndpointStatus> {
        let states = self.states.lock();
        names
            .map(|name| {
                let st = states.get(name).cloned().unwrap_or_default();
                let remaining = st.cooldown_until.filter(|u| *u > now).map(|u| u - now);
                EndpointStatus {
                    name: name.to_owned(),
                    cooldown_remaining: remaining,
                    cooldown_reason: remaining.and(st.cooldown_reason),
                    consecutive_failures: st.consecutive_failures,
                    successes: st.successes,
                    failures: st.failures,
                    last_error: st.last_error,
                    since_last_success: st.last_success.map(|t| now.saturating_duration_since(t)),
                }
            })
            .collect()
    }
}
