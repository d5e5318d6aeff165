//! The routing and failover engine: which endpoint gets a request, what a failure means, and when
//! a cooled-down endpoint returns to service.
//!
//! - [`Health`]: per-endpoint cooldowns and counters, keyed by endpoint name so a config reload
//!   keeps them.
//! - [`classify`]: the one function that turns an [`UpstreamError`] into a [`Disposition`]; no other
//!   code inspects upstream status codes.
//! - [`route`]: the attempt loop — priority order, retries with capped exponential backoff on the
//!   same endpoint, cooldown and move on for 429 and credential failures, client errors returned.
//!
//! The only I/O seam is the [`Upstream`] trait; time is `tokio::time` only, so tests run with
//! paused time and check backoff spacing exactly.

mod classify;
mod health;
mod route;

pub use classify::{Disposition, FailureKind, UpstreamError, classify, parse_retry_after};
pub use health::{EndpointStatus, Health};
pub use route::{AttemptCtx, AttemptLog, Policy, RouteError, Routed, Target, Upstream, route};
