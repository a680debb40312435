-- Live chat on the seller's website (the `chat` channel): one row per visitor conversation,
-- opened by the widget at a chat mount (`hook`). Only the SHA-256 of the conversation's token
-- is kept: whoever holds the token writes to and reads that conversation, and no other.
-- Keep the sqlite and postgres files of this migration in step.
CREATE TABLE chat_conversations (
    id TEXT PRIMARY KEY,
    hook TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
