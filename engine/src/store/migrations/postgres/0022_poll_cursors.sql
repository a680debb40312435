-- Channels that are polled (`poll:` in the channels file): per hook, where the next poll
-- starts. The cursor is written in the transaction that keeps what the poll brought, so a
-- restart neither skips nor repeats. A failed poll keeps the cursor and waits longer each
-- time (`failures`, `next_at`), with its reason in `error`.
-- Keep the sqlite and postgres files of this migration in step.
CREATE TABLE poll_cursors (
    hook TEXT PRIMARY KEY,
    cursor TEXT,
    polled_at BIGINT,
    failures BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL DEFAULT 0,
    error TEXT
);
