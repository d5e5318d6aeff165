//! The raw phase: reading a parsed `toml_edit` document table by table, keeping spans.
//!
//! A [`Section`] is one table of the file. Opening it reports unknown keys; its getters check
//! types and expand `${VAR}` in strings. Every problem goes into [`Cx`] and reading carries on,
//! so one pass finds every mistake in the file.

use std::time::Duration;

use toml_edit::{Item, TableLike, Value};

use crate::env::substitute;
use crate::error::{Diag, Span, suggest};
use crate::secret::SecretString;

/// Where `secret:NAME` values come from.
pub enum Secrets<'s> {
    /// The secret store, decrypted: the value of a name, `None` when there is no such secret.
    Lookup(&'s dyn Fn(&str) -> Option<String>),
    /// No secret store to ask; a reference is an error that says why (the text completes
    /// "refers to the secret `NAME`, but …").
    Unavailable(String),
}

impl Secrets<'_> {
    pub(crate) fn lookup(&self, name: &str) -> Option<SecretString> {
        match self {
            Self::Lookup(f) => f(name).map(SecretString::new),
            Self::Unavailable(_) => None,
        }
    }
}

/// The compile context: the environment, the secret store and the errors found so far.
pub(crate) struct Cx<'e> {
    pub(crate) env: &'e dyn Fn(&str) -> Option<String>,
    pub(crate) secrets: Secrets<'e>,
    pub(crate) diags: Vec<Diag>,
}

impl<'e> Cx<'e> {
    pub(crate) fn new(env: &'e dyn Fn(&str) -> Option<String>, secrets: Secrets<'e>) -> Self {
        Self {
            env,
            secrets,
            diags: Vec::new(),
        }
    }

    pub(crate) fn error(
        &mut self,
        span: Span,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.diags.push(Diag {
            span,
            field: field.into(),
            message: message.into(),
        });
    }
}

/// A value and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// One table of the document (a `[header]` table, an inline table or an array element).
#[derive(Clone, Copy)]
pub(crate) struct Section<'t> {
    table: &'t dyn TableLike,
    path: &'t str,
    span: &'t Span,
}

/// Owns the path and span a [`Section`] borrows, so sections can be built in loops.
pub(crate) struct SectionData<'t> {
    table: &'t dyn TableLike,
    path: String,
    span: Span,
}

impl<'t> SectionData<'t> {
    pub(crate) fn new(table: &'t dyn TableLike, path: String, span: Span) -> Self {
        Self { table, path, span }
    }

    /// A view that reports keys not in `allowed` (with a suggestion when one is close).
    pub(crate) fn open<'s>(&'s self, cx: &mut Cx<'_>, allowed: &[&str]) -> Section<'s> {
        let s = self.any();
        for (key, _) in s.table.iter() {
            if !allowed.contains(&key) {
                let message = match suggest(key, allowed) {
                    Some(close) => format!("unknown key `{key}`; did you mean `{close}`?"),
                    None => format!(
                        "unknown key `{key}`; expected one of: {}",
                        allowed.join(", ")
                    ),
                };
                cx.error(s.key_span(key), s.field(key), message);
            }
        }
        s
    }

    /// A view that accepts any key (model maps, headers).
    pub(crate) fn any(&self) -> Section<'_> {
        Section {
            table: self.table,
            path: &self.path,
            span: &self.span,
        }
    }
}

impl<'t> Section<'t> {
    pub(crate) fn span(&self) -> Span {
        self.span.clone()
    }

    /// The dotted path of `key` in this table, quoting keys that are not bare TOML keys.
    pub(crate) fn field(&self, key: &str) -> String {
        field_path(self.path, key)
    }

    /// Where `key` is written, falling back to the table itself.
    pub(crate) fn key_span(&self, key: &str) -> Span {
        self.table
            .key(key)
            .and_then(toml_edit::Key::span)
            .or_else(|| self.span())
    }

