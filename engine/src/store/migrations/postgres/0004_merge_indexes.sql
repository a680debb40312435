-- (identities.strong marks exclusive identifiers: email, phone, buyer id, handle; see IdentityKind::is_exclusive.)
-- Lookups of what was merged into a customer or a ticket, and of a node's claimed events, use
-- an index instead of scanning (SQLite would otherwise build a temporary index per query).
CREATE INDEX customers_merged_into ON customers (merged_into);
CREATE INDEX tickets_merged_into ON tickets (merged_into);
CREATE INDEX events_claimed_by ON events (claimed_by);
