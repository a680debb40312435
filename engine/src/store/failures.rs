//! Steps that failed on an event that was processed anyway: the record on the ticket, its
//! replay, and what explanations and exports show of it.
//!
//! A row is kept per (event, workflow, step). When the step fails again (a replay that still
//! fails), the row is updated: one more attempt, the last error and when; when a replay
//! succeeds, it is marked resolved and stays as history.

use super::queue::{EVENT_COLUMNS, QueuedEvent, event_from_row};
use super::{Result, Row, Store, Unit, now_ms, query};

/// A step that failed on an event, as the executor reports it to the store.
#[derive(Debug, Clone)]
pub struct NewStepFailure<'a> {
    pub event: i64,
    pub workflow: &'a str,
    pub step: &'a str,
    /// `name@version`, or the plugin's name when it was not loaded.
    pub plugin: &'a str,
    /// `continue` or `stop`.
    pub on_error: &'a str,
    pub error: &'a str,
    pub retryable: bool,
    pub message: Option<i64>,
    /// The ticket the event's message landed on (or the event's ticket).
    pub ticket: Option<i64>,
    /// The customer the engine made for the message because this step failed.
    pub own_customer: Option<i64>,
    /// The ticket the engine opened for the message because this step failed.
    pub own_ticket: Option<i64>,
}

/// A recorded step failure.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepFailureRecord {
    pub id: i64,
    pub event: i64,
    pub workflow: String,
    pub step: String,
    pub plugin: String,
    pub on_error: String,
    pub error: String,
    pub retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_customer: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_ticket: Option<i64>,
    pub attempts: i64,
    pub failed_at: i64,
    pub last_failed_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
}

const COLUMNS: &str = "id, event_id, workflow, step, plugin, on_error, error, retryable, message_id, ticket_number,
                       own_customer, own_ticket, attempts, failed_at, last_failed_at, resolved_at";

fn from_row(row: &Row) -> Result<StepFailureRecord> {
    Ok(StepFailureRecord {
        id: row.try_get("id")?,
        event: row.try_get("event_id")?,
        workflow: row.try_get("workflow")?,
        step: row.try_get("step")?,
        plugin: row.try_get("plugin")?,
        on_error: row.try_get("on_error")?,
        error: row.try_get("error")?,
        retryable: row.try_get::<i64>("retryable")? != 0,
        message: row.try_get("message_id")?,
        ticket: row.try_get("ticket_number")?,
        own_customer: row.try_get("own_customer")?,
        own_ticket: row.try_get("own_ticket")?,
        attempts: row.try_get("attempts")?,
        failed_at: row.try_get("failed_at")?,
        last_failed_at: row.try_get("last_failed_at")?,
        resolved_at: row.try_get("resolved_at")?,
    })
}

