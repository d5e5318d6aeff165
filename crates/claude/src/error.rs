//! [`Error`]: what went wrong and where, for every operation of the crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// One failure. Each variant names the file, entry or field at fault; none of them means that a
/// user's file was left half-written (writes are atomic: a failed write leaves the old file).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed (the I/O error is the [`source`](std::error::Error::source)).
    #[error("{}: cannot {op}", path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// A JSON file that is not valid JSON (as `JSON.parse` and Claude Code read it). It is never
    /// written over.
    #[error("{}:{line}:{column}: {message} (the file is left as it is: fix it, then run this again)", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A file that is valid but holds something this crate will not edit (say, `env` that is a
    /// string rather than an object).
    #[error("{}: {message} (the file is left as it is)", path.display())]
    Unsupported { path: PathBuf, message: String },
    /// Another program rewrote the file on every attempt to edit it.
    #[error("{}: another program changed the file during each of {attempts} attempts to edit it; nothing was lost, try again", path.display())]
    Contended { path: PathBuf, attempts: u32 },
    /// An argument that is not acceptable: a server name, a URL, a field, a skill name.
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    /// No such server, skill or setup.
    #[error("{0}")]
    NotFound(String),
    /// The name is taken.
    #[error("{0}")]
    Exists(String),
    /// A skill that breaks the published rules; nothing was installed.
    #[error("{} is not a valid skill (nothing was installed):{}", dir.display(), Bullets(problems))]
    InvalidSkill { dir: PathBuf, problems: Vec<String> },
    /// An archive refused before anything was extracted from it.
    #[error("{}: refused: {reason} (nothing was extracted)", path.display())]
    Archive { path: PathBuf, reason: String },
    /// A source tree refused while copying it (a link out of the source, a special file, too big).
    #[error("{}: refused: {reason} (nothing was installed)", path.display())]
    Source { path: PathBuf, reason: String },
    /// `git` failed.
    #[error("git {args} failed: {stderr}")]
    Git { args: String, stderr: String },
    /// A source holding several skills and no choice among them.
    #[error("{source_name} holds {} skills; pick one with --name (or install all with --all):{}", candidates.len(), Bullets(candidates))]
    Ambiguous {
        source_name: String,
        /// The skills' names, with their folders in the source.
        candidates: Vec<String>,
    },
    /// One of Switchboard's own state files (setup record, stash, skills manifest) is unreadable.
    #[error("{}: {message}", path.display())]
    State { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        op: &'static str,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, op, source }
    }

    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// A list rendered as indented lines after the message.
struct Bullets<'a>(&'a [String]);

impl fmt::Display for Bullets<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in self.0 {
            write!(f, "\n  - {item}")?;
        }
        Ok(())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
