-- Searchable prompt text (see src/prompt.rs): the last user turn of each audited request, capped
-- at 16 KiB, kept and deleted together with the request's audit data. Searched with ILIKE: the
-- table holds only what audit retention keeps, and needs no extension (pg_trgm) to be installed.
CREATE TABLE prompt_text (
    request_id UUID PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    text TEXT NOT NULL
);

CREATE INDEX prompt_text_created ON prompt_text (created_at);
