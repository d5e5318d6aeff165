//! The routing and failover engine: which endpoint gets a request, what a failure means, and when
//! a cooled-down endpoint returns to service.
//!
//! - [`Health`]: per-endpoint cooldowns and counters, keyed by endpoint name so a config reload
//!   keeps them.
//! - [`classify`]: the one function that turns an [`UpstreamError`] into a [`Disposition`]; no other
//!   code inspects upstream status codes. [`classify_scoped`] adds the failure's [`Scope`]
//!   (request, model, account, provider) from the response's [`RateLimitFacts`], for pools.
//! - [`route`]: the attempt loop — priority order, retries with capped exponential backoff on the
//!   same endpoint, cooldown and move on for 429 and credential failures, client errors returned.
//!
//! The pieces pools are built from (not yet used by the attempt loop):
//! - [`Cooldowns`]: cooldowns per account or per model on an account, only ever extended;
//! - [`Breaker`]: a circuit breaker per account, with a half-open trial [`Permit`] that is
//!   given back when dropped;
//! - [`select`]: the selection strategies over a pool's members, and priority tiers;
//! - [`affinity`]: Claude Code session ids and the bounded session → account table;
//! - [`Pool`]: one pool's live state, and the choice of a member for each attempt from all of
//!   the above, naming every member passed over and why when none can serve; a recovered
//!   member comes back gradually;
//! - [`Probes`]: one active probe per account at a time, for members open or cooling.
//!
//! The only I/O seam is the [`Upstream`] trait; time is `tokio::time` only, so tests run with
//! paused time and check backoff spacing exactly.

pub mod affinity;
mod breaker;
mod classify;
mod cooldown;
mod health;
mod pool;
mod probe;
mod route;
pub mod select;
mod window;

pub use breaker::{Breaker, BreakerConfig, BreakerState, Permit, Refused};
pub use classify::{
    Action, CooldownPolicy, Disposition, FailureKind, RateLimitFacts, RejectedWindow, Scope,
    UpstreamError, Verdict, classify, classify_scoped, is_quota_header, parse_retry_after,
};
pub use cooldown::{Cooldowns, Cooling};
pub use health::{EndpointStatus, Health};
pub use pool::{Choice, MIN_RAMP_SHARE, MemberSpec, Pool, PoolSpec, Skip};
pub use probe::{ProbeGuard, Probes};
pub use route::{AttemptCtx, AttemptLog, Policy, RouteError, Routed, Target, Upstream, route};
pub use window::Tally;
