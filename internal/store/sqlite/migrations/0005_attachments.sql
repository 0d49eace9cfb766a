-- Files on messages: what a customer sent, what an agent attached to a reply.
-- The bytes live in the database with their message, so a backup of the file
-- is a backup of everything, and a reply and its files commit together.
-- Sizes are bounded by each channel's limit (internal/channel).
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    data         BLOB    NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
