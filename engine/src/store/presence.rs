//! Who is on a ticket: an agent viewing it or typing a reply, as rows with an expiry.
//!
//! A row per (ticket, agent), renewed by the agent's client while it stays; a row whose
//! `expires_at` has passed counts as gone at once (reads skip it) and is deleted by the next
//! sweep ([`Store::expire_presence`]), which the change log reports like a leave. Rows, not
//! memory: every node of a PostgreSQL deployment sees the same agents, and a restart forgets
//! no one who is still there.

use super::{Result, Row, Store, query};

/// What an agent is doing on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresenceState {
    /// The ticket is open on the agent's screen.
    Viewing,
    /// The agent is writing a reply.
    Typing,
}

impl PresenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceState::Viewing => "viewing",
            PresenceState::Typing => "typing",
        }
    }

    /// `viewing` or `typing`; None for anything else.
    pub fn parse(text: &str) -> Option<PresenceState> {
        match text {
            "viewing" => Some(PresenceState::Viewing),
            "typing" => Some(PresenceState::Typing),
            _ => None,
        }
    }
}

impl std::fmt::Display for PresenceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One agent on a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub agent: String,
    pub state: PresenceState,
    /// When the agent entered this state (ms); a renewal in the same state keeps it.
    pub since: i64,
    /// When the agent counts as gone unless renewed (ms).
    pub expires_at: i64,
}

fn presence_from_row(row: &Row) -> Result<Presence> {
    let state: String = row.try_get("state")?;
    Ok(Presence {
        agent: row.try_get("agent")?,
        state: PresenceState::parse(&state)
            .ok_or_else(|| super::StoreError::Invalid(format!("presence row with an unknown state `{state}`")))?,
        since: row.try_get("since")?,
        expires_at: row.try_get("expires_at")?,
    })
}

impl Store {
    /// Records that `agent` is in `state` on ticket `ticket` until `expires_at`, renewing what
    /// was there. Returns false, recording nothing, when there is no such ticket.
    pub async fn set_presence(
        &self,
        ticket: i64,
        agent: &str,
        state: PresenceState,
        now: i64,
        expires_at: i64,
    ) -> Result<bool> {
        // `since` restarts when the state changes or the row had already expired (the agent
        // had left, even if no sweep has deleted the row yet).
        let row = query(
            "INSERT INTO presence (ticket_number, agent, state, since, expires_at)
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM tickets WHERE number = $1)
             ON CONFLICT (ticket_number, agent) DO UPDATE SET
                 since = CASE WHEN presence.state = excluded.state AND presence.expires_at > $4
                              THEN presence.since ELSE excluded.since END,
                 state = excluded.state,
                 expires_at = excluded.expires_at
             RETURNING ticket_number",
        )
        .bind(ticket)
        .bind(agent)
        .bind(state.as_str())
        .bind(now)
        .bind(expires_at)
        .fetch_optional(&mut self.conn().await?)
        .await?;
        Ok(row.is_some())
    }

    /// Removes `agent` from ticket `ticket`; whether it was there.
    pub async fn clear_presence(&self, ticket: i64, agent: &str) -> Result<bool> {
        let done = query("DELETE FROM presence WHERE ticket_number = $1 AND agent = $2")
            .bind(ticket)
            .bind(agent)
            .execute(&mut self.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The agents on ticket `ticket` at `now`, by name; None when there is no such ticket.
    pub async fn presence(&self, ticket: i64, now: i64) -> Result<Option<Vec<Presence>>> {
        let mut conn = self.conn().await?;
        let exists = query("SELECT 1 AS one FROM tickets WHERE number = $1")
            .bind(ticket)
            .fetch_optional(&mut conn)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let rows = query(
            "SELECT agent, state, since, expires_at FROM presence
             WHERE ticket_number = $1 AND expires_at > $2 ORDER BY agent",
        )
        .bind(ticket)
        .bind(now)
        .fetch_all(&mut conn)
        .await?;
        let agents = rows.iter().map(presence_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Some(agents))
    }

    /// Deletes every presence that expired by `now`; how many. Looks before it writes, so a
    /// sweep with nothing due takes no write lock.
    pub async fn expire_presence(&self, now: i64) -> Result<u64> {
        let mut conn = self.conn().await?;
        let next: Option<i64> = query("SELECT MIN(expires_at) AS t FROM presence")
            .fetch_one(&mut conn)
            .await?
            .try_get("t")?;
        if next.is_none_or(|t| t > now) {
            return Ok(0);
        }
        let done = query("DELETE FROM presence WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut conn)
            .await?;
        Ok(done.rows_affected())
    }
}
