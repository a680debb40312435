//! The durable event queue: claiming work, finishing it, retrying it, dead-lettering it.
//!
//! Events are rows. A node claims a batch for a lease; on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so several nodes never claim the same event. A crashed node's
//! claims are released as soon as another process knows it stopped (`node.rs`), else when
//! its lease runs out. An event is finished inside the same transaction that applies its
//! commands.

use super::{Dialect, Result, Row, Store, StoreError, Unit, now_ms, query};
use weft_sdk::Message;

/// An event taken from the queue.
#[derive(Debug, Clone)]
pub struct QueuedEvent {
    pub id: i64,
    pub kind: String,
    pub at: i64,
    /// The stored message's row id and the message.
    pub message: Option<(i64, Message)>,
    pub customer: Option<i64>,
    pub ticket: Option<i64>,
    pub payload: serde_json::Value,
    pub attempts: i64,
}

/// A message or event that could not be processed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeadLetter {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    pub error: String,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replayed_at: Option<i64>,
    /// How often it failed: 1, and one more for each replay that failed again.
    pub attempts: i64,
}

pub(super) const EVENT_COLUMNS: &str =
    "e.id, e.kind, e.at, e.message_id, e.customer_id, e.ticket_number, e.payload, e.attempts, m.data";

pub(super) fn event_from_row(row: &Row) -> Result<QueuedEvent> {
    let message_id: Option<i64> = row.try_get("message_id")?;
    let data: Option<String> = row.try_get("data")?;
    let message = match (message_id, data) {
        (Some(id), Some(data)) => Some((id, serde_json::from_str(&data)?)),
        _ => None,
    };
    let payload: String = row.try_get("payload")?;
    Ok(QueuedEvent {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        at: row.try_get("at")?,
        message,
        customer: row.try_get("customer_id")?,
        ticket: row.try_get("ticket_number")?,
        payload: if payload.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&payload)?
        },
        attempts: row.try_get("attempts")?,
    })
}

impl Store {
    /// Claims up to `limit` ready events for `lease_ms`, oldest first. `claim` must be unique
    /// per call (node id and a counter).
    pub async fn claim(&self, claim: &str, limit: i64, lease_ms: i64) -> Result<Vec<QueuedEvent>> {
        let now = now_ms();
        let lock = match self.dialect() {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE events SET claimed_by = $1, claimed_until = $2
             WHERE id IN (SELECT id FROM events
                          WHERE state = 'pending' AND not_before <= $3
                            AND (claimed_until IS NULL OR claimed_until < $3)
                          ORDER BY id LIMIT $4 {lock})"
        );
        query(&sql)
            .bind(claim)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .execute(&mut self.conn().await?)
            .await?;
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e LEFT JOIN messages m ON m.id = e.message_id
             WHERE e.claimed_by = $1 AND e.state = 'pending' ORDER BY e.id"
        );
        let rows = query(&sql).bind(claim).fetch_all(&mut self.conn().await?).await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Pending events that another node (any claim not made by `node`) holds a running lease
    /// on: the drain waits for them to be done or taken over before it fires timers.
    pub async fn claimed_elsewhere(&self, node: &str) -> Result<i64> {
        let row = query(
            "SELECT COUNT(*) AS n FROM events
             WHERE state = 'pending' AND claimed_until >= $1 AND substr(claimed_by, 1, length($2)) <> $2",
        )
        .bind(now_ms())
        .bind(format!("{node}:"))
        .fetch_one(&mut self.conn().await?)
        .await?;
        row.try_get("n")
    }

    /// Events still waiting, for status lines.
    pub async fn pending_events(&self) -> Result<i64> {
        let row = query("SELECT COUNT(*) AS n FROM events WHERE state = 'pending'")
            .fetch_one(&mut self.conn().await?)
            .await?;
        row.try_get("n")
    }

    /// Gives a failed event another try after `delay_ms`.
    pub async fn retry_later(&self, event: i64, delay_ms: i64, error: &str) -> Result<()> {
        query(
            "UPDATE events SET attempts = attempts + 1, not_before = $1, claimed_by = NULL,
                               claimed_until = NULL, error = $2 WHERE id = $3",
        )
        .bind(now_ms() + delay_ms)
        .bind(error)
        .bind(event)
        .execute(&mut self.conn().await?)
        .await?;
        Ok(())
    }

