-- Audit data: what was sent and received for a request, one row per captured message, apart from
-- the request log so that list and stats queries never touch it. `data` is
-- zstd(meta JSON + "\n" + body); `raw_size` is its uncompressed length and `size` its stored
-- length (the size cap sums it). `created_at` is microseconds since the Unix epoch, like
-- `requests.started_at`. A rowid table: the blobs are large, which WITHOUT ROWID handles badly.
CREATE TABLE audit (
    request_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    raw_size INTEGER NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (request_id, seq)
);

-- Retention and the size cap delete oldest first.
CREATE INDEX audit_created ON audit (created_at);
