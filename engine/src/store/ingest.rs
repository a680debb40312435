//! Traffic in: raw inbound kept first, then normalized messages and their events queued.
//!
//! Raw traffic is stored before a channel looks at it, so that nothing that arrived is lost:
//! what a channel cannot parse stays here, dead-lettered with its reason, and can be replayed.
//! The same bytes on the same channel are recognized and not queued twice.

use super::{Result, Store, Unit, now_ms, query};
use sha2::{Digest, Sha256};
use weft_sdk::fingerprint::{body_fingerprint, sender_key};
use weft_sdk::{Direction, Inbound, Message};

/// Raw traffic as stored.
#[derive(Debug, Clone)]
pub struct InboundRecord {
    pub id: i64,
    pub channel: String,
    pub inbound: Inbound,
    /// `received`, `parsed` or `dead`.
    pub state: String,
}

/// What [`Store::record_inbound`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// First time these bytes arrived on this channel.
    New(i64),
    /// Seen before and parsed: nothing to do.
    AlreadyParsed(i64),
    /// Seen before and dead-lettered (or never finished): parse again.
    Retry(i64),
}

impl Unit {
    /// Keeps raw traffic before anything else happens to it.
    pub async fn record_inbound(&mut self, channel: &str, inbound: &Inbound) -> Result<Recorded> {
        let mut hasher = Sha256::new();
        hasher.update(channel.as_bytes());
        hasher.update([0]);
        hasher.update(&inbound.body);
        let digest = hex::encode(hasher.finalize());
        let existing = query("SELECT id, state FROM inbound WHERE digest = $1")
            .bind(&digest)
            .fetch_optional(self.conn())
            .await?;
        if let Some(row) = existing {
            let id: i64 = row.try_get("id")?;
            let state: String = row.try_get("state")?;
            return Ok(if state == "parsed" {
                Recorded::AlreadyParsed(id)
            } else {
                Recorded::Retry(id)
            });
        }
        let headers = serde_json::to_string(&inbound.headers)?;
        let row = query(
            "INSERT INTO inbound (channel, source, content_type, headers, body, digest, received_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'received') RETURNING id",
        )
        .bind(channel)
        .bind(&inbound.source)
        .bind(inbound.content_type.as_deref())
        .bind(headers)
        .bind(inbound.body.clone())
        .bind(digest)
        .bind(now_ms())
        .fetch_one(self.conn())
        .await?;
        Ok(Recorded::New(row.try_get("id")?))
    }

    /// The raw traffic with this id.
    pub async fn inbound(&mut self, id: i64) -> Result<InboundRecord> {
        let row = query(
            "SELECT id, channel, hook, received_at, source, content_type, headers, body, state FROM inbound WHERE id = $1",
        )
            .bind(id)
            .fetch_one(self.conn())
            .await?;
        let headers: String = row.try_get("headers")?;
        Ok(InboundRecord {
            id: row.try_get("id")?,
            channel: row.try_get("channel")?,
            state: row.try_get("state")?,
            inbound: Inbound {
                source: row.try_get("source")?,
                hook: row.try_get("hook")?,
                received_at: row.try_get("received_at")?,
                content_type: row.try_get("content_type")?,
                headers: serde_json::from_str(&headers)?,
                body: row.try_get("body")?,
            },
        })
    }

    /// Stores the messages a channel made of inbound `inbound_id` and queues an event for each
    /// new one: `message.received` for what the buyer wrote, `message.sent` (payload
    /// `automatic`) for the seller's replies the channel saw go out. Messages already stored
    /// (same channel and id) are skipped. Returns how many were new.
    pub async fn enqueue_messages(&mut self, inbound_id: i64, messages: &[Message]) -> Result<usize> {
        let unit = self;
        let now = now_ms();
        let mut new = 0;
        for message in messages {
            let data = serde_json::to_string(message)?;
            let (direction, kind, payload) = match (message.direction, message.automatic) {
                (Direction::Inbound, _) => ("in", "message.received", "{}"),
                (Direction::Outbound, false) => ("out", "message.sent", r#"{"automatic":false}"#),
                (Direction::Outbound, true) => ("auto", "message.sent", r#"{"automatic":true}"#),
            };
            let inserted = query(
                "INSERT INTO messages (channel, external_id, inbound_id, at, data, direction, sender_key, subject, body_fingerprint)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
            )
            .bind(&message.channel)
            .bind(&message.id)
            .bind(inbound_id)
            .bind(message.at)
            .bind(data)
            .bind(direction)
            .bind(sender_key(&message.from))
            .bind(message.subject.as_deref())
            .bind(body_fingerprint(&message.body) as i64)
            .fetch_optional(unit.conn())
            .await?;
            let Some(row) = inserted else { continue };
            let message_id: i64 = row.try_get("id")?;
            query(
                "INSERT INTO events (kind, at, message_id, payload, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(kind)
            .bind(message.at)
            .bind(message_id)
            .bind(payload)
            .bind(now)
            .execute(unit.conn())
            .await?;
            new += 1;
        }
        query("UPDATE inbound SET state = 'parsed', error = NULL WHERE id = $1")
            .bind(inbound_id)
            .execute(unit.conn())
            .await?;
        Ok(new)
    }

    /// Keeps raw traffic that could not be parsed, with the reason, for replay.
    pub async fn dead_letter_inbound(&mut self, inbound_id: i64, channel: &str, error: &str) -> Result<()> {
        let unit = self;
        query("UPDATE inbound SET state = 'dead', error = $1 WHERE id = $2")
            .bind(error)
            .bind(inbound_id)
            .execute(unit.conn())
            .await?;
        query("INSERT INTO dead_letters (inbound_id, plugin, error, created_at) VALUES ($1, $2, $3, $4)")
            .bind(inbound_id)
            .bind(channel)
            .bind(error)
            .bind(now_ms())
            .execute(unit.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    /// Raw traffic by id, outside any unit.
    pub async fn inbound(&self, id: i64) -> Result<InboundRecord> {
        let mut unit = self.unit().await?;
        let record = unit.inbound(id).await?;
        unit.commit().await?;
        Ok(record)
    }
}
