-- weft schema, PostgreSQL dialect. Times are milliseconds since the Unix epoch, UTC.
-- JSON documents are TEXT. Keep in step with ../sqlite/0001_init.sql.

CREATE TABLE inbound (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    source TEXT NOT NULL,
    content_type TEXT,
    headers TEXT NOT NULL,
    body BYTEA NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    received_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    error TEXT
);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    inbound_id BIGINT,
    at BIGINT NOT NULL,
    data TEXT NOT NULL,
    customer_id BIGINT,
    ticket_number BIGINT,
    duplicate_of TEXT,
    UNIQUE (channel, external_id)
);
CREATE INDEX messages_external_id ON messages (external_id);
CREATE INDEX messages_ticket ON messages (ticket_number, at);
CREATE INDEX messages_customer ON messages (customer_id, at);

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    message_id BIGINT,
    customer_id BIGINT,
    ticket_number BIGINT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    not_before BIGINT NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_until BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_ready ON events (state, id);

CREATE TABLE dead_letters (
    id BIGSERIAL PRIMARY KEY,
    event_id BIGINT,
    inbound_id BIGINT,
    workflow TEXT,
    step TEXT,
    plugin TEXT,
    error TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    replayed_at BIGINT
);

CREATE TABLE customers (
    id BIGSERIAL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    merged_into BIGINT
);

CREATE TABLE identities (
    id BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    strong BIGINT NOT NULL,
    message_id BIGINT,
    score DOUBLE PRECISION NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (kind, value, customer_id)
);
CREATE UNIQUE INDEX identities_strong ON identities (kind, value) WHERE strong = 1;
CREATE INDEX identities_customer ON identities (customer_id);

CREATE TABLE customer_merges (
    id BIGSERIAL PRIMARY KEY,
    into_id BIGINT NOT NULL,
    from_id BIGINT NOT NULL,
    event_id BIGINT,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    undone_at BIGINT
);

CREATE TABLE tickets (
    number BIGSERIAL PRIMARY KEY,
    customer_id BIGINT,
    status TEXT NOT NULL,
    subject TEXT,
    order_no TEXT,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    merged_into BIGINT,
    category TEXT,
    confidence DOUBLE PRECISION,
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
    ticket_number BIGINT NOT NULL,
    PRIMARY KEY (channel, thread)
);

CREATE TABLE ticket_merges (
    id BIGSERIAL PRIMARY KEY,
    into_number BIGINT NOT NULL,
    from_number BIGINT NOT NULL,
    event_id BIGINT,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    undone_at BIGINT
);

CREATE TABLE decisions (
    id BIGSERIAL PRIMARY KEY,
    event_id BIGINT,
    workflow TEXT NOT NULL,
    step TEXT NOT NULL,
    plugin TEXT NOT NULL,
    command TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT NOT NULL,
    customer_id BIGINT,
    ticket_number BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX decisions_ticket ON decisions (ticket_number);
CREATE INDEX decisions_customer ON decisions (customer_id);
CREATE INDEX decisions_event ON decisions (event_id);

CREATE TABLE step_runs (
    event_id BIGINT NOT NULL,
    workflow TEXT NOT NULL,
    step TEXT NOT NULL,
    outcome TEXT NOT NULL,
    finished_at BIGINT NOT NULL,
    PRIMARY KEY (event_id, workflow, step)
);

CREATE TABLE deadlines (
    ticket_number BIGINT NOT NULL,
    kind TEXT NOT NULL,
    policy TEXT NOT NULL,
    due BIGINT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (ticket_number, kind, policy)
);

CREATE TABLE timers (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    due_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    ticket_number BIGINT,
    fired_at BIGINT
);
CREATE INDEX timers_due ON timers (fired_at, due_at);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    ticket_number BIGINT,
    subject TEXT,
    body TEXT NOT NULL,
    lang TEXT,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    error TEXT
);
