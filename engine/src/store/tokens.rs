//! API tokens: only their SHA-256 is kept.
//!
//! Why SHA-256 and not a slow password hash: a token is 256 random bits, not something a
//! person chose, so guessing one from its hash is as hard as guessing it outright, and every
//! API request looks its token up by hash in one indexed read (a password hash would cost
//! milliseconds on each).

use super::{Result, Store, StoreError, now_ms, query};

/// A token as `weft token list` shows it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    /// `agent`, `admin` or `integrator`.
    pub role: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

fn token_from_row(row: &super::Row) -> Result<TokenRow> {
    Ok(TokenRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Store {
    /// Keeps a new token's hash under `name`, which no live token may have.
    pub async fn create_token(&self, name: &str, role: &str, hash: &str) -> Result<TokenRow> {
        let mut conn = self.conn().await?;
        let taken = query("SELECT id FROM api_tokens WHERE name = $1 AND revoked_at IS NULL")
            .bind(name)
            .fetch_optional(&mut conn)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Invalid(format!(
                "a live token is already named `{name}`: revoke it first (`weft token revoke {name}`) or choose another name"
            )));
        }
        let row = query(
            "INSERT INTO api_tokens (name, role, hash, created_at) VALUES ($1, $2, $3, $4)
             RETURNING id, name, role, created_at, revoked_at",
        )
        .bind(name)
        .bind(role)
        .bind(hash)
        .bind(now_ms())
        .fetch_one(&mut conn)
        .await?;
        token_from_row(&row)
    }

    /// Every token, live and revoked, by id.
    pub async fn tokens(&self) -> Result<Vec<TokenRow>> {
        let rows = query("SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY id")
            .fetch_all(&mut self.conn().await?)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes the live token named `name`; false when there is none.
    pub async fn revoke_token(&self, name: &str) -> Result<bool> {
        let done = query("UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(name)
            .execute(&mut self.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The live token with this hash.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        let row = query(
            "SELECT id, name, role, created_at, revoked_at FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(&mut self.conn().await?)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }
}
