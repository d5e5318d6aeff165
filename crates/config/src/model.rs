//! The compiled configuration: only parsed, validated types. Produced by [`crate::compile`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use switchboard_protocol::Dialect;
use url::Url;

use crate::proxy::ProxySetting;
use crate::secret::SecretString;

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// Default `server.shutdown_grace`.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Default `server.header_timeout`.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Default `server.body_timeout`.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Default `storage.log_queue`.
pub const DEFAULT_LOG_QUEUE: usize = 10_000;

/// Where the running configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// No file: transparent pass-through to `https://api.anthropic.com`.
    Default,
    File(PathBuf),
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => {
                f.write_str("built-in default (pass-through to https://api.anthropic.com)")
            }
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The whole compiled configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: ConfigSource,
    pub server: ServerConfig,
    /// In priority order: index 0 is tried first.
    pub endpoints: Vec<EndpointConfig>,
    /// Global model mapping, used where an endpoint's own map has no rule for a model.
    pub models: ModelMap,
    pub routing: RoutingConfig,
    pub storage: StorageConfig,
    /// `[pricing.models."…"]`: prices that replace or extend the built-in table, in file order.
    pub pricing: Vec<PriceOverride>,
    pub audit: AuditConfig,
    pub log_file: LogFileConfig,
    /// `[opentelemetry]`: trace export; `None` when the section is absent or disabled.
    pub opentelemetry: Option<OpenTelemetryConfig>,
    /// `[admin]`: the control plane's door.
    pub admin: AdminConfig,
    /// `[[pools]]`: named groups of endpoints with a selection strategy (not yet used for
    /// routing).
    pub pools: Vec<PoolConfig>,
    /// `[[profiles]]`: named routes through the endpoints, in file order; the one in force is
    /// [`RoutingConfig::profile`].
    pub profiles: Vec<Profile>,
}

/// One `[[profiles]]` table: an endpoint order and a model map that replace the top-level ones
/// while the profile is in force (`[routing] profile`) or for a request that names it
/// (`X-Switchboard-Profile`), and what `switchboard claude --profile` sets in Claude Code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// Endpoint names in priority order; empty: every endpoint, in file order.
    pub endpoints: Vec<String>,
    /// Checked before the endpoint's own map and the global one.
    pub models: ModelMap,
    pub claude: ClaudeVars,
}

/// `[profiles.claude]`: Claude Code's model variables and timeout, set by the launcher.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaudeVars {
    /// `ANTHROPIC_MODEL`.
    pub model: Option<String>,
    /// `ANTHROPIC_DEFAULT_OPUS_MODEL`.
    pub opus: Option<String>,
    /// `ANTHROPIC_DEFAULT_SONNET_MODEL`.
    pub sonnet: Option<String>,
    /// `ANTHROPIC_DEFAULT_HAIKU_MODEL`.
    pub haiku: Option<String>,
    /// `CLAUDE_CODE_SUBAGENT_MODEL`.
    pub subagent: Option<String>,
    /// `API_TIMEOUT_MS`.
    pub timeout: Option<Duration>,
}

impl ClaudeVars {
    /// The environment variables these set, in a fixed order.
    #[must_use]
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (name, value) in [
            ("ANTHROPIC_MODEL", &self.model),
            ("ANTHROPIC_DEFAULT_OPUS_MODEL", &self.opus),
            ("ANTHROPIC_DEFAULT_SONNET_MODEL", &self.sonnet),
            ("ANTHROPIC_DEFAULT_HAIKU_MODEL", &self.haiku),
            ("CLAUDE_CODE_SUBAGENT_MODEL", &self.subagent),
        ] {
            if let Some(v) = value {
                out.push((name, v.clone()));
            }
        }
        if let Some(t) = self.timeout {
            out.push(("API_TIMEOUT_MS", t.as_millis().to_string()));
        }
        out
    }
}

/// The longest `[profiles.claude] timeout`: Claude Code's `API_TIMEOUT_MS` overflows its timer
/// past 2147483647 ms.
pub const MAX_CLAUDE_TIMEOUT: Duration = Duration::from_millis(2_147_483_647);

