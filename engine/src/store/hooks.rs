//! Webhooks kept before they are answered, and what the live loop of `weft serve` asks the
//! store: the received requests still to parse, when the next timer is due, how deep the
//! queue is.
//!
//! A webhook is kept in `inbound` (with its hook id, headers and exact body) in its own
//! transaction before the request is answered; it is parsed later, by the live loop, through
//! the same path as files (`exec::ingest::parse_recorded`). The same body on the same hook is
//! kept once: a vendor's retry of a delivery is recognized by its digest.

use super::ingest::{INBOUND_COLUMNS, InboundRecord, inbound_from_row};
use super::{Result, Store, query};
use sha2::{Digest, Sha256};
use weft_sdk::Inbound;

/// What [`Store::keep_webhook`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Kept now, under this inbound id.
    New(i64),
    /// The same body came on the same hook before: kept then, under this id.
    Duplicate(i64),
}

/// How much work is waiting, and how much is late, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Events waiting to be processed (retries included).
    pub pending_events: i64,
    /// When the oldest of them was queued (ms), if any.
    pub oldest_pending_at: Option<i64>,
    /// Webhooks kept and not parsed yet.
    pub unparsed_webhooks: i64,
    /// Dead letters not replayed.
    pub open_dead_letters: i64,
    /// Deadlines whose clock runs (not met, not paused) that warned and are not due yet.
    pub deadlines_at_risk: i64,
    /// Deadlines whose clock runs (not met, not paused) that are past due.
    pub deadlines_breached: i64,
}

/// The digest that recognizes the same delivery on the same hook.
fn webhook_digest(hook: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"hook\0");
    hasher.update(hook.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

impl Store {
    /// Keeps a verified webhook for `hook` (read by channel plugin `channel`) and commits,
    /// before it is answered. Returns the earlier row when the same body came on this hook.
    pub async fn keep_webhook(&self, hook: &str, channel: &str, inbound: &Inbound) -> Result<Kept> {
        let digest = webhook_digest(hook, &inbound.body);
        let headers = serde_json::to_string(&inbound.headers)?;
        let mut unit = self.unit().await?;
        let inserted = query(
            "INSERT INTO inbound (channel, hook, source, content_type, headers, body, digest, received_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'received')
             ON CONFLICT (digest) DO NOTHING RETURNING id",
        )
        .bind(channel)
        .bind(hook)
        .bind(&inbound.source)
        .bind(inbound.content_type.as_deref())
        .bind(headers)
        .bind(inbound.body.as_slice())
        .bind(&digest)
        .bind(inbound.received_at)
        .fetch_optional(unit.conn())
        .await?;
        let kept = match inserted {
            Some(row) => Kept::New(row.try_get("id")?),
            None => {
                let row = query("SELECT id FROM inbound WHERE digest = $1")
                    .bind(&digest)
                    .fetch_one(unit.conn())
                    .await?;
                Kept::Duplicate(row.try_get("id")?)
            }
        };
        unit.commit().await?;
        Ok(kept)
    }

    /// Webhooks kept and not parsed yet, oldest first.
    pub async fn received_webhooks(&self, limit: i64) -> Result<Vec<InboundRecord>> {
        let rows = query(&format!(
            "SELECT {INBOUND_COLUMNS} FROM inbound
             WHERE state = 'received' AND hook IS NOT NULL ORDER BY id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&mut self.conn().await?)
        .await?;
        rows.iter().map(inbound_from_row).collect()
    }

    /// When the next timer that has neither fired nor been cancelled is due (ms), if any.
    pub async fn next_timer_due(&self) -> Result<Option<i64>> {
        let row = query("SELECT MIN(due_at) AS t FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL")
            .fetch_one(&mut self.conn().await?)
            .await?;
        row.try_get("t")
    }

    /// How much work is waiting.
    pub async fn queue_stats(&self) -> Result<QueueStats> {
        let mut conn = self.conn().await?;
        let events = query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM events WHERE state = 'pending'")
            .fetch_one(&mut conn)
            .await?;
        let unparsed = query("SELECT COUNT(*) AS n FROM inbound WHERE state = 'received' AND hook IS NOT NULL")
            .fetch_one(&mut conn)
            .await?;
        let dead = query("SELECT COUNT(*) AS n FROM dead_letters WHERE replayed_at IS NULL")
            .fetch_one(&mut conn)
            .await?;
        // Running clocks: not met, not paused, on a ticket not merged into another.
        let deadlines = query(
            "SELECT COALESCE(SUM(CASE WHEN d.state = 'warned' THEN 1 ELSE 0 END), 0) AS at_risk,
                    COALESCE(SUM(CASE WHEN d.state = 'breached' THEN 1 ELSE 0 END), 0) AS breached
             FROM deadlines d JOIN tickets t ON t.number = d.ticket_number
             WHERE d.met_at IS NULL AND d.paused_at IS NULL AND d.state IN ('warned', 'breached')
               AND t.merged_into IS NULL",
        )
        .fetch_one(&mut conn)
        .await?;
        Ok(QueueStats {
            pending_events: events.try_get("n")?,
            oldest_pending_at: events.try_get("oldest")?,
            unparsed_webhooks: unparsed.try_get("n")?,
            open_dead_letters: dead.try_get("n")?,
            deadlines_at_risk: deadlines.try_get("at_risk")?,
            deadlines_breached: deadlines.try_get("breached")?,
        })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        query("SELECT 1 AS one").fetch_one(&mut self.conn().await?).await?;
        Ok(())
    }
}

impl super::Unit {
    /// Keeps traffic a poll of `hook` received and its channel could not read (see
    /// [`weft_sdk::UNREADABLE`]) as a dead letter with `reason`: replayed, it is
    /// parsed through the channel's `parse` like a webhook. The same body on the same hook is
    /// kept once (a queue that delivers it again). Returns whether it was new.
    pub async fn keep_unreadable(
        &mut self,
        hook: &str,
        channel: &str,
        inbound: &Inbound,
        reason: &str,
    ) -> Result<bool> {
        let digest = webhook_digest(hook, &inbound.body);
        let headers = serde_json::to_string(&inbound.headers)?;
        let inserted = query(
            "INSERT INTO inbound (channel, hook, source, content_type, headers, body, digest, received_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'received')
             ON CONFLICT (digest) DO NOTHING RETURNING id",
        )
        .bind(channel)
        .bind(hook)
        .bind(&inbound.source)
        .bind(inbound.content_type.as_deref())
        .bind(headers)
        .bind(inbound.body.as_slice())
        .bind(&digest)
        .bind(inbound.received_at)
        .fetch_optional(self.conn())
        .await?;
        let Some(row) = inserted else {
            return Ok(false);
        };
        self.dead_letter_inbound(row.try_get("id")?, channel, reason).await?;
        Ok(true)
    }
}
