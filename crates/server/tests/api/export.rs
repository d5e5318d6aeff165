//! Exports round-tripping in every format and compression, and the report.

use super::*;

/// The fixture's records matching `keep`, newest first, as the store returns them.
fn expected(keep: impl Fn(&str) -> bool) -> Vec<LogRecord> {
    let mut records: Vec<LogRecord> = fixture()
        .into_iter()
        .filter(|(l, _)| keep(l))
        .map(|(_, r)| r)
        .collect();
    records.sort_by(|x, y| y.started_at.cmp(&x.started_at).then(y.id.cmp(&x.id)));
    records
}

fn decompress(bytes: &[u8], compress: &str) -> Vec<u8> {
    match compress {
        "gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .expect("gunzip");
            out
        }
        "zstd" => zstd::stream::decode_all(bytes).expect("unzstd"),
        _ => bytes.to_vec(),
    }
}

fn parse_export(format: &str, bytes: &[u8]) -> Vec<LogRecord> {
    match format {
        "json" => serde_json::from_slice(bytes).expect("json array"),
        "ndjson" => std::str::from_utf8(bytes)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("ndjson line"))
            .collect(),
        "csv" => parse_csv(bytes),
        other => panic!("unknown format {other}"),
    }
}

/// Reads the CSV export back into records: every column, empty cells as null.
fn parse_csv(bytes: &[u8]) -> Vec<LogRecord> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .expect("header row")
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|row| {
            let row = row.expect("csv row");
            let mut obj = serde_json::Map::new();
            for (name, cell) in headers.iter().zip(row.iter()) {
                let value = match name.as_str() {
                    _ if cell.is_empty() && name != "method" && name != "path" => Value::Null,
                    "attempts" => serde_json::from_str(cell).expect("attempts json"),
                    "stream" => Value::Bool(cell == "true"),
                    "status"
                    | "ttfb_ms"
                    | "latency_ms"
                    | "input_tokens"
                    | "output_tokens"
                    | "cache_creation_input_tokens"
                    | "cache_read_input_tokens"
                    | "request_bytes"
                    | "response_bytes" => {
                        json!(cell.parse::<u64>().expect("integer cell"))
                    }
                    "cost_usd" => json!(cell.parse::<f64>().expect("number cell")),
                    _ => Value::String(cell.to_owned()),
                };
                obj.insert(name.clone(), value);
            }
            serde_json::from_value(Value::Object(obj)).expect("a record")
        })
        .collect()
}

