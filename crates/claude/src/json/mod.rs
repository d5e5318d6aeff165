//! JSON text that is edited, never re-serialised: a strict parser that keeps spans
//! ([`parse`]), the file's layout and values rendered in it ([`render`]), and splicing edits
//! ([`edit`]).

pub(crate) mod edit;
pub(crate) mod parse;
pub(crate) mod render;
