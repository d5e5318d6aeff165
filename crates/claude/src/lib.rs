//! Claude Code's files on the user's machine, managed without losing a byte of them:
//! `settings.json` pointed at the gateway with an exact undo ([`settings`]), MCP servers in
//! `~/.claude.json` and a project's `.mcp.json` ([`mcp`]), and skills installed from git, a
//! folder or an archive ([`skills`]).
//!
//! What this crate must never do: speak to the network (the one exception is the `git` binary
//! it runs to fetch a skill's repository), know anything of the gateway (the caller passes the
//! base URL and the token in), keep a copy of a user's file to write back later (every change
//! is a fresh read-modify-write), or write a user's file other than atomically.
//!
//! Every change to a user's file follows the same rules:
//! - only the keys or the entry being changed are touched: the JSON text is spliced, not
//!   re-serialised, so other keys keep their order, indentation, spacing, line endings and the
//!   trailing newline (or its absence); new values are laid out like their neighbours
//!   (`json::edit`, `json::render`);
//! - a file that is not valid JSON is reported with its line and column and never written;
//! - the new content is written to a temporary file in the same folder, fsynced, and renamed
//!   over the old one (a link is written through, permissions are kept), after a last look
//!   for another writer, and read back to check (`fsx`, which documents the remaining window);
//! - what Switchboard needs to undo a change lives in its own files under
//!   [`Paths::state_dir`] (`$SWITCHBOARD_HOME/claude`, default `~/.switchboard/claude`): the
//!   setup record, backups, the stash of disabled MCP servers, the skills manifest.
//!
//! # Overview
//! - [`Paths`]: where Claude Code's files are (`HOME`, `CLAUDE_CONFIG_DIR`) and Switchboard's own.
//! - [`settings::setup`], [`settings::undo`], [`settings::status`].
//! - [`mcp::list`], [`mcp::get`], [`mcp::add`], [`mcp::edit`], [`mcp::remove`],
//!   [`mcp::disable`], [`mcp::enable`], with [`mcp::Location`] naming a scope.
//! - [`skills::install`], [`skills::list`], [`skills::show`], [`skills::update`],
//!   [`skills::remove`], with [`skills::frontmatter::parse`] checking a `SKILL.md`.
//! - [`Error`]: one enum, each variant naming the file, entry or field at fault.

mod error;
mod fsx;
mod json;
pub mod mcp;
pub mod paths;
pub mod settings;
pub mod skills;

pub use error::{Error, Result};
pub use paths::{Paths, project_key};
