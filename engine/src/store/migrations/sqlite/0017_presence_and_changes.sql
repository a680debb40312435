-- Conflict detection for `weft serve`: who is viewing or typing on a ticket (rows with an
-- expiry, so every node sees them), and the change log that feeds the live stream
-- (`GET /api/v1/stream`) on every node. Times are milliseconds since the Unix epoch, UTC.
-- Keep the sqlite and postgres files of this migration in step.

-- One row per agent on a ticket. Gone once `expires_at` passes unless renewed.
CREATE TABLE presence (
    ticket_number INTEGER NOT NULL,
    -- The agent's name (their token's name).
    agent TEXT NOT NULL,
    -- `viewing` or `typing`.
    state TEXT NOT NULL,
    -- When the agent entered this state (a renewal in the same state keeps it).
    since INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_number, agent)
);
CREATE INDEX presence_expiry ON presence (expires_at);

-- What changed, in commit order: written by the triggers below in the transaction that made
-- the change, whoever made it (the live loop, an API action, a command, another node), and read
-- by the stream in order of (txn, id). SQLite has one writer at a time, so ids are given in
-- commit order and `txn` is always 0; on PostgreSQL `txn` is the writing transaction's id (see
-- the postgres file). AUTOINCREMENT: an id is never given twice, even after the newest rows
-- were pruned.
CREATE TABLE changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    txn INTEGER NOT NULL DEFAULT 0,
    -- `ticket` (its row or its deadlines), `message` (a message joined a ticket), `reply` (an
    -- outbox row of the ticket was queued or changed state) or `presence`.
    kind TEXT NOT NULL,
    ticket_number INTEGER NOT NULL,
    -- For `message`: messages.id; for `reply`: outbox.id.
    item_id INTEGER,
    at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER))
);
CREATE INDEX changes_order ON changes (txn, id);

CREATE TRIGGER changes_ticket_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO changes (kind, ticket_number) VALUES ('ticket', NEW.number);
END;

-- What an agent sees of a ticket; not `updated_at` or `confidence`, which change with the
-- message or the category that the stream reports anyway.
CREATE TRIGGER changes_ticket_update AFTER UPDATE ON tickets
WHEN OLD.status IS NOT NEW.status OR OLD.customer_id IS NOT NEW.customer_id
  OR OLD.subject IS NOT NEW.subject OR OLD.order_no IS NOT NEW.order_no
  OR OLD.merged_into IS NOT NEW.merged_into OR OLD.category IS NOT NEW.category
  OR OLD.language IS NOT NEW.language OR OLD.priority IS NOT NEW.priority
  OR OLD.assignee IS NOT NEW.assignee OR OLD.team IS NOT NEW.team OR OLD.fields IS NOT NEW.fields
  OR OLD.version IS NOT NEW.version
BEGIN
    INSERT INTO changes (kind, ticket_number) VALUES ('ticket', NEW.number);
END;

CREATE TRIGGER changes_deadline_insert AFTER INSERT ON deadlines
BEGIN
    INSERT INTO changes (kind, ticket_number) VALUES ('ticket', NEW.ticket_number);
END;

CREATE TRIGGER changes_deadline_update AFTER UPDATE ON deadlines
WHEN OLD.due IS NOT NEW.due OR OLD.state IS NOT NEW.state OR OLD.met_at IS NOT NEW.met_at
BEGIN
    INSERT INTO changes (kind, ticket_number) VALUES ('ticket', NEW.ticket_number);
END;

-- A message is news once it is on a ticket: a buyer's when the workflow threads it, a reply
-- when it is attached.
CREATE TRIGGER changes_message_insert AFTER INSERT ON messages
WHEN NEW.ticket_number IS NOT NULL
BEGIN
    INSERT INTO changes (kind, ticket_number, item_id) VALUES ('message', NEW.ticket_number, NEW.id);
END;

CREATE TRIGGER changes_message_ticket AFTER UPDATE OF ticket_number ON messages
WHEN NEW.ticket_number IS NOT NULL AND OLD.ticket_number IS NOT NEW.ticket_number
BEGIN
    INSERT INTO changes (kind, ticket_number, item_id) VALUES ('message', NEW.ticket_number, NEW.id);
END;

-- A reply (an agent's, a workflow's) when it is queued, and each time its state moves
-- (`pending`, `sent`, `failed`, ...).
CREATE TRIGGER changes_reply_insert AFTER INSERT ON outbox
WHEN NEW.ticket_number IS NOT NULL
BEGIN
    INSERT INTO changes (kind, ticket_number, item_id) VALUES ('reply', NEW.ticket_number, NEW.id);
END;

CREATE TRIGGER changes_reply_state AFTER UPDATE ON outbox
WHEN NEW.ticket_number IS NOT NULL AND (OLD.state IS NOT NEW.state OR OLD.ticket_number IS NOT NEW.ticket_number)
BEGIN
    INSERT INTO changes (kind, ticket_number, item_id) VALUES ('reply', NEW.ticket_number, NEW.id);
END;

CREATE TRIGGER changes_presence_insert AFTER INSERT ON presence
BEGIN
    INSERT INTO changes (kind, ticket_number) VALUES ('presence', NEW.ticket_number);
END;

-- A renewal in the same state is no news.
CREATE TRIGGER changes_presence_update AFTER UPDATE ON presence
WHEN OLD.state IS NOT NEW.state
BEGIN
    INSERT INTO changes (kind, ticket_number) VALUES ('presence', NEW.ticket_number);
END;

CREATE TRIGGER changes_presence_delete AFTER DELETE ON presence
BEGIN
    INSERT INTO changes (kind, ticket_number) VALUES ('presence', OLD.ticket_number);
END;
