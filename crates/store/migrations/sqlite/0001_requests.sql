-- Request log, one row per client request. Timestamps are microseconds since the Unix epoch
-- (UTC); counters are non-negative integers; `id` is the 16-byte UUID (v7, so time-ordered).
CREATE TABLE requests (
    id BLOB NOT NULL PRIMARY KEY,
    started_at INTEGER NOT NULL,
    client_addr TEXT,
    client_key TEXT,
    user_agent TEXT,
    session_id TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    client_dialect TEXT NOT NULL,
    requested_model TEXT,
    routed_model TEXT,
    endpoint TEXT,
    stream INTEGER NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    stop_reason TEXT,
    ttfb_ms INTEGER,
    latency_ms INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_creation_input_tokens INTEGER NOT NULL,
    cache_read_input_tokens INTEGER NOT NULL,
    cost_usd REAL,
    request_bytes INTEGER NOT NULL,
    response_bytes INTEGER NOT NULL
);

-- Two wide covering indexes instead of one per filter: every filter except the free-text search
-- is evaluated inside the index, so no query does random lookups into the (wide) table rows.
--
-- Time order: keyset pagination walks it backwards (stopping after one page of matches), and
-- stats, timeseries and breakdown scan the `started_at` range of it.
CREATE INDEX requests_time ON requests (
    started_at, id, status, outcome, stream, requested_model, routed_model, endpoint, client_key,
    latency_ms, ttfb_ms, input_tokens, output_tokens, cache_creation_input_tokens,
    cache_read_input_tokens, cost_usd
);

-- Value order: a percentile is `ORDER BY latency_ms LIMIT 1 OFFSET k`, a walk of this index from
-- the nearer end that counts only entries matching the filter.
CREATE INDEX requests_latency ON requests (
    latency_ms, started_at, status, outcome, stream, requested_model, routed_model, endpoint,
    client_key
);
CREATE INDEX requests_ttfb ON requests (
    ttfb_ms, started_at, status, outcome, stream, requested_model, routed_model, endpoint,
    client_key
) WHERE ttfb_ms IS NOT NULL;

-- One row per attempt against an endpoint, in order. No foreign key: the store deletes attempts
-- itself, which keeps inserts cheap.
CREATE TABLE attempts (
    request_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT,
    status INTEGER,
    latency_ms INTEGER NOT NULL,
    error TEXT,
    disposition TEXT NOT NULL,
    PRIMARY KEY (request_id, seq)
) WITHOUT ROWID;
