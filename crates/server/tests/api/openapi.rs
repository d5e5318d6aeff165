//! The OpenAPI document: its paths are the routes, and real responses validate against its
//! schemas (with a small JSON Schema validator that refuses keywords it does not know).

use super::*;

/// A small JSON Schema (2020-12 subset) validator: the keywords our document uses, and an error
/// for any other, so that a schema can't pass by using a keyword this check ignores.
fn validate(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let obj = schema
        .as_object()
        .ok_or_else(|| format!("{at}: schema is not an object"))?;
    for (k, s) in obj {
        match k.as_str() {
            "$ref" => {
                let pointer = s
                    .as_str()
                    .and_then(|r| r.strip_prefix('#'))
                    .ok_or_else(|| format!("{at}: non-local $ref"))?;
                let target = doc
                    .pointer(pointer)
                    .ok_or_else(|| format!("{at}: dangling $ref {pointer}"))?;
                validate(doc, target, v, at)?;
            }
            "type" => {
                let types: Vec<&str> = match s {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => return Err(format!("{at}: bad type keyword")),
                };
                let ok = types.iter().any(|t| match *t {
                    "null" => v.is_null(),
                    "boolean" => v.is_boolean(),
                    "string" => v.is_string(),
                    "number" => v.is_number(),
                    "integer" => v.is_u64() || v.is_i64(),
                    "array" => v.is_array(),
                    "object" => v.is_object(),
                    _ => false,
                });
                if !ok {
                    return Err(format!("{at}: {v} is not of type {types:?}"));
                }
            }
            "properties" => {
                if let (Some(props), Some(o)) = (s.as_object(), v.as_object()) {
                    for (name, ps) in props {
                        if let Some(pv) = o.get(name) {
                            validate(doc, ps, pv, &format!("{at}.{name}"))?;
                        }
                    }
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for name in s.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        if !o.contains_key(name) {
                            return Err(format!("{at}: missing required {name}"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = v.as_object() {
                    let declared = obj.get("properties").and_then(Value::as_object);
                    for (name, pv) in o {
                        if declared.is_some_and(|d| d.contains_key(name)) {
                            continue;
                        }
                        match s {
                            Value::Bool(false) => {
                                return Err(format!("{at}: undeclared property {name}"));
                            }
                            Value::Bool(true) => {}
                            extra => validate(doc, extra, pv, &format!("{at}.{name}"))?,
                        }
                    }
                }
            }
            "items" => {
                for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                    validate(doc, s, item, &format!("{at}[{i}]"))?;
                }
            }
            "minItems" | "maxItems" => {
                if let (Some(a), Some(n)) = (v.as_array(), s.as_u64()) {
                    let len = a.len() as u64;
                    if (k == "minItems" && len < n) || (k == "maxItems" && len > n) {
                        return Err(format!("{at}: {len} items violates {k} {n}"));
                    }
                }
            }
            "enum" => {
                if !s.as_array().is_some_and(|e| e.contains(v)) {
                    return Err(format!("{at}: {v} not in {s}"));
                }
            }
            "minimum" | "maximum" => {
                if let (Some(x), Some(bound)) = (v.as_f64(), s.as_f64())
                    && ((k == "minimum" && x < bound) || (k == "maximum" && x > bound))
                {
                    return Err(format!("{at}: {x} violates {k} {bound}"));
                }
            }
            "format" => {
                if let Some(text) = v.as_str() {
                    let ok = match s.as_str() {
                        Some("date-time") => DateTime::parse_from_rfc3339(text).is_ok(),
                        Some("uuid") => text.parse::<Uuid>().is_ok(),
                        _ => false,
                    };
                    if !ok {
                        return Err(format!("{at}: {text:?} is not a {s}"));
                    }
                }
            }
            "description" | "default" | "contentEncoding" => {}
            other => return Err(format!("{at}: keyword {other} unsupported by this check")),
        }
    }
    Ok(())
}

pub(crate) fn check(doc: &Value, schema_name: &str, v: &Value) {
    let schema = json!({"$ref": format!("#/components/schemas/{schema_name}")});
    if let Err(e) = validate(doc, &schema, v, schema_name) {
        panic!("response does not match {schema_name}: {e}\n{v:#}");
    }
}

#[tokio::test]
async fn openapi_documents_exactly_the_routes() {
    let api = api().await;
    let doc = api.ok("/api/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    // Every route of the control plane, each method of it, and nothing else.
    let documented_ops: BTreeSet<(String, String)> = doc["paths"]
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
    let registered_ops: BTreeSet<(String, String)> = switchboard_admin::routes()
        .into_iter()
        .map(|r| (r.method.to_owned(), r.path.replace("{*path}", "{path}")))
        .collect();
    assert_eq!(documented_ops, registered_ops);
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}"
            );
            assert!(op["responses"]["200"].is_object(), "{method} {path}");
            assert!(op["security"].is_array(), "{method} {path}");
            if method != "get" && !path.starts_with("/ui") && path != "/api/admin/login" {
                // State changes: the session's CSRF header with the cookie, or the bearer.
                assert_eq!(
                    op["security"],
                    json!([{"session": [], "csrf": []}, {"bearer": []}]),
                    "{method} {path}"
                );
            }
        }
    }
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    // The query API: the control plane's GET routes under /api/ (not /api/admin/).
    let registered: BTreeSet<&str> = switchboard_admin::routes()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/api/"))
        .filter(|r| !r.path.starts_with("/api/admin/"))
        .map(|r| r.path)
        .collect();
    assert!(registered.is_subset(&documented));
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !registered.contains(path.as_str()) {
            continue;
        }
        let methods: Vec<&String> = item.as_object().expect("path item").keys().collect();
        assert_eq!(methods, vec!["get"], "{path}");
        // Each documented path is routed (not the router's bare 404) and answers GET.
        let uri = path.replace("{id}", &Uuid::nil().to_string());
        let uri = if path == "/api/live" {
            // An endless stream: check the status only.
            let resp = api
                .app
                .clone()
                .oneshot(
                    Request::get(&uri)
                        .header("host", "127.0.0.1")
                        .header("authorization", format!("Bearer {}", api.admin_token))
                        .body(Body::empty())
                        .expect("req"),
                )
                .await
                .expect("infallible");
            assert_eq!(resp.status(), StatusCode::OK);
            continue;
        } else {
            uri
        };
        let (status, headers, _) = api.get_raw(&uri).await;
        assert!(
            status == StatusCode::OK
                || (status == StatusCode::NOT_FOUND && headers.get(header::CONTENT_TYPE).is_some()),
            "{path}: {status}"
        );
        // Every documented parameter is accepted by the route (no "unknown parameter").
        for p in item["get"]["parameters"].as_array().expect("parameters") {
            let p = match p.get("$ref").and_then(Value::as_str) {
                Some(r) => doc.pointer(r.trim_start_matches('#')).expect("param ref"),
                None => p,
            };
            if p["in"] != "query" || path == "/api/live" {
                continue;
            }
            let name = p["name"].as_str().expect("name");
            let (status, _, body) = api.get_raw(&format!("{uri}?{name}=")).await;
            assert_ne!(
                status,
                StatusCode::BAD_REQUEST,
                "{path} rejects its documented parameter {name}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}

#[tokio::test]
async fn responses_validate_against_the_openapi_schemas() {
    let api = api().await;
    let doc = api.ok("/api/openapi.json").await;

    let page = api.ok("/api/requests?limit=5").await;
    check(&doc, "Page", &page);
    assert!(page["next_cursor"].is_string());
    check(&doc, "Page", &api.ok("/api/requests?status=5xx").await);

    for (label, _) in fixture().into_iter().take(5) {
        let id = id_of(&label);
        check(
            &doc,
            "RequestDetail",
            &api.ok(&format!("/api/requests/{id}")).await,
        );
    }
    check(&doc, "Stats", &api.ok("/api/stats").await);
    check(
        &doc,
        "Stats",
        &api.ok("/api/stats?q=nothing-like-this").await,
    );
    for bucket in ["hour", "day"] {
        for tz in ["UTC", "Europe/Paris", "Asia/Kolkata"] {
            check(
                &doc,
                "Timeseries",
                &api.ok(&format!("/api/stats/timeseries?bucket={bucket}&tz={tz}"))
                    .await,
            );
            check(
                &doc,
                "Cache",
                &api.ok(&format!("/api/stats/cache?bucket={bucket}&tz={tz}"))
                    .await,
            );
        }
    }
    check(
        &doc,
        "Heatmap",
        &api.ok("/api/stats/heatmap?tz=Asia/Tokyo").await,
    );
    check(&doc, "Failovers", &api.ok("/api/stats/failovers").await);
    for by in ["model", "endpoint", "client_key", "session"] {
        check(
            &doc,
            "Breakdown",
            &api.ok(&format!("/api/stats/breakdown?by={by}")).await,
        );
    }
    let (_, _, body) = api.get_raw("/api/export?format=json").await;
    let exported: Value = serde_json::from_slice(&body).expect("json");
    let schema = &doc["paths"]["/api/export"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    validate(&doc, schema, &exported, "export").expect("export matches its schema");

    let (_, v) = api.get("/api/requests?from=nope").await;
    check(&doc, "Error", &v);
    let (_, v) = api.get(&format!("/api/requests/{}", Uuid::nil())).await;
    check(&doc, "Error", &v);

    // The check itself is not vacuous.
    let mut bad = api.ok("/api/stats").await;
    bad["surprise"] = json!(1);
    let schema = json!({"$ref": "#/components/schemas/Stats"});
    assert!(validate(&doc, &schema, &bad, "Stats").is_err());
}
