//! Test helpers for Switchboard's end-to-end tests: a scriptable [`MockUpstream`] with fault
//! injection, a [`TestGateway`] that runs the real server on an ephemeral loopback port, and
//! builders for the SSE streams and JSON bodies each dialect sends, and the HTTP and SOCKS
//! proxies a gateway may have to go through ([`HttpProxy`], [`SocksProxy`]).
//!
//! Everything binds to 127.0.0.1 port 0; nothing here reaches the network.

#![expect(
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc,
    reason = "test support: a failed setup should stop the test loudly"
)]

pub mod clients;
mod dns;
mod gateway;
mod mock;
mod proxies;
pub mod sse;
mod store;

pub use dns::FakeDns;
pub use gateway::{Stopped, TestGateway, TestGatewayBuilder};
pub use mock::{Gate, MockUpstream, Recorded, Reply, Step};
pub use proxies::{HttpProxy, SocksProxy};
pub use store::{TestStore, postgres_url, wants_postgres};
