-- Clocks that pause: while a ticket has a status the deadline's policy pauses on (such as
-- waiting-on-buyer) its clock stands still. Times are milliseconds since the Unix epoch, UTC.
-- Keep the sqlite and postgres files of this migration in step.

-- The statuses that pause this deadline's clock, as a JSON array of strings.
ALTER TABLE deadlines ADD COLUMN pause_on TEXT NOT NULL DEFAULT '[]';
-- Since when the clock is paused; NULL while it runs or after it stopped.
ALTER TABLE deadlines ADD COLUMN paused_at BIGINT;
-- Paused time so far, in milliseconds (the report counts response times without it).
ALTER TABLE deadlines ADD COLUMN paused_ms BIGINT NOT NULL DEFAULT 0;
