//! Proxy settings for upstream connections: `[routing] proxy` and `no_proxy`, and an endpoint's
//! own `proxy`. A proxy URL may carry a password, so it is kept like a secret: `Debug` and
//! `Display` show it masked ([`mask_proxy_url`]).

use std::fmt;

use url::Url;

use crate::reader::{Cx, Section, Spanned};
use crate::secret::mask;

/// The schemes a proxy URL may have.
pub const PROXY_SCHEMES: &[&str] = &["http", "https", "socks5", "socks5h", "socks4", "socks4a"];

/// An explicit choice for an endpoint's connections (or every endpoint's, from `[routing]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxySetting {
    /// Connect directly, whatever the environment says (`proxy = "none"` or `proxy = false`).
    Direct,
    /// Connect through this proxy.
    Via(ProxyUrl),
}

/// A proxy's URL, checked: a scheme of [`PROXY_SCHEMES`], a host, and a port (SOCKS proxies
/// without one get 1080; http and https ones use 80 and 443). User name and password, when
/// present, are percent-encoded as in any URL.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    url: Url,
    masked: String,
}

impl ProxyUrl {
    /// The URL with its password: call only where the proxy is connected to.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.url.as_str()
    }

    /// The URL with the password masked (first 10 + `…` + last 4, or hidden when short).
    #[must_use]
    pub fn masked(&self) -> &str {
        &self.masked
    }

    #[must_use]
    pub fn scheme(&self) -> &str {
        self.url.scheme()
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({})", self.masked)
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked)
    }
}

/// A proxy URL (from the config or an environment variable such as `HTTPS_PROXY`) with the
/// password in its user info masked by [`mask`]; the rest is kept as written. Text without
/// `scheme://` is read as `host:port` with optional user info, as curl reads it.
#[must_use]
pub fn mask_proxy_url(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), text),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return text.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, password)) => format!("{scheme}{user}:{}@{host}{tail}", mask(password)),
        None => text.to_owned(),
    }
}

/// Parses a proxy URL as the config accepts it.
///
/// # Errors
/// Why it is not a usable proxy URL, without repeating the password.
pub fn parse_proxy_url(text: &str) -> Result<ProxyUrl, String> {
    let text = text.trim();
    if !text.contains("://") {
        return Err(format!(
            "`{}` has no scheme: write the proxy as a URL, like \"http://proxy.example:3128\" or \"socks5h://127.0.0.1:1080\" (or \"none\" to connect directly)",
            mask_proxy_url(text)
        ));
    }
    let mut url = Url::parse(text).map_err(|e| format!("invalid proxy URL: {e}"))?;
    let scheme = url.scheme().to_owned();
    if !PROXY_SCHEMES.contains(&scheme.as_str()) {
        return Err(format!(
            "unsupported proxy scheme `{scheme}`: expected one of {}",
            PROXY_SCHEMES
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("proxy URL has no host".to_owned());
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(
            "a proxy URL is scheme://[user:password@]host[:port], without a path, query or fragment"
                .to_owned(),
        );
    }
    let has_credentials = !url.username().is_empty() || url.password().is_some();
    if scheme.starts_with("socks4") && has_credentials {
        return Err(
            "SOCKS4 proxies take no user name or password; use socks5:// or socks5h:// for a proxy that authenticates"
                .to_owned(),
        );
    }
    if scheme.starts_with("socks5") {
        let decoded = |s: &str| percent_encoding_len(s);
        if decoded(url.username()) > 255 || url.password().is_some_and(|p| decoded(p) > 255) {
            return Err("SOCKS5 user names and passwords are at most 255 bytes".to_owned());
        }
    }
    if scheme.starts_with("socks") && url.port().is_none() {
        // As reqwest and curl: SOCKS proxies listen on 1080 unless told otherwise.
        let _ = url.set_port(Some(1080));
    }
    let masked = mask_proxy_url(url.as_str().trim_end_matches('/'));
    Ok(ProxyUrl { url, masked })
}

/// The length in bytes of percent-encoded text once decoded.
fn percent_encoding_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes[i] == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        i += if escape { 3 } else { 1 };
        n += 1;
    }
    n
}

