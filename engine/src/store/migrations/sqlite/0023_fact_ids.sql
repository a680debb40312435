-- Vendor event ids of the facts kept (contract 0.6.0): vendors that deliver at least once
-- (Shopify's X-Shopify-Event-Id, Amazon's NotificationId, Walmart's eventId) may send an event
-- twice, even with another body; a fact whose kind and id are already here for the same mount
-- (the hook, or the channel for traffic without one) is dropped as a duplicate.
-- Keep the sqlite and postgres files of this migration in step.
CREATE TABLE fact_ids (
    origin TEXT NOT NULL,
    kind TEXT NOT NULL,
    vendor_id TEXT NOT NULL,
    inbound_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (origin, kind, vendor_id)
);
