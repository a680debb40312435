-- What the merger's copy check compares of every message (the SDK's `MessageSummary`), worked
-- out once when the message is stored instead of from its JSON on every read.
-- Keep the sqlite and postgres files of this migration in step.

-- The sender as `kind:value` (see weft_sdk::fingerprint::sender_key); NULL when it has none.
ALTER TABLE messages ADD COLUMN sender_key TEXT;
-- The subject as the channel gave it.
ALTER TABLE messages ADD COLUMN subject TEXT;
-- The body's fingerprint (weft_sdk::fingerprint::body_fingerprint), its 64 bits as a signed
-- integer. NULL on messages stored before this migration: their summary is read from `data`.
ALTER TABLE messages ADD COLUMN body_fingerprint BIGINT;
