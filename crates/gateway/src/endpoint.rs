//! An endpoint ready to receive requests: its config plus what is derived from it once per
//! config load (parsed URLs, header values, how its connections go out).

use http::{HeaderValue, Uri};
use switchboard_config::{AuthStyle, EndpointConfig};
use switchboard_protocol::Dialect;
use switchboard_router::Target;

use crate::egress::Route;

/// The paths passthrough requests go to (see `HttpUpstream::passthrough_url`), parsed once per
/// endpoint: parsing the URL again for every request cost ~6k instructions (callgrind).
const PASSTHROUGH_PATHS: [&str; 5] = [
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/chat/completions",
    "/models",
    "/v1/models",
];

/// An endpoint ready to receive requests: its config plus the URLs derived from it, and how its
/// requests go out (directly or through its proxy).
#[derive(Debug)]
pub struct Endpoint {
    pub cfg: EndpointConfig,
    base: String,
    /// `base` + each of [`PASSTHROUGH_PATHS`], parsed (absent if it does not parse).
    parsed: Vec<(&'static str, Uri)>,
    /// `host[:port]` for a plain-HTTP base URL, the `Host` header of every request to it (made
    /// once here: hyper-util's client formats it per request, ~2.5k instructions with a port).
    /// None for HTTPS, where the connection may be HTTP/2 and the client sets `:authority`.
    pub(crate) host_header: Option<HeaderValue>,
    /// The endpoint's name as the value of `x-switchboard-endpoint` (None if it is not one).
    pub(crate) name_header: Option<HeaderValue>,
    pub(crate) route: Route,
}

impl Endpoint {
    pub(crate) fn new(cfg: EndpointConfig, route: Route) -> Self {
        let base = cfg.base_url.as_str().trim_end_matches('/').to_owned();
        let name_header = HeaderValue::try_from(cfg.name.as_str()).ok();
        let mut ep = Self {
            cfg,
            base,
            parsed: Vec::new(),
            host_header: None,
            name_header,
            route,
        };
        ep.parsed = PASSTHROUGH_PATHS
            .iter()
            .filter_map(|p| Some((*p, ep.uri(p).ok()?)))
            .collect();
        ep.host_header = ep.parsed.first().and_then(|(_, u)| plain_http_host(u));
        ep
    }

    /// `base_url` + `path` (path starts with `/`).
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// [`Endpoint::url`] parsed for sending, read as the `url` crate reads it (the config's base
    /// URL was normalised by it already). A `path` that crate would leave as it is (the API
    /// paths, ordinary model names and query strings) is taken as is; anything else (a space, a
    /// quote, non-ASCII, a dot segment) goes through `url` first, which percent-encodes it and
    /// resolves dot segments, so the upstream gets what it got before the gateway left reqwest.
    pub(crate) fn uri(&self, path: &str) -> Result<Uri, String> {
        to_uri(&self.base, path)
    }

    /// [`Endpoint::uri`] already parsed, for the fixed passthrough paths.
    pub(crate) fn parsed_uri(&self, path: &str) -> Option<Uri> {
        self.parsed
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, u)| u.clone())
    }

    #[must_use]
    pub fn kind(&self) -> Dialect {
        self.cfg.kind
    }
}

/// The `Host` header for requests to `uri` when it is plain HTTP: the host, and the port unless
/// it is 80 (what hyper-util's client would set on an HTTP/1 connection).
fn plain_http_host(uri: &Uri) -> Option<HeaderValue> {
    if uri.scheme() != Some(&http::uri::Scheme::HTTP) {
        return None;
    }
    let host = uri.host()?;
    let value = match uri.port_u16() {
        Some(port) if port != 80 => format!("{host}:{port}"),
        _ => host.to_owned(),
    };
    HeaderValue::try_from(value).ok()
}

/// See [`Endpoint::uri`].
fn to_uri(base: &str, path: &str) -> Result<Uri, String> {
    let invalid = |e: &dyn std::fmt::Display| {
        let url = crate::audit::masked_url(&format!("{base}{path}"));
        format!("invalid upstream URL {url}: {e}")
    };
    let text = format!("{base}{path}");
    if is_plain(path) {
        return Uri::try_from(text).map_err(|e| invalid(&e));
    }
    let url = url::Url::parse(&text).map_err(|e| invalid(&e))?;
    Uri::try_from(url.as_str()).map_err(|e| invalid(&e))
}

/// A path (and query) that the `url` crate would not change: only characters it never
/// percent-encodes in a path or a special scheme's query, and no `.` or `..` segment.
fn is_plain(path: &str) -> bool {
    let plain_byte = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@/%?".contains(&b);
    let encoded_dot = |w: &[u8]| matches!(w, [b'%', b'2', b'e' | b'E']);
    path.bytes().all(plain_byte)
        && !path.contains("/.")
        && !path.as_bytes().windows(3).any(encoded_dot)
}

impl Target for Endpoint {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn has_own_credentials(&self) -> bool {
        self.cfg.api_key.is_some()
    }
}

/// How the gateway authenticates to an endpoint with its own key.
pub(crate) fn auth_header(style: AuthStyle) -> &'static str {
    match style {
        AuthStyle::XApiKey => "x-api-key",
        AuthStyle::Bearer => "authorization",
        AuthStyle::GoogApiKey => "x-goog-api-key",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the upstream was sent before: the text parsed by `url`, then as a URI.
    fn through_url(text: &str) -> Uri {
        let url = url::Url::parse(text).expect("url");
        Uri::try_from(url.as_str()).expect("uri")
    }

    #[test]
    fn uris_are_what_the_url_crate_makes_of_the_same_text() {
        let base = "https://api.example.com/v1";
        for path in [
            "/v1/messages",
            "/v1/messages?beta=true",
            "/v1/messages?a=1&b=x%20y&c=:@!$()*+,;",
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            "/v1beta/models/my model:generateContent",
            "/v1beta/models/caf\u{e9}:generateContent",
            "/v1beta/models/{x}\"y\":generateContent",
            "/v1beta/models/../secret:generateContent",
            "/v1beta/models/%2e%2E/x",
            "/v1/messages?q=<a>&r='b'",
            "/v1/messages?q=\u{e9}",
        ] {
            let text = format!("{base}{path}");
            assert_eq!(to_uri(base, path), Ok(through_url(&text)), "{path}");
        }
        assert!(is_plain("/v1/messages?beta=true"));
        assert!(is_plain(
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        ));
        assert!(!is_plain("/a/./b"));
        assert!(!is_plain("/a/%2E%2e/b"));
    }
}