#[tokio::test]
async fn exports_round_trip_in_every_format_and_compression() {
    let api = api().await;
    let all = expected(|_| true);
    for format in ["json", "ndjson", "csv"] {
        for compress in ["none", "gzip", "zstd"] {
            let uri = format!("/api/export?format={format}&compress={compress}");
            let (status, headers, body) = api.get_raw(&uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            let disposition = headers
                .get(header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .expect("content-disposition");
            assert!(disposition.contains(&format!("switchboard-requests.{format}")));
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .expect("content-type");
            match compress {
                "gzip" => assert_eq!(content_type, "application/gzip"),
                "zstd" => assert_eq!(content_type, "application/zstd"),
                _ => assert_ne!(content_type, "application/gzip"),
            }
            let records = parse_export(format, &decompress(&body, compress));
            assert_eq!(records, all, "{uri}");
        }
    }
}

#[tokio::test]
async fn export_follows_filters_and_limit_across_pages() {
    let api = api().await;
    // More records than one internal page (500) so that the export pages through the store.
    let mut many = Vec::new();
    for i in 0..1200i64 {
        let mut r = base(
            &format!("bulk{i}"),
            minutes(3 * DAY) + chrono::Duration::milliseconds(i),
        );
        r.endpoint = Some("bulk".into());
        r.latency_ms = 1;
        many.push(r);
    }
    api.store.insert_batch(&many).await.expect("insert");

    let (_, _, body) = api.get_raw("/api/export?format=ndjson&endpoint=bulk").await;
    let got = parse_export("ndjson", &body);
    assert_eq!(got.len(), 1200);
    many.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    assert_eq!(got, many);

    let (_, _, body) = api
        .get_raw("/api/export?format=csv&endpoint=bulk&limit=3")
        .await;
    assert_eq!(parse_export("csv", &body), many[..3].to_vec());

    let (_, _, body) = api.get_raw("/api/export?format=json&status=4xx").await;
    assert_eq!(parse_export("json", &body), expected(|l| l == "d"));

    // Nothing matches: still a well-formed file.
    let (_, _, body) = api
        .get_raw("/api/export?format=json&q=nothing-like-this")
        .await;
    assert_eq!(parse_export("json", &body), Vec::<LogRecord>::new());
    let (_, _, body) = api
        .get_raw("/api/export?format=csv&q=nothing-like-this")
        .await;
    assert!(
        std::str::from_utf8(&body)
            .expect("utf-8")
            .starts_with("id,started_at,")
    );
    assert_eq!(parse_export("csv", &body), Vec::<LogRecord>::new());
}

// ---------------------------------------------------------------------------------------------
// Report.

#[tokio::test]
async fn report_has_every_section_in_markdown_and_html() {
    let api = api().await;
    let (status, headers, body) = api.get_raw("/api/report?format=markdown").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("text/markdown; charset=utf-8")
    );
    let md = String::from_utf8(body).expect("utf-8");
    for section in [
        "## Summary",
        "## Cost by day",
        "## Top models",
        "## Errors",
        "## Slowest requests",
        "## Cache efficiency by endpoint",
    ] {
        assert!(md.contains(section), "missing {section}:\n{md}");
    }
    // Cost by day: 2025-03-01 cost a + b.
    assert!(md.contains("| 2025-03-01 | 3 | 1 |"), "{md}");
    assert!(md.contains("$0.0300"), "{md}");
    // Top models by cost: filler ($0.02) ties gpt-4o ($0.02) and beats claude-sonnet-4.
    assert!(md.contains("| filler | 20 |"), "{md}");
    // Errors by outcome and by message.
    assert!(md.contains("| exhausted | 1 |"), "{md}");
    assert!(md.contains("| partial | 1 |"), "{md}");
    assert!(
        md.contains("all endpoints failed: overloaded_error"),
        "{md}"
    );
    // The slowest request is e (8 s), first in its table.
    let slow = md.split("## Slowest requests").nth(1).expect("section");
    let e = fixture().into_iter().find(|(l, _)| l == "e").expect("e").1;
    let c = fixture().into_iter().find(|(l, _)| l == "c").expect("c").1;
    let (pe, pc) = (
        slow.find(&e.id.to_string()).expect("e listed"),
        slow.find(&c.id.to_string()).expect("c listed"),
    );
    assert!(pe < pc, "slowest first");
    // Cache efficiency: anthropic 300 / 510.
    assert!(
        md.contains("| anthropic | 3 | 110 | 100 | 300 | 58.8% |"),
        "{md}"
    );

    let (status, headers, body) = api
        .get_raw("/api/report?format=html&model=gpt-4o&status=4xx")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(body).expect("utf-8");
    assert!(html.starts_with("<!doctype html>"));
    for section in [
        "Summary",
        "Cost by day",
        "Top models",
        "Errors",
        "Slowest requests",
    ] {
        assert!(html.contains(&format!("<h2>{section}</h2>")), "{section}");
    }
    // Self-contained: no external assets of any kind.
    for external in ["<link", "<script", "src=", "http://", "https://", "url("] {
        assert!(!html.contains(external), "found {external}");
    }
    // Filtered: gpt-4o only, and the error text is escaped.
    assert!(
        html.contains("model=gpt-4o"),
        "filters named as in the query string"
    );
    assert!(html.contains("status=4xx"));
    assert!(!html.contains("filler"));
    assert!(html.contains("&quot;max_tokens&quot;, too LARGE"));
}
