//! What the CLI's test binaries share: the built binary with a clean environment, a running
//! `switchboard serve` with its stderr collected, a minimal HTTP client over a raw socket.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

// Real time (no runtime here); tokio's Instant only satisfies the workspace's disallowed-types.
use tokio::time::Instant;

pub(crate) const WAIT: Duration = Duration::from_secs(30);
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// The binary with a clean environment pointing at `home`.
pub(crate) fn switchboard(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env("SWITCHBOARD_HOME", home)
        .env("HOME", home)
        .env_remove("SWITCHBOARD_CONFIG")
        .env_remove("SWITCHBOARD_TOKEN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd` to completion, killing it if it outlives [`WAIT`].
pub(crate) fn run(mut cmd: Command) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn switchboard");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx.recv_timeout(WAIT);
    if out.is_err() {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
    }
    out.expect("switchboard finishes within WAIT")
        .expect("wait for switchboard")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write config");
    path
}

/// A port nothing listens on (bound, then released).
pub(crate) fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The header the local admin (the CLI) sends to the control plane: the credential the gateway
/// made in its data directory.
pub(crate) fn admin_auth(home: &Path) -> String {
    let token = std::fs::read_to_string(home.join("admin.token")).expect("admin credential");
    format!("authorization: Bearer {}\r\n", token.trim())
}

/// A running `switchboard serve`, with its stderr collected line by line.
pub(crate) struct Gateway {
    pub(crate) child: Child,
    lines: mpsc::Receiver<String>,
    pub(crate) stderr: String,
}

impl Gateway {
    pub(crate) fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchboard serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            stderr: String::new(),
        }
    }

    /// Waits for a stderr line matching `pred` and returns it.
    pub(crate) fn wait_for_line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left);
            assert!(
                line.is_ok(),
                "no {what} on stderr within {WAIT:?}; got:\n{}",
                self.stderr
            );
            let line = line.expect("checked");
            self.stderr.push_str(&line);
            self.stderr.push('\n');
            if pred(&line) {
                return line;
            }
        }
    }

    /// Waits for the banner and returns the address from its `export` line.
    pub(crate) fn wait_for_banner(&mut self) -> SocketAddr {
        let line = self.wait_for_line("export ANTHROPIC_BASE_URL line", |l| {
            l.contains("export ANTHROPIC_BASE_URL=")
        });
        let url = line
            .trim()
            .trim_start_matches("export ANTHROPIC_BASE_URL=http://");
        url.parse().expect("the export line names host:port")
    }

    pub(crate) fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        self.wait_exit()
    }

    pub(crate) fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
                    self.stderr.push_str(&line);
                    self.stderr.push('\n');
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "switchboard did not exit within {WAIT:?}; stderr:\n{}",
                self.stderr
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 exchange over a raw socket: `(status, body)`.
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(WAIT))
        .expect("set read timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\ncontent-type: application/json\r\nanthropic-version: 2023-06-01\r\n{headers}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
