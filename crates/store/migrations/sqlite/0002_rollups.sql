-- Hourly pre-aggregates of `requests`, kept exact by triggers, so that stats, timeseries and
-- breakdowns over long ranges read thousands of rollup rows instead of millions of requests.
-- Only the partial hours at the edges of a range (and free-text searches) read `requests`.
--
-- Key columns hold '' for NULL: SQLite treats NULLs as distinct in a primary key.
CREATE TABLE request_rollups (
    hour INTEGER NOT NULL,
    requested_model TEXT NOT NULL,
    routed_model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    client_key TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    stream INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_creation_input_tokens INTEGER NOT NULL,
    cache_read_input_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    unknown_cost_requests INTEGER NOT NULL,
    ttfb_requests INTEGER NOT NULL,
    PRIMARY KEY (hour, requested_model, routed_model, endpoint, client_key, status, outcome, stream)
) WITHOUT ROWID;

INSERT INTO request_rollups
SELECT started_at / 3600000000 * 3600000000, COALESCE(requested_model, ''),
       COALESCE(routed_model, ''), COALESCE(endpoint, ''), COALESCE(client_key, ''), status,
       outcome, stream, COUNT(*), SUM(outcome = 'ok'), SUM(input_tokens), SUM(output_tokens),
       SUM(cache_creation_input_tokens), SUM(cache_read_input_tokens), TOTAL(cost_usd),
       COUNT(*) - COUNT(cost_usd), COUNT(ttfb_ms)
FROM requests
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

CREATE TRIGGER requests_rollup_insert AFTER INSERT ON requests BEGIN
    INSERT INTO request_rollups VALUES (
        NEW.started_at / 3600000000 * 3600000000, COALESCE(NEW.requested_model, ''),
        COALESCE(NEW.routed_model, ''), COALESCE(NEW.endpoint, ''), COALESCE(NEW.client_key, ''),
        NEW.status, NEW.outcome, NEW.stream, 1, NEW.outcome = 'ok', NEW.input_tokens,
        NEW.output_tokens, NEW.cache_creation_input_tokens, NEW.cache_read_input_tokens,
        COALESCE(NEW.cost_usd, 0.0), NEW.cost_usd IS NULL, NEW.ttfb_ms IS NOT NULL)
    ON CONFLICT (hour, requested_model, routed_model, endpoint, client_key, status, outcome, stream)
    DO UPDATE SET
        requests = requests + excluded.requests,
        ok = ok + excluded.ok,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_creation_input_tokens = cache_creation_input_tokens + excluded.cache_creation_input_tokens,
        cache_read_input_tokens = cache_read_input_tokens + excluded.cache_read_input_tokens,
        cost_usd = cost_usd + excluded.cost_usd,
        unknown_cost_requests = unknown_cost_requests + excluded.unknown_cost_requests,
        ttfb_requests = ttfb_requests + excluded.ttfb_requests;
END;

CREATE TRIGGER requests_rollup_delete AFTER DELETE ON requests BEGIN
    UPDATE request_rollups SET
        requests = requests - 1,
        ok = ok - (OLD.outcome = 'ok'),
        input_tokens = input_tokens - OLD.input_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cache_creation_input_tokens = cache_creation_input_tokens - OLD.cache_creation_input_tokens,
        cache_read_input_tokens = cache_read_input_tokens - OLD.cache_read_input_tokens,
        cost_usd = cost_usd - COALESCE(OLD.cost_usd, 0.0),
        unknown_cost_requests = unknown_cost_requests - (OLD.cost_usd IS NULL),
        ttfb_requests = ttfb_requests - (OLD.ttfb_ms IS NOT NULL)
    WHERE hour = OLD.started_at / 3600000000 * 3600000000
      AND requested_model = COALESCE(OLD.requested_model, '')
      AND routed_model = COALESCE(OLD.routed_model, '')
      AND endpoint = COALESCE(OLD.endpoint, '')
      AND client_key = COALESCE(OLD.client_key, '')
      AND status = OLD.status AND outcome = OLD.outcome AND stream = OLD.stream;
    DELETE FROM request_rollups
    WHERE requests = 0
      AND hour = OLD.started_at / 3600000000 * 3600000000
      AND requested_model = COALESCE(OLD.requested_model, '')
      AND routed_model = COALESCE(OLD.routed_model, '')
      AND endpoint = COALESCE(OLD.endpoint, '')
      AND client_key = COALESCE(OLD.client_key, '')
      AND status = OLD.status AND outcome = OLD.outcome AND stream = OLD.stream;
END;

-- An upsert (`ON CONFLICT (id) DO UPDATE`) fires this: move the request from its old group to
-- its new one.
CREATE TRIGGER requests_rollup_update AFTER UPDATE ON requests BEGIN
    UPDATE request_rollups SET
        requests = requests - 1,
        ok = ok - (OLD.outcome = 'ok'),
        input_tokens = input_tokens - OLD.input_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cache_creation_input_tokens = cache_creation_input_tokens - OLD.cache_creation_input_tokens,
        cache_read_input_tokens = cache_read_input_tokens - OLD.cache_read_input_tokens,
        cost_usd = cost_usd - COALESCE(OLD.cost_usd, 0.0),
        unknown_cost_requests = unknown_cost_requests - (OLD.cost_usd IS NULL),
        ttfb_requests = ttfb_requests - (OLD.ttfb_ms IS NOT NULL)
    WHERE hour = OLD.started_at / 3600000000 * 3600000000
      AND requested_model = COALESCE(OLD.requested_model, '')
      AND routed_model = COALESCE(OLD.routed_model, '')
      AND endpoint = COALESCE(OLD.endpoint, '')
      AND client_key = COALESCE(OLD.client_key, '')
      AND status = OLD.status AND outcome = OLD.outcome AND stream = OLD.stream;
    DELETE FROM request_rollups
    WHERE requests = 0
      AND hour = OLD.started_at / 3600000000 * 3600000000
      AND requested_model = COALESCE(OLD.requested_model, '')
      AND routed_model = COALESCE(OLD.routed_model, '')
      AND endpoint = COALESCE(OLD.endpoint, '')
      AND client_key = COALESCE(OLD.client_key, '')
      AND status = OLD.status AND outcome = OLD.outcome AND stream = OLD.stream;
    INSERT INTO request_rollups VALUES (
        NEW.started_at / 3600000000 * 3600000000, COALESCE(NEW.requested_model, ''),
        COALESCE(NEW.routed_model, ''), COALESCE(NEW.endpoint, ''), COALESCE(NEW.client_key, ''),
        NEW.status, NEW.outcome, NEW.stream, 1, NEW.outcome = 'ok', NEW.input_tokens,
        NEW.output_tokens, NEW.cache_creation_input_tokens, NEW.cache_read_input_tokens,
        COALESCE(NEW.cost_usd, 0.0), NEW.cost_usd IS NULL, NEW.ttfb_ms IS NOT NULL)
    ON CONFLICT (hour, requested_model, routed_model, endpoint, client_key, status, outcome, stream)
    DO UPDATE SET
        requests = requests + excluded.requests,
        ok = ok + excluded.ok,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_creation_input_tokens = cache_creation_input_tokens + excluded.cache_creation_input_tokens,
        cache_read_input_tokens = cache_read_input_tokens + excluded.cache_read_input_tokens,
        cost_usd = cost_usd + excluded.cost_usd,
        unknown_cost_requests = unknown_cost_requests + excluded.unknown_cost_requests,
        ttfb_requests = ttfb_requests + excluded.ttfb_requests;
END;