/// A `proxy` key: a proxy URL, or `"none"` / `false` for direct connections.
pub(crate) fn proxy_setting(cx: &mut Cx<'_>, s: Section<'_>, key: &str) -> Option<ProxySetting> {
    let item = s.get(key)?;
    if let Some(b) = item.as_bool() {
        if b {
            cx.error(
                s.value_span(key),
                s.field(key),
                "`true` is not a proxy: give its URL, like \"http://proxy.example:3128\" (or false to connect directly)",
            );
            return None;
        }
        return Some(ProxySetting::Direct);
    }
    let v = s.string(cx, key)?;
    let text = v.value.trim();
    if text.is_empty() {
        cx.error(
            v.span,
            s.field(key),
            "is empty; give a proxy URL, \"none\" to connect directly, or remove the key",
        );
        return None;
    }
    if text.eq_ignore_ascii_case("none") {
        return Some(ProxySetting::Direct);
    }
    match parse_proxy_url(text) {
        Ok(url) => Some(ProxySetting::Via(url)),
        Err(message) => {
            cx.error(v.span, s.field(key), message);
            None
        }
    }
}

/// `[routing] no_proxy`: a string in `NO_PROXY`'s syntax (comma-separated) or an array of
/// strings; the entries, trimmed, empty ones dropped.
pub(crate) fn no_proxy(cx: &mut Cx<'_>, s: Section<'_>) -> Option<Spanned<Vec<String>>> {
    const KEY: &str = "no_proxy";
    let item = s.get(KEY)?;
    let span = s.value_span(KEY);
    let mut entries = Vec::new();
    if let Some(array) = item.as_array() {
        for (i, v) in array.iter().enumerate() {
            match v.as_str() {
                Some(text) => entries.extend(split_no_proxy(text)),
                None => cx.error(
                    v.span().or_else(|| span.clone()),
                    format!("{}[{i}]", s.field(KEY)),
                    format!("expected a string, found {}", v.type_name()),
                ),
            }
        }
    } else {
        let text = s.string(cx, KEY)?;
        entries.extend(split_no_proxy(&text.value));
    }
    for e in &entries {
        if let Some(domain) = e.strip_prefix("*.") {
            let message = format!(
                "`{e}`: write `.{domain}` (or `{domain}`) to match a domain and its subdomains; `*` alone matches every host"
            );
            cx.error(span.clone(), s.field(KEY), message);
        }
    }
    Some(Spanned {
        value: entries,
        span,
    })
}

fn split_no_proxy(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_with_the_secret_mask() {
        assert_eq!(
            mask_proxy_url("http://alice:correct-horse-battery-staple@proxy.corp:3128"),
            "http://alice:correct-ho…aple@proxy.corp:3128"
        );
        assert_eq!(
            mask_proxy_url("socks5h://bob:pw@127.0.0.1:1080/"),
            "socks5h://bob:…**@127.0.0.1:1080/"
        );
        assert_eq!(
            mask_proxy_url("carol:hunter2@proxy:8080"),
            "carol:…****@proxy:8080"
        );
        assert_eq!(mask_proxy_url("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(
            mask_proxy_url("http://user@proxy:3128"),
            "http://user@proxy:3128"
        );
    }

    #[test]
    fn proxy_urls_are_checked() {
        let ok = parse_proxy_url("http://alice:s3cret@proxy.corp:3128").expect("http");
        assert_eq!(ok.expose(), "http://alice:s3cret@proxy.corp:3128/");
        assert_eq!(ok.masked(), "http://alice:…****@proxy.corp:3128");
        assert!(!format!("{ok:?}").contains("s3cret"));
        assert_eq!(
            parse_proxy_url("socks5h://10.0.0.1")
                .expect("socks")
                .expose(),
            "socks5h://10.0.0.1:1080"
        );
        assert_eq!(
            parse_proxy_url("https://proxy.corp")
                .expect("https")
                .expose(),
            "https://proxy.corp/"
        );
        for (bad, why) in [
            ("proxy.corp:3128", "has no scheme"),
            ("ftp://proxy.corp", "unsupported proxy scheme `ftp`"),
            ("http://proxy.corp/path", "without a path"),
            ("http://proxy.corp?x=1", "without a path, query"),
            (
                "socks4://u:p@proxy.corp",
                "SOCKS4 proxies take no user name",
            ),
            ("http://", "invalid proxy URL"),
        ] {
            let e = parse_proxy_url(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
        let long = format!("socks5://u:{}@proxy", "x".repeat(256));
        assert!(parse_proxy_url(&long).is_err());
        let fits = format!("socks5://u:{}@proxy", "%78".repeat(255));
        assert!(parse_proxy_url(&fits).is_ok());
    }
}
