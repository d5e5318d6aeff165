//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the query API, the contract the
//! dashboard and users' scripts build on. Paths come from [`super::routes`] and parameters from
//! the same [`Spec`]s the handlers parse with; tests check both directions and validate real
//! responses against the schemas here.

use axum::Json;
use serde_json::{Map, Value, json};

use super::params::{FILTERS, Spec};
use super::{export, report, routes, stats};

pub(crate) async fn document() -> Json<Value> {
    Json(openapi())
}

/// The whole document.
pub(crate) fn openapi() -> Value {
    let mut paths = Map::new();
    for route in routes() {
        if let Some(op) = operation(route.path) {
            paths.insert(route.path.to_owned(), json!({ "get": op }));
        }
    }
    let mut parameters = Map::new();
    for f in FILTERS {
        parameters.insert(f.name.to_owned(), parameter(f));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Switchboard query API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The request log of a Switchboard gateway: list, detail, statistics, a live feed, exports and reports. Every route takes the same filters. Until admin login exists the API answers only on loopback, and requires the gateway's auth_token (as x-api-key or a Bearer token) when one is configured. Errors are {\"error\": {\"type\", \"message\"}}; a 400's message starts with the name of the bad parameter.",
        },
        "security": [{"apiKey": []}, {"bearer": []}, {}],
        "paths": paths,
        "components": {
            "parameters": parameters,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "responses": {
                "BadRequest": error_response("A parameter is unknown or has a bad value; the message names it."),
                "Unauthorized": error_response("The gateway has an auth_token and the request did not carry it."),
                "Forbidden": error_response("The peer is not on loopback."),
                "NotFound": error_response("No such request."),
                "Unavailable": error_response("The gateway runs without a log store."),
                "Internal": error_response("The log store failed."),
            },
            "schemas": schemas(),
        },
    })
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
            "Totals per UTC hour or day, oldest first, non-empty buckets only.",
            &[stats::BUCKET],
            json!({"description": "The buckets.", "content": json_content(schema_ref("Timeseries"))}),
        ),
        "/api/stats/breakdown" => (
            "getBreakdown",
            "Totals per model, endpoint or client key, most requests first, with each group's cache hit ratio.",
            &[stats::BY],
            json!({"description": "The groups.", "content": json_content(schema_ref("Breakdown"))}),
        ),
        "/api/live" => (
            "liveFeed",
            "Server-Sent Events. `event: request` carries a Request (outcome `in_progress` while a stream runs, then the completed record); `event: totals` carries Stats over the same filters, on connect and at most every 2 s while requests come; `event: lagged` carries {\"skipped\": n} when this subscriber fell behind and lost n events.",
            &[],
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
            json!({"type": "string", "description": "ok, retry, cooldown, next, returned, partial, unsupported."}),
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
    ];
    let request = object(&request_props);
    let mut detail_props = request_props.clone();
    detail_props.push((
        "audit",
        json!({"type": "array", "items": schema_ref("AuditEntry"), "description": "In capture order; empty when audit was off."}),
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
    let mut bucket_props = vec![("start", json!({"type": "string", "format": "date-time"}))];
    bucket_props.extend(totals());
    bucket_props.extend(ratios());
    let mut group_props = vec![(
        "key",
        json!({"type": ["string", "null"], "description": "null for requests without a value."}),
    )];
    group_props.extend(totals());
    group_props.extend(ratios());
    json!({
        "Error": object(&[(
            "error",
            object(&[
                ("type", json!({"type": "string", "enum": ["invalid_parameter", "unauthorized", "forbidden", "not_found", "unavailable", "internal"]})),
                ("message", string()),
            ]),
        )]),
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
            ("buckets", json!({"type": "array", "items": schema_ref("TimeBucket")})),
        ]),
        "BreakdownRow": object(&group_props),
        "Breakdown": object(&[
            ("by", json!({"type": "string", "enum": ["model", "endpoint", "client_key"]})),
            ("rows", json!({"type": "array", "items": schema_ref("BreakdownRow")})),
        ]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_every_route_and_nothing_else() {
        let doc = openapi();
        let documented: Vec<&str> = doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(String::as_str)
            .collect();
        let mut registered: Vec<&str> =
            super::super::routes().into_iter().map(|r| r.path).collect();
        registered.sort_unstable();
        let mut documented_sorted = documented.clone();
        documented_sorted.sort_unstable();
        assert_eq!(registered, documented_sorted);
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
