//! Models steps learned from this store's data (`models`: name, version, JSON): written by
//! `weft train identity`, read by steps through their context ([`Unit::model_version`],
//! [`Unit::model`]).

use super::{Result, Store, Unit, now_ms, query};

/// A stored model.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    pub name: String,
    /// Grows by one with every training.
    pub version: u64,
    /// The JSON the trainer wrote.
    pub body: String,
    /// When it was trained (milliseconds since the epoch).
    pub trained_at: i64,
}

impl Store {
    /// Stores `body` as the model `name`, one version after the last; returns the version.
    pub async fn save_model(&self, name: &str, body: &str) -> Result<u64> {
        let mut unit = self.unit().await?;
        let last: Option<i64> = query("SELECT version FROM models WHERE name = $1")
            .bind(name)
            .fetch_optional(unit.conn())
            .await?
            .map(|row| row.try_get("version"))
            .transpose()?;
        let version = last.unwrap_or(0) + 1;
        query(
            "INSERT INTO models (name, version, body, trained_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, body = excluded.body,
                 trained_at = excluded.trained_at",
        )
        .bind(name)
        .bind(version)
        .bind(body)
        .bind(now_ms())
        .execute(unit.conn())
        .await?;
        unit.commit().await?;
        Ok(version as u64)
    }

    /// Every stored message as JSON (`messages.data`), in the order they were stored: what a
    /// model is learned from.
    pub async fn messages_data(&self) -> Result<Vec<String>> {
        let mut conn = self.conn().await?;
        let rows = query("SELECT data FROM messages ORDER BY id")
            .fetch_all(&mut conn)
            .await?;
        rows.iter().map(|row| row.try_get("data")).collect()
    }

    /// The model stored as `name`, if any.
    pub async fn model(&self, name: &str) -> Result<Option<StoredModel>> {
        let mut conn = self.conn().await?;
        let row = query("SELECT version, body, trained_at FROM models WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut conn)
            .await?;
        row.map(|row| {
            Ok(StoredModel {
                name: name.to_owned(),
                version: row.try_get::<i64>("version")? as u64,
                body: row.try_get("body")?,
                trained_at: row.try_get("trained_at")?,
            })
        })
        .transpose()
    }
}

impl Unit {
    /// The version of the model stored as `name`, read once per unit: a model trained while
    /// a unit runs is seen from the next one on.
    pub async fn model_version(&mut self, name: &str) -> Result<Option<u64>> {
        if let Some(known) = self.model_versions.get(name) {
            return Ok(*known);
        }
        let version: Option<i64> = query("SELECT version FROM models WHERE name = $1")
            .bind(name)
            .fetch_optional(self.conn())
            .await?
            .map(|row| row.try_get("version"))
            .transpose()?;
        let version = version.map(|v| v as u64);
        self.model_versions.insert(name.to_owned(), version);
        Ok(version)
    }

    /// The JSON of the model stored as `name`.
    pub async fn model(&mut self, name: &str) -> Result<Option<String>> {
        let body: Option<String> = query("SELECT body FROM models WHERE name = $1")
            .bind(name)
            .fetch_optional(self.conn())
            .await?
            .map(|row| row.try_get("body"))
            .transpose()?;
        Ok(body)
    }
}
