//! Query-string parameters: the filters every route shares ([`FILTERS`]) and the few a route adds.
//! The same specs drive parsing and the OpenAPI document, so the two cannot drift.

use axum::extract::FromRequestParts;
use chrono::{DateTime, Utc};
use http::request::Parts;
use serde_json::{Value, json};
use switchboard_core::Outcome;
use switchboard_store::{LogRecord, MAX_LIMIT, Query, StatusClass};

use super::ApiError;

/// What values a parameter takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// An RFC 3339 timestamp.
    DateTime,
    Text,
    Bool,
    /// An integer in `1..=max`.
    Count {
        max: u32,
    },
    /// One of these words; the first is the default when the parameter is absent.
    OneOf(&'static [&'static str]),
}

/// One query-string parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) kind: Kind,
}

impl Spec {
    /// The JSON Schema of the parameter's value, for the OpenAPI document.
    pub(crate) fn schema(&self) -> Value {
        match self.kind {
            Kind::DateTime => json!({"type": "string", "format": "date-time"}),
            Kind::Text => json!({"type": "string"}),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::Count { max } => json!({"type": "integer", "minimum": 1, "maximum": max}),
            Kind::OneOf(words) => json!({"type": "string", "enum": words, "default": words[0]}),
        }
    }
}

const fn spec(name: &'static str, kind: Kind, description: &'static str) -> Spec {
    Spec {
        name,
        description,
        kind,
    }
}

/// The filters every route accepts. Each narrows the set; none is required.
pub(crate) const FILTERS: &[Spec] = &[
    spec(
        "from",
        Kind::DateTime,
        "Requests started at or after this instant (RFC 3339).",
    ),
    spec(
        "to",
        Kind::DateTime,
        "Requests started strictly before this instant (RFC 3339).",
    ),
    spec(
        "status",
        Kind::OneOf(&["2xx", "4xx", "5xx"]),
        "Class of the final status sent to the client.",
    ),
    spec(
        "outcome",
        Kind::Text,
        "Exact outcome: ok, estimated, partial, client_closed, client_error, upstream_error, exhausted, rejected.",
    ),
    spec(
        "model",
        Kind::Text,
        "Requested or routed model (exact match on either).",
    ),
    spec(
        "endpoint",
        Kind::Text,
        "Name of the endpoint that answered (or was tried last).",
    ),
    spec(
        "client_key",
        Kind::Text,
        "Name of the client key the request came with.",
    ),
    spec(
        "session",
        Kind::Text,
        "A Claude Code session: the x-claude-code-session-id its requests carried.",
    ),
    spec("stream", Kind::Bool, "Streaming (true) or not (false)."),
    spec(
        "q",
        Kind::Text,
        "Free text: case-insensitive substring of the error message or, for audited requests, of the prompt text (the last user turn).",
    ),
    spec(
        "limit",
        Kind::Count { max: MAX_LIMIT },
        "Page size of /api/requests (default 50); the most records /api/export writes (default all); the most sessions /api/stats/breakdown?by=session answers (default all). Ignored elsewhere.",
    ),
    spec(
        "cursor",
        Kind::Text,
        "next_cursor of the previous page: continue after it.",
    ),
];

/// The `OneOf` words of `spec`; empty for other kinds.
fn words(spec: &Spec) -> &'static [&'static str] {
    match spec.kind {
        Kind::OneOf(w) => w,
        _ => &[],
    }
}

/// The raw query string as name/value pairs, decoded.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| Self(q.0))
            .map_err(|e| ApiError::bad("query", e.body_text()))
    }
}