/// The request header naming the profile a request is routed with, whatever profile is in
/// force (`switchboard claude --profile` and `setup claude --profile` send it through Claude
/// Code's `ANTHROPIC_CUSTOM_HEADERS`).
pub const PROFILE_HEADER: &str = "x-switchboard-profile";

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// When set, clients must present it as `x-api-key` or `Authorization: Bearer`.
    pub auth_token: Option<SecretString>,
    /// How long a graceful shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// Longest a client may take to send a request's headers, from the first read of a request
    /// (for a kept-alive connection, from the end of the previous response). Slowloris clients
    /// are disconnected after it.
    pub header_timeout: Duration,
    /// Longest a client may go without sending a byte of a request body it has started.
    pub body_timeout: Duration,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with this certificate and key, re-read on
    /// every reload.
    pub tls: Option<TlsFiles>,
    /// Origins (`https://app.example.com`) whose web pages may call the proxy routes from a
    /// browser, besides the gateway's own.
    pub allowed_origins: Vec<String>,
    /// What a proxy request may be: see [`InputLimits`].
    pub limits: InputLimits,
}

/// Bounds on what a client may send to the proxy routes, each refused with an error in the
/// client's dialect before anything is sent upstream: memory and CPU per request stay bounded
/// whatever arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// Largest request body, bytes.
    pub max_body_bytes: u64,
    /// Most request headers.
    pub max_headers: usize,
    /// Largest total of header names and values, bytes.
    pub max_header_bytes: u64,
    /// Deepest JSON nesting in a body the gateway parses (one it translates).
    pub max_json_depth: usize,
    /// Most messages, tools and content blocks (all messages' together) in a body the gateway
    /// translates.
    pub max_messages: usize,
    pub max_tools: usize,
    pub max_content_blocks: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            // Anthropic's own limit is 32 MB; Claude Code's image-heavy requests stay under it.
            max_body_bytes: 64 << 20,
            max_headers: 100,
            max_header_bytes: 64 << 10,
            max_json_depth: 100,
            max_messages: 10_000,
            max_tools: 1_000,
            max_content_blocks: 100_000,
        }
    }
}

/// A PEM certificate chain and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `[admin]`: who may reach the control plane (admin API, query API, `/status`, `/metrics`, the
/// dashboard) and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// A listener of its own for the control plane; `None`: it shares the proxy's port.
    pub listen: Option<SocketAddr>,
    /// Host names the control plane answers to besides loopback and the listen address (the
    /// DNS rebinding guard refuses any other `Host`). `*.example.com` matches subdomains.
    pub hosts: Vec<String>,
    /// Whether `/metrics` needs an admin.
    pub metrics: MetricsAccess,
    /// A bearer token a scraper may present for `/metrics` instead of an admin session.
    pub metrics_token: Option<SecretString>,
    /// How long a dashboard session lasts at most.
    pub session_lifetime: Duration,
    /// A session unused this long ends.
    pub session_idle: Duration,
    /// From where the control plane may change Claude Code's files (MCP servers, skills).
    pub claude_files: ClaudeFilesAccess,
}

/// From where an admin may change the gateway user's Claude Code files through the control
/// plane. An MCP server or a skill runs commands as that user the next time Claude Code starts,
/// so by default only someone on the machine itself may add one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaudeFilesAccess {
    /// Only over a loopback connection: the CLI, or a browser on the machine.
    Local,
    /// From any admin, wherever they connect from.
    Any,
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess {
    /// An admin, or the scrape token.
    Admin,
    /// Anyone who can reach the port (a scraper on a private network).
    Open,
}

/// Default `[admin] session_lifetime`.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default `[admin] session_idle`.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: None,
            hosts: Vec::new(),
            metrics: MetricsAccess::Admin,
            claude_files: ClaudeFilesAccess::Local,
            metrics_token: None,
            session_lifetime: DEFAULT_SESSION_LIFETIME,
            session_idle: DEFAULT_SESSION_IDLE,
        }
    }
}

/// How credentials are attached to upstream requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStyle {
    /// `x-api-key: KEY` (Anthropic).
    XApiKey,
    /// `Authorization: Bearer KEY` (OpenAI-compatible, Anthropic-compatible gateways).
    Bearer,
    /// `x-goog-api-key: KEY` (Gemini).
    GoogApiKey,
}

