//! Test doubles for the proxies a gateway may have to go through: an HTTP proxy ([`HttpProxy`]:
//! `CONNECT` tunnels and absolute-form forwarding) and a SOCKS proxy ([`SocksProxy`]: SOCKS5 with
//! optional user/password authentication, and SOCKS4/4a). Both listen on 127.0.0.1, count what
//! they do, and record each destination as the client named it.
//!
//! They never ask a resolver: a destination given as an IP address is connected to as given,
//! and every name is loopback (127.0.0.1), so tests reach their local upstreams by any name.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a proxy did.
#[derive(Default)]
struct Stats {
    tunnels: AtomicUsize,
    forwarded: AtomicUsize,
    refused: AtomicUsize,
    targets: Mutex<Vec<String>>,
    auth_seen: Mutex<Vec<Option<String>>>,
}

async fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    (listener, addr)
}

/// Where a destination named `host` is: its address, or loopback for a name.
fn target_ip(host: &str) -> IpAddr {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// An HTTP proxy: answers `CONNECT host:port` with a tunnel, and forwards requests in absolute
/// form (`GET http://host:port/path`) to their host in origin form, then relays the connection
/// as it is (later requests on it go through unchanged). With credentials set it answers `407`
/// to a request whose `Proxy-Authorization` is not theirs.
pub struct HttpProxy {
    addr: SocketAddr,
    stats: Arc<Stats>,
}

impl HttpProxy {
    /// A proxy that asks for no credentials.
    pub async fn start() -> Self {
        Self::spawn(None).await
    }

    /// A proxy that wants `Proxy-Authorization: Basic` with `user` and `password`.
    pub async fn with_basic_auth(user: &str, password: &str) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Self::spawn(Some(format!("Basic {token}"))).await
    }

    async fn spawn(auth: Option<String>) -> Self {
        let (listener, addr) = listen().await;
        let stats = Arc::new(Stats::default());
        let st = stats.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (st, auth) = (st.clone(), auth.clone());
                tokio::spawn(async move {
                    let _ = serve_http(conn, &st, auth.as_deref()).await;
                });
            }
        });
        Self { addr, stats }
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `CONNECT` tunnels opened.
    #[must_use]
    pub fn tunnels(&self) -> usize {
        self.stats.tunnels.load(Ordering::SeqCst)
    }

    /// Connections on which an absolute-form request was forwarded.
    #[must_use]
    pub fn forwarded(&self) -> usize {
        self.stats.forwarded.load(Ordering::SeqCst)
    }

    /// Requests answered `407`.
    #[must_use]
    pub fn refused(&self) -> usize {
        self.stats.refused.load(Ordering::SeqCst)
    }

    /// Each destination tunnelled or forwarded to, `host:port` as the client wrote it.
    #[must_use]
    pub fn targets(&self) -> Vec<String> {
        self.stats.targets.lock().clone()
    }

    /// The `Proxy-Authorization` of each request the proxy read, in order.
    #[must_use]
    pub fn auth_seen(&self) -> Vec<Option<String>> {
        self.stats.auth_seen.lock().clone()
    }
}

async fn serve_http(mut conn: TcpStream, stats: &Stats, auth: Option<&str>) -> std::io::Result<()> {
    // The request head, and whatever came after it in the same reads.
    let mut buf = Vec::new();
    let end = loop {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await?;
        if n == 0 || buf.len() > 64 * 1024 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let rest = buf[end..].to_vec();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, target, version) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or("HTTP/1.1"),
    );
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
        .collect();
    let proxy_auth = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, v)| (*v).to_owned());
    stats.auth_seen.lock().push(proxy_auth.clone());
    if let Some(want) = auth
        && proxy_auth.as_deref() != Some(want)
    {
        stats.refused.fetch_add(1, Ordering::SeqCst);
        conn.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .await?;
        return Ok(());
    }
    let (authority, path) = if method == "CONNECT" {
        (target.to_owned(), String::new())
    } else {
        let without = target.strip_prefix("http://").unwrap_or(target);
        let (a, p) = without.split_at(without.find('/').unwrap_or(without.len()));
        (
            a.to_owned(),
            if p.is_empty() {
                "/".to_owned()
            } else {
                p.to_owned()
            },
        )
    };
    let Some((host, port)) = authority.rsplit_once(':') else {
        conn.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let port: u16 = port.parse().unwrap_or(80);
    let Ok(mut upstream) = TcpStream::connect((target_ip(host), port)).await else {
        conn.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    stats.targets.lock().push(authority.clone());
    if method == "CONNECT" {
        stats.tunnels.fetch_add(1, Ordering::SeqCst);
        conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
    } else {
        stats.forwarded.fetch_add(1, Ordering::SeqCst);
        let mut out = format!("{method} {path} {version}\r\n");
        for (n, v) in &headers {
            if !n.to_ascii_lowercase().starts_with("proxy-") {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
        }
        out.push_str("\r\n");
        upstream.write_all(out.as_bytes()).await?;
    }
    upstream.write_all(&rest).await?;
    tokio::io::copy_bidirectional(&mut conn, &mut upstream).await?;
    Ok(())
}

/// A SOCKS proxy: SOCKS5 (no authentication, or user/password when set: then a client that
/// offers no credentials is refused), and SOCKS4/4a.
pub struct SocksProxy {
    addr: SocketAddr,
    stats: Arc<Stats>,
}

impl SocksProxy {
    /// A proxy that asks for no credentials.
    pub async fn start() -> Self {
        Self::spawn(None).await
    }

    /// A SOCKS5 proxy that wants these credentials.
    pub async fn with_auth(user: &str, password: &str) -> Self {
        Self::spawn(Some((user.to_owned(), password.to_owned()))).await
    }

    async fn spawn(auth: Option<(String, String)>) -> Self {
        let (listener, addr) = listen().await;
        let stats = Arc::new(Stats::default());
        let st = stats.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (st, auth) = (st.clone(), auth.clone());
                tokio::spawn(async move {
                    let _ = serve_socks(conn, &st, auth.as_ref()).await;
                });
            }
        });
        Self { addr, stats }
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections relayed.
    #[must_use]
    pub fn tunnels(&self) -> usize {
        self.stats.tunnels.load(Ordering::SeqCst)
    }

    /// Clients turned away (no or wrong credentials).
    #[must_use]
    pub fn refused(&self) -> usize {
        self.stats.refused.load(Ordering::SeqCst)
    }

    /// Each destination asked for, `host:port`: a name when the client sent a name, the address
    /// when it sent an address.
    #[must_use]
    pub fn targets(&self) -> Vec<String> {
        self.stats.targets.lock().clone()
    }
}

