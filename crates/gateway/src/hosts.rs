//! Which `Host` and `Origin` the gateway answers to: the guard against DNS rebinding (a page on
//! `evil.example` whose name now resolves to 127.0.0.1 reaches the gateway as a loopback client,
//! but its requests say `Host: evil.example`) and against other sites' pages posting to the
//! proxy routes.
//!
//! Allowed host names: `localhost` and its subdomains (browsers resolve them to loopback
//! themselves, so no DNS answer can point them elsewhere), loopback addresses, the address the
//! gateway listens on or the client reached, and the names configured in `[admin] hosts`
//! (`*.example.com` matches subdomains). An IP address cannot be rebound, so an address the
//! client actually connected to is always allowed. Ports are not compared: a rebinding page
//! uses the gateway's own port.

use std::net::{IpAddr, SocketAddr};

use switchboard_config::Config;

/// The names and origins allowed for one configuration.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    /// Exact names, lower case.
    names: Vec<String>,
    /// `.example.com` for `*.example.com`.
    suffixes: Vec<String>,
    /// The listen address, unless it is a wildcard.
    listen: Option<IpAddr>,
    /// `[server] allowed_origins`, normalised (`scheme://host[:port]`, lower case).
    origins: Vec<String>,
}

impl HostPolicy {
    #[must_use]
    pub fn new(config: &Config) -> Self {
        let mut p = Self::default();
        for h in &config.admin.hosts {
            match h.strip_prefix('*') {
                Some(suffix) => p.suffixes.push(suffix.to_owned()),
                None => p.names.push(h.clone()),
            }
        }
        let listen = config.server.listen.ip();
        p.listen = (!listen.is_unspecified()).then_some(listen);
        p.origins.clone_from(&config.server.allowed_origins);
        p
    }

    /// Whether a `Host` header (or `:authority`) names this gateway. `local` is the address the
    /// client connected to.
    #[must_use]
    pub fn allows_host(&self, host: &str, local: Option<SocketAddr>) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        match name.parse::<IpAddr>() {
            Ok(ip) => {
                let ip = ip.to_canonical();
                ip.is_loopback()
                    || Some(ip) == self.listen.map(|l| l.to_canonical())
                    || Some(ip) == local.map(|l| l.ip().to_canonical())
                    || self
                        .names
                        .iter()
                        .any(|n| n.trim_matches(['[', ']']) == name)
            }
            Err(_) => {
                name == "localhost"
                    || name.ends_with(".localhost")
                    || self.names.contains(&name)
                    || self.suffixes.iter().any(|s| name.ends_with(s.as_str()))
            }
        }
    }

    /// Whether a browser page from `origin` may call the gateway: an origin configured in
    /// `[server] allowed_origins`, or one whose host the gateway answers to. `null` (sandboxed
    /// frames, files) never may.
    #[must_use]
    pub fn allows_origin(&self, origin: &str, local: Option<SocketAddr>) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        if self.origins.contains(&origin) {
            return true;
        }
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        matches!(scheme, "http" | "https")
            && !authority.contains(['/', '@', '?', '#'])
            && self.allows_host(authority, local)
    }
}

/// The host of a `Host` value (`name`, `name:port`, `[v6]`, `[v6]:port`, `v4:port`), lower
/// case, without a trailing dot; `None` when it is not one.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        let (v6, tail) = rest.split_once(']')?;
        if !(tail.is_empty() || tail.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        v6
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return None,
            None => host,
        }
    };
    let name = name.trim_end_matches('.');
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    valid.then(|| name.to_ascii_lowercase())
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use switchboard_config::{ConfigSource, compile_str};

    use super::*;

    fn policy(toml: &str) -> HostPolicy {
        let c = compile_str(toml, ConfigSource::Default, &|_| None).expect("valid config");
        HostPolicy::new(&c)
    }

    #[test]
    fn loopback_and_configured_names_are_allowed_and_nothing_else() {
        let p = policy(
            "[server]\nlisten = \"0.0.0.0:8787\"\nallowed_origins = [\"https://app.example.org\"]\n[admin]\nhosts = [\"gw.example.com\", \"*.corp.example\"]\n",
        );
        let local: SocketAddr = "192.168.1.5:8787".parse().expect("addr");
        for ok in [
            "localhost",
            "localhost:8787",
            "LOCALHOST.",
            "app.localhost:8787",
            "127.0.0.1",
            "127.0.0.1:8787",
            "127.9.9.9:1",
            "[::1]:8787",
            "[::1]",
            "gw.example.com:443",
            "a.corp.example",
            "192.168.1.5:8787",
        ] {
            assert!(p.allows_host(ok, Some(local)), "{ok}");
        }
        for bad in [
            "evil.example.com",
            "evil.example.com:8787",
            "localhost.evil.example",
            "corp.example",
            "gw.example.com.evil.example",
            "10.0.0.1:8787",
            "127.0.0.1:port",
            "[::1",
            "",
            "a b",
        ] {
            assert!(!p.allows_host(bad, Some(local)), "{bad}");
        }
        assert!(p.allows_origin("http://localhost:8787", None));
        assert!(p.allows_origin("http://127.0.0.1:8787", None));
        assert!(p.allows_origin("https://app.example.org", None));
        assert!(!p.allows_origin("https://app.example.org:8443", None));
        assert!(!p.allows_origin("http://evil.example.com:8787", None));
        assert!(!p.allows_origin("null", None));
        assert!(!p.allows_origin("file://", None));
    }

    #[test]
    fn a_specific_listen_address_is_allowed() {
        let p = policy("[server]\nlisten = \"10.1.2.3:8787\"\n");
        assert!(p.allows_host("10.1.2.3:8787", None));
        assert!(!p.allows_host("10.1.2.4:8787", None));
    }
}
