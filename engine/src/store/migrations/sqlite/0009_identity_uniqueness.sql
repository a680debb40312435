-- An identity's uniqueness said once: a strong identifier (email, phone, buyer id, handle)
-- belongs to one customer; any other identity is recorded once per customer. Each rule is a
-- partial unique index, so a row is in exactly one of them, where the table's
-- UNIQUE (kind, value, customer_id) held every row and `identities_strong` the strong ones a
-- second time.
-- Lookups by kind and value say which rule they read (`strong = 1` or `strong = 0`: a kind is
-- always one or the other, see `IdentityKind::is_exclusive`).
-- SQLite cannot drop a table's own constraint: the table is rebuilt, keeping ids and rows.
-- Keep the sqlite and postgres files of this migration in step.
CREATE TABLE identities_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    strong INTEGER NOT NULL,
    message_id INTEGER,
    score REAL NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO identities_rebuilt (id, customer_id, kind, value, strong, message_id, score, created_at)
    SELECT id, customer_id, kind, value, strong, message_id, score, created_at FROM identities;
DROP TABLE identities;
ALTER TABLE identities_rebuilt RENAME TO identities;
CREATE UNIQUE INDEX identities_strong ON identities (kind, value) WHERE strong = 1;
-- `strong` closes the weak rule's index although it is always 0 there: the lookups name it,
-- and with it in the index they read the customers found without visiting the table's rows.
CREATE UNIQUE INDEX identities_weak ON identities (kind, value, customer_id, strong) WHERE strong = 0;
CREATE INDEX identities_customer ON identities (customer_id, kind, value);
