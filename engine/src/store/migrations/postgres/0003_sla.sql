-- SLA clocks: when a deadline's clock started, when and how it stopped; cancelled timers;
-- which way a message went. Times are milliseconds since the Unix epoch, UTC.
-- Keep the sqlite and postgres files of this migration in step.

-- When the clock started (the event that set the deadline).
ALTER TABLE deadlines ADD COLUMN started_at BIGINT;
-- When it stopped: the first agent reply, or a status change; NULL while it runs.
ALTER TABLE deadlines ADD COLUMN met_at BIGINT;
-- What stopped it: `reply`, `no-response-needed`, `solved` or `waiting-on-buyer`.
ALTER TABLE deadlines ADD COLUMN stopped_by TEXT;

-- A timer whose deadline was met before it came due never fires.
ALTER TABLE timers ADD COLUMN cancelled_at BIGINT;

-- `in` (a buyer wrote), `out` (an agent replied) or `auto` (an automatic reply).
ALTER TABLE messages ADD COLUMN direction TEXT NOT NULL DEFAULT 'in';

-- Stopping a deadline cancels its ticket's timers; firing looks only at waiting ones.
CREATE INDEX timers_ticket ON timers (ticket_number);
CREATE INDEX timers_waiting ON timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
