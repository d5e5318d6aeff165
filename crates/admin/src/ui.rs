//! The dashboard's files, embedded in the binary at build time (`build.rs` makes the table from
//! `ui/` at the repository root) and served under `/ui/`.
//!
//! - The files hold no data, so they need no admin: their routes are `Access::Login` (the door
//!   still checks `Host`). The app signs in through the admin API and reads everything else from
//!   the documented APIs.
//! - `GET /ui/` and any path under `/ui/` that names no file and looks like a page (no `.` in its
//!   last segment) answer `index.html`: the app routes on the client (`/ui/requests/{id}`…). A
//!   missing file (`/ui/app/nope.js`) is a 404, not a page, so a typo never runs as HTML.
//! - `GET /ui/licenses`: the vendored packages, their versions, integrity and license texts.
//! - Every answer carries the dashboard's Content-Security-Policy: scripts and styles from files
//!   of this origin only — no inline script (the build refuses an HTML file with one), no
//!   `eval`, no import map (the vendored modules import each other by relative paths) — so a
//!   logged prompt holding `<script>` can never run, even if the app had a bug that put it into
//!   the DOM as markup.
//! - Caching: the vendored files live under versioned directories and are immutable; the app's
//!   own files are revalidated by a strong ETag (their SHA-256), so a new binary is picked up at
//!   once and an unchanged file costs a 304. A gzip copy made at build time is sent to clients
//!   that accept it.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// One embedded file.
struct Asset {
    /// Relative to `ui/`, with `/` separators.
    path: &'static str,
    content_type: &'static str,
    /// Quoted, strong: the first 128 bits of the file's SHA-256.
    etag: &'static str,
    body: &'static [u8],
    /// Gzip-compressed at build time, when that made it smaller.
    gzip: Option<&'static [u8]>,
}

/// Every file of `ui/` (notes and scripts for people excepted), sorted by path.
static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// The text of `/ui/licenses`, made by `build.rs` from `ui/vendor/MANIFEST.toml`.
static LICENSES: &str = include_str!(concat!(env!("OUT_DIR"), "/ui_licenses.txt"));

/// The dashboard's policy: see the module docs.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .and_then(|i| ASSETS.get(i))
}

/// `GET /ui`: the dashboard is at `/ui/`.
pub(crate) async fn root() -> Redirect {
    Redirect::permanent("/ui/")
}

/// `GET /ui/`: the app.
pub(crate) async fn index(headers: HeaderMap) -> Response {
    page(&headers)
}

/// `GET /ui/{*path}`: a file, the licenses, or the app for a client-side route.
pub(crate) async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path == "licenses" {
        return with_policy(
            (
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                LICENSES,
            )
                .into_response(),
        );
    }
    if let Some(a) = find(&path) {
        return serve(a, &headers);
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return with_policy(
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "no such file in the dashboard",
            )
                .into_response(),
        );
    }
    page(&headers)
}

fn page(headers: &HeaderMap) -> Response {
    match find("index.html") {
        Some(a) => serve(a, headers),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the dashboard was built without ui/index.html",
        )
            .into_response(),
    }
}

fn serve(a: &'static Asset, headers: &HeaderMap) -> Response {
    let cache = if a.path.starts_with("vendor/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let gzip = a.gzip.filter(|_| accepts_gzip(headers));
        let mut resp = gzip.unwrap_or(a.body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(a.content_type),
        );
        if gzip.is_some() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        resp
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(a.etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if a.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    with_policy(resp)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

fn with_policy(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_holds_the_app_and_its_vendored_files() {
        assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path));
        for path in [
            "index.html",
            "app/main.js",
            "vendor/preact@10.29.8/preact.module.js",
            "vendor/uplot@1.6.32/uPlot.iife.min.js",
        ] {
            assert!(find(path).is_some(), "{path} is not embedded");
        }
        assert!(
            find("README.md").is_none(),
            "notes for people are not served"
        );
        assert!(find("vendor/refresh.sh").is_none());
        assert!(LICENSES.contains("Apache License"), "htm's license ships");
    }

    #[test]
    fn gzip_is_sent_only_when_accepted() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_no_eval() {
        assert!(!CSP.contains("unsafe"));
        assert!(CSP.contains("script-src 'self';"));
        assert!(CSP.contains("object-src 'none'"));
    }
}
