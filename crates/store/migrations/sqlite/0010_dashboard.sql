-- What the dashboard reads beyond the request log's first columns (issue #16).
--
-- `replay_of`: the request a replay re-sent (`POST /api/admin/requests/{id}/replay`), NULL for
-- every other request. `failovers`: how many times the request moved from one endpoint to
-- another (consecutive attempts on different endpoints), written by the store from the
-- attempts; the partial index over the requests that failed over is what the failover figures
-- scan, so they never read the (mostly single-attempt) rest of the log.
ALTER TABLE requests ADD COLUMN replay_of BLOB;
ALTER TABLE requests ADD COLUMN failovers INTEGER NOT NULL DEFAULT 0;

UPDATE requests SET failovers = (
    SELECT COUNT(*) FROM attempts a JOIN attempts b ON b.request_id = a.request_id AND b.seq = a.seq + 1
    WHERE a.request_id = requests.id AND a.endpoint <> b.endpoint
)
WHERE id IN (SELECT request_id FROM attempts WHERE seq > 0);

CREATE INDEX requests_failover ON requests (started_at, id) WHERE failovers > 0;

-- The attempt waterfall: when each attempt started (milliseconds after the request arrived),
-- how long until the upstream's first byte (a status answered) and, for the attempt that was
-- streamed to the client, how long the rest of the stream took; the error class in one short
-- word (`429 rate_limit_error`, `timeout`, `connect`, `cooling_down`, …). NULL where unknown
-- (attempts logged before this migration).
ALTER TABLE attempts ADD COLUMN offset_ms INTEGER;
ALTER TABLE attempts ADD COLUMN first_byte_ms INTEGER;
ALTER TABLE attempts ADD COLUMN stream_ms INTEGER;
ALTER TABLE attempts ADD COLUMN error_class TEXT;
