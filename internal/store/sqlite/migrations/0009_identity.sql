-- Sessions get an id, so that an agent can list them and end one, and what
-- a person needs to recognise one: when, how and from where it started.
-- A pending session is half a login: the password was right, and the
-- second factor ("totp") or enrolling one ("enrol") is still to come; it
-- lets its holder do nothing else. Sessions from before this migration
-- keep working, with no start time (NULL).
CREATE TABLE sessions_new (
    id         INTEGER PRIMARY KEY,
    token_hash BLOB    NOT NULL UNIQUE,
    agent_id   INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at INTEGER,
    expires_at INTEGER NOT NULL,
    method     TEXT    NOT NULL DEFAULT '',
    address    TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    pending    TEXT    NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sessions_new (token_hash, agent_id, expires_at)
    SELECT token_hash, agent_id, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_agent ON sessions (agent_id);

-- Two-factor: the TOTP secret (empty: none) and the last time step used,
-- so that a code is good once. Recovery codes are kept as hashes.
ALTER TABLE agents ADD COLUMN totp_secret TEXT    NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN totp_step   INTEGER NOT NULL DEFAULT 0;
-- Single sign-on: the provider's subject of the agent, kept at the first
-- sign-in, so that an address that later moves to another person at the
-- provider does not sign that person in as the agent.
ALTER TABLE agents ADD COLUMN oidc_subject TEXT NOT NULL DEFAULT '';
CREATE TABLE recovery_codes (
    agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    hash     BLOB    NOT NULL,
    PRIMARY KEY (agent_id, hash)
);
