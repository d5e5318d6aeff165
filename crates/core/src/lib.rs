//! Switchboard's domain vocabulary: the words every layer uses for what happened to a request
//! and who made it, as types rather than strings.
//!
//! - [`Outcome`]: what became of a request, in one word (`ok`, `exhausted`, …): written to the
//!   log, filtered on by the query API, counted in `/metrics`.
//! - [`AttemptDisposition`]: what the router decided after one attempt against one endpoint.
//! - [`Access`], [`RouteInfo`]: who may call a route, in the route tables of both planes.
//! - Ids: [`UserId`], [`KeyId`], [`TeamId`] (UUIDs). Endpoints are known by their name in the
//!   config, which is their identity across reloads.
//!
//! This crate must never do I/O, know a wire format or depend on another Switchboard crate:
//! everything else depends on it.

mod ids;
mod outcome;
mod route;

pub use ids::{KeyId, TeamId, UserId};
pub use outcome::{AttemptDisposition, Outcome, UnknownWord};
pub use route::{Access, RouteInfo};