impl Params {
    /// The last value given for `name`; an empty value counts as absent.
    fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Parses the shared filters, after checking that every parameter is either a filter or one
    /// of the route's `extras` (a misspelt filter must not silently widen the result).
    pub(crate) fn filter(&self, extras: &[Spec]) -> Result<Query, ApiError> {
        let known = |n: &str| FILTERS.iter().chain(extras).find(|s| s.name == n);
        for (name, _) in &self.0 {
            if known(name).is_none() {
                let mut expected: Vec<&str> =
                    FILTERS.iter().chain(extras).map(|s| s.name).collect();
                expected.sort_unstable();
                return Err(ApiError::BadParam {
                    name: "query",
                    message: format!(
                        "unknown parameter {name:?}; expected one of {}",
                        expected.join(", ")
                    ),
                });
            }
        }
        let query = Query {
            from: self.time("from")?,
            to: self.time("to")?,
            status_class: self
                .raw("status")
                .map(|s| {
                    s.parse::<StatusClass>()
                        .map_err(|_| ApiError::bad("status", "expected 2xx, 4xx or 5xx"))
                })
                .transpose()?,
            outcome: self
                .raw("outcome")
                .map(|s| {
                    s.parse::<Outcome>()
                        .map_err(|e| ApiError::bad("outcome", e.to_string()))
                })
                .transpose()?,
            model: self.text("model"),
            endpoint: self.text("endpoint"),
            client_key: self.text("client_key"),
            session: self.text("session"),
            stream: self
                .raw("stream")
                .map(|s| match s {
                    "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    _ => Err(ApiError::bad("stream", "expected true or false")),
                })
                .transpose()?,
            search: self.text("q"),
            limit: self.count("limit", MAX_LIMIT)?,
            cursor: self.text("cursor"),
            // Filters other crates add (client users and teams) are parsed where they are added.
            ..Query::default()
        };
        if let (Some(from), Some(to)) = (query.from, query.to)
            && to <= from
        {
            return Err(ApiError::bad("to", "must be later than from"));
        }
        Ok(query)
    }

    fn text(&self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_owned)
    }

    /// The value given for a route's own `Count` parameter.
    pub(crate) fn count_of(&self, spec: &Spec) -> Result<Option<u32>, ApiError> {
        match spec.kind {
            Kind::Count { max } => self.count(spec.name, max),
            _ => Ok(None),
        }
    }

    /// The value given for a route's own text parameter; an empty one counts as absent.
    pub(crate) fn text_of(&self, name: &str) -> Option<String> {
        self.text(name)
    }

    fn time(&self, name: &'static str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.raw(name)
            .map(|s| {
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        ApiError::bad(
                            name,
                            format!("not an RFC 3339 timestamp: {s:?} (e.g. 2025-01-31T00:00:00Z)"),
                        )
                    })
            })
            .transpose()
    }

    fn count(&self, name: &'static str, max: u32) -> Result<Option<u32>, ApiError> {
        self.raw(name)
            .map(|s| {
                s.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad(name, format!("expected an integer from 1 to {max}"))
                    })
            })
            .transpose()
    }

    /// The word given for the `OneOf` parameter `spec`, or its default.
    pub(crate) fn one_of(&self, spec: &Spec) -> Result<&'static str, ApiError> {
        let words = words(spec);
        match self.raw(spec.name) {
            None => Ok(words.first().copied().unwrap_or_default()),
            Some(v) => words.iter().copied().find(|w| *w == v).ok_or_else(|| {
                ApiError::bad(spec.name, format!("expected one of {}", words.join(", ")))
            }),
        }
    }
}