impl Unit {
    /// Records that a step failed on an event. The same step of the same event failing again
    /// updates its row (one more attempt, the last error, open again) instead of adding one;
    /// the customer and ticket made for the message the first time are kept.
    pub async fn record_step_failure(&mut self, failure: &NewStepFailure<'_>) -> Result<()> {
        let now = now_ms();
        query(
            "INSERT INTO step_failures (event_id, workflow, step, plugin, on_error, error, retryable, message_id,
                                        ticket_number, own_customer, own_ticket, attempts, failed_at, last_failed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)
             ON CONFLICT (event_id, workflow, step) DO UPDATE SET
                 plugin = excluded.plugin, on_error = excluded.on_error, error = excluded.error,
                 retryable = excluded.retryable, attempts = step_failures.attempts + 1,
                 last_failed_at = excluded.last_failed_at, resolved_at = NULL",
        )
        .bind(failure.event)
        .bind(failure.workflow)
        .bind(failure.step)
        .bind(failure.plugin)
        .bind(failure.on_error)
        .bind(failure.error)
        .bind(i64::from(failure.retryable))
        .bind(failure.message)
        .bind(failure.ticket)
        .bind(failure.own_customer)
        .bind(failure.own_ticket)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks a failure resolved: a replay of its step succeeded and its decisions are applied.
    pub async fn resolve_step_failure(&mut self, id: i64) -> Result<()> {
        query("UPDATE step_failures SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// An event by id, with its message, as the queue hands it out: for replaying its steps.
    pub async fn event_by_id(&mut self, id: i64) -> Result<Option<QueuedEvent>> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM events e LEFT JOIN messages m ON m.id = e.message_id WHERE e.id = $1");
        let row = query(&sql).bind(id).fetch_optional(self.conn()).await?;
        row.as_ref().map(event_from_row).transpose()
    }

    /// The customer a stored message is linked to now (before following merges).
    pub async fn message_customer(&mut self, message: i64) -> Result<Option<i64>> {
        let row = query("SELECT customer_id FROM messages WHERE id = $1")
            .bind(message)
            .fetch_optional(self.conn())
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<i64>>("customer_id"))
            .transpose()?
            .flatten())
    }

    /// Whether a step ran on an event and its decisions were applied.
    pub async fn step_ran(&mut self, event: i64, workflow: &str, step: &str) -> Result<bool> {
        let row = query("SELECT 1 AS one FROM step_runs WHERE event_id = $1 AND workflow = $2 AND step = $3")
            .bind(event)
            .bind(workflow)
            .bind(step)
            .fetch_optional(self.conn())
            .await?;
        Ok(row.is_some())
    }
}

impl Store {
    /// An event by id, with its message, outside any unit: for explanations.
    pub async fn event(&self, id: i64) -> Result<Option<QueuedEvent>> {
        let mut unit = self.unit().await?;
        let event = unit.event_by_id(id).await?;
        unit.commit().await?;
        Ok(event)
    }

    /// Failures not resolved yet, oldest first; with `ids`, only those.
    pub async fn open_step_failures(&self, ids: &[i64]) -> Result<Vec<StepFailureRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM step_failures WHERE resolved_at IS NULL ORDER BY id");
        let rows = query(&sql).fetch_all(&mut self.conn().await?).await?;
        let all: Vec<StepFailureRecord> = rows.iter().map(from_row).collect::<Result<_>>()?;
        Ok(if ids.is_empty() {
            all
        } else {
            all.into_iter().filter(|f| ids.contains(&f.id)).collect()
        })
    }

    /// The failures recorded on a ticket and on the tickets merged into it, oldest first.
    pub async fn ticket_step_failures(&self, ticket: i64) -> Result<Vec<StepFailureRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM step_failures
             WHERE ticket_number = $1 OR ticket_number IN (SELECT number FROM tickets WHERE merged_into = $1)
             ORDER BY id"
        );
        let rows = query(&sql).bind(ticket).fetch_all(&mut self.conn().await?).await?;
        rows.iter().map(from_row).collect()
    }

    /// The failures recorded on an event, oldest first.
    pub async fn event_step_failures(&self, event: i64) -> Result<Vec<StepFailureRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM step_failures WHERE event_id = $1 ORDER BY id");
        let rows = query(&sql).bind(event).fetch_all(&mut self.conn().await?).await?;
        rows.iter().map(from_row).collect()
    }

    /// Every failure, by ticket: for exports.
    pub async fn step_failures_by_ticket(&self) -> Result<std::collections::BTreeMap<i64, Vec<StepFailureRecord>>> {
        let sql = format!("SELECT {COLUMNS} FROM step_failures WHERE ticket_number IS NOT NULL ORDER BY id");
        let rows = query(&sql).fetch_all(&mut self.conn().await?).await?;
        let mut by_ticket: std::collections::BTreeMap<i64, Vec<StepFailureRecord>> = Default::default();
        for row in &rows {
            let failure = from_row(row)?;
            if let Some(ticket) = failure.ticket {
                by_ticket.entry(ticket).or_default().push(failure);
            }
        }
        Ok(by_ticket)
    }
}
