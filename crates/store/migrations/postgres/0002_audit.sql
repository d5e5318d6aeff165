-- Audit data: what was sent and received for a request, one row per captured message, apart from
-- the request log. `data` is zstd(meta JSON + "\n" + body); `raw_size` is its uncompressed
-- length and `size` its stored length (the size cap sums it). No foreign key: retention deletes
-- audit data on its own schedule.
CREATE TABLE audit (
    request_id UUID NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    raw_size BIGINT NOT NULL,
    size BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (request_id, seq)
);

-- Already compressed: store out of line without compressing again.
ALTER TABLE audit ALTER COLUMN data SET STORAGE EXTERNAL;

-- Retention and the size cap delete oldest first.
CREATE INDEX audit_created ON audit (created_at);
