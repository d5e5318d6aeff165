-- Audit data in content-defined chunks stored once across requests (src/audit/chunked.rs); see
-- the SQLite migration 0008 for why. The legacy `audit` table is still read and deleted from,
-- never written.
CREATE TABLE audit_request (
    request_id UUID PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    entries INTEGER NOT NULL,
    raw_size BIGINT NOT NULL,
    size BIGINT NOT NULL,
    data BYTEA NOT NULL,
    chunks BYTEA
);
CREATE INDEX audit_request_created ON audit_request (created_at);

CREATE TABLE audit_chunk (
    id BIGSERIAL PRIMARY KEY,
    hash BYTEA NOT NULL UNIQUE,
    refs BIGINT NOT NULL,
    size BIGINT NOT NULL
);

CREATE TABLE audit_chunk_data (
    id BIGINT PRIMARY KEY,
    data BYTEA NOT NULL
);
-- Already compressed: stored out of line without compressing again.
ALTER TABLE audit_chunk_data ALTER COLUMN data SET STORAGE EXTERNAL;

-- Bytes of stored audit data, kept by the triggers below (the size cap reads it instead of
-- summing the tables). Every transaction that changes audit data locks this row first
-- (`SELECT … FOR UPDATE`), so they take their other locks in one order.
CREATE TABLE audit_usage (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    bytes BIGINT NOT NULL
);
INSERT INTO audit_usage (id, bytes) SELECT 0, COALESCE(SUM(size), 0)::BIGINT FROM audit;

CREATE FUNCTION audit_usage_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE audit_usage SET bytes = bytes + NEW.size WHERE id = 0;
    ELSE
        UPDATE audit_usage SET bytes = bytes - OLD.size WHERE id = 0;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_usage_legacy AFTER INSERT OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_usage_count();
CREATE TRIGGER audit_usage_request AFTER INSERT OR DELETE ON audit_request
    FOR EACH ROW EXECUTE FUNCTION audit_usage_count();
CREATE TRIGGER audit_usage_chunk AFTER INSERT OR DELETE ON audit_chunk
    FOR EACH ROW EXECUTE FUNCTION audit_usage_count();