async fn serve_socks(
    mut conn: TcpStream,
    stats: &Stats,
    auth: Option<&(String, String)>,
) -> std::io::Result<()> {
    let version = conn.read_u8().await?;
    if version == 4 {
        return serve_socks4(conn, stats).await;
    }
    let methods = read_vec(&mut conn).await?;
    let wanted = if auth.is_some() { 2 } else { 0 };
    if !methods.contains(&wanted) {
        stats.refused.fetch_add(1, Ordering::SeqCst);
        return conn.write_all(&[5, 0xff]).await;
    }
    conn.write_all(&[5, wanted]).await?;
    if let Some((user, password)) = auth {
        let _version = conn.read_u8().await?;
        let (u, p) = (read_vec(&mut conn).await?, read_vec(&mut conn).await?);
        if u != user.as_bytes() || p != password.as_bytes() {
            stats.refused.fetch_add(1, Ordering::SeqCst);
            return conn.write_all(&[1, 1]).await;
        }
        conn.write_all(&[1, 0]).await?;
    }
    let mut request = [0u8; 4];
    conn.read_exact(&mut request).await?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            conn.read_exact(&mut ip).await?;
            Ipv4Addr::from(ip).to_string()
        }
        3 => String::from_utf8_lossy(&read_vec(&mut conn).await?).into_owned(),
        _ => {
            let mut ip = [0u8; 16];
            conn.read_exact(&mut ip).await?;
            format!("[{}]", Ipv6Addr::from(ip))
        }
    };
    let port = conn.read_u16().await?;
    stats.targets.lock().push(format!("{host}:{port}"));
    let Ok(mut upstream) = TcpStream::connect((target_ip(&host), port)).await else {
        return conn.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await;
    };
    stats.tunnels.fetch_add(1, Ordering::SeqCst);
    conn.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut conn, &mut upstream).await?;
    Ok(())
}

/// SOCKS4 (an address) and 4a (a name, after an address of the form 0.0.0.x).
async fn serve_socks4(mut conn: TcpStream, stats: &Stats) -> std::io::Result<()> {
    let _command = conn.read_u8().await?;
    let port = conn.read_u16().await?;
    let mut ip = [0u8; 4];
    conn.read_exact(&mut ip).await?;
    let _user_id = read_until_nul(&mut conn).await?;
    let host = if ip[..3] == [0, 0, 0] && ip[3] != 0 {
        String::from_utf8_lossy(&read_until_nul(&mut conn).await?).into_owned()
    } else {
        Ipv4Addr::from(ip).to_string()
    };
    stats.targets.lock().push(format!("{host}:{port}"));
    let Ok(mut upstream) = TcpStream::connect((target_ip(&host), port)).await else {
        return conn.write_all(&[0, 0x5b, 0, 0, 0, 0, 0, 0]).await;
    };
    stats.tunnels.fetch_add(1, Ordering::SeqCst);
    conn.write_all(&[0, 0x5a, 0, 0, 0, 0, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut conn, &mut upstream).await?;
    Ok(())
}

/// A length byte and that many bytes.
async fn read_vec(conn: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let n = conn.read_u8().await?;
    let mut v = vec![0u8; usize::from(n)];
    conn.read_exact(&mut v).await?;
    Ok(v)
}

async fn read_until_nul(conn: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    loop {
        match conn.read_u8().await? {
            0 => return Ok(v),
            b => v.push(b),
        }
    }
}
