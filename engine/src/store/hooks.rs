//! Webhooks kept before they are answered, and what the live loop of `weft serve` asks the
//! store: the received requests still to parse, when the next timer is due, how deep the
//! queue is.
//!
//! A webhook is kept in `inbound` (with its hook id, headers and exact body) in its own
//! transaction before the request is answered; it is parsed later, by the live loop, through
//! the same path as files (`exec::ingest::parse_recorded`). The same body on the same hook is
//! kept once: a vendor's retry of a delivery is recognized by its digest.
//!
//! A request its channel refused (a missing or wrong signature) is kept too, as a dead letter
//! ([`Store::keep_refused_webhook`]): in `inbound` with state `refused`, under a digest of its
//! own namespace so that a genuine delivery of the same body is never taken for it. Anyone can
//! post to a public hook, so what is kept is bounded: the body limit per request, one row per
//! body and hook, at most a cap of open refusals per hook, and each for [`REFUSED_KEPT_FOR_MS`].
//! Replaying one verifies it again ([`Unit::accept_refused`]).

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

/// How long a refused request is kept for a replay: a week, longer than vendors retry a
/// delivery (Shopify for 4 hours, eBay for a day), so a secret fixed within it loses nothing.
pub const REFUSED_KEPT_FOR_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// What [`Store::keep_refused_webhook`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptRefused {
    /// Kept now, under this dead letter.
    New { letter: i64 },
    /// The same body was refused on this hook before and is still kept, under this dead letter.
    Seen { letter: i64 },
    /// The hook holds as many open refusals as the cap allows: not kept.
    Full { open: i64 },
}

/// What [`Unit::accept_refused`] did with a refused request that now verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// It is kept as received, to be parsed now.
    Received,
    /// The same delivery was kept verified since (a vendor's retry): under this inbound id.
    KeptAs(i64),
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

