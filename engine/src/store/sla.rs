//! SLA clocks in the store: replies recorded, deadlines stopped, their timers cancelled, and the
//! rows the SLA report is made of.
//!
//! A deadline's clock runs from `started_at` until it is stopped (`met_at`, `stopped_by`): by
//! the first agent reply after it started, or by a status that ends the wait. Stopping a
//! deadline by its due time makes it `met` and cancels its timers that have not fired; a late
//! stop leaves it `breached`, but its stop time is kept, so response times count late answers
//! too. SLA timer events carry the ticket's worst deadline state when they fired.

use super::{Result, Store, Unit, now_ms, query};
use weft_sdk::{DeadlineView, Message};

/// The timer key prefix of a deadline; warnings are `<base>:warn:<i>`, the breach `<base>:breach`.
pub fn deadline_timer_base(ticket: i64, kind: &str, policy: &str) -> String {
    format!("deadline:{ticket}:{kind}:{policy}")
}

/// A deadline that a stop changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub kind: String,
    pub policy: String,
    /// The state it ended in: `met`, or `breached` for a late answer.
    pub state: String,
}

/// What [`Unit::set_deadline`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineSet {
    /// A clock started (or restarted).
    Started,
    /// A paused clock resumed after `paused_ms`.
    Resumed { paused_ms: i64 },
}

/// A deadline whose clock a status paused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paused {
    pub kind: String,
    pub policy: String,
}

/// One deadline as the SLA report reads it.
#[derive(Debug, Clone)]
pub struct DeadlineRow {
    pub ticket: i64,
    /// The channel of the ticket's first message (`unknown` when it has none).
    pub channel: String,
    pub kind: String,
    pub policy: String,
    pub due: i64,
    pub state: String,
    pub started_at: Option<i64>,
    pub met_at: Option<i64>,
    pub stopped_by: Option<String>,
}

