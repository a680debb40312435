-- Erasures of personal data (issue 29): a marketplace's request to forget a buyer (Shopify's
-- customers/redact, eBay's account deletion) or everything from a shop (Shopify's shop/redact).
-- Keep the sqlite and postgres files of this migration in step.

-- One row per erasure: what asked for it, and what was erased, counted per kind of data
-- (`counts`, a JSON object such as {"messages": 3, "orders": 1}). The identities it was asked
-- for are not kept: that would keep what was erased.
CREATE TABLE erasures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- `customer` (one buyer) or `channel` (everything from a shop).
    scope TEXT NOT NULL,
    channel TEXT NOT NULL,
    request TEXT,
    reason TEXT NOT NULL,
    counts TEXT NOT NULL,
    inbound_id INTEGER,
    at INTEGER NOT NULL
);

-- The customers and tickets an erasure touched, for `weft explain` and the API.
CREATE TABLE erasure_subjects (
    erasure_id INTEGER NOT NULL,
    -- `customer` or `ticket`.
    kind TEXT NOT NULL,
    subject INTEGER NOT NULL,
    PRIMARY KEY (erasure_id, kind, subject)
);
CREATE INDEX erasure_subjects_subject ON erasure_subjects (kind, subject);
