//! [`ConfigError`]: one problem in a configuration file, located by line and column, and the
//! helpers that turn byte spans into those locations.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// One problem found while loading or compiling a configuration.
///
/// `line` and `column` are 1-based; both are 0 when the problem has no place in the file (the
/// file could not be read). `field` is the dotted path of the offending key, e.g.
/// `endpoints[1].base_url` (array indices count from 0); it is empty for TOML syntax errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Located(self))]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
}

/// Renders errors one per line, in file order, as `FILE:LINE:COLUMN: FIELD: MESSAGE`.
///
/// Parts that are unknown are left out: no file gives `LINE:COLUMN: …`, no location gives
/// `FILE: …`, no field gives `…: MESSAGE`.
#[must_use]
pub fn render_errors(errors: &[ConfigError]) -> String {
    let mut out = String::new();
    for e in errors {
        out.push_str(&e.to_string());
        out.push('\n');
    }
    out
}

struct Located<'a>(&'a ConfigError);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        let mut sep = "";
        if let Some(file) = &e.file {
            write!(f, "{}", file.display())?;
            sep = ":";
        }
        if e.line > 0 {
            write!(f, "{sep}{}:{}", e.line, e.column)?;
            sep = ":";
        }
        if !sep.is_empty() {
            f.write_str(": ")?;
        }
        if !e.field.is_empty() {
            write!(f, "{}: ", e.field)?;
        }
        f.write_str(&e.message)
    }
}

/// A byte range in the source text; `None` when the parser kept no span for the item.
pub(crate) type Span = Option<Range<usize>>;

/// An error before it is located: the byte span is turned into line and column at the end.
#[derive(Debug, Clone)]
pub(crate) struct Diag {
    pub(crate) span: Span,
    pub(crate) field: String,
    pub(crate) message: String,
}

/// Maps byte offsets of one text to 1-based line and column (columns count characters).
pub(crate) struct Locator<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, line_starts }
    }

    /// `(line, column)` of `offset`, both 1-based; offsets past the end clamp to the end.
    pub(crate) fn locate(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (line, column)
    }

    pub(crate) fn error(&self, file: Option<&PathBuf>, diag: Diag) -> ConfigError {
        let (line, column) = diag.span.map_or((0, 0), |s| self.locate(s.start));
        ConfigError {
            file: file.cloned(),
            line,
            column,
            field: diag.field,
            message: diag.message,
        }
    }
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub(crate) fn suggest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (levenshtein(&word, c), *c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_columns_from_one() {
        let l = Locator::new("ab\ncdé\nf");
        assert_eq!(l.locate(0), (1, 1));
        assert_eq!(l.locate(1), (1, 2));
        assert_eq!(l.locate(3), (2, 1));
        assert_eq!(l.locate(7), (2, 4));
        assert_eq!(l.locate(8), (3, 1));
        assert_eq!(l.locate(99), (3, 2));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            suggest("base_ulr", &["base_url", "api_key"]),
            Some("base_url")
        );
        assert_eq!(suggest("lisen", &["listen"]), Some("listen"));
        assert_eq!(suggest("zzzzzz", &["listen", "auth_token"]), None);
    }
}
