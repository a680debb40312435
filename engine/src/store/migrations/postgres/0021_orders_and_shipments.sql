-- Orders and shipments in the model (issue 29): orders as channels report them (placed,
-- updated, cancelled) and as `weft import orders` reads them, and carriers' news of parcels.
-- Keep the sqlite and postgres files of this migration in step.

-- One row per order: its channel (lowercase) and canonical number (weft_sdk::order), the order
-- as last reported in `data` (the SDK's Order as JSON: buyer, shipping, lines), and what is
-- asked of it by column. Money is decimal text with its ISO 4217 currency, never a float.
-- `updated_at` is the marketplace's time of the report kept: an older report arriving late
-- does not overwrite a newer one. `customer_id` is set when a step links the order's buyer.
CREATE TABLE orders (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    number TEXT NOT NULL,
    status TEXT,
    last_change TEXT NOT NULL,
    total TEXT,
    currency TEXT,
    placed_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    customer_id BIGINT,
    data TEXT NOT NULL,
    UNIQUE (channel, number)
);
CREATE INDEX orders_number ON orders (number);
CREATE INDEX orders_customer ON orders (customer_id, placed_at);

-- One row per parcel, by tracking number (uppercase, without spaces): where it is now, the
-- order it belongs to once a source named it (a marketplace's fulfillment; a carrier's
-- tracker usually does not), and when it was or is expected to be delivered.
CREATE TABLE shipments (
    id BIGSERIAL PRIMARY KEY,
    tracking_number TEXT NOT NULL UNIQUE,
    carrier TEXT NOT NULL,
    status TEXT NOT NULL,
    order_channel TEXT,
    order_number TEXT,
    estimated_delivery BIGINT,
    delivered_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX shipments_order ON shipments (order_number, order_channel);

-- Every status a parcel was reported in, with the carrier's words: its timeline. The same
-- report twice (a retried webhook) is one step.
CREATE TABLE shipment_events (
    shipment_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (shipment_id, at, status, detail)
);
