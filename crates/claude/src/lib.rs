//! placeholder
mod error;
mod fsx;
mod json;
pub mod mcp;
pub mod paths;
pub mod settings;
pub use error::{Error, Result};
pub use paths::Paths;
