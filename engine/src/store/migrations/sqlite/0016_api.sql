-- The REST API of `weft serve`: bearer tokens, ticket versions and reply drafts. Keep in step
-- with ../postgres/0016_api.sql.

-- Bearer tokens. Only the SHA-256 of a token is kept: a token is 256 random bits, so a fast
-- hash cannot be brute-forced, and lookups by hash stay one indexed read per request (a slow
-- password hash would cost milliseconds on every call). A name is taken while its token lives.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- A ticket's version counts what changed it as agents see it: a message on its timeline, a
-- reply queued, its status, its assignment, a merge. Messages and queued replies carry the
-- version they made; other changes are rows of `ticket_changes`. Together they say what
-- changed since any version (the stale-reply guard).
ALTER TABLE tickets ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN ticket_version INTEGER;
ALTER TABLE outbox ADD COLUMN ticket_version INTEGER;
-- Who queued a reply: the name of the agent's token (NULL for a workflow's message).
ALTER TABLE outbox ADD COLUMN author TEXT;
CREATE INDEX outbox_ticket ON outbox (ticket_number, ticket_version) WHERE ticket_number IS NOT NULL;

CREATE TABLE ticket_changes (
    ticket_number INTEGER NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    author TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (ticket_number, version)
);

-- A reply refused because the ticket changed since the version its agent saw: kept until the
-- agent sends it anyway or discards it.
CREATE TABLE reply_drafts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_number INTEGER NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    subject TEXT,
    lang TEXT,
    based_on INTEGER NOT NULL,
    state TEXT NOT NULL,
    outbox_key TEXT,
    created_at INTEGER NOT NULL,
    closed_at INTEGER
);
CREATE INDEX reply_drafts_ticket ON reply_drafts (ticket_number, id);
