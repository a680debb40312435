-- Webhooks (`weft serve`): raw requests are kept in `inbound` with the hook id they arrived
-- on, and parsed after the answer. `received` rows of a hook are the parse queue.
ALTER TABLE inbound ADD COLUMN hook TEXT;
CREATE INDEX inbound_received ON inbound (id) WHERE state = 'received';
