-- Prompt texts enter the trigram index in batches instead of one transaction at a time. FTS5
-- writes a new index segment at every commit that changed it, and merges segments as they pile
-- up: with one audited request per transaction (a gateway under light load, or the bench at
-- concurrency 1) that flush and its merges were ~160k instructions per request, more than the
-- rest of audit together (callgrind, docs/benchmarks.md). A new text's rowid now waits in
-- `prompt_unindexed`; the writer moves every waiting text into the index once 64 wait
-- (`write::insert_audit`), in the transaction that made them 64. Searches read the waiting texts
-- with `LIKE` beside the index, so a request is found as soon as its audit data is stored.
CREATE TABLE prompt_unindexed (id INTEGER PRIMARY KEY);

DROP TRIGGER prompt_text_ai;
CREATE TRIGGER prompt_text_ai AFTER INSERT ON prompt_text BEGIN
    INSERT INTO prompt_unindexed (id) VALUES (new.rowid);
END;

-- An external-content FTS5 table must be told the old text of a row it indexed, and must not be
-- told about one it never indexed (that corrupts it): only indexed rows are deleted from it.
DROP TRIGGER prompt_text_ad;
CREATE TRIGGER prompt_text_ad AFTER DELETE ON prompt_text BEGIN
    INSERT INTO prompt_fts (prompt_fts, rowid, text)
        SELECT 'delete', old.rowid, old.text
        WHERE NOT EXISTS (SELECT 1 FROM prompt_unindexed WHERE id = old.rowid);
    DELETE FROM prompt_unindexed WHERE id = old.rowid;
END;

-- A waiting row needs nothing: the index reads its text when it takes it.
DROP TRIGGER prompt_text_au;
CREATE TRIGGER prompt_text_au AFTER UPDATE ON prompt_text
WHEN NOT EXISTS (SELECT 1 FROM prompt_unindexed WHERE id = old.rowid) BEGIN
    INSERT INTO prompt_fts (prompt_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO prompt_fts (rowid, text) VALUES (new.rowid, new.text);
END;
