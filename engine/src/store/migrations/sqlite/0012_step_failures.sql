-- Steps that failed on an event that was still processed: the message landed on a customer
-- and a ticket, the failed step's decisions were not applied, and the failure is kept here
-- until a replay of the step succeeds. Keep the sqlite and postgres files of this migration
-- in step.
--
-- One row per (event, workflow, step): a replay that fails again updates the row (attempts,
-- last error, when) instead of adding one. `own_customer` / `own_ticket`: the customer or
-- ticket the engine made for the message because this step failed; a replay that succeeds
-- merges them into the ones the step finds, so that this too can be undone.
CREATE TABLE step_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id INTEGER NOT NULL,
    workflow TEXT NOT NULL,
    step TEXT NOT NULL,
    plugin TEXT NOT NULL,
    on_error TEXT NOT NULL,
    error TEXT NOT NULL,
    retryable INTEGER NOT NULL,
    message_id INTEGER,
    ticket_number INTEGER,
    own_customer INTEGER,
    own_ticket INTEGER,
    attempts INTEGER NOT NULL,
    failed_at INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL,
    resolved_at INTEGER,
    UNIQUE (event_id, workflow, step)
);
CREATE INDEX step_failures_ticket ON step_failures (ticket_number);
CREATE INDEX step_failures_open ON step_failures (id) WHERE resolved_at IS NULL;

-- A dead letter replayed without success is tried again in its own row: how often, and when
-- last.
ALTER TABLE dead_letters ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE dead_letters ADD COLUMN last_failed_at INTEGER;
