-- The ticket of a delivered reply by the id the channel gave it (an email's Message-ID), so that
-- a buyer's answer naming it (`In-Reply-To`) finds its ticket (`message-ticket`).
CREATE INDEX outbox_external_id ON outbox (external_id) WHERE external_id IS NOT NULL;