/// One upstream endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    pub name: String,
    /// The wire protocol the endpoint speaks.
    pub kind: Dialect,
    /// Base URL without the API path, e.g. `https://api.anthropic.com` or
    /// `https://api.openai.com/v1` (for OpenAI-kind endpoints the `/v1` is part of the base).
    pub base_url: Url,
    /// `None`: pass the client's own credentials through.
    pub api_key: Option<SecretString>,
    pub auth: AuthStyle,
    /// Extra headers sent with every request to this endpoint.
    pub headers: Vec<(String, String)>,
    pub models: ModelMap,
    /// The preset this endpoint was built from, if any.
    pub preset: Option<String>,
    /// Upper bound for `max_tokens` on this endpoint (clamped when translating).
    pub max_output_tokens: Option<u32>,
    /// Whether `/v1/messages/count_tokens` may be forwarded here.
    pub count_tokens: bool,
    /// Disabled endpoints stay in the config but receive no traffic.
    pub enabled: bool,
    /// This endpoint's own proxy choice; `None` follows `[routing]` (and so the environment).
    pub proxy: Option<ProxySetting>,
}

impl EndpointConfig {
    /// `base_url` with `api_path` appended, e.g. `/chat/completions` or `/v1/messages`.
    /// The base path is kept (`https://api.openai.com/v1` → `…/v1/chat/completions`).
    #[must_use]
    pub fn api_url(&self, api_path: &str) -> Url {
        let mut url = self.base_url.clone();
        let path = format!(
            "{}/{}",
            url.path().trim_end_matches('/'),
            api_path.trim_start_matches('/')
        );
        url.set_path(&path);
        url
    }
}

/// Model-name rewriting rules, checked in this order: exact name, glob patterns (in file order),
/// then Claude Code roles (`opus`, `sonnet`, `haiku`, `fable`: the requested id contains the
/// role word; `small-fast` serves haiku-class requests when no `haiku` rule exists).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelMap {
    pub rules: Vec<ModelRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRule {
    pub pattern: String,
    pub target: String,
}

/// Claude Code model roles that a mapping key may name.
pub const ROLES: &[&str] = &["opus", "sonnet", "haiku", "fable", "small-fast"];

/// Whether a mapping's name stands for many models (a glob, or a role like `sonnet`) rather
/// than naming one.
#[must_use]
pub fn is_model_pattern(name: &str) -> bool {
    name.contains(['*', '?']) || ROLES.contains(&name)
}

impl ModelMap {
    /// The mapped model for `requested`, if any rule matches.
    #[must_use]
    pub fn resolve(&self, requested: &str) -> Option<&str> {
        // Every request resolves against its endpoint's map and the global one, most of them
        // empty: skip the lower-casing and the role scan.
        if self.rules.is_empty() {
            return None;
        }
        if let Some(r) = self.rules.iter().find(|r| r.pattern == requested) {
            return Some(&r.target);
        }
        let lower = requested.to_ascii_lowercase();
        if let Some(r) = self
            .rules
            .iter()
            .find(|r| is_glob(&r.pattern) && glob_match(&r.pattern, &lower))
        {
            return Some(&r.target);
        }
        let role = |name: &str| {
            self.rules
                .iter()
                .find(|r| r.pattern == name)
                .map(|r| r.target.as_str())
        };
        for word in ["opus", "sonnet", "haiku", "fable"] {
            if lower.contains(word) {
                if let Some(t) = role(word) {
                    return Some(t);
                }
                let fallback = if word == "haiku" {
                    role("small-fast")
                } else {
                    None
                };
                if let Some(t) = fallback {
                    return Some(t);
                }
            }
        }
        None
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?'])
}

/// `*` matches any run of characters, `?` one character; case-insensitive on the pattern side.
#[must_use]
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingConfig {
    /// Retries per endpoint for 5xx / 529 / network errors (attempts = 1 + retries).
    pub max_retries: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Cooldown after a 429 or auth failure that names no reset time.
    pub cooldown: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Time allowed for the response head and, for streams, the first event.
    pub first_byte_timeout: Duration,
    /// Longest silence allowed between two chunks of a stream before it counts as stalled.
    pub idle_timeout: Duration,
    /// Send `event: ping` to the client after this long without upstream bytes.
    pub keepalive_interval: Duration,
    /// After an endpoint exhausts its retries on 5xx/network errors it sits out this long, so
    /// the requests that follow don't each wait through the whole backoff ladder. Zero disables.
    pub failure_cooldown: Duration,
    /// How upstream connections go out: `None` reads the environment (`HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) as reqwest and curl do; otherwise this, whatever
    /// the environment says. An endpoint's own `proxy` wins over it.
    pub proxy: Option<ProxySetting>,
    /// Hosts that bypass [`Self::proxy`] when it is a URL, in `NO_PROXY`'s syntax: a domain
    /// (matching its subdomains too), an IP address or CIDR range, or `*`.
    pub no_proxy: Vec<String>,
    /// The profile in force (one of [`Config::profiles`]); `None`: every endpoint in file order
    /// with the top-level model maps.
    pub profile: Option<String>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            max_retries: 5,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(10),
            cooldown: Duration::from_secs(30 * 60),
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(600),
            keepalive_interval: Duration::from_secs(15),
            failure_cooldown: Duration::from_secs(30),
            proxy: None,
            no_proxy: Vec::new(),
            profile: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// `postgres://…` for PostgreSQL; `None` for SQLite in the data directory.
    pub url: Option<String>,
    /// Capacity of the in-memory log queue; a full queue drops records (counted), never blocks.
    pub log_queue: usize,
    /// Requests older than this are deleted by the hourly maintenance job; `None` keeps them.
    pub retention: Option<Duration>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: None,
            log_queue: DEFAULT_LOG_QUEUE,
            retention: None,
        }
    }
}