/// The digest of a refused request: another namespace than [`webhook_digest`]'s.
fn refused_digest(hook: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"refused\0");
    hasher.update(hook.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

impl Store {
    /// Keeps a request to `hook` that its channel (plugin `channel`) refused, with `reason`, as
    /// a dead letter, and commits: once per body and hook, and only while the hook holds fewer
    /// than `cap` open refusals. Refusals of the hook older than [`REFUSED_KEPT_FOR_MS`] at
    /// `now` are dropped first. Two requests racing for the last place may both be kept.
    pub async fn keep_refused_webhook(
        &self,
        hook: &str,
        channel: &str,
        inbound: &Inbound,
        reason: &str,
        cap: i64,
        now: i64,
    ) -> Result<KeptRefused> {
        let digest = refused_digest(hook, &inbound.body);
        let mut unit = self.unit().await?;
        let seen = query(
            "SELECT d.id FROM inbound i JOIN dead_letters d ON d.inbound_id = i.id
             WHERE i.digest = $1 ORDER BY d.id DESC LIMIT 1",
        )
        .bind(&digest)
        .fetch_optional(unit.conn())
        .await?;
        if let Some(row) = seen {
            unit.rollback().await?;
            return Ok(KeptRefused::Seen {
                letter: row.try_get("id")?,
            });
        }
        let cutoff = now - REFUSED_KEPT_FOR_MS;
        query(
            "DELETE FROM dead_letters WHERE inbound_id IN
               (SELECT id FROM inbound WHERE hook = $1 AND state = 'refused' AND received_at < $2)",
        )
        .bind(hook)
        .bind(cutoff)
        .execute(unit.conn())
        .await?;
        query("DELETE FROM inbound WHERE hook = $1 AND state = 'refused' AND received_at < $2")
            .bind(hook)
            .bind(cutoff)
            .execute(unit.conn())
            .await?;
        let open: i64 = query("SELECT COUNT(*) AS n FROM inbound WHERE hook = $1 AND state = 'refused'")
            .bind(hook)
            .fetch_one(unit.conn())
            .await?
            .try_get("n")?;
        if open >= cap {
            // The expired ones are gone all the same.
            unit.commit().await?;
            return Ok(KeptRefused::Full { open });
        }
        let error = reason.replace('\0', "\u{FFFD}");
        let headers = serde_json::to_string(&inbound.headers)?;
        let id: i64 = query(
            "INSERT INTO inbound (channel, hook, source, content_type, headers, body, digest, received_at, state, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'refused', $9) RETURNING id",
        )
        .bind(channel)
        .bind(hook)
        .bind(&inbound.source)
        .bind(inbound.content_type.as_deref())
        .bind(headers)
        .bind(inbound.body.as_slice())
        .bind(&digest)
        .bind(inbound.received_at)
        .bind(&error)
        .fetch_one(unit.conn())
        .await?
        .try_get("id")?;
        let letter: i64 = query(
            "INSERT INTO dead_letters (inbound_id, plugin, error, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(id)
        .bind(channel)
        .bind(&error)
        .bind(now)
        .fetch_one(unit.conn())
        .await?
        .try_get("id")?;
        unit.commit().await?;
        Ok(KeptRefused::New { letter })
    }

    /// Keeps a verified webhook for `hook` (read by channel plugin `channel`) and commits,
    /// before it is answered. Returns the earlier row when the same body came on this hook.
    pub async fn keep_webhook(&self, hook: &str, channel: &str, inbound: &Inbound) -> Result<Kept> {
        let digest = webhook_digest(hook, &inbound.body);
        let mut unit = self.unit().await?;
        let kept = match unit.insert_webhook(hook, channel, inbound, &digest).await? {
            Some(id) => Kept::New(id),
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

    /// Webhooks kept and not parsed yet, oldest first (refused ones are not among them).
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
        let Some(id) = self.insert_webhook(hook, channel, inbound, &digest).await? else {
            return Ok(false);
        };
        self.dead_letter_inbound(id, channel, reason).await?;
        Ok(true)
    }

    /// Inserts traffic of `hook` as received under `digest`; the new row's id, or None when a
    /// row with that digest is kept already. Shared by verified webhooks and unreadable polls.
    async fn insert_webhook(
        &mut self,
        hook: &str,
        channel: &str,
        inbound: &Inbound,
        digest: &str,
    ) -> Result<Option<i64>> {
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
        .bind(digest)
        .bind(inbound.received_at)
        .fetch_optional(self.conn())
        .await?;
        inserted.map(|row| row.try_get("id")).transpose()
    }

    /// A refused request (`inbound` row `id`, state `refused`) that now verifies: kept as
    /// received under the digest of a verified delivery, so that the caller parses it in this
    /// unit; or, when that delivery was kept verified since, marked parsed as a copy of it.
    pub async fn accept_refused(&mut self, id: i64) -> Result<Accepted> {
        let row = query("SELECT hook, body FROM inbound WHERE id = $1 AND state = 'refused'")
            .bind(id)
            .fetch_one(self.conn())
            .await?;
        let hook: Option<String> = row.try_get("hook")?;
        let body: Vec<u8> = row.try_get("body")?;
        let digest = webhook_digest(hook.as_deref().unwrap_or_default(), &body);
        if let Some(kept) = query("SELECT id FROM inbound WHERE digest = $1")
            .bind(&digest)
            .fetch_optional(self.conn())
            .await?
        {
            let kept: i64 = kept.try_get("id")?;
            query("UPDATE inbound SET state = 'parsed', error = $1 WHERE id = $2")
                .bind(format!(
                    "verified on replay; the same delivery was kept as inbound {kept}"
                ))
                .bind(id)
                .execute(self.conn())
                .await?;
            return Ok(Accepted::KeptAs(kept));
        }
        query("UPDATE inbound SET state = 'received', digest = $1, error = NULL WHERE id = $2")
            .bind(&digest)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(Accepted::Received)
    }
}
