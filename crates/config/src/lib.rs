//! Switchboard's configuration: the TOML file a user writes, checked and compiled into typed
//! [`Config`] that the router and server use. Two phases: parse the raw document keeping spans,
//! then [`compile`] it, collecting *every* error (file, line, field, why) rather than the first.
//!
//! No network I/O; the only file access is reading the config file itself ([`load_file`]).

mod model;
mod secret;

pub use model::*;
pub use secret::{SecretString, mask};
