//! The request list (filters, keyset pagination, detail) and the statistics.

use super::*;

#[tokio::test]
async fn lists_newest_first_with_keyset_pagination() {
    let api = api().await;
    let (records, pages) = api.all_pages("/api/requests?limit=7").await;
    assert_eq!(pages, 4);
    let got: Vec<String> = records
        .iter()
        .map(|r| label_of(r["id"].as_str().expect("id")))
        .collect();
    let mut want: Vec<(String, LogRecord)> = fixture();
    want.sort_by_key(|r| std::cmp::Reverse(r.1.started_at));
    let want: Vec<String> = want.into_iter().map(|(l, _)| l).collect();
    assert_eq!(got, want);

    // The default page is 50: everything fits, no cursor.
    let page = api.ok("/api/requests").await;
    assert_eq!(page["records"].as_array().expect("records").len(), 25);
    assert!(page["next_cursor"].is_null());
}

#[tokio::test]
async fn every_filter_narrows_the_list_and_the_stats() {
    let api = api().await;
    let day2 = iso(minutes(DAY));
    let cases: Vec<(String, &str)> = vec![
        (format!("from={day2}"), "d e f*"),
        (format!("to={day2}"), "a b c"),
        (
            format!("from={}&to={}", iso(minutes(5)), iso(minutes(DAY + 10))),
            "b c d",
        ),
        ("status=2xx".into(), "a b e f*"),
        ("status=4xx".into(), "d"),
        ("status=5xx".into(), "c"),
        ("outcome=exhausted".into(), "c"),
        ("outcome=partial".into(), "e"),
        // Requested or routed model.
        ("model=sonnet".into(), "c"),
        ("model=claude-sonnet-4".into(), "a c"),
        ("endpoint=openai".into(), "b d f*"),
        ("client_key=alice".into(), "a c"),
        ("stream=true".into(), "a c e"),
        ("stream=false".into(), "b d f*"),
        // Free text over the error message, case-insensitive.
        ("q=max_tokens".into(), "d"),
        ("q=too%20large".into(), "d"),
        ("q=OVERLOADED".into(), "c"),
        ("q=nothing-like-this".into(), ""),
        ("model=gpt-4o&status=2xx".into(), "b"),
        ("endpoint=anthropic&stream=true&client_key=bob".into(), "e"),
    ];
    for (query, want) in cases {
        let want = labels(want);
        assert_eq!(api.labels(&query).await, want, "list ?{query}");
        let stats = api.ok(&format!("/api/stats?{query}")).await;
        assert_eq!(stats["requests"], json!(want.len()), "stats ?{query}");
        let series = api.ok(&format!("/api/stats/timeseries?{query}")).await;
        let sum: u64 = series["buckets"]
            .as_array()
            .expect("buckets")
            .iter()
            .map(|b| b["requests"].as_u64().expect("requests"))
            .sum();
        assert_eq!(sum, want.len() as u64, "timeseries ?{query}");
    }
}

