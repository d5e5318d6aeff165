-- Audit data in content-defined chunks stored once across requests (src/audit/chunked.rs).
-- Claude Code sends the whole conversation again at every turn; stored whole per request, audit
-- data grew with the square of a session's length. New audit data goes to `audit_request` (one
-- row per request: the entries' heads and small bodies, and the list of chunks its larger bodies
-- are made of) and `audit_chunk` / `audit_chunk_data` (each distinct chunk once, with the number
-- of times the request rows list it). The legacy `audit` table is still read, and deleted from
-- by retention and the size cap; nothing is written to it any more.
CREATE TABLE audit_request (
    request_id BLOB NOT NULL UNIQUE,
    -- Microseconds since the Unix epoch, like `audit.created_at`.
    created_at INTEGER NOT NULL,
    -- Entries (captured messages) in the row.
    entries INTEGER NOT NULL,
    -- Bytes captured (heads and bodies) and bytes this row stores (data and chunk list; its
    -- chunks are counted in `audit_chunk`).
    raw_size INTEGER NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    -- Chunk ids as LEB128 varints, in order of use; NULL when no body is chunked.
    chunks BLOB
);

-- Retention and the size cap delete oldest first.
CREATE INDEX audit_request_created ON audit_request (created_at);

-- `refs`: how many times the request rows list the chunk; the transaction that takes it to 0
-- deletes the chunk. `hash`: BLAKE3 of its plain bytes. `size`: bytes of its stored data. The
-- data is apart, so that counting a reference rewrites a small row, never a chunk's pages.
CREATE TABLE audit_chunk (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    refs INTEGER NOT NULL,
    size INTEGER NOT NULL
);

CREATE TABLE audit_chunk_data (
    id INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);

-- Bytes of stored audit data, kept by the triggers below: the size cap and the metrics read it
-- instead of summing the tables (that scan filled the read connections' page caches with the
-- whole audit table at every maintenance run). Counted once here from the legacy table.
CREATE TABLE audit_usage (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    bytes INTEGER NOT NULL
);
INSERT INTO audit_usage (id, bytes) SELECT 0, COALESCE(SUM(size), 0) FROM audit;

CREATE TRIGGER audit_usage_legacy_ai AFTER INSERT ON audit BEGIN
    UPDATE audit_usage SET bytes = bytes + new.size WHERE id = 0;
END;
CREATE TRIGGER audit_usage_legacy_ad AFTER DELETE ON audit BEGIN
    UPDATE audit_usage SET bytes = bytes - old.size WHERE id = 0;
END;
CREATE TRIGGER audit_usage_request_ai AFTER INSERT ON audit_request BEGIN
    UPDATE audit_usage SET bytes = bytes + new.size WHERE id = 0;
END;
CREATE TRIGGER audit_usage_request_ad AFTER DELETE ON audit_request BEGIN
    UPDATE audit_usage SET bytes = bytes - old.size WHERE id = 0;
END;
CREATE TRIGGER audit_usage_chunk_ai AFTER INSERT ON audit_chunk BEGIN
    UPDATE audit_usage SET bytes = bytes + new.size WHERE id = 0;
END;
CREATE TRIGGER audit_usage_chunk_ad AFTER DELETE ON audit_chunk BEGIN
    UPDATE audit_usage SET bytes = bytes - old.size WHERE id = 0;
END;