    /// Where the value of `key` is written, falling back to the key, then the table.
    pub(crate) fn value_span(&self, key: &str) -> Span {
        self.table
            .get(key)
            .and_then(Item::span)
            .or_else(|| self.key_span(key))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'t Item> {
        self.table.get(key)
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// The keys and items of this table, in file order.
    pub(crate) fn entries(&self) -> Vec<(&'t str, &'t Item)> {
        self.table.iter().collect()
    }

    fn wrong_type(&self, cx: &mut Cx<'_>, key: &str, expected: &str, found: &Item) {
        let found = found.type_name();
        cx.error(
            self.value_span(key),
            self.field(key),
            format!("expected {expected}, found {found}"),
        );
    }

    /// A string value with `${VAR}` references expanded.
    pub(crate) fn string(&self, cx: &mut Cx<'_>, key: &str) -> Option<Spanned<String>> {
        let item = self.get(key)?;
        let Some(raw) = item.as_str() else {
            self.wrong_type(cx, key, "a string", item);
            return None;
        };
        let span = self.value_span(key);
        match substitute(raw, cx.env) {
            Ok(value) => Some(Spanned { value, span }),
            Err(errors) => {
                for e in errors {
                    cx.error(span.clone(), self.field(key), e.to_string());
                }
                None
            }
        }
    }

    pub(crate) fn bool(&self, cx: &mut Cx<'_>, key: &str) -> Option<bool> {
        let item = self.get(key)?;
        let value = item.as_bool();
        if value.is_none() {
            self.wrong_type(cx, key, "true or false", item);
        }
        value
    }

    /// An integer in `min..=max`.
    pub(crate) fn integer(&self, cx: &mut Cx<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
        let item = self.get(key)?;
        let Some(value) = item.as_integer() else {
            self.wrong_type(cx, key, "an integer", item);
            return None;
        };
        if (min..=max).contains(&value) {
            Some(value)
        } else {
            let message = format!("{value} is out of range: expected {min} to {max}");
            cx.error(self.value_span(key), self.field(key), message);
            None
        }
    }

    /// A number (integer or float) in `min..=max`.
    pub(crate) fn number(&self, cx: &mut Cx<'_>, key: &str, min: f64, max: f64) -> Option<f64> {
        let item = self.get(key)?;
        let value = item
            .as_float()
            .or_else(|| item.as_integer().map(|i| i as f64));
        let Some(value) = value else {
            self.wrong_type(cx, key, "a number", item);
            return None;
        };
        if value.is_finite() && (min..=max).contains(&value) {
            Some(value)
        } else {
            let message = format!("{value} is out of range: expected {min} to {max}");
            cx.error(self.value_span(key), self.field(key), message);
            None
        }
    }

    /// A size in bytes: an integer, or a string with a unit (`"512KiB"`, `"8 MiB"`, `"1GB"`).
    pub(crate) fn byte_size(&self, cx: &mut Cx<'_>, key: &str) -> Option<u64> {
        let item = self.get(key)?;
        if let Some(n) = item.as_integer() {
            return match u64::try_from(n) {
                Ok(n) => Some(n),
                Err(_) => {
                    cx.error(
                        self.value_span(key),
                        self.field(key),
                        "must not be negative",
                    );
                    None
                }
            };
        }
        let text = self.string(cx, key)?;
        match parse_byte_size(&text.value) {
            Some(n) => Some(n),
            None => {
                let message = format!(
                    "invalid size `{}`: write a number of bytes or a size with a unit, like \"512MiB\" or \"1GB\"",
                    text.value
                );
                cx.error(text.span, self.field(key), message);
                None
            }
        }
    }

    /// A duration written as a string: `"500ms"`, `"30s"`, `"10m"`, `"1h 30m"`.
    pub(crate) fn duration(&self, cx: &mut Cx<'_>, key: &str) -> Option<Duration> {
        if self
            .get(key)
            .is_some_and(|i| i.is_integer() || i.is_float())
        {
            let message = "expected a duration string with a unit, like \"30s\" or \"500ms\"";
            cx.error(self.value_span(key), self.field(key), message);
            return None;
        }
        let text = self.string(cx, key)?;
        match humantime::parse_duration(text.value.trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                let message = format!(
                    "invalid duration `{}`: {e} (write e.g. \"500ms\", \"30s\", \"10m\")",
                    text.value
                );
                cx.error(text.span, self.field(key), message);
                None
            }
        }
    }

