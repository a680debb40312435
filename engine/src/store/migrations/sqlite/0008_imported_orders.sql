-- The orders already imported, by channel and canonical number, with the event each became: a
-- seller imports overlapping order reports ("the last 30 days" every week), and an order seen
-- before is skipped instead of being decided and logged again.
-- Keep the sqlite and postgres files of this migration in step.
CREATE TABLE imported_orders (
    channel TEXT NOT NULL,
    number TEXT NOT NULL,
    event_id BIGINT NOT NULL,
    PRIMARY KEY (channel, number)
);
