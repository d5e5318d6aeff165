-- What the dashboard reads beyond the request log's first columns (issue #16); see
-- sqlite/0010_dashboard.sql for the meaning of each column.
ALTER TABLE requests ADD COLUMN replay_of UUID;
ALTER TABLE requests ADD COLUMN failovers INTEGER NOT NULL DEFAULT 0;

UPDATE requests SET failovers = (
    SELECT COUNT(*) FROM attempts a JOIN attempts b ON b.request_id = a.request_id AND b.seq = a.seq + 1
    WHERE a.request_id = requests.id AND a.endpoint <> b.endpoint
)
WHERE id IN (SELECT request_id FROM attempts WHERE seq > 0);

CREATE INDEX requests_failover ON requests (started_at, id) WHERE failovers > 0;

ALTER TABLE attempts ADD COLUMN offset_ms BIGINT;
ALTER TABLE attempts ADD COLUMN first_byte_ms BIGINT;
ALTER TABLE attempts ADD COLUMN stream_ms BIGINT;
ALTER TABLE attempts ADD COLUMN error_class TEXT;