    /// A sub-table (`[a.b]`, `b = { … }` or dotted `b.c = …`) as a [`SectionData`].
    pub(crate) fn table(&self, cx: &mut Cx<'_>, key: &str) -> Option<SectionData<'t>> {
        let item = self.get(key)?;
        let Some(table) = item.as_table_like() else {
            self.wrong_type(cx, key, "a table", item);
            return None;
        };
        let span = item.span().or_else(|| self.key_span(key));
        Some(SectionData::new(table, self.field(key), span))
    }
}

/// `parent.key`, with `key` quoted unless it is a bare TOML key.
pub(crate) fn field_path(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// An array of strings (each expanded like any string), with each element's span; a string
/// alone is read as a list of one.
pub(crate) fn string_list(
    cx: &mut Cx<'_>,
    s: Section<'_>,
    key: &str,
) -> Option<Vec<Spanned<String>>> {
    let item = s.get(key)?;
    let span = s.value_span(key);
    let Some(array) = item.as_array() else {
        return s.string(cx, key).map(|v| vec![v]);
    };
    let mut out = Vec::new();
    for (i, v) in array.iter().enumerate() {
        let at = v.span().or_else(|| span.clone());
        match v.as_str() {
            Some(text) => match substitute(text, cx.env) {
                Ok(value) => out.push(Spanned { value, span: at }),
                Err(errors) => {
                    for e in errors {
                        cx.error(at.clone(), format!("{}[{i}]", s.field(key)), e.to_string());
                    }
                }
            },
            None => cx.error(
                at,
                format!("{}[{i}]", s.field(key)),
                format!("expected a string, found {}", v.type_name()),
            ),
        }
    }
    Some(out)
}

/// The tables of an array of tables (`[[x]]`) or an inline array of inline tables, each with
/// its `path[i]` and span; anything else in the array is reported.
pub(crate) fn table_array<'t>(cx: &mut Cx<'_>, item: &'t Item, path: &str) -> Vec<SectionData<'t>> {
    let mut out = Vec::new();
    match item {
        Item::ArrayOfTables(tables) => {
            for (i, t) in tables.iter().enumerate() {
                out.push(SectionData::new(t, format!("{path}[{i}]"), t.span()));
            }
        }
        Item::Value(Value::Array(array)) => {
            for (i, v) in array.iter().enumerate() {
                let field = format!("{path}[{i}]");
                match v.as_inline_table() {
                    Some(t) => out.push(SectionData::new(t, field, v.span())),
                    None => cx.error(
                        v.span(),
                        field,
                        format!("expected a table, found {}", v.type_name()),
                    ),
                }
            }
        }
        other => {
            let message = format!(
                "expected an array of tables (`[[{path}]]`), found {}",
                other.type_name()
            );
            cx.error(other.span(), path, message);
        }
    }
    out
}

/// The key/value pairs of a table whose keys are free-form (`models`, `headers`): each value
/// must be a string; `${VAR}` is expanded. Keys keep file order.
pub(crate) fn string_map(
    cx: &mut Cx<'_>,
    s: Section<'_>,
) -> Vec<(Spanned<String>, Spanned<String>)> {
    let mut out = Vec::new();
    for (key, _) in s.entries() {
        if let Some(value) = s.string(cx, key) {
            out.push((
                Spanned {
                    value: key.to_owned(),
                    span: s.key_span(key),
                },
                value,
            ));
        }
    }
    out
}

/// Reports `key` as missing from `s`, at the table's position.
pub(crate) fn missing(cx: &mut Cx<'_>, s: Section<'_>, key: &str, hint: &str) {
    cx.error(
        s.span(),
        s.field(key),
        format!("missing required key `{key}`{hint}"),
    );
}

/// Reports an unknown value for `key`, suggesting the closest known one.
pub(crate) fn unknown_value(
    cx: &mut Cx<'_>,
    s: Section<'_>,
    key: &str,
    v: &Spanned<String>,
    what: &str,
    known: &[&str],
) {
    let message = match suggest(&v.value, known) {
        Some(close) => format!("unknown {what} `{}`; did you mean `{close}`?", v.value),
        None => format!(
            "unknown {what} `{}`; expected one of: {}",
            v.value,
            known.join(", ")
        ),
    };
    cx.error(v.span.clone(), s.field(key), message);
}

/// `"1GiB"` → 1073741824. Units: B, KB/MB/GB/TB (powers of 1000), KiB/MiB/GiB/TiB (powers of
/// 1024), case-insensitive; a space before the unit is allowed.
pub(crate) fn parse_byte_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    number.checked_mul(factor)
}
