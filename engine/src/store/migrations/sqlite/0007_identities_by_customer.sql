-- A customer's identities are read on every lookup that finds it: with kind and value in the
-- index too, the read never visits the table's rows (scattered over the file, since a
-- customer's identities arrive with different messages).
-- Keep the sqlite and postgres files of this migration in step.
DROP INDEX identities_customer;
CREATE INDEX identities_customer ON identities (customer_id, kind, value);
