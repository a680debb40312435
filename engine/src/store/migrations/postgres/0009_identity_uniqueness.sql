-- An identity's uniqueness said once: a strong identifier (email, phone, buyer id, handle)
-- belongs to one customer; any other identity is recorded once per customer. Each rule is a
-- partial unique index, so a row is in exactly one of them, where the table's
-- UNIQUE (kind, value, customer_id) held every row and `identities_strong` the strong ones a
-- second time. Lookups by kind and value say which rule they read (`strong = 1` or
-- `strong = 0`: a kind is always one or the other, see `IdentityKind::is_exclusive`).
-- Keep the sqlite and postgres files of this migration in step.
-- `strong` closes the weak rule's index although it is always 0 there: the lookups name it,
-- and with it in the index they read the customers found without visiting the table's rows.
CREATE UNIQUE INDEX identities_weak ON identities (kind, value, customer_id, strong) WHERE strong = 0;
ALTER TABLE identities DROP CONSTRAINT identities_kind_value_customer_id_key;
