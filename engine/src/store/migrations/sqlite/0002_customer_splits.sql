-- Customers split apart by hand (`weft customer split`), SQLite dialect. Keep in step with
-- ../postgres/0002_customer_splits.sql.
--
-- One row per split: `kept_id` stayed, `split_id` went its own way (the customer whose merge was
-- undone, or the new customer that took the given identities). The pair is kept apart from then
-- on: steps see it as `kept-apart` and must not merge the two again on the same evidence.

CREATE TABLE customer_splits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kept_id INTEGER NOT NULL,
    split_id INTEGER NOT NULL,
    -- The customer_merges row undone by the split, when it undid a merge.
    merge_id INTEGER,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX customer_splits_kept ON customer_splits (kept_id);
CREATE INDEX customer_splits_split ON customer_splits (split_id);
