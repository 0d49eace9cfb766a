-- FTS5 flushes its pending terms to disk at every statement savepoint, so a
-- trigger per inserted row made a group commit pay one index flush per
-- message: a third of all ingest time. Ingest now indexes its whole batch
-- with one statement per index at the end of its transaction (ingest.go).
-- Replies and notes, written one at a time, keep their trigger; contacts and
-- identities are created by ingest only.
DROP TRIGGER messages_fts_insert;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.direction <> 'in' BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
DROP TRIGGER contacts_fts_insert;
DROP TRIGGER identities_fts_insert;
