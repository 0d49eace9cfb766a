-- Times are Unix milliseconds; booleans are 0/1. Both keep the SQL portable.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE channels (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    locale     TEXT    NOT NULL DEFAULT '',
    settings   TEXT    NOT NULL DEFAULT '{}',
    token_hash BLOB,
    disabled   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL DEFAULT '',
    language   TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE identities (
    id           INTEGER PRIMARY KEY,
    contact_id   INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    platform     TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    handle       TEXT    NOT NULL DEFAULT '',
    display_name TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    UNIQUE (platform, external_id)
);
CREATE INDEX identities_contact ON identities (contact_id);

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    languages     TEXT    NOT NULL DEFAULT '[]',
    skills        TEXT    NOT NULL DEFAULT '[]',
    capacity      INTEGER NOT NULL DEFAULT 0,
    presence      TEXT    NOT NULL DEFAULT 'offline',
    disabled      INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id  INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, agent_id)
);

CREATE TABLE conversations (
    id                INTEGER PRIMARY KEY,
    channel_id        INTEGER NOT NULL REFERENCES channels (id),
    contact_id        INTEGER NOT NULL REFERENCES contacts (id),
    visibility        TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    language          TEXT    NOT NULL DEFAULT '',
    subject           TEXT    NOT NULL DEFAULT '',
    assignee_id       INTEGER REFERENCES agents (id),
    team_id           INTEGER REFERENCES teams (id),
    linked_id         INTEGER REFERENCES conversations (id),
    priority          INTEGER NOT NULL DEFAULT 0,
    tags              TEXT    NOT NULL DEFAULT '[]',
    snoozed_until     INTEGER,
    waiting_since     INTEGER,
    first_response_at INTEGER,
    last_message_at   INTEGER NOT NULL,
    last_preview      TEXT    NOT NULL DEFAULT '',
    message_count     INTEGER NOT NULL DEFAULT 0,
    delivery_failed   INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- Threading looks up the contact's open conversation on a channel.
CREATE INDEX conversations_thread ON conversations (contact_id, channel_id, visibility, status);
-- The inbox lists by status, newest activity first. last_message_at changes
-- with every message, and each index holding it costs page writes on the
-- ingest path, so it is in this one index only.
CREATE INDEX conversations_status ON conversations (status, last_message_at DESC, id DESC);
CREATE INDEX conversations_assignee ON conversations (assignee_id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel_id      INTEGER NOT NULL,
    direction       TEXT    NOT NULL,
    agent_id        INTEGER,
    body            TEXT    NOT NULL,
    platform_id     TEXT,
    reply_to        TEXT    NOT NULL DEFAULT '',
    delivery        TEXT    NOT NULL,
    delivery_error  TEXT    NOT NULL DEFAULT '',
    sent_at         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    processed       INTEGER NOT NULL DEFAULT 1
);
-- The dedupe key: a re-delivered webhook finds its message here.
CREATE UNIQUE INDEX messages_platform ON messages (channel_id, platform_id) WHERE platform_id IS NOT NULL;
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_unprocessed ON messages (id) WHERE processed = 0;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL,
    channel_id      INTEGER NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    platform_id     TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';

CREATE TABLE templates (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    shortcut   TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE template_variants (
    template_id INTEGER NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    language    TEXT    NOT NULL,
    tone        TEXT    NOT NULL DEFAULT '',
    body        TEXT    NOT NULL,
    PRIMARY KEY (template_id, language, tone)
);

CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    agent_id INTEGER,
    action   TEXT    NOT NULL,
    subject  TEXT    NOT NULL,
    detail   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_subject ON audit (subject, id);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    agent_id     INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

-- The trail is append-only: the database itself refuses to rewrite it.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
