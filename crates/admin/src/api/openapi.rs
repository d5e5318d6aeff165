//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the query API, the contract the
//! dashboard and users' scripts build on. Paths come from [`super::routes`] and parameters from
//! the same [`Spec`]s the handlers parse with; tests check both directions and validate real
//! responses against the schemas here.

use axum::Json;
use serde_json::{Map, Value, json};

use switchboard_core::Access;

use super::openapi_admin;
use super::params::{FILTERS, Spec};
use super::{export, live, local, report, routes, stats};

pub(crate) async fn document() -> Json<Value> {
    Json(openapi())
}

/// The whole document: every route of the control plane (`crate::routes`), the query API's
/// with the filters they share.
pub(crate) fn openapi() -> Value {
    let query_paths: Vec<&str> = routes().into_iter().map(|r| r.path).collect();
    let mut paths = Map::new();
    for route in crate::routes::routes() {
        let path = route.path.replace("{*path}", "{path}");
        let method = route.method.to_ascii_lowercase();
        let op = if route.method == "GET" && query_paths.contains(&route.path) {
            operation(route.path)
        } else {
            admin_operation(route.method, &path)
        };
        let Some(mut op) = op else { continue };
        op["security"] = security(route.access);
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[method] = op;
    }
    let mut parameters = Map::new();
    for f in FILTERS {
        parameters.insert(f.name.to_owned(), parameter(f));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Switchboard control plane",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Everything the dashboard does, as any script can: the request log (list, detail, statistics, time series in the caller's time zone, failovers, cache hit ratios, a live feed, exports and reports — every route takes the same filters), the endpoints and settings (written back to the configuration file, with optimistic concurrency: If-Match carries the file's version), replay, users, sessions and secrets. Every route needs an admin: the session cookie (with the x-csrf-token header on state changes) or the local credential as a Bearer token (the CLI's). Errors are {\"error\": {\"type\", \"message\"}}; a 400's message starts with the name of the bad parameter; a 409 of the configuration file adds current_version and diff.",
        },
        "paths": paths,
        "components": {
            "parameters": parameters,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "sb_session", "description": "The dashboard's session cookie (sb_session_PORT on a gateway that knows its port), set by /ui/login or POST /api/admin/login."},
                "csrf": {"type": "apiKey", "in": "header", "name": "x-csrf-token", "description": "The session's CSRF token (GET /api/admin/session), required with the cookie on every state change."},
                "bearer": {"type": "http", "scheme": "bearer", "description": "The local admin credential (the data directory's admin.token), as the CLI sends it."},
            },
            "responses": {
                "BadRequest": error_response("A parameter or the body is wrong; the message says which and why."),
                "Unauthorized": error_response("No admin credential, or not valid any more."),
                "Forbidden": error_response("A foreign Host, a missing CSRF token, or not allowed."),
                "NotFound": error_response("No such request, endpoint, user or secret."),
                "Conflict": error_response("The change conflicts with what is there; for the configuration file, its current_version and the diff of what changed underneath."),
                "Unavailable": error_response("The gateway runs without a log store."),
                "Internal": error_response("The store or the server failed."),
            },
            "schemas": schemas(),
        },
    })
}

/// Who may call a route, as OpenAPI security requirements.
fn security(access: Access) -> Value {
    match access {
        Access::Admin { mutates: true } | Access::Member { mutates: true } => {
            json!([{"session": [], "csrf": []}, {"bearer": []}])
        }
        Access::Admin { mutates: false } | Access::Member { mutates: false } => {
            json!([{"session": []}, {"bearer": []}])
        }
        _ => json!([{}]),
    }
}