#[tokio::test]
async fn request_detail_has_attempts() {
    let api = api().await;
    let (_, c) = fixture().into_iter().find(|(l, _)| l == "c").expect("c");
    let v = api.ok(&format!("/api/requests/{}", c.id)).await;
    assert_eq!(v["id"], json!(c.id.to_string()));
    assert_eq!(v["outcome"], "exhausted");
    let attempts = v["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["status"], 529);
    assert_eq!(attempts[1]["status"], Value::Null);
    assert_eq!(
        v["audit"],
        json!([]),
        "no audit captured for hand-made rows"
    );

    let (status, v) = api.get(&format!("/api/requests/{}", Uuid::now_v7())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["type"], "not_found");
}

#[tokio::test]
async fn request_detail_has_audit_bodies_and_the_chunk_timeline() {
    use switchboard_store::{AuditBundle, AuditEntry, AuditKind};

    let api = api().await;
    let a = id_of("a");
    let mut request = AuditEntry::new(AuditKind::ClientRequest);
    request.method = Some("POST".into());
    request.url = Some("/v1/messages".into());
    request.headers = vec![("x-api-key".into(), "sk-ant-api…WXYZ".into())];
    request.body = vec![bytes::Bytes::from_static(br#"{"model":"claude-sonnet-4"}"#)];
    let mut response = AuditEntry::new(AuditKind::UpstreamResponse);
    response.attempt = Some(0);
    response.endpoint = Some("anthropic".into());
    response.status = Some(200);
    response.body = vec![
        bytes::Bytes::from_static(b"event: message_start\n\n"),
        bytes::Bytes::from_static(b"event: message_stop\n\n"),
    ];
    response.offsets_ms = vec![120, 340];
    api.store
        .insert_audit(&[AuditBundle {
            request_id: a,
            created_at: t0(),
            entries: vec![request, response],
        }])
        .await
        .expect("insert audit");

    let v = api.ok(&format!("/api/requests/{a}")).await;
    let audit = v["audit"].as_array().expect("audit");
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["kind"], "client_request");
    assert_eq!(audit[0]["body"], r#"{"model":"claude-sonnet-4"}"#);
    assert_eq!(
        audit[0]["headers"],
        json!([["x-api-key", "sk-ant-api…WXYZ"]])
    );
    assert_eq!(audit[0]["chunks"], json!([]));
    assert_eq!(audit[1]["kind"], "upstream_response");
    assert_eq!(audit[1]["attempt"], 0);
    assert_eq!(
        audit[1]["body"],
        "event: message_start\n\nevent: message_stop\n\n"
    );
    assert_eq!(
        audit[1]["chunks"],
        json!([
            {"offset_ms": 120, "data": "event: message_start\n\n"},
            {"offset_ms": 340, "data": "event: message_stop\n\n"},
        ])
    );
    let doc = api.ok("/api/openapi.json").await;
    super::openapi::check(&doc, "RequestDetail", &v);
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let api = api().await;
    let cases = [
        (
            "/api/requests?from=yesterday",
            "from: not an RFC 3339 timestamp",
        ),
        ("/api/stats?to=2025-13-01", "to: not an RFC 3339 timestamp"),
        (
            "/api/requests?status=3xx",
            "status: expected 2xx, 4xx or 5xx",
        ),
        (
            "/api/requests?stream=maybe",
            "stream: expected true or false",
        ),
        (
            "/api/requests?limit=0",
            "limit: expected an integer from 1 to 1000",
        ),
        (
            "/api/requests?limit=abc",
            "limit: expected an integer from 1 to 1000",
        ),
        ("/api/requests?cursor=garbage", "cursor: "),
        ("/api/export?cursor=12_nope", "cursor: "),
        (
            "/api/requests?modle=x",
            "query: unknown parameter \"modle\"",
        ),
        (
            "/api/stats?bucket=day",
            "query: unknown parameter \"bucket\"",
        ),
        (
            "/api/stats/timeseries?bucket=week",
            "bucket: expected one of hour, day",
        ),
        (
            "/api/stats/breakdown?by=colour",
            "by: expected one of model, endpoint, client_key, session",
        ),
        (
            "/api/export?format=xml",
            "format: expected one of json, ndjson, csv",
        ),
        (
            "/api/export?compress=brotli",
            "compress: expected one of none, gzip, zstd",
        ),
        (
            "/api/report?format=pdf",
            "format: expected one of markdown, html",
        ),
        ("/api/requests/not-a-uuid", "id: not a request id"),
        ("/api/live?status=1xx", "status: expected 2xx, 4xx or 5xx"),
        (
            "/api/requests?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z",
            "to: must be later than from",
        ),
    ];
    for (uri, want) in cases {
        let (status, v) = api.get(uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(v["error"]["type"], "invalid_parameter", "{uri}");
        let message = v["error"]["message"].as_str().expect("message");
        assert!(message.starts_with(want), "{uri}: {message:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics.

#[tokio::test]
async fn stats_totals_percentiles_and_ratios() {
    let api = api().await;
    // a b c d e: the first two days.
    let v = api
        .ok(&format!("/api/stats?to={}", iso(minutes(2 * DAY))))
        .await;
    assert_eq!(v["requests"], 5);
    assert_eq!(v["ok"], 2);
    assert_eq!(v["errors"], 3);
    assert_eq!(v["input_tokens"], 310);
    assert_eq!(v["output_tokens"], 75);
    assert_eq!(v["cache_read_input_tokens"], 300);
    assert_eq!(v["cache_creation_input_tokens"], 100);
    assert!((v["cost_usd"].as_f64().expect("cost") - 0.03).abs() < 1e-12);
    assert_eq!(v["unknown_cost_requests"], 3);
    assert_eq!(v["success_rate"], 0.4);
    // Latencies 50 500 1000 3000 8000: nearest rank.
    assert_eq!(
        v["latency_ms"],
        json!({"p50": 1000, "p95": 8000, "p99": 8000})
    );
    // TTFB over the three that have one: 200 300 500.
    assert_eq!(v["ttfb_ms"], json!({"p50": 300, "p95": 500, "p99": 500}));
    // 300 read / (310 input + 300 read + 100 write).
    let ratio = v["cache_hit_ratio"].as_f64().expect("ratio");
    assert!((ratio - 300.0 / 710.0).abs() < 1e-12, "{ratio}");

    // An empty set: zeros and nulls, not errors.
    let v = api.ok("/api/stats?q=nothing-like-this").await;
    assert_eq!(v["requests"], 0);
    assert!(v["success_rate"].is_null());
    assert!(v["cache_hit_ratio"].is_null());
    assert!(v["latency_ms"]["p50"].is_null());
}

#[tokio::test]
async fn timeseries_by_hour_and_day() {
    let api = api().await;
    let to = iso(minutes(2 * DAY));
    let v = api
        .ok(&format!("/api/stats/timeseries?bucket=day&to={to}"))
        .await;
    assert_eq!(v["bucket"], "day");
    let days: Vec<(String, u64)> = v["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| {
            (
                b["start"].as_str().expect("start").to_owned(),
                b["requests"].as_u64().expect("requests"),
            )
        })
        .collect();
    let day = |d: u32| {
        let t = Utc
            .with_ymd_and_hms(2025, 3, d, 0, 0, 0)
            .single()
            .expect("day");
        serde_json::to_value(t)
            .expect("time")
            .as_str()
            .expect("str")
            .to_owned()
    };
    assert_eq!(days, vec![(day(1), 3), (day(2), 2)]);
    let first = &v["buckets"][0];
    assert_eq!(first["errors"], 1);
    assert!((first["cost_usd"].as_f64().expect("cost") - 0.03).abs() < 1e-12);
    assert!((first["success_rate"].as_f64().expect("rate") - 2.0 / 3.0).abs() < 1e-12);

    // Hours: 10:00 (a b), 11:00 (c), next day 10:00 (d e). Hour is the default.
    let v = api.ok(&format!("/api/stats/timeseries?to={to}")).await;
    assert_eq!(v["bucket"], "hour");
    let counts: Vec<u64> = v["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["requests"].as_u64().expect("requests"))
        .collect();
    assert_eq!(counts, vec![2, 1, 2]);
}

#[tokio::test]
async fn breakdowns_by_model_endpoint_and_client_key() {
    let api = api().await;
    let rows = |v: &Value| -> Vec<(Value, u64)> {
        v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| (r["key"].clone(), r["requests"].as_u64().expect("requests")))
            .collect()
    };
    let v = api.ok("/api/stats/breakdown?by=model").await;
    assert_eq!(v["by"], "model");
    assert_eq!(
        rows(&v),
        vec![
            (json!("filler"), 20),
            (json!("claude-sonnet-4"), 2),
            (json!("gpt-4o"), 2),
            (json!("claude-haiku-x"), 1),
        ]
    );
    let v = api.ok("/api/stats/breakdown?by=endpoint").await;
    assert_eq!(
        rows(&v),
        vec![(json!("openai"), 22), (json!("anthropic"), 3)]
    );
    // Cache hit ratio per endpoint: anthropic read 300 of (110 input + 300 read + 100 write).
    let anthropic = &v["rows"][1];
    let ratio = anthropic["cache_hit_ratio"].as_f64().expect("ratio");
    assert!((ratio - 300.0 / 510.0).abs() < 1e-12, "{ratio}");
    assert_eq!(v["rows"][0]["cache_hit_ratio"], 0.0);

    let v = api.ok("/api/stats/breakdown?by=client_key").await;
    assert_eq!(
        rows(&v),
        vec![
            (json!("carol"), 20),
            (json!("alice"), 2),
            (json!("bob"), 2),
            (Value::Null, 1),
        ]
    );
    // Filters apply to breakdowns too.
    let v = api
        .ok("/api/stats/breakdown?by=client_key&status=5xx")
        .await;
    assert_eq!(rows(&v), vec![(json!("alice"), 1)]);
}

#[tokio::test]
async fn sessions_are_a_breakdown_and_a_filter() {
    let api = api().await;
    // One fixture request carries a Claude Code session; the others none and are left out.
    let v = api.ok("/api/stats/breakdown?by=session").await;
    assert_eq!(v["by"], "session");
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["key"], "sess-1");
    assert_eq!(rows[0]["requests"], 1);
    assert_eq!(rows[0]["input_tokens"], 100);
    assert_eq!(rows[0]["cost_usd"], 0.01);
    assert_eq!(rows[0]["first_seen"], "2025-03-01T10:00:00Z");
    assert_eq!(rows[0]["last_seen"], "2025-03-01T10:00:00Z");
    // Other breakdowns do not say when.
    let v = api.ok("/api/stats/breakdown?by=model").await;
    assert!(v["rows"][0].get("first_seen").is_none(), "{v}");
    // `limit` caps the sessions; `session` filters the request list and the figures.
    let v = api.ok("/api/stats/breakdown?by=session&limit=1").await;
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(1));
    let page = api.ok("/api/requests?session=sess-1").await;
    let ids: Vec<&str> = page["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, [id_of("a").to_string()]);
    let stats = api.ok("/api/stats?session=sess-1").await;
    assert_eq!(stats["requests"], 1);
    let none = api.ok("/api/stats?session=nope").await;
    assert_eq!(none["requests"], 0);
}
