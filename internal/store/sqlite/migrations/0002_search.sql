-- Full-text search (FTS5). The indexes are external-content: they hold only
-- the index and read the text back from the tables themselves, so nothing is
-- stored twice. Triggers keep them in step with every insert, text change and
-- delete. unicode61 folds case; remove_diacritics 2 makes "cafe" find "café".
--
-- Identities are indexed by their own rows, not by contact: a merge moves an
-- identity to another contact without changing its text, and a search joins
-- back to identities.contact_id, so a merged identity is found at once.

CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content = 'messages', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
-- Only a change of the text touches the index: delivery updates do not.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;

CREATE VIRTUAL TABLE contacts_fts USING fts5(
    name, content = 'contacts', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO contacts_fts (rowid, name) VALUES (new.id, new.name);
END;

CREATE VIRTUAL TABLE identities_fts USING fts5(
    handle, display_name, external_id, content = 'identities', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER identities_fts_insert AFTER INSERT ON identities BEGIN
    INSERT INTO identities_fts (rowid, handle, display_name, external_id) VALUES (new.id, new.handle, new.display_name, new.external_id);
END;
CREATE TRIGGER identities_fts_delete AFTER DELETE ON identities BEGIN
    INSERT INTO identities_fts (identities_fts, rowid, handle, display_name, external_id) VALUES ('delete', old.id, old.handle, old.display_name, old.external_id);
END;
CREATE TRIGGER identities_fts_update AFTER UPDATE OF handle, display_name, external_id ON identities BEGIN
    INSERT INTO identities_fts (identities_fts, rowid, handle, display_name, external_id) VALUES ('delete', old.id, old.handle, old.display_name, old.external_id);
    INSERT INTO identities_fts (rowid, handle, display_name, external_id) VALUES (new.id, new.handle, new.display_name, new.external_id);
END;

-- Index what was stored before this migration.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
INSERT INTO contacts_fts (contacts_fts) VALUES ('rebuild');
INSERT INTO identities_fts (identities_fts) VALUES ('rebuild');