/// The price of one model (or glob of models) in USD per million tokens, from
/// `[pricing.models."…"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceOverride {
    /// An exact model id or a glob (`*`, `?`), matched case-insensitively.
    pub pattern: String,
    pub input: f64,
    pub output: f64,
    /// 5-minute cache writes; defaults to `input`.
    pub cache_write: f64,
    /// 1-hour cache writes; defaults to `cache_write`.
    pub cache_write_1h: f64,
    /// Cache reads; defaults to `input`.
    pub cache_read: f64,
}

/// Default `audit.retention`: 14 days.
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);
/// Default `audit.max_bytes`: 1 GiB of compressed audit data.
pub const DEFAULT_AUDIT_MAX_BYTES: u64 = 1 << 30;
/// Default `audit.max_request_bytes`: 8 MiB captured per request.
pub const DEFAULT_AUDIT_MAX_REQUEST_BYTES: u64 = 8 << 20;

/// `[audit]`: capture of request and response bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    pub enabled: bool,
    /// Audit data older than this is deleted by the hourly maintenance job.
    pub retention: Duration,
    /// Cap on stored (compressed) audit data; the oldest is deleted first.
    pub max_bytes: u64,
    /// Cap on the bytes captured for one request (bodies and chunks); the rest is cut and marked.
    pub max_request_bytes: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            retention: DEFAULT_AUDIT_RETENTION,
            max_bytes: DEFAULT_AUDIT_MAX_BYTES,
            max_request_bytes: DEFAULT_AUDIT_MAX_REQUEST_BYTES,
        }
    }
}

/// `[log_file]`: a daily-rotating plain-text request log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogFileConfig {
    pub enabled: bool,
    /// Directory of the files; `None` is `<data_dir>/logs`, a relative path is under the data
    /// directory.
    pub dir: Option<PathBuf>,
}

/// Default `opentelemetry.service_name`.
pub const DEFAULT_OTEL_SERVICE_NAME: &str = "switchboard";
/// Default `opentelemetry.timeout`: the OTLP exporter default.
pub const DEFAULT_OTEL_TIMEOUT: Duration = Duration::from_secs(10);

/// `[opentelemetry]`: spans for every proxied request, exported over OTLP/HTTP (protobuf).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTelemetryConfig {
    /// Base URL of the collector's OTLP/HTTP receiver, without a trailing `/`, query or
    /// credentials, e.g. `http://127.0.0.1:4318`. Spans go to [`Self::traces_url`].
    pub endpoint: Url,
    /// Sent with every export (an API key, an `authorization` header): secrets, shown masked.
    pub headers: Vec<(String, SecretString)>,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// Fraction of traces started here that are exported, 0 to 1. A sampled-in or sampled-out
    /// `traceparent` from the client decides for its trace instead.
    pub sample_ratio: f64,
    /// Time allowed for one export request.
    pub timeout: Duration,
}

impl OpenTelemetryConfig {
    /// Where spans are posted: the endpoint with `/v1/traces` appended (OTLP/HTTP).
    #[must_use]
    pub fn traces_url(&self) -> Url {
        let mut url = self.endpoint.clone();
        let path = format!("{}/v1/traces", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }
}

/// One `[[pools]]` table: a named group of endpoints (accounts) serving the same models, and how
/// requests are spread over them. Not yet used for routing (issue 19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub name: String,
    /// In file order; each names a configured endpoint, once.
    pub members: Vec<PoolMember>,
    pub strategy: PoolStrategy,
    /// Another pool's name, tried when no member of this one can serve; fallbacks form no
    /// cycle.
    pub fallback: Option<String>,
    pub affinity: AffinitySettings,
    pub breaker: BreakerSettings,
}