/// Whether `r` passes every filter of `q` (pagination aside): the live feed filters in memory
/// with the stores' semantics.
pub(crate) fn matches(q: &Query, r: &LogRecord) -> bool {
    let eq = |want: &Option<String>, have: Option<&String>| {
        want.as_ref().is_none_or(|w| have.is_some_and(|h| h == w))
    };
    q.from.is_none_or(|t| r.started_at >= t)
        && q.to.is_none_or(|t| r.started_at < t)
        && q.status_class.is_none_or(|c| {
            let (lo, hi) = match c {
                StatusClass::Success => (200, 300),
                StatusClass::ClientError => (400, 500),
                StatusClass::ServerError => (500, 600),
            };
            (lo..hi).contains(&r.status)
        })
        && q.outcome.is_none_or(|o| o == r.outcome)
        && q.model.as_ref().is_none_or(|m| {
            r.requested_model.as_ref() == Some(m) || r.routed_model.as_ref() == Some(m)
        })
        && eq(&q.endpoint, r.endpoint.as_ref())
        && eq(&q.client_key, r.client_key.as_ref())
        && eq(&q.session, r.session_id.as_ref())
        && q.stream.is_none_or(|s| r.stream == s)
        && q.search.as_ref().is_none_or(|s| {
            r.error
                .as_ref()
                .is_some_and(|e| e.to_lowercase().contains(&s.to_lowercase()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        )
    }

    fn err(p: &Params) -> String {
        p.filter(&[]).expect_err("should be rejected").to_string()
    }

    #[test]
    fn names_the_bad_parameter() {
        assert!(err(&params(&[("from", "yesterday")])).starts_with("from: not an RFC 3339"));
        assert_eq!(
            err(&params(&[("status", "3xx")])),
            "status: expected 2xx, 4xx or 5xx"
        );
        assert_eq!(
            err(&params(&[("limit", "0")])),
            "limit: expected an integer from 1 to 1000"
        );
        assert_eq!(
            err(&params(&[("stream", "yes")])),
            "stream: expected true or false"
        );
        assert!(err(&params(&[("modle", "x")])).starts_with("query: unknown parameter \"modle\""));
        assert_eq!(
            err(&params(&[
                ("from", "2025-01-02T00:00:00Z"),
                ("to", "2025-01-01T00:00:00Z")
            ])),
            "to: must be later than from"
        );
    }

    #[test]
    fn empty_values_are_absent() {
        let q = params(&[("model", ""), ("stream", "")])
            .filter(&[])
            .expect("valid");
        assert_eq!(q, Query::default());
    }

    #[test]
    fn every_filter_maps_to_the_query() {
        let q = params(&[
            ("from", "2025-01-01T00:00:00+01:00"),
            ("to", "2025-01-02T00:00:00Z"),
            ("status", "5xx"),
            ("outcome", "exhausted"),
            ("model", "m"),
            ("endpoint", "e"),
            ("client_key", "k"),
            ("session", "s-1"),
            ("stream", "false"),
            ("q", "boom"),
            ("limit", "7"),
            ("cursor", "c"),
        ])
        .filter(&[])
        .expect("valid");
        assert_eq!(q.session.as_deref(), Some("s-1"));
        assert_eq!(
            q.from.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-12-31T23:00:00+00:00")
        );
        assert_eq!(q.status_class, Some(StatusClass::ServerError));
        assert_eq!(q.stream, Some(false));
        assert_eq!(q.search.as_deref(), Some("boom"));
        assert_eq!(q.limit, Some(7));
        assert_eq!(q.cursor.as_deref(), Some("c"));
    }

    #[test]
    fn one_of_defaults_to_the_first_word() {
        let bucket = spec("bucket", Kind::OneOf(&["hour", "day"]), "");
        assert_eq!(params(&[]).one_of(&bucket).expect("default"), "hour");
        assert_eq!(
            params(&[("bucket", "day")]).one_of(&bucket).expect("day"),
            "day"
        );
        assert_eq!(
            params(&[("bucket", "week")])
                .one_of(&bucket)
                .expect_err("week")
                .to_string(),
            "bucket: expected one of hour, day"
        );
    }

    #[test]
    fn in_memory_match_follows_the_filters() {
        let mut r = LogRecord::new("POST", "/v1/messages", "anthropic");
        r.status = 502;
        r.outcome = Outcome::Exhausted;
        r.routed_model = Some("m".into());
        r.error = Some("Upstream BOOM".into());
        r.session_id = Some("s-1".into());
        let q = |pairs: &[(&str, &str)]| params(pairs).filter(&[]).expect("valid");
        assert!(matches(&q(&[]), &r));
        assert!(matches(
            &q(&[
                ("status", "5xx"),
                ("model", "m"),
                ("q", "boom"),
                ("session", "s-1")
            ]),
            &r
        ));
        assert!(!matches(&q(&[("session", "s-2")]), &r));
        assert!(!matches(&q(&[("status", "2xx")]), &r));
        assert!(!matches(&q(&[("client_key", "k")]), &r));
        assert!(!matches(&q(&[("stream", "true")]), &r));
        assert!(!matches(&q(&[("q", "other")]), &r));
    }
}
