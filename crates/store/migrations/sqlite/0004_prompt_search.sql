-- Searchable prompt text (see src/prompt.rs): the last user turn of each audited request, capped
-- at 16 KiB, kept and deleted together with the request's audit data. `created_at` is
-- microseconds since the Unix epoch, like `audit.created_at`.
CREATE TABLE prompt_text (
    request_id BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    text TEXT NOT NULL
);

CREATE INDEX prompt_text_created ON prompt_text (created_at);

-- A trigram index over it: a quoted FTS5 phrase of three or more characters then finds any
-- substring, case-insensitively, without scanning the text.
CREATE VIRTUAL TABLE prompt_fts USING fts5(
    text,
    content = 'prompt_text',
    content_rowid = 'rowid',
    tokenize = 'trigram'
);

CREATE TRIGGER prompt_text_ai AFTER INSERT ON prompt_text BEGIN
    INSERT INTO prompt_fts (rowid, text) VALUES (new.rowid, new.text);
END;

CREATE TRIGGER prompt_text_ad AFTER DELETE ON prompt_text BEGIN
    INSERT INTO prompt_fts (prompt_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;

CREATE TRIGGER prompt_text_au AFTER UPDATE ON prompt_text BEGIN
    INSERT INTO prompt_fts (prompt_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO prompt_fts (rowid, text) VALUES (new.rowid, new.text);
END;
