-- Conflict detection for `weft serve`: who is viewing or typing on a ticket (rows with an
-- expiry, so every node sees them), and the change log that feeds the live stream
-- (`GET /api/v1/stream`) on every node. Times are milliseconds since the Unix epoch, UTC.
-- Keep the sqlite and postgres files of this migration in step.

-- One row per agent on a ticket. Gone once `expires_at` passes unless renewed.
CREATE TABLE presence (
    ticket_number BIGINT NOT NULL,
    -- The agent's name (their token's name).
    agent TEXT NOT NULL,
    -- `viewing` or `typing`.
    state TEXT NOT NULL,
    -- When the agent entered this state (a renewal in the same state keeps it).
    since BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_number, agent)
);
CREATE INDEX presence_expiry ON presence (expires_at);

-- What changed, in commit order: written by the triggers below in the transaction that made
-- the change, whoever made it (the live loop, an API action, a command, another node), and read
-- by the stream in order of (txn, id). Sequence values are taken when rows are written, not
-- when they commit, so ids alone are not commit order here: `txn` is the writing transaction's
-- id, and the stream reads only rows whose `txn` is older than every transaction still running
-- (`pg_snapshot_xmin(pg_current_snapshot())`), which are final; a row that commits later has
-- a `txn` at or past that point and is read on a later poll.
CREATE TABLE changes (
    id BIGSERIAL PRIMARY KEY,
    txn BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    -- `ticket` (its row or its deadlines), `message` (a message joined a ticket), `reply` (an
    -- outbox row of the ticket was queued or changed state) or `presence`.
    kind TEXT NOT NULL,
    ticket_number BIGINT NOT NULL,
    -- For `message`: messages.id; for `reply`: outbox.id.
    item_id BIGINT,
    at BIGINT NOT NULL DEFAULT ((extract(epoch FROM clock_timestamp()) * 1000)::bigint)
);
CREATE INDEX changes_order ON changes (txn, id);

CREATE FUNCTION weft_ticket_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (kind, ticket_number) VALUES ('ticket', NEW.number);
    RETURN NULL;
END
$$;

CREATE FUNCTION weft_deadline_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (kind, ticket_number) VALUES ('ticket', NEW.ticket_number);
    RETURN NULL;
END
$$;

CREATE FUNCTION weft_message_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (kind, ticket_number, item_id) VALUES ('message', NEW.ticket_number, NEW.id);
    RETURN NULL;
END
$$;

CREATE FUNCTION weft_reply_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (kind, ticket_number, item_id) VALUES ('reply', NEW.ticket_number, NEW.id);
    RETURN NULL;
END
$$;

CREATE FUNCTION weft_presence_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO changes (kind, ticket_number) VALUES ('presence', OLD.ticket_number);
    ELSE
        INSERT INTO changes (kind, ticket_number) VALUES ('presence', NEW.ticket_number);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER changes_ticket_insert AFTER INSERT ON tickets
FOR EACH ROW EXECUTE FUNCTION weft_ticket_changed();

-- What an agent sees of a ticket; not `updated_at` or `confidence`, which change with the
-- message or the category that the stream reports anyway.
CREATE TRIGGER changes_ticket_update AFTER UPDATE ON tickets
FOR EACH ROW WHEN (
    OLD.status IS DISTINCT FROM NEW.status OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
    OR OLD.subject IS DISTINCT FROM NEW.subject OR OLD.order_no IS DISTINCT FROM NEW.order_no
    OR OLD.merged_into IS DISTINCT FROM NEW.merged_into OR OLD.category IS DISTINCT FROM NEW.category
    OR OLD.language IS DISTINCT FROM NEW.language OR OLD.priority IS DISTINCT FROM NEW.priority
    OR OLD.assignee IS DISTINCT FROM NEW.assignee OR OLD.team IS DISTINCT FROM NEW.team
    OR OLD.fields IS DISTINCT FROM NEW.fields OR OLD.version IS DISTINCT FROM NEW.version
) EXECUTE FUNCTION weft_ticket_changed();

CREATE TRIGGER changes_deadline_insert AFTER INSERT ON deadlines
FOR EACH ROW EXECUTE FUNCTION weft_deadline_changed();

CREATE TRIGGER changes_deadline_update AFTER UPDATE ON deadlines
FOR EACH ROW WHEN (
    OLD.due IS DISTINCT FROM NEW.due OR OLD.state IS DISTINCT FROM NEW.state
    OR OLD.met_at IS DISTINCT FROM NEW.met_at
) EXECUTE FUNCTION weft_deadline_changed();

-- A message is news once it is on a ticket: a buyer's when the workflow threads it, a reply
-- when it is attached.
CREATE TRIGGER changes_message_insert AFTER INSERT ON messages
FOR EACH ROW WHEN (NEW.ticket_number IS NOT NULL) EXECUTE FUNCTION weft_message_changed();

CREATE TRIGGER changes_message_ticket AFTER UPDATE OF ticket_number ON messages
FOR EACH ROW WHEN (NEW.ticket_number IS NOT NULL AND OLD.ticket_number IS DISTINCT FROM NEW.ticket_number)
EXECUTE FUNCTION weft_message_changed();

-- A reply (an agent's, a workflow's) when it is queued, and each time its state moves
-- (`pending`, `sent`, `failed`, ...).
CREATE TRIGGER changes_reply_insert AFTER INSERT ON outbox
FOR EACH ROW WHEN (NEW.ticket_number IS NOT NULL) EXECUTE FUNCTION weft_reply_changed();

CREATE TRIGGER changes_reply_state AFTER UPDATE ON outbox
FOR EACH ROW WHEN (NEW.ticket_number IS NOT NULL AND (OLD.state IS DISTINCT FROM NEW.state
    OR OLD.ticket_number IS DISTINCT FROM NEW.ticket_number))
EXECUTE FUNCTION weft_reply_changed();

CREATE TRIGGER changes_presence_insert AFTER INSERT ON presence
FOR EACH ROW EXECUTE FUNCTION weft_presence_changed();

-- A renewal in the same state is no news.
CREATE TRIGGER changes_presence_update AFTER UPDATE ON presence
FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION weft_presence_changed();

CREATE TRIGGER changes_presence_delete AFTER DELETE ON presence
FOR EACH ROW EXECUTE FUNCTION weft_presence_changed();
