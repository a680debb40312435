-- What merges and splits mark, read on every lookup by identity and every family walk.
-- Keep the sqlite and postgres files of this migration in step.
--
-- `related`: whether any customer was ever merged into this one, or it was split from
-- another or another from it; then reading it means walking its family and its splits.
-- Every lookup by identity used to work this out with three counting subqueries per customer
-- found, and for nearly every customer all three found nothing. The flag is set by merges
-- and splits and never cleared (after an unmerge the walk finds the customer alone, as
-- before).
ALTER TABLE customers ADD COLUMN related INTEGER NOT NULL DEFAULT 0;
UPDATE customers SET related = 1 WHERE id IN (
    SELECT merged_into FROM customers WHERE merged_into IS NOT NULL
    UNION SELECT kept_id FROM customer_splits
    UNION SELECT split_id FROM customer_splits);

-- The customers and tickets merged into one are looked up by `merged_into = ?` only. The
-- indexes held every customer and every ticket, nearly all under NULL, and took an entry for
-- each new one; they now hold the merged ones, a few in a hundred.
DROP INDEX customers_merged_into;
CREATE INDEX customers_merged_into ON customers (merged_into) WHERE merged_into IS NOT NULL;
DROP INDEX tickets_merged_into;
CREATE INDEX tickets_merged_into ON tickets (merged_into) WHERE merged_into IS NOT NULL;
