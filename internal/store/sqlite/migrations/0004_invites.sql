-- An invite lets an agent set their first password through a link. Only the
-- token's hash is kept; one invite per agent, so a new one replaces the old.
CREATE TABLE invites (
    agent_id   INTEGER PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
