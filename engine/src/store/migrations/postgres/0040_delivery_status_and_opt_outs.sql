-- What vendors report after a delivery, and buyers who opted out of a mount (Twilio status
-- callbacks and SMS STOP: the `notices` export of a channel). Keep the sqlite and postgres files
-- of this migration in step.
--
-- The latest status a delivered row's vendor reported: `queued`, `sent`, `delivered`, `read`
-- or `failed` (a failed one also turns the row `failed`, with the vendor's reason in `error`).
ALTER TABLE outbox ADD COLUMN delivery_state TEXT;
ALTER TABLE outbox ADD COLUMN delivery_state_at BIGINT;
-- A status callback names the message by the vendor's id, on the mount that delivered it.
CREATE INDEX outbox_external ON outbox (mount, external_id) WHERE external_id IS NOT NULL;
-- Whether an address (a phone number) opted out of messages through a mount, as its latest
-- consent said; `reason` is what the buyer or the vendor said. An opted-out address gets
-- nothing more through the mount: the sender fails such rows without calling the channel.
CREATE TABLE opt_outs (
    mount TEXT NOT NULL,
    address TEXT NOT NULL,
    opted_out BIGINT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (mount, address)
);