impl Unit {
    /// Stores a reply that went out and queues its `message.sent` event (payload `automatic`).
    /// The same message (channel and id) again is skipped: returns None.
    pub async fn enqueue_reply(
        &mut self,
        message: &Message,
        automatic: bool,
        ticket: Option<i64>,
    ) -> Result<Option<i64>> {
        let data = serde_json::to_string(message)?;
        let direction = if automatic { "auto" } else { "out" };
        let inserted = query(
            "INSERT INTO messages (channel, external_id, at, data, direction, sender_key, subject, body_fingerprint)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
        )
        .bind(&message.channel)
        .bind(&message.id)
        .bind(message.at)
        .bind(data)
        .bind(direction)
        .bind(weft_sdk::fingerprint::sender_key(&message.from))
        .bind(message.subject.as_deref())
        .bind(weft_sdk::fingerprint::body_fingerprint(&message.body) as i64)
        .fetch_optional(self.conn())
        .await?;
        let Some(row) = inserted else { return Ok(None) };
        let message_id: i64 = row.try_get("id")?;
        let payload = serde_json::json!({ "automatic": automatic });
        let row = query(
            "INSERT INTO events (kind, at, message_id, ticket_number, payload, created_at)
             VALUES ('message.sent', $1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(message.at)
        .bind(message_id)
        .bind(ticket)
        .bind(payload.to_string())
        .bind(now_ms())
        .fetch_one(self.conn())
        .await?;
        Ok(Some(row.try_get("id")?))
    }

    /// Puts a reply on a ticket's timeline; unlike a buyer's message it reopens nothing. It
    /// changes the ticket (its version moves) unless it is the delivery of a reply queued in
    /// the outbox (the message's id is the outbox key): that one moved the version when it was
    /// queued, and its delivery must not make an agent's next reply look stale.
    pub async fn attach_reply(&mut self, ticket: i64, message: i64) -> Result<()> {
        let version = query(
            "UPDATE tickets SET version = version + 1 WHERE number = $1
             AND NOT EXISTS (SELECT 1 FROM messages m JOIN outbox o ON o.key = m.external_id WHERE m.id = $2)
             RETURNING version",
        )
        .bind(ticket)
        .bind(message)
        .fetch_optional(self.conn())
        .await?
        .map(|row| row.try_get::<i64>("version"))
        .transpose()?;
        query("UPDATE messages SET ticket_number = $1, ticket_version = $2 WHERE id = $3")
            .bind(ticket)
            .bind(version)
            .bind(message)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// The ticket (as it lives now) a reply belongs to: its conversation on the channel, then
    /// the messages it replies to, then the newest unmerged ticket of its order.
    pub async fn reply_ticket(&mut self, message: &Message) -> Result<Option<i64>> {
        if let Some(thread) = &message.thread
            && let Some(number) = self.thread_ticket(&message.channel, thread).await?
        {
            return Ok(Some(number as i64));
        }
        for id in &message.replies_to {
            if let Some(number) = self.message_ticket(id).await? {
                return Ok(Some(number as i64));
            }
        }
        if let Some(order) = &message.order {
            let row = query(
                "SELECT number FROM tickets WHERE order_no = $1 AND merged_into IS NULL
                 ORDER BY updated_at DESC, number DESC LIMIT 1",
            )
            .bind(order)
            .fetch_optional(self.conn())
            .await?;
            if let Some(row) = row {
                return Ok(Some(row.try_get("number")?));
            }
        }
        Ok(None)
    }

    /// Stops the clocks of `kinds` on `ticket` that started no later than `at` and still run:
    /// each gets `at` and `by`. One stopped by its due time becomes `met` and its timers that
    /// have not fired are cancelled; one stopped later is (or stays) `breached` and keeps its
    /// timers, so its warnings and breach still fire once. Returns what changed.
    pub async fn stop_deadlines(&mut self, ticket: i64, kinds: &[&str], at: i64, by: &str) -> Result<Vec<Stopped>> {
        let rows = query(
            "SELECT kind, policy, state, due, paused_at FROM deadlines
             WHERE ticket_number = $1 AND met_at IS NULL AND (started_at IS NULL OR started_at <= $2)
             ORDER BY kind, policy",
        )
        .bind(ticket)
        .bind(at)
        .fetch_all(self.conn())
        .await?;
        let mut stopped = Vec::new();
        for row in rows {
            let kind: String = row.try_get("kind")?;
            if !kinds.contains(&kind.as_str()) {
                continue;
            }
            let policy: String = row.try_get("policy")?;
            let state: String = row.try_get("state")?;
            let due: i64 = row.try_get("due")?;
            // A late answer is a breach even when the breach timer has not fired yet (a backlog,
            // an engine that was down); its timers then fire as they would have. A paused clock
            // stood still at its pause, so it is late only if it was paused after its due time.
            let paused_at: Option<i64> = row.try_get("paused_at")?;
            let late = state == "breached" || paused_at.unwrap_or(at) > due;
            let state = if late { "breached".to_owned() } else { "met".to_owned() };
            query(
                "UPDATE deadlines SET state = $1, met_at = $2, stopped_by = $3,
                     paused_ms = paused_ms + CASE WHEN paused_at IS NULL THEN 0 ELSE $2 - paused_at END,
                     paused_at = NULL
                 WHERE ticket_number = $4 AND kind = $5 AND policy = $6",
            )
            .bind(&state)
            .bind(at)
            .bind(by)
            .bind(ticket)
            .bind(&kind)
            .bind(&policy)
            .execute(self.conn())
            .await?;
            if late {
                stopped.push(Stopped { kind, policy, state });
                continue;
            }
            self.cancel_deadline_timers(ticket, &kind, &policy).await?;
            stopped.push(Stopped { kind, policy, state });
        }
        Ok(stopped)
    }

    /// Pauses the running clocks of `ticket` whose policy pauses on `status`, from `at`: their
    /// timers that have not fired are cancelled until the clock resumes. A breached deadline is
    /// not paused (its breach already happened). Returns what paused.
    pub async fn pause_deadlines(&mut self, ticket: i64, status: &str, at: i64) -> Result<Vec<Paused>> {
        let rows = query(
            "SELECT kind, policy, pause_on FROM deadlines
             WHERE ticket_number = $1 AND met_at IS NULL AND paused_at IS NULL AND state <> 'breached'
             ORDER BY kind, policy",
        )
        .bind(ticket)
        .fetch_all(self.conn())
        .await?;
        let mut paused = Vec::new();
        for row in rows {
            let pause_on: String = row.try_get("pause_on")?;
            let pause_on: Vec<String> = serde_json::from_str(&pause_on)?;
            if !pause_on.iter().any(|s| s == status) {
                continue;
            }
            let kind: String = row.try_get("kind")?;
            let policy: String = row.try_get("policy")?;
            query("UPDATE deadlines SET paused_at = $1 WHERE ticket_number = $2 AND kind = $3 AND policy = $4")
                .bind(at)
                .bind(ticket)
                .bind(&kind)
                .bind(&policy)
                .execute(self.conn())
                .await?;
            self.cancel_deadline_timers(ticket, &kind, &policy).await?;
            paused.push(Paused { kind, policy });
        }
        Ok(paused)
    }

    /// Cancels the warnings and breach of a deadline that have not fired.
    async fn cancel_deadline_timers(&mut self, ticket: i64, kind: &str, policy: &str) -> Result<()> {
        let base = deadline_timer_base(ticket, kind, policy);
        let warn = format!("{base}:warn:");
        query(
            "UPDATE timers SET cancelled_at = $1
             WHERE ticket_number = $4 AND fired_at IS NULL AND cancelled_at IS NULL
               AND (key = $2 OR substr(key, 1, length($3)) = $3)",
        )
        .bind(now_ms())
        .bind(format!("{base}:breach"))
        .bind(&warn)
        .bind(ticket)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The deadlines of a ticket and of the tickets merged into it, by due time.
    pub async fn ticket_deadlines(&mut self, ticket: i64) -> Result<Vec<DeadlineView>> {
        let rows = query(
            "WITH RECURSIVE family(number) AS (
                 SELECT $1 UNION SELECT t.number FROM tickets t JOIN family f ON t.merged_into = f.number)
             SELECT kind, policy, due, state, started_at, met_at, paused_at FROM deadlines
             WHERE ticket_number IN (SELECT number FROM family)
             ORDER BY due, kind, policy",
        )
        .bind(ticket)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|row| {
                let due: i64 = row.try_get("due")?;
                Ok(DeadlineView {
                    kind: row.try_get("kind")?,
                    policy: row.try_get("policy")?,
                    due,
                    state: row.try_get("state")?,
                    started_at: row.try_get::<Option<i64>>("started_at")?.unwrap_or(due),
                    stopped_at: row.try_get("met_at")?,
                    paused_since: row.try_get("paused_at")?,
                })
            })
            .collect()
    }

    /// The worst state among the ticket's deadlines: `breached`, `warned`, `pending` or `met`.
    pub async fn worst_deadline_state(&mut self, ticket: i64) -> Result<String> {
        let states = query("SELECT DISTINCT state FROM deadlines WHERE ticket_number = $1")
            .bind(ticket)
            .fetch_all(self.conn())
            .await?;
        let mut worst = "met".to_owned();
        for row in states {
            let state: String = row.try_get("state")?;
            if rank(&state) > rank(&worst) {
                worst = state;
            }
        }
        Ok(worst)
    }

    /// The ticket's priority, if set.
    pub async fn ticket_priority(&mut self, ticket: i64) -> Result<Option<String>> {
        let row = query("SELECT priority FROM tickets WHERE number = $1")
            .bind(ticket)
            .fetch_optional(self.conn())
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<String>>("priority"))
            .transpose()?
            .flatten())
    }

