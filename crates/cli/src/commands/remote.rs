//! Talking to the running gateway's control plane as the local admin: the address comes from
//! the configuration (`[admin] listen`, else `[server] listen`), the credential from the data
//! directory (`admin.token`, which only the user who runs the gateway can read). So `status`,
//! `ui` and the admin commands work with no flags for that user, and for nobody else.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;
use switchboard_auth::{LocalCredential, SecretString};
use switchboard_config::render_errors;
use switchboard_server::{ConfigFile, client_addr};

use crate::commands::{config_path, data_dir};

/// The control plane of the gateway this user runs.
pub(crate) struct Remote {
    /// `http(s)://host:port`, no trailing `/`.
    pub(crate) base: String,
    /// This user's credential, or why there is none (said only if the gateway asks for it: a
    /// gateway that is not running is the more useful news).
    token: Result<SecretString, String>,
    http: reqwest::Client,
}

/// Why the gateway could not be asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RemoteError {
    /// Nothing answers at the address: the gateway is not running (or is elsewhere).
    #[error(
        "the gateway is not reachable at {base}: {cause} — is `switchboard serve` running? (use --url to point elsewhere)"
    )]
    Unreachable { base: String, cause: String },
    /// It answered with an error.
    #[error("{method} {url} answered {status}: {message}")]
    Answered {
        method: &'static str,
        url: String,
        status: u16,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

impl Remote {
    /// The gateway named by `url`, else the configuration's, with this user's credential.
    ///
    /// # Errors
    /// The configuration has errors (and no `url` was given), or the credential cannot be read
    /// (the message says why and what to do).
    pub(crate) fn locate(url: Option<String>, config: Option<PathBuf>) -> anyhow::Result<Self> {
        let dir = data_dir()?;
        let base = match url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => {
                let path = config_path(config, Some(&dir));
                let (config, _) = ConfigFile::new(path).peek().map_err(|errors| {
                    anyhow::anyhow!(
                        "{}cannot find the gateway: fix the configuration or pass --url",
                        render_errors(&errors)
                    )
                })?;
                let scheme = if config.server.tls.is_some() && config.admin.listen.is_none() {
                    "https"
                } else {
                    "http"
                };
                let addr = config.admin.listen.unwrap_or(config.server.listen);
                format!("{scheme}://{}", client_addr(addr))
            }
        };
        let token = LocalCredential::read(&dir)
            .map(|c| c.token().clone())
            .map_err(|e| e.to_string());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self { base, token, http })
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value, RemoteError> {
        self.send("GET", self.http.get(self.url(path)), path).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Value, RemoteError> {
        self.send("POST", self.http.post(self.url(path)).json(body), path)
            .await
    }

    pub(crate) async fn put(&self, path: &str, body: &Value) -> Result<Value, RemoteError> {
        self.send("PUT", self.http.put(self.url(path)).json(body), path)
            .await
    }

    pub(crate) async fn delete(&self, path: &str) -> Result<Value, RemoteError> {
        self.send("DELETE", self.http.delete(self.url(path)), path)
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(
        &self,
        method: &'static str,
        req: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<Value, RemoteError> {
        let url = self.url(path);
        let req = match &self.token {
            Ok(t) => req.bearer_auth(t.expose()),
            Err(_) => req,
        };
        let resp = req.send().await.map_err(|e| {
            if e.is_connect() || e.is_timeout() {
                RemoteError::Unreachable {
                    base: self.base.clone(),
                    cause: root_cause(&e),
                }
            } else {
                RemoteError::Other(format!("{method} {url} failed: {}", root_cause(&e)))
            }
        })?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED
            && let Err(why) = &self.token
        {
            return Err(RemoteError::Other(why.clone()));
        }
        let text = resp
            .text()
            .await
            .map_err(|e| RemoteError::Other(format!("reading the answer of {url}: {e}")))?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| text.trim().to_owned());
            return Err(RemoteError::Answered {
                method,
                url,
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_str(&text).map_err(|_| {
            RemoteError::Other(format!(
                "{url} did not answer with JSON: is this a switchboard gateway?"
            ))
        })
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