/// An admin route's operation (see [`openapi_admin::op`]).
fn admin_operation(method: &str, path: &str) -> Option<Value> {
    let o = openapi_admin::op(method, path)?;
    let mut params: Vec<Value> = path_params(path);
    params.extend(openapi_admin::header_params(path, method));
    params.extend(o.query.iter().map(|(name, description, schema)| {
        json!({"name": name, "in": "query", "required": true, "description": description, "schema": schema})
    }));
    params.extend(o.optional_query.iter().map(|(name, description, schema)| {
        json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
    }));
    let mut op = json!({
        "operationId": o.id,
        "summary": o.summary,
        "parameters": params,
        "responses": {
            "200": {"description": "Done.", "content": o.ok},
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "404": {"$ref": "#/components/responses/NotFound"},
            "409": {"$ref": "#/components/responses/Conflict"},
            "500": {"$ref": "#/components/responses/Internal"},
        },
    });
    if let Some(body) = o.body {
        op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": body}}});
    }
    Some(op)
}

/// The `{name}` segments of `path` as path parameters.
fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let own = crate::claude::openapi::path_param(path, name);
            let (description, schema) = own.unwrap_or_else(|| match name {
                "id" if path.starts_with("/api/admin/sessions") => ("The session's id.", json!({"type": "string", "format": "uuid"})),
                "id" => ("The request id.", json!({"type": "string", "format": "uuid"})),
                "name" if path.starts_with("/api/admin/users") => ("The user's name.", json!({"type": "string"})),
                "name" if path.starts_with("/api/admin/secrets") => ("The secret's name.", json!({"type": "string"})),
                "name" => ("The endpoint's name.", json!({"type": "string"})),
                _ => ("The file's path under /ui/.", json!({"type": "string"})),
            });
            json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
        })
        .collect()
}

