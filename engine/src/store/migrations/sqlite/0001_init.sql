-- weft schema, SQLite dialect. Times are milliseconds since the Unix epoch, UTC.
-- JSON documents are TEXT. Keep in step with ../postgres/0001_init.sql.

CREATE TABLE inbound (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    source TEXT NOT NULL,
    content_type TEXT,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    received_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    error TEXT
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    inbound_id INTEGER,
    at INTEGER NOT NULL,
    data TEXT NOT NULL,
    customer_id INTEGER,
    ticket_number INTEGER,
    duplicate_of TEXT,
    UNIQUE (channel, external_id)
);
CREATE INDEX messages_external_id ON messages (external_id);
CREATE INDEX messages_ticket ON messages (ticket_number, at);
CREATE INDEX messages_customer ON messages (customer_id, at);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    message_id INTEGER,
    customer_id INTEGER,
    ticket_number INTEGER,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_until INTEGER,
    error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_ready ON events (state, id);

CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id INTEGER,
    inbound_id INTEGER,
    workflow TEXT,
    step TEXT,
    plugin TEXT,
    error TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    replayed_at INTEGER
);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    merged_into INTEGER
);

CREATE TABLE identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    strong INTEGER NOT NULL,
    message_id INTEGER,
    score REAL NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (kind, value, customer_id)
);
CREATE UNIQUE INDEX identities_strong ON identities (kind, value) WHERE strong = 1;
CREATE INDEX identities_customer ON identities (customer_id);

CREATE TABLE customer_merges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    into_id INTEGER NOT NULL,
    from_id INTEGER NOT NULL,
    event_id INTEGER,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    undone_at INTEGER
);

CREATE TABLE tickets (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER,
    status TEXT NOT NULL,
    subject TEXT,
    order_no TEXT,
    opened_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    merged_into INTEGER,
    category TEXT,
    confidence REAL,
    language TEXT,
    priority TEXT,
    assignee TEXT,
    team TEXT,
    fields TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX tickets_customer ON tickets (customer_id, updated_at);
CREATE INDEX tickets_order ON tickets (order_no);

CREATE TABLE ticket_threads (
    channel TEXT NOT NULL,
    thread TEXT NOT NULL,
    ticket_number INTEGER NOT NULL,
    PRIMARY KEY (channel, thread)
);

CREATE TABLE ticket_merges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    into_number INTEGER NOT NULL,
    from_number INTEGER NOT NULL,
    event_id INTEGER,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    undone_at INTEGER
);

CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id INTEGER,
    workflow TEXT NOT NULL,
    step TEXT NOT NULL,
    plugin TEXT NOT NULL,
    command TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT NOT NULL,
    customer_id INTEGER,
    ticket_number INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX decisions_ticket ON decisions (ticket_number);
CREATE INDEX decisions_customer ON decisions (customer_id);
CREATE INDEX decisions_event ON decisions (event_id);

CREATE TABLE step_runs (
    event_id INTEGER NOT NULL,
    workflow TEXT NOT NULL,
    step TEXT NOT NULL,
    outcome TEXT NOT NULL,
    finished_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, workflow, step)
);

CREATE TABLE deadlines (
    ticket_number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    policy TEXT NOT NULL,
    due INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (ticket_number, kind, policy)
);

CREATE TABLE timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    due_at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    ticket_number INTEGER,
    fired_at INTEGER
);
CREATE INDEX timers_due ON timers (fired_at, due_at);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    ticket_number INTEGER,
    subject TEXT,
    body TEXT NOT NULL,
    lang TEXT,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    error TEXT
);