    /// The ticket's current status, or None when there is no such ticket.
    pub async fn ticket_status(&mut self, ticket: i64) -> Result<Option<String>> {
        let row = query("SELECT status FROM tickets WHERE number = $1")
            .bind(ticket)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| r.try_get("status")).transpose()
    }
}

fn rank(state: &str) -> u8 {
    match state {
        "breached" => 3,
        "warned" => 2,
        "pending" => 1,
        _ => 0,
    }
}

impl Store {
    /// Every deadline with the channel of its ticket's first message, by ticket and due time.
    pub async fn sla_deadlines(&self) -> Result<Vec<DeadlineRow>> {
        let rows = query(
            "SELECT d.ticket_number, d.kind, d.policy, d.due, d.state, d.started_at, d.met_at, d.stopped_by,
                    (SELECT m.channel FROM messages m
                     WHERE m.ticket_number = d.ticket_number AND m.direction = 'in'
                     ORDER BY m.at, m.id LIMIT 1) AS channel
             FROM deadlines d ORDER BY d.ticket_number, d.due, d.kind, d.policy",
        )
        .fetch_all(&mut self.conn().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeadlineRow {
                    ticket: row.try_get("ticket_number")?,
                    channel: row
                        .try_get::<Option<String>>("channel")?
                        .unwrap_or_else(|| "unknown".to_owned()),
                    kind: row.try_get("kind")?,
                    policy: row.try_get("policy")?,
                    due: row.try_get("due")?,
                    state: row.try_get("state")?,
                    started_at: row.try_get("started_at")?,
                    met_at: row.try_get("met_at")?,
                    stopped_by: row.try_get("stopped_by")?,
                })
            })
            .collect()
    }

    /// The time of the newest message, if any.
    pub async fn newest_message_at(&self) -> Result<Option<i64>> {
        let row = query("SELECT MAX(at) AS at FROM messages")
            .fetch_one(&mut self.conn().await?)
            .await?;
        row.try_get("at")
    }

    /// The SLA events timers fired (`sla.warning`, `sla.breached`), in the order they came due:
    /// (kind, due, ticket, payload).
    pub async fn sla_timer_events(&self) -> Result<Vec<(String, i64, Option<i64>, serde_json::Value)>> {
        let rows = query(
            "SELECT kind, at, ticket_number, payload FROM events
             WHERE kind IN ('sla.warning', 'sla.breached') ORDER BY at, id",
        )
        .fetch_all(&mut self.conn().await?)
        .await?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get("payload")?;
                Ok((
                    row.try_get("kind")?,
                    row.try_get("at")?,
                    row.try_get("ticket_number")?,
                    serde_json::from_str(&payload)?,
                ))
            })
            .collect()
    }

    /// How many timers are cancelled, fired, and still waiting.
    pub async fn timer_counts(&self) -> Result<(i64, i64, i64)> {
        let row = query(
            "SELECT SUM(CASE WHEN cancelled_at IS NOT NULL THEN 1 ELSE 0 END) AS cancelled,
                    SUM(CASE WHEN fired_at IS NOT NULL THEN 1 ELSE 0 END) AS fired,
                    SUM(CASE WHEN fired_at IS NULL AND cancelled_at IS NULL THEN 1 ELSE 0 END) AS waiting
             FROM timers",
        )
        .fetch_one(&mut self.conn().await?)
        .await?;
        let get = |name: &str| -> Result<i64> { Ok(row.try_get::<Option<i64>>(name)?.unwrap_or(0)) };
        Ok((get("cancelled")?, get("fired")?, get("waiting")?))
    }
}
