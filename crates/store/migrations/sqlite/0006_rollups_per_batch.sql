-- New requests are added to `request_rollups` by the writer, once per group per batch
-- (`SqliteStore::insert_batch`), instead of by a trigger once per row: the trigger's upsert was
-- the largest single cost of logging a request (callgrind, docs/benchmarks.md). Rows replaced by
-- an upsert and rows deleted by retention still move through the triggers of 0002, which know
-- the old row.
DROP TRIGGER requests_rollup_insert;
