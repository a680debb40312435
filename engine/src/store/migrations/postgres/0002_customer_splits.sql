-- Customers split apart by hand (`weft customer split`), PostgreSQL dialect. Keep in step with
-- ../sqlite/0002_customer_splits.sql.
--
-- One row per split: `kept_id` stayed, `split_id` went its own way (the customer whose merge was
-- undone, or the new customer that took the given identities). The pair is kept apart from then
-- on: steps see it as `kept-apart` and must not merge the two again on the same evidence.

CREATE TABLE customer_splits (
    id BIGSERIAL PRIMARY KEY,
    kept_id BIGINT NOT NULL,
    split_id BIGINT NOT NULL,
    -- The customer_merges row undone by the split, when it undid a merge.
    merge_id BIGINT,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX customer_splits_kept ON customer_splits (kept_id);
CREATE INDEX customer_splits_split ON customer_splits (split_id);
