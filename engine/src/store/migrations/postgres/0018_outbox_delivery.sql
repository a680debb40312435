-- The outbox delivered by `weft serve` (engine/src/exec/outbox.rs). Keep the sqlite and
-- postgres files of this migration in step.
--
-- A row's `state`: `pending` (waiting, not before `next_attempt_at`), `sending` (claimed by
-- `claimed_by` until `claimed_until`: its channel is being called), `delivered` (`sent_at`,
-- `external_id`), `failed` (refused for good, or out of attempts: `error` says why) or
-- `uncertain` (its sender stopped during a call that may have reached the vendor: never sent
-- again by itself; a person decides with `weft outbox retry`).
-- The mount of the channels file that delivers it; NULL until the sender resolves it (the
-- row's `channel` when a mount has that id, else the hook the ticket's latest message on that
-- channel came through).
ALTER TABLE outbox ADD COLUMN mount TEXT;
-- The conversation on the channel that the message answers, when known.
ALTER TABLE outbox ADD COLUMN thread TEXT;
-- 1 for a message no person wrote (a workflow's `send-message`): it stops no response clock.
ALTER TABLE outbox ADD COLUMN automatic BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT;
-- The id the vendor gave the delivered message.
ALTER TABLE outbox ADD COLUMN external_id TEXT;
ALTER TABLE outbox ADD COLUMN updated_at BIGINT;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_sending ON outbox (claimed_until) WHERE state = 'sending';
