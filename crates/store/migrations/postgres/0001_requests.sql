-- Request log, one row per client request. Counters are non-negative BIGINTs.
CREATE TABLE requests (
    id UUID NOT NULL PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
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
    stream BOOLEAN NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    stop_reason TEXT,
    ttfb_ms BIGINT,
    latency_ms BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cache_creation_input_tokens BIGINT NOT NULL,
    cache_read_input_tokens BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION,
    request_bytes BIGINT NOT NULL,
    response_bytes BIGINT NOT NULL
);

-- Keyset pagination and time-range aggregates.
CREATE INDEX requests_time ON requests (started_at, id);

-- Filters: equality on the column, then time order.
CREATE INDEX requests_requested_model ON requests (requested_model, started_at, id);
CREATE INDEX requests_routed_model ON requests (routed_model, started_at, id);
CREATE INDEX requests_endpoint ON requests (endpoint, started_at, id);
CREATE INDEX requests_client_key ON requests (client_key, started_at, id);
CREATE INDEX requests_outcome ON requests (outcome, started_at, id);

-- One row per attempt against an endpoint, in order.
CREATE TABLE attempts (
    request_id UUID NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT,
    status INTEGER,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    disposition TEXT NOT NULL,
    PRIMARY KEY (request_id, seq)
);