fn parameter(spec: &Spec) -> Value {
    json!({
        "name": spec.name,
        "in": "query",
        "required": false,
        "description": spec.description,
        "schema": spec.schema(),
    })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

/// The operation of `path`, or `None` for a path this document does not know (a test fails).
fn operation(path: &str) -> Option<Value> {
    let (id, summary, extras, ok): (&str, &str, &[Spec], Value) = match path {
        "/api/requests" => (
            "listRequests",
            "Matching requests, newest first, with their attempts; keyset pagination via next_cursor.",
            &[],
            json!({"description": "One page.", "content": json_content(schema_ref("Page"))}),
        ),
        "/api/requests/{id}" => (
            "getRequest",
            "One request with its attempts, and what the audit captured: bodies and, for streams, the chunk timeline.",
            &[],
            json!({"description": "The request.", "content": json_content(schema_ref("RequestDetail"))}),
        ),
        "/api/stats" => (
            "getStats",
            "Totals over the matching requests: counts, success rate, tokens by kind, cost, latency and TTFB percentiles, cache hit ratio.",
            &[],
            json!({"description": "The totals.", "content": json_content(schema_ref("Stats"))}),
        ),
        "/api/stats/timeseries" => (
            "getTimeseries",
            "Totals per local hour or day of tz (UTC by default; DST and half-hour zones included), oldest first, non-empty buckets only, each with its UTC start and local label. From the hourly rollups on SQLite.",
            &[stats::BUCKET, local::TZ],
            json!({"description": "The buckets.", "content": json_content(schema_ref("Timeseries"))}),
        ),
        "/api/stats/breakdown" => (
            "getBreakdown",
            "Totals per model, endpoint or client key, most requests first, with each group's cache hit ratio.",
            &[stats::BY],
            json!({"description": "The groups.", "content": json_content(schema_ref("Breakdown"))}),
        ),
        "/api/stats/heatmap" => (
            "getHeatmap",
            "Tokens by kind, requests and cost per local day of tz over the last 365 days (within from/to when given), days with requests only, from the hourly rollups on SQLite.",
            &[local::TZ],
            json!({"description": "The days.", "content": json_content(schema_ref("Heatmap"))}),
        ),
        "/api/stats/failovers" => (
            "getFailovers",
            "Requests that moved from one endpoint to another, and each move (from, to, the failed attempt's error class or status, the router's disposition) with its count, most frequent first. Reads only requests that failed over (an index of their own), the newest `limit` at most: `truncated` and `covered_from` say when the range held more.",
            &[],
            json!({"description": "The failovers.", "content": json_content(schema_ref("Failovers"))}),
        ),
        "/api/stats/cache" => (
            "getCacheRatio",
            "Prompt-cache figures per endpoint and local bucket: cache reads, writes, uncached input, and hit_ratio = cache_read / prompt_tokens with each provider's own prompt: Anthropic cache_read + cache_creation + input; OpenAI-compatible and Gemini input + cache_read (their prompt_tokens, of which cached_tokens is a part; the log stores input without the cached part).",
            &[stats::BUCKET, local::TZ],
            json!({"description": "The rows.", "content": json_content(schema_ref("Cache"))}),
        ),
        "/api/live" => (
            "liveFeed",
            "Server-Sent Events. `event: request` carries a Request (outcome `in_progress` while a stream runs, then the completed record); `event: totals` carries Stats over the same filters, on connect and at most every 2 s while requests come; `event: lagged` carries {\"skipped\": n} when this subscriber fell behind and lost n events; `event: coalesced` carries {\"skipped\": n} request events not sent past max_rate. Each request event's SSE id is its record's id: reconnecting with Last-Event-ID first replays the stored records from that one on (oldest first, at most 500).",
            &[live::MAX_RATE],
            json!({
                "description": "An endless event stream.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }),
        ),
        "/api/export" => (
            "exportRequests",
            "The matching requests as a file (Content-Disposition: attachment), streamed.",
            &[export::FORMAT, export::COMPRESS],
            json!({
                "description": "The file.",
                "content": {
                    "application/json": {"schema": {"type": "array", "items": schema_ref("Request")}},
                    "application/x-ndjson": {"schema": {"type": "string", "description": "One Request per line."}},
                    "text/csv": {"schema": {"type": "string", "description": format!("Columns: {}.", export::CSV_COLUMNS.join(", "))}},
                    "application/gzip": {"schema": {"type": "string", "contentEncoding": "binary"}},
                    "application/zstd": {"schema": {"type": "string", "contentEncoding": "binary"}},
                },
            }),
        ),
        "/api/report" => (
            "getReport",
            "An analysis of the matching requests: summary, cost by day, top models, errors, slowest requests, cache efficiency by endpoint.",
            &[report::FORMAT],
            json!({
                "description": "The report.",
                "content": {
                    "text/markdown": {"schema": {"type": "string"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            }),
        ),
        "/api/openapi.json" => (
            "getOpenApi",
            "This document.",
            &[],
            json!({"description": "The OpenAPI 3.1 document.", "content": json_content(json!({"type": "object"}))}),
        ),
        _ => return None,
    };
    let mut params: Vec<Value> = FILTERS
        .iter()
        .map(|f| json!({"$ref": format!("#/components/parameters/{}", f.name)}))
        .collect();
    params.extend(extras.iter().map(parameter));
    let mut responses = json!({
        "200": ok,
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"$ref": "#/components/responses/Forbidden"},
        "500": {"$ref": "#/components/responses/Internal"},
        "503": {"$ref": "#/components/responses/Unavailable"},
    });
    if path.contains("{id}") {
        params.push(json!({
            "name": "id", "in": "path", "required": true,
            "description": "The request id.",
            "schema": {"type": "string", "format": "uuid"},
        }));
        responses["404"] = json!({"$ref": "#/components/responses/NotFound"});
    }
    Some(json!({
        "operationId": id,
        "summary": summary,
        "parameters": params,
        "responses": responses,
    }))
}

fn nullable(ty: &str) -> Value {
    json!({"type": [ty, "null"]})
}

fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// An object schema whose properties are all required and which admits no others: a response
/// field missing here fails the schema tests, so the document cannot fall behind the code.
fn object(props: &[(&str, Value)]) -> Value {
    let mut properties = Map::new();
    for (k, v) in props {
        properties.insert((*k).to_owned(), v.clone());
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": props.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        "additionalProperties": false,
    })
}

/// The fields of every set of totals (whole set, time bucket, group).
fn totals() -> Vec<(&'static str, Value)> {
    vec![
        ("requests", count()),
        ("ok", count()),
        ("errors", count()),
        ("input_tokens", count()),
        ("output_tokens", count()),
        ("cache_creation_input_tokens", count()),
        ("cache_read_input_tokens", count()),
        (
            "cost_usd",
            json!({"type": "number", "description": "Sum over requests with a known cost."}),
        ),
        (
            "unknown_cost_requests",
            json!({"type": "integer", "minimum": 0, "description": "Requests whose model has no known price, not in cost_usd."}),
        ),
    ]
}

fn ratios() -> Vec<(&'static str, Value)> {
    vec![
        ("success_rate", nullable("number")),
        (
            "cache_hit_ratio",
            json!({"type": ["number", "null"], "description": "cache_read_input_tokens / (input_tokens + cache_creation_input_tokens + cache_read_input_tokens)."}),
        ),
    ]
}

fn schemas() -> Value {
    let string = || json!({"type": "string"});
    let attempt = object(&[
        ("endpoint", string()),
        ("model", nullable("string")),
        ("status", nullable("integer")),
        ("latency_ms", count()),
        ("error", nullable("string")),
        (
            "disposition",
            json!({"type": "string", "description": "ok, retry, cooldown, next, returned, repair, skipped, partial, unsupported."}),
        ),
        (
            "offset_ms",
            json!({"type": ["integer", "null"], "minimum": 0, "description": "When the attempt was sent, ms after the request arrived (null for attempts logged before this was recorded)."}),
        ),
        (
            "first_byte_ms",
            json!({"type": ["integer", "null"], "minimum": 0, "description": "From sending to the upstream's answer (its status; for a stream, its first event); null when it never answered. Connect time is not measured apart (connections are pooled)."}),
        ),
        (
            "stream_ms",
            json!({"type": ["integer", "null"], "minimum": 0, "description": "For the attempt streamed to the client: how long the rest of the stream took."}),
        ),
        (
            "error_class",
            json!({"type": ["string", "null"], "description": "429 rate_limit_error, 529 overloaded_error, timeout, connect, protocol, unsupported, cooling_down…; null for a success."}),
        ),
    ]);
    let request_props = vec![
        ("id", json!({"type": "string", "format": "uuid"})),
        (
            "started_at",
            json!({"type": "string", "format": "date-time"}),
        ),
        ("client_addr", nullable("string")),
        ("client_key", nullable("string")),
        (
            "client_user",
            json!({"type": ["string", "null"], "description": "The user the client key belongs to."}),
        ),
        (
            "client_team",
            json!({"type": ["string", "null"], "description": "The team the client key belongs to."}),
        ),
        ("user_agent", nullable("string")),
        ("session_id", nullable("string")),
        ("method", string()),
        ("path", string()),
        ("client_dialect", string()),
        ("requested_model", nullable("string")),
        ("routed_model", nullable("string")),
        ("endpoint", nullable("string")),
        ("stream", json!({"type": "boolean"})),
        ("status", count()),
        (
            "outcome",
            json!({"type": "string", "description": "ok, client_error, upstream_error, exhausted, partial, client_closed, rejected; in_progress on the live feed only."}),
        ),
        ("error", nullable("string")),
        ("stop_reason", nullable("string")),
        (
            "ttfb_ms",
            json!({"type": ["integer", "null"], "minimum": 0}),
        ),
        ("latency_ms", count()),
        ("input_tokens", count()),
        ("output_tokens", count()),
        ("cache_creation_input_tokens", count()),
        ("cache_read_input_tokens", count()),
        ("cost_usd", nullable("number")),
        ("request_bytes", count()),
        ("response_bytes", count()),
        (
            "attempts",
            json!({"type": "array", "items": schema_ref("Attempt")}),
        ),
        (
            "replay_of",
            json!({"type": ["string", "null"], "format": "uuid", "description": "The request this one replayed (POST /api/admin/requests/{id}/replay)."}),
        ),
    ];
    let request = object(&request_props);
    let mut detail_props = request_props.clone();
    detail_props.push((
        "audit",
        json!({"type": "array", "items": schema_ref("AuditEntry"), "description": "In capture order; empty when audit was off."}),
    ));
    detail_props.push((
        "timeline",
        object(&[
            ("first_byte_ms", json!({"type": ["integer", "null"], "minimum": 0})),
            ("first_token_ms", json!({"type": ["integer", "null"], "minimum": 0, "description": "The client response's first chunk with content (needs the audited stream)."})),
        ]),
    ));
    let audit_entry = object(&[
        (
            "kind",
            json!({"type": "string", "enum": ["client_request", "upstream_request", "upstream_response", "client_response"]}),
        ),
        (
            "attempt",
            json!({"type": ["integer", "null"], "minimum": 0, "description": "Index in the failover chain, for upstream entries."}),
        ),
        ("endpoint", nullable("string")),
        ("method", nullable("string")),
        ("url", nullable("string")),
        ("status", nullable("integer")),
        (
            "headers",
            json!({"type": "array", "description": "[name, value] pairs in order; secrets masked.", "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}}),
        ),
        (
            "body",
            json!({"type": "string", "description": "The whole body as text (invalid UTF-8 replaced)."}),
        ),
        (
            "chunks",
            json!({"type": "array", "description": "Streams only: each chunk and when it arrived (upstream) or was sent (client), in ms since the request started.", "items": object(&[("offset_ms", count()), ("data", string())])}),
        ),
        ("truncated", json!({"type": "boolean"})),
        ("note", nullable("string")),
        (
            "first_content_ms",
            json!({"type": ["integer", "null"], "minimum": 0, "description": "Streams: the offset of the first chunk carrying content (the first token), against chunks[0] (the first byte)."}),
        ),
    ]);
    let percentiles = object(&[
        ("p50", json!({"type": ["integer", "null"], "minimum": 0})),
        ("p95", json!({"type": ["integer", "null"], "minimum": 0})),
        ("p99", json!({"type": ["integer", "null"], "minimum": 0})),
    ]);
    let mut stats_props = totals();
    stats_props.extend(ratios());
    stats_props.push(("latency_ms", schema_ref("Percentiles")));
    stats_props.push(("ttfb_ms", schema_ref("Percentiles")));
    let mut bucket_props = vec![
        ("start", json!({"type": "string", "format": "date-time"})),
        (
            "label",
            json!({"type": "string", "description": "The local day (2026-01-31) or hour (2026-01-31T14:00+01:00) in tz."}),
        ),
    ];
    bucket_props.extend(totals());
    bucket_props.extend(ratios());
    let mut group_props = vec![(
        "key",
        json!({"type": ["string", "null"], "description": "null for requests without a value."}),
    )];
    group_props.extend(totals());
    group_props.extend(ratios());
    group_props.push((
        "first_seen",
        json!({"type": "string", "format": "date-time", "description": "by=session: when its first request started."}),
    ));
    group_props.push((
        "last_seen",
        json!({"type": "string", "format": "date-time", "description": "by=session: when its last request started."}),
    ));
    let mut breakdown_row = object(&group_props);
    // Only sessions say when.
    if let Some(Value::Array(required)) = breakdown_row.get_mut("required") {
        required.retain(|name| name != "first_seen" && name != "last_seen");
    }
    let mut all = json!({
        "Error": {
            "type": "object",
            "properties": {
                "error": object(&[
                    ("type", json!({"type": "string", "enum": ["invalid_parameter", "invalid_request", "invalid_config", "unauthorized", "forbidden", "foreign_host", "csrf", "rate_limited", "not_found", "conflict", "version_conflict", "unavailable", "internal"]})),
                    ("message", string()),
                ]),
                "current_version": {"type": "string", "description": "version_conflict: the file's version now."},
                "diff": {"type": ["string", "null"], "description": "version_conflict: unified diff from the version the caller saw to the file's (null when that version is not remembered)."},
            },
            "required": ["error"],
            "additionalProperties": false,
        },
        "Heatmap": object(&[
            ("tz", string()),
            ("from", json!({"type": "string", "description": "The first local day covered."})),
            ("days", json!({"type": "array", "items": object(&[
                ("date", string()),
                ("start", json!({"type": "string", "format": "date-time"})),
                ("requests", count()),
                ("input_tokens", count()),
                ("output_tokens", count()),
                ("cache_creation_input_tokens", count()),
                ("cache_read_input_tokens", count()),
                ("cost_usd", json!({"type": "number"})),
            ])})),
        ]),
        "Failovers": object(&[
            ("requests_with_failover", count()),
            ("transitions", json!({"type": "array", "items": object(&[
                ("from", string()),
                ("to", string()),
                ("reason", string()),
                ("disposition", string()),
                ("count", count()),
            ])})),
            ("truncated", json!({"type": "boolean"})),
            ("covered_from", json!({"type": ["string", "null"], "format": "date-time"})),
            ("limit", count()),
        ]),
        "Cache": object(&[
            ("bucket", json!({"type": "string", "enum": ["hour", "day"]})),
            ("tz", string()),
            ("rows", json!({"type": "array", "items": object(&[
                ("start", json!({"type": "string", "format": "date-time"})),
                ("label", string()),
                ("endpoint", nullable("string")),
                ("kind", json!({"type": ["string", "null"], "enum": ["anthropic", "openai", "gemini", null]})),
                ("denominator", json!({"type": "string", "enum": ["anthropic", "prompt_tokens"]})),
                ("cache_read_input_tokens", count()),
                ("cache_creation_input_tokens", count()),
                ("input_tokens", count()),
                ("prompt_tokens", count()),
                ("hit_ratio", nullable("number")),
            ])})),
        ]),
        "Attempt": attempt,
        "Request": request,
        "RequestDetail": object(&detail_props),
        "AuditEntry": audit_entry,
        "Page": object(&[
            ("records", json!({"type": "array", "items": schema_ref("Request")})),
            ("next_cursor", json!({"type": ["string", "null"], "description": "Pass as cursor for the next page; null on the last page."})),
        ]),
        "Percentiles": percentiles,
        "Stats": object(&stats_props),
        "TimeBucket": object(&bucket_props),
        "Timeseries": object(&[
            ("bucket", json!({"type": "string", "enum": ["hour", "day"]})),
            ("tz", string()),
            ("buckets", json!({"type": "array", "items": schema_ref("TimeBucket")})),
        ]),
        "BreakdownRow": breakdown_row,
        "Breakdown": object(&[
            ("by", json!({"type": "string", "enum": ["model", "endpoint", "client_key", "session"]})),
            ("rows", json!({"type": "array", "items": schema_ref("BreakdownRow")})),
        ]),
    });
    if let (Some(m), Value::Object(admin)) = (all.as_object_mut(), openapi_admin::schemas()) {
        m.extend(admin);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_every_route_and_nothing_else() {
        let doc = openapi();
        let mut documented: Vec<(String, String)> = doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .map(move |m| (m.to_ascii_uppercase(), path.clone()))
            })
            .collect();
        let mut registered: Vec<(String, String)> = crate::routes::routes()
            .into_iter()
            .map(|r| (r.method.to_owned(), r.path.replace("{*path}", "{path}")))
            .collect();
        registered.sort();
        documented.sort();
        assert_eq!(registered, documented);
    }

    #[test]
    fn every_reference_resolves() {
        fn walk(v: &Value, doc: &Value) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        let pointer = r.strip_prefix('#').expect("local ref");
                        assert!(doc.pointer(pointer).is_some(), "dangling {r}");
                    }
                    m.values().for_each(|v| walk(v, doc));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, doc)),
                _ => {}
            }
        }
        let doc = openapi();
        walk(&doc, &doc);
    }
}