/// A pool member: an endpoint, its weight (`weighted` only) and its priority tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolMember {
    pub endpoint: String,
    /// 1 unless `strategy = "weighted"`; 0 takes traffic only when no weighted member can.
    pub weight: u32,
    /// 1 (first) to 16: the strategy spreads within the lowest tier that can serve.
    pub tier: u32,
}

/// `[[pools]] strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolStrategy {
    /// Ordered failover: the first member that can serve (today's behaviour).
    #[default]
    Priority,
    RoundRobin,
    Weighted,
    /// The least recently used.
    Lru,
    /// The fewest requests in the usage window.
    LeastUsed,
    /// The fewest tokens in the usage window.
    LeastUsedTokens,
    /// The most remaining quota the provider reports.
    MostRemaining,
    /// The account added longest ago.
    OldestFirst,
    /// The member in use until it can't serve.
    FillFirst,
    /// Power of two choices over recent time to first byte.
    LowestLatency,
}

impl PoolStrategy {
    /// The names written in the file, in the order of [`Self::ALL`].
    pub const NAMES: &'static [&'static str] = &[
        "priority",
        "round_robin",
        "weighted",
        "lru",
        "least_used",
        "least_used_tokens",
        "most_remaining",
        "oldest_first",
        "fill_first",
        "lowest_latency",
    ];
    pub const ALL: [Self; 10] = [
        Self::Priority,
        Self::RoundRobin,
        Self::Weighted,
        Self::Lru,
        Self::LeastUsed,
        Self::LeastUsedTokens,
        Self::MostRemaining,
        Self::OldestFirst,
        Self::FillFirst,
        Self::LowestLatency,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::NAMES[i]
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        let i = Self::NAMES.iter().position(|n| *n == name)?;
        Some(Self::ALL[i])
    }
}

/// `[pools.affinity]`: keeping a session's requests on one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffinitySettings {
    pub enabled: bool,
    /// Forgotten after this long unused; every request renews it.
    pub ttl: Duration,
    /// A header naming the session when Claude Code's own signals are absent (lowercase).
    pub header: Option<String>,
    /// The most sessions remembered; the least recently used goes first.
    pub max_sessions: usize,
}

impl Default for AffinitySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl: Duration::from_secs(3600),
            header: None,
            max_sessions: 10_000,
        }
    }
}

/// `[pools.breaker]`: each member's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Opens after this many failures in a row; 0: never on a streak.
    pub consecutive_failures: u32,
    /// Opens when this percentage of the attempts in `window` failed; 0: never on a rate.
    pub failure_rate_percent: u8,
    /// Attempts in `window` before the rate is judged.
    pub min_requests: u32,
    pub window: Duration,
    /// Time open before one trial request.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            failure_rate_percent: 50,
            min_requests: 10,
            window: Duration::from_secs(60),
            open_for: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(rules: &[(&str, &str)]) -> ModelMap {
        ModelMap {
            rules: rules
                .iter()
                .map(|(p, t)| ModelRule {
                    pattern: (*p).into(),
                    target: (*t).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn exact_beats_glob_beats_role() {
        let m = map(&[
            ("opus", "big"),
            ("claude-3-5-haiku*", "old-small"),
            ("claude-opus-5-5", "exact"),
            ("haiku", "small"),
        ]);
        assert_eq!(m.resolve("claude-opus-5-5"), Some("exact"));
        assert_eq!(m.resolve("claude-opus-4-1"), Some("big"));
        assert_eq!(m.resolve("claude-3-5-haiku-20241022"), Some("old-small"));
        assert_eq!(m.resolve("claude-haiku-5-5"), Some("small"));
        assert_eq!(m.resolve("gpt-4o"), None);
    }

    #[test]
    fn small_fast_serves_haiku_when_no_haiku_rule() {
        assert_eq!(
            map(&[("small-fast", "tiny")]).resolve("claude-haiku-5-5"),
            Some("tiny")
        );
    }

    #[test]
    fn glob_matching() {
        assert!(glob_match("claude-*-haiku*", "claude-3-5-haiku-2024"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("gpt-?o", "gpt-4o"));
        assert!(!glob_match("claude-*", "gpt-4o"));
    }
}
