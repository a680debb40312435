//! Visitor conversations of the `chat` channel: which mount opened each, and the SHA-256 of
//! its token (the token itself is only ever in the visitor's browser).

use super::{Result, Store, query};

impl Store {
    /// Keeps a new conversation `id` of mount `hook`, known by the SHA-256 `token_hash`.
    pub async fn create_chat_conversation(&self, id: &str, hook: &str, token_hash: &str, at: i64) -> Result<()> {
        query("INSERT INTO chat_conversations (id, hook, token_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(hook)
            .bind(token_hash)
            .bind(at)
            .execute(&mut self.conn().await?)
            .await?;
        Ok(())
    }

    /// The mount and the token's SHA-256 of conversation `id`; None when there is none.
    pub async fn chat_conversation(&self, id: &str) -> Result<Option<(String, String)>> {
        let row = query("SELECT hook, token_hash FROM chat_conversations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut self.conn().await?)
            .await?;
        row.map(|row| Ok((row.try_get("hook")?, row.try_get("token_hash")?)))
            .transpose()
    }
}