    /// Takes an event out of the queue for good, keeping it and the reason.
    pub async fn dead_letter_event(
        &self,
        event: i64,
        workflow: Option<&str>,
        step: Option<&str>,
        plugin: Option<&str>,
        error: &str,
    ) -> Result<()> {
        let mut unit = self.unit().await?;
        unit.dead_letter_event(event, workflow, step, plugin, error).await?;
        unit.commit().await
    }
}

impl Unit {
    /// Pending events after `after`, oldest first, without claiming them: for dry runs, which
    /// see the whole database inside one transaction.
    pub async fn pending_after(&mut self, after: i64, limit: i64) -> Result<Vec<QueuedEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e LEFT JOIN messages m ON m.id = e.message_id
             WHERE e.state = 'pending' AND e.id > $1 ORDER BY e.id LIMIT $2"
        );
        let rows = query(&sql).bind(after).bind(limit).fetch_all(self.conn()).await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Takes an event out of the queue for good, keeping it and the reason. An event that was
    /// dead-lettered before (and replayed) gets its dead letter back, open again with one more
    /// attempt and the last reason, rather than a second one.
    pub async fn dead_letter_event(
        &mut self,
        event: i64,
        workflow: Option<&str>,
        step: Option<&str>,
        plugin: Option<&str>,
        error: &str,
    ) -> Result<()> {
        let unit = self;
        query(
            "UPDATE events SET state = 'dead', attempts = attempts + 1, error = $1,
                               claimed_by = NULL, claimed_until = NULL WHERE id = $2",
        )
        .bind(error)
        .bind(event)
        .execute(unit.conn())
        .await?;
        let again = query(
            "UPDATE dead_letters SET workflow = $1, step = $2, plugin = $3, error = $4, attempts = attempts + 1,
                                     last_failed_at = $5, replayed_at = NULL WHERE event_id = $6",
        )
        .bind(workflow)
        .bind(step)
        .bind(plugin)
        .bind(error)
        .bind(now_ms())
        .bind(event)
        .execute(unit.conn())
        .await?;
        if again.rows_affected() > 0 {
            return Ok(());
        }
        query(
            "INSERT INTO dead_letters (event_id, workflow, step, plugin, error, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(event)
        .bind(workflow)
        .bind(step)
        .bind(plugin)
        .bind(error)
        .bind(now_ms())
        .execute(unit.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// Dead letters, oldest first; with `open_only`, those not replayed yet.
    pub async fn dead_letters(&self, open_only: bool) -> Result<Vec<DeadLetter>> {
        let filter = if open_only { "WHERE replayed_at IS NULL" } else { "" };
        let sql = format!(
            "SELECT id, event_id, inbound_id, workflow, step, plugin, error, created_at, replayed_at, attempts
             FROM dead_letters {filter} ORDER BY id"
        );
        let rows = query(&sql).fetch_all(&mut self.conn().await?).await?;
        rows.iter()
            .map(|row| {
                Ok(DeadLetter {
                    id: row.try_get("id")?,
                    event: row.try_get("event_id")?,
                    inbound: row.try_get("inbound_id")?,
                    workflow: row.try_get("workflow")?,
                    step: row.try_get("step")?,
                    plugin: row.try_get("plugin")?,
                    error: row.try_get("error")?,
                    created_at: row.try_get("created_at")?,
                    replayed_at: row.try_get("replayed_at")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Marks a dead letter replayed; a dead event goes back to the queue with a clean slate.
    pub async fn requeue_dead_letter(&self, letter: &DeadLetter) -> Result<()> {
        let mut unit = self.unit().await?;
        if let Some(event) = letter.event {
            query(
                "UPDATE events SET state = 'pending', attempts = 0, not_before = 0, error = NULL,
                                   claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND state = 'dead'",
            )
            .bind(event)
            .execute(unit.conn())
            .await?;
        }
        let done = query("UPDATE dead_letters SET replayed_at = $1 WHERE id = $2 AND replayed_at IS NULL")
            .bind(now_ms())
            .bind(letter.id)
            .execute(unit.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!(
                "dead letter {} was already replayed",
                letter.id
            )));
        }
        unit.commit().await
    }

    /// A replayed dead letter that failed again: open again, one more attempt, the last reason.
    pub async fn dead_letter_failed_again(&self, letter: i64, error: &str) -> Result<()> {
        query(
            "UPDATE dead_letters SET error = $1, attempts = attempts + 1, last_failed_at = $2, replayed_at = NULL
             WHERE id = $3",
        )
        .bind(error)
        .bind(now_ms())
        .bind(letter)
        .execute(&mut self.conn().await?)
        .await?;
        Ok(())
    }
}

impl Unit {
    /// Marks an event done, inside the unit that applied its commands. Written with the unit's
    /// decision log ([`Unit::flush_log`]): the events of a commit group in a few statements.
    pub fn finish_event(&mut self, event: i64) {
        self.log.done.push(event);
    }

    /// Queues a new event, inside the unit that caused it.
    pub async fn enqueue_event(
        &mut self,
        kind: &str,
        at: i64,
        customer: Option<i64>,
        ticket: Option<i64>,
        payload: &serde_json::Value,
    ) -> Result<i64> {
        let row = query(
            "INSERT INTO events (kind, at, customer_id, ticket_number, payload, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(kind)
        .bind(at)
        .bind(customer)
        .bind(ticket)
        .bind(payload.to_string())
        .bind(now_ms())
        .fetch_one(self.conn())
        .await?;
        row.try_get("id")
    }
    /// The event an imported order (by channel and canonical number) became, if it was
    /// imported before.
    pub async fn imported_order(&mut self, channel: &str, number: &str) -> Result<Option<i64>> {
        let row = query("SELECT event_id FROM imported_orders WHERE channel = $1 AND number = $2")
            .bind(channel)
            .bind(number)
            .fetch_optional(self.conn())
            .await?;
        row.map(|row| row.try_get("event_id")).transpose()
    }

    /// Remembers that an order (by channel and canonical number) became `event`.
    pub async fn remember_imported_order(&mut self, channel: &str, number: &str, event: i64) -> Result<()> {
        query("INSERT INTO imported_orders (channel, number, event_id) VALUES ($1, $2, $3)")
            .bind(channel)
            .bind(number)
            .bind(event)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

/// A timer that came due and was turned into an event.
#[derive(Debug, Clone)]
pub struct FiredTimer {
    pub key: String,
    pub kind: String,
    pub event: i64,
}

impl Unit {
    /// Turns every timer due by `now` into an event, once: a timer is marked fired in the same
    /// transaction that queues its event. Deadline timers also move their deadline's state.
    pub async fn fire_due_timers(&mut self, now: i64, limit: i64) -> Result<Vec<FiredTimer>> {
        let rows = query(
            "SELECT id, key, due_at, kind, payload, ticket_number FROM timers
             WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1
             ORDER BY due_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.conn())
        .await?;
        let mut fired = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let key: String = row.try_get("key")?;
            let kind: String = row.try_get("kind")?;
            let due: i64 = row.try_get("due_at")?;
            let ticket: Option<i64> = row.try_get("ticket_number")?;
            let payload: String = row.try_get("payload")?;
            let mut payload: serde_json::Value = serde_json::from_str(&payload)?;
            let done = query("UPDATE timers SET fired_at = $1 WHERE id = $2 AND fired_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(self.conn())
                .await?;
            if done.rows_affected() == 0 {
                continue;
            }
            if let serde_json::Value::Object(map) = &mut payload {
                map.insert("timer".into(), key.clone().into());
            }
            let state = match kind.as_str() {
                "sla.warning" => Some(("warned", "state = 'pending'")),
                "sla.breached" => Some(("breached", "state IN ('pending', 'warned')")),
                _ => None,
            };
            if let (Some((state, from)), Some(ticket)) = (state, ticket) {
                let deadline_kind = payload
                    .get("kind")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned();
                let policy = payload
                    .get("policy")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned();
                let sql = format!(
                    "UPDATE deadlines SET state = $1 WHERE ticket_number = $2 AND kind = $3 AND policy = $4 AND {from}"
                );
                query(&sql)
                    .bind(state)
                    .bind(ticket)
                    .bind(deadline_kind)
                    .bind(policy)
                    .execute(self.conn())
                    .await?;
            }
            if let (Some(ticket), true, serde_json::Value::Object(map)) =
                (ticket, kind.starts_with("sla."), &mut payload)
            {
                map.insert("worst".into(), self.worst_deadline_state(ticket).await?.into());
            }
            let event = self.enqueue_event(&kind, due, None, ticket, &payload).await?;
            fired.push(FiredTimer { key, kind, event });
        }
        Ok(fired)
    }
}

impl Store {
    /// When the earliest event waiting for a retry becomes ready, if any.
    pub async fn next_retry_at(&self) -> Result<Option<i64>> {
        let row = query("SELECT MIN(not_before) AS t FROM events WHERE state = 'pending' AND not_before > 0")
            .fetch_one(&mut self.conn().await?)
            .await?;
        row.try_get("t")
    }
}
