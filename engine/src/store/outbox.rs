//! The outbox: messages to send, each once per key, and what became of each delivery.
//!
//! A row is queued inside the unit that decided it ([`Unit::queue_outbound`]); the sender of
//! `weft serve` (`exec::outbox`) claims due rows in a statement of their own, committed before
//! any channel is called ([`Store::claim_outbound`]), and settles each claim in a unit that
//! also records the outcome on the ticket ([`Unit::settle_outbound`]). Only the claimer can
//! settle its claim, so a claim given up as `uncertain` is never settled twice by two senders;
//! its own late answer still wins over the uncertainty, since it is what happened.

use super::ingest::{INBOUND_COLUMNS, inbound_from_row};
use super::{Result, Store, StoreError, Unit, now_ms, query};
use crate::store::sql::Row;
use weft_sdk::{Consent, DeliveryState, DeliveryStatus, Inbound};

/// Where an outbox row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutboxState {
    /// Waiting for its next try (`next_attempt_at`).
    Pending,
    /// Claimed: its channel is being called.
    Sending,
    /// The vendor accepted it.
    Delivered,
    /// Refused for good, or out of attempts.
    Failed,
    /// Its sender stopped during a call that may have reached the vendor: not sent again
    /// unless a person says so (`weft outbox retry`).
    Uncertain,
}

impl OutboxState {
    /// Every state, in the order a row goes through them.
    pub const ALL: [OutboxState; 5] = [
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::Delivered,
        OutboxState::Failed,
        OutboxState::Uncertain,
    ];

    /// The state as stored: `pending`, `sending`, `delivered`, `failed`, `uncertain`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Delivered => "delivered",
            OutboxState::Failed => "failed",
            OutboxState::Uncertain => "uncertain",
        }
    }

    /// Reads a stored or typed state.
    pub fn parse(text: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for OutboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message to queue: what a `send-message` decision or an agent's reply says.
#[derive(Debug, Clone, Default)]
pub struct NewOutbound<'a> {
    /// Unique per intended message: a second row with the same key is not queued.
    pub key: &'a str,
    /// The channel it goes out on (`chat`, `email`, ...), or a mount id of the channels file.
    pub channel: &'a str,
    /// The mount that delivers it, when the caller knows; else the sender resolves it.
    pub mount: Option<&'a str>,
    pub recipient: &'a str,
    pub ticket: Option<i64>,
    /// The conversation it answers, when the caller knows; else the sender looks it up.
    pub thread: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub lang: Option<&'a str>,
    /// Written by no person (a workflow's message): delivered, it stops no response clock.
    pub automatic: bool,
}

/// An outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRow {
    pub id: i64,
    pub key: String,
    pub channel: String,
    pub mount: Option<String>,
    pub recipient: String,
    pub ticket: Option<i64>,
    pub thread: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub lang: Option<String>,
    pub automatic: bool,
    pub state: OutboxState,
    /// Calls to the channel so far.
    pub attempts: i64,
    /// When a pending row may be tried (ms).
    pub next_attempt_at: i64,
    /// Who claimed it last (`node/outbox-N`).
    pub claimed_by: Option<String>,
    /// Until when the claim holds (ms).
    pub claimed_until: Option<i64>,
    pub created_at: i64,
    /// When it was delivered.
    pub sent_at: Option<i64>,
    /// The vendor's id of the delivered message.
    pub external_id: Option<String>,
    /// The last failure, or why it was given up.
    pub error: Option<String>,
    /// The latest status its vendor reported after delivering it, and when.
    pub delivery_state: Option<DeliveryState>,
    pub delivery_state_at: Option<i64>,
}

impl OutboundRow {
    /// The command this row carries out, as the decision log records it on the ticket.
    pub fn send_command(&self) -> weft_sdk::Command {
        weft_sdk::Command::SendMessage(weft_sdk::SendMessage {
            channel: self.channel.clone(),
            to: self.recipient.clone(),
            ticket: self.ticket.map_or(weft_sdk::TicketRef::Current, |t| {
                weft_sdk::TicketRef::Existing(t as u64)
            }),
            subject: self.subject.clone(),
            body: self.body.clone(),
            lang: self.lang.clone(),
            key: self.key.clone(),
        })
    }
}

const COLUMNS: &str = "id, key, channel, mount, recipient, ticket_number, thread, subject, body, lang, automatic,
    state, attempts, next_attempt_at, claimed_by, claimed_until, created_at, sent_at, external_id, error,
    delivery_state, delivery_state_at";

fn row_from(row: &Row) -> Result<OutboundRow> {
    let state: String = row.try_get("state")?;
    Ok(OutboundRow {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        channel: row.try_get("channel")?,
        mount: row.try_get("mount")?,
        recipient: row.try_get("recipient")?,
        ticket: row.try_get("ticket_number")?,
        thread: row.try_get("thread")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        lang: row.try_get("lang")?,
        automatic: row.try_get::<i64>("automatic")? != 0,
        state: OutboxState::parse(&state)
            .ok_or_else(|| StoreError::Invalid(format!("outbox row in an unknown state `{state}`")))?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        claimed_by: row.try_get("claimed_by")?,
        claimed_until: row.try_get("claimed_until")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
        external_id: row.try_get("external_id")?,
        error: row.try_get("error")?,
        delivery_state: row
            .try_get::<Option<String>>("delivery_state")?
            .as_deref()
            .and_then(DeliveryState::parse),
        delivery_state_at: row.try_get("delivery_state_at")?,
    })
}

/// How a claim ends ([`Unit::settle_outbound`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// The vendor accepted it, at `at`, under `external_id`.
    Delivered { at: i64, external_id: Option<String> },
    /// Worth another try, not before `at`; `error` says what failed this time.
    Retry { at: i64, error: String },
    /// Refused for good, or out of attempts.
    Failed { error: String },
    /// Perhaps delivered: not to be sent again by itself.
    Uncertain { error: String },
}

/// How many rows of the outbox are in each state that needs watching.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Waiting for a try, or being sent.
    pub pending: i64,
    /// Refused for good or out of attempts.
    pub failed: i64,
    /// Perhaps delivered; a person must decide.
    pub uncertain: i64,
}

/// The way back to a ticket's buyer on a channel: the hook their latest message there came
/// through, and its conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyRoute {
    pub hook: String,
    pub thread: Option<String>,
}

/// Whether an address opted out of a mount, as its latest consent said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOut {
    pub mount: String,
    pub address: String,
    /// What the buyer or the vendor said.
    pub reason: String,
    pub at: i64,
}

/// Whether a status moves a row on from `current`: statuses arrive out of order (a
/// `delivered` before its `sent`), so a later one never takes a row back, and `failed` is final.
pub fn status_moves_on(current: Option<DeliveryState>, new: DeliveryState) -> bool {
    match current {
        None => true,
        Some(DeliveryState::Failed) => false,
        Some(_) if new == DeliveryState::Failed => true,
        Some(current) => new > current,
    }
}

impl Unit {
    /// Records what the vendor reported about the row `mount` delivered as the status's
    /// external id. Returns the row as it was before, and whether the status moved it on
    /// ([`status_moves_on`]); None when no row of the mount has that id. A `failed` status
    /// also turns the row `failed` with the vendor's reason.
    pub async fn record_delivery_status(
        &mut self,
        mount: &str,
        status: &DeliveryStatus,
    ) -> Result<Option<(OutboundRow, bool)>> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE mount = $1 AND external_id = $2 ORDER BY id LIMIT 1");
        let row = query(&sql)
            .bind(mount)
            .bind(status.external_id.as_str())
            .fetch_optional(self.conn())
            .await?;
        let Some(row) = row.as_ref().map(row_from).transpose()? else {
            return Ok(None);
        };
        if !status_moves_on(row.delivery_state, status.state) {
            return Ok(Some((row, false)));
        }
        let failed = status.state == DeliveryState::Failed;
        query(
            "UPDATE outbox SET delivery_state = $1, delivery_state_at = $2, updated_at = $3,
                    state = CASE WHEN $4 = 1 THEN 'failed' ELSE state END,
                    error = CASE WHEN $4 = 1 THEN $5 ELSE error END
             WHERE id = $6",
        )
        .bind(status.state.as_str())
        .bind(status.at)
        .bind(now_ms())
        .bind(i64::from(failed))
        .bind(
            status
                .reason
                .as_deref()
                .unwrap_or("the vendor reported it failed, without a reason"),
        )
        .bind(row.id)
        .execute(self.conn())
        .await?;
        Ok(Some((row, true)))
    }

    /// Records that `consent.address` opted out of `mount` or back in; a consent older than
    /// the one recorded changes nothing.
    pub async fn record_consent(&mut self, mount: &str, consent: &Consent) -> Result<()> {
        query(
            "INSERT INTO opt_outs (mount, address, opted_out, reason, at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (mount, address) DO UPDATE
                SET opted_out = excluded.opted_out, reason = excluded.reason, at = excluded.at
                WHERE opt_outs.at <= excluded.at",
        )
        .bind(mount)
        .bind(consent.address.as_str())
        .bind(i64::from(consent.opted_out))
        .bind(consent.reason.as_str())
        .bind(consent.at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Queues a message once per key. Returns false if the key was queued before (whatever
    /// became of it).
    pub async fn queue_outbound(&mut self, message: &NewOutbound<'_>) -> Result<bool> {
        let now = now_ms();
        let done = query(
            "INSERT INTO outbox (key, channel, mount, recipient, ticket_number, thread, subject, body, lang,
                                 automatic, state, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $11, $11)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(message.key)
        .bind(message.channel)
        .bind(message.mount)
        .bind(message.recipient)
        .bind(message.ticket)
        .bind(message.thread)
        .bind(message.subject)
        .bind(message.body)
        .bind(message.lang)
        .bind(message.automatic)
        .bind(now)
        .execute(self.conn())
        .await?;
        let queued = done.rows_affected() == 1;
        // A message queued on a ticket is a change of it, with the version it makes.
        if let (true, Some(ticket)) = (queued, message.ticket) {
            let version = self.bump_ticket(ticket).await?;
            query("UPDATE outbox SET ticket_version = $1 WHERE key = $2")
                .bind(version)
                .bind(message.key)
                .execute(self.conn())
                .await?;
        }
        Ok(queued)
    }

    /// Ends `claimer`'s claim of row `id` as `settlement` says; `mount` and `thread` record
    /// how it was (or was to be) delivered. Returns false when the row is not `claimer`'s
    /// claim (another sender gave it up and a person re-queued it, say): nothing changes then.
    pub async fn settle_outbound(
        &mut self,
        id: i64,
        claimer: &str,
        settlement: &Settlement,
        mount: Option<&str>,
        thread: Option<&str>,
    ) -> Result<bool> {
        let (state, next, sent, external, error) = match settlement {
            Settlement::Delivered { at, external_id } => {
                (OutboxState::Delivered, None, Some(*at), external_id.as_deref(), None)
            }
            Settlement::Retry { at, error } => (OutboxState::Pending, Some(*at), None, None, Some(error.as_str())),
            Settlement::Failed { error } => (OutboxState::Failed, None, None, None, Some(error.as_str())),
            Settlement::Uncertain { error } => (OutboxState::Uncertain, None, None, None, Some(error.as_str())),
        };
        let done = query(
            "UPDATE outbox SET state = $1, next_attempt_at = COALESCE($2, next_attempt_at),
                    sent_at = COALESCE($3, sent_at), external_id = COALESCE($4, external_id), error = $5,
                    mount = COALESCE($6, mount), thread = COALESCE($7, thread),
                    claimed_until = NULL, updated_at = $8
             WHERE id = $9 AND claimed_by = $10 AND state IN ('sending', 'uncertain')",
        )
        .bind(state.as_str())
        .bind(next)
        .bind(sent)
        .bind(external)
        .bind(error)
        .bind(mount)
        .bind(thread)
        .bind(now_ms())
        .bind(id)
        .bind(claimer)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// Claims up to `limit` due pending rows for `claimer` (unique to this claim round) for
    /// `lease_ms`, counting the attempt, in one committed statement: once it returns, no other
    /// sender takes these rows, whatever happens to this one.
    pub async fn claim_outbound(&self, claimer: &str, limit: i64, lease_ms: i64) -> Result<Vec<OutboundRow>> {
        let now = now_ms();
        let mut conn = self.conn().await?;
        let lock = match self.dialect() {
            super::Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            super::Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET state = 'sending', claimed_by = $1, claimed_until = $2,
                    attempts = attempts + 1, updated_at = $3
             WHERE state = 'pending' AND id IN (SELECT id FROM outbox
                          WHERE state = 'pending' AND next_attempt_at <= $3
                          ORDER BY next_attempt_at, id LIMIT $4 {lock})"
        );
        query(&sql)
            .bind(claimer)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .execute(&mut conn)
            .await?;
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE state = 'sending' AND claimed_by = $1 ORDER BY id");
        let rows = query(&sql).bind(claimer).fetch_all(&mut conn).await?;
        rows.iter().map(row_from).collect()
    }

    /// Rows being sent, by whoever claimed them.
    pub async fn outbound_in_flight(&self) -> Result<Vec<OutboundRow>> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE state = 'sending' ORDER BY id");
        let rows = query(&sql).fetch_all(&mut self.conn().await?).await?;
        rows.iter().map(row_from).collect()
    }

    /// When the outbox next needs the sender: the earliest try of a pending row, or the end of
    /// a running claim (when a claim whose sender stopped is given up).
    pub async fn next_outbound_at(&self) -> Result<Option<i64>> {
        let row = query(
            "SELECT MIN(CASE WHEN state = 'pending' THEN next_attempt_at ELSE claimed_until END) AS at
             FROM outbox WHERE state IN ('pending', 'sending')",
        )
        .fetch_one(&mut self.conn().await?)
        .await?;
        row.try_get("at")
    }

    /// Rows in `state` (all when None), newest first, at most `limit`.
    pub async fn outbound(&self, state: Option<OutboxState>, limit: i64) -> Result<Vec<OutboundRow>> {
        let mut conn = self.conn().await?;
        let rows = match state {
            Some(state) => {
                let sql = format!("SELECT {COLUMNS} FROM outbox WHERE state = $1 ORDER BY id DESC LIMIT $2");
                query(&sql)
                    .bind(state.as_str())
                    .bind(limit)
                    .fetch_all(&mut conn)
                    .await?
            }
            None => {
                let sql = format!("SELECT {COLUMNS} FROM outbox ORDER BY id DESC LIMIT $1");
                query(&sql).bind(limit).fetch_all(&mut conn).await?
            }
        };
        rows.iter().map(row_from).collect()
    }

    /// The row with this key.
    pub async fn outbound_by_key(&self, key: &str) -> Result<Option<OutboundRow>> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE key = $1");
        let row = query(&sql).bind(key).fetch_optional(&mut self.conn().await?).await?;
        row.as_ref().map(row_from).transpose()
    }

    /// The rows for a ticket and the tickets merged into it, oldest first.
    pub async fn ticket_outbound(&self, ticket: i64) -> Result<Vec<OutboundRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE ticket_number = $1
                OR ticket_number IN (SELECT number FROM tickets WHERE merged_into = $1)
             ORDER BY id"
        );
        let rows = query(&sql).bind(ticket).fetch_all(&mut self.conn().await?).await?;
        rows.iter().map(row_from).collect()
    }

    /// Queues a `failed` or `uncertain` row again, due now, as a person decided. Returns the
    /// state it was in (unchanged unless it was one of those two), or None for an unknown key.
    pub async fn retry_outbound(&self, key: &str) -> Result<Option<OutboxState>> {
        let Some(row) = self.outbound_by_key(key).await? else {
            return Ok(None);
        };
        let now = now_ms();
        query(
            "UPDATE outbox SET state = 'pending', next_attempt_at = $1, claimed_by = NULL, claimed_until = NULL,
                    updated_at = $1
             WHERE key = $2 AND state IN ('failed', 'uncertain')",
        )
        .bind(now)
        .bind(key)
        .execute(&mut self.conn().await?)
        .await?;
        Ok(Some(row.state))
    }

    /// The opt-out of `address` from `mount`, when its latest consent opted it out.
    pub async fn opt_out(&self, mount: &str, address: &str) -> Result<Option<OptOut>> {
        let row = query(
            "SELECT mount, address, reason, at FROM opt_outs WHERE mount = $1 AND address = $2 AND opted_out = 1",
        )
        .bind(mount)
        .bind(address)
        .fetch_optional(&mut self.conn().await?)
        .await?;
        row.map(|row| {
            Ok(OptOut {
                mount: row.try_get("mount")?,
                address: row.try_get("address")?,
                reason: row.try_get("reason")?,
                at: row.try_get("at")?,
            })
        })
        .transpose()
    }

    /// Records a consent outside a unit (the sender, when a vendor refused a send because the
    /// recipient opted out).
    pub async fn record_consent(&self, mount: &str, consent: &Consent) -> Result<()> {
        let mut unit = self.unit().await?;
        unit.record_consent(mount, consent).await?;
        unit.commit().await
    }

    /// How many rows wait, failed, or are uncertain.
    pub async fn outbox_stats(&self) -> Result<OutboxStats> {
        let rows = query("SELECT state, COUNT(*) AS n FROM outbox WHERE state <> 'delivered' GROUP BY state")
            .fetch_all(&mut self.conn().await?)
            .await?;
        let mut stats = OutboxStats::default();
        for row in rows {
            let n: i64 = row.try_get("n")?;
            match OutboxState::parse(&row.try_get::<String>("state")?) {
                Some(OutboxState::Pending | OutboxState::Sending) => stats.pending += n,
                Some(OutboxState::Failed) => stats.failed += n,
                Some(OutboxState::Uncertain) => stats.uncertain += n,
                Some(OutboxState::Delivered) | None => {}
            }
        }
        Ok(stats)
    }

    /// When ticket `ticket`'s buyer last wrote on `channel` (a channel name, or the id of the
    /// mount it came through): the time of the newest inbound message of the ticket, or of a
    /// ticket merged into it, on that channel. A channel whose platform limits replies to a
    /// window after it (Meta's 24 hours) judges by it.
    pub async fn last_inbound_at(&self, ticket: i64, channel: &str) -> Result<Option<i64>> {
        let row = query(
            "SELECT m.at FROM messages m LEFT JOIN inbound i ON i.id = m.inbound_id
             WHERE (m.ticket_number = $1 OR m.ticket_number IN (SELECT number FROM tickets WHERE merged_into = $1))
               AND (m.channel = $2 OR i.hook = $2) AND m.direction = 'in'
             ORDER BY m.at DESC LIMIT 1",
        )
        .bind(ticket)
        .bind(channel)
        .fetch_optional(&mut self.conn().await?)
        .await?;
        row.map(|row| row.try_get::<i64>("at")).transpose()
    }

    /// The raw traffic of the message a reply on `channel` through mount `hook` answers: the
    /// newest inbound message on that channel of ticket `ticket` (or of a ticket merged into
    /// it) that came through that hook. None when there is none.
    pub async fn replied_inbound(&self, ticket: i64, channel: &str, hook: &str) -> Result<Option<Inbound>> {
        let row = query(&format!(
            "SELECT {INBOUND_COLUMNS} FROM inbound WHERE id = (
                SELECT m.inbound_id FROM messages m JOIN inbound i ON i.id = m.inbound_id
                WHERE (m.ticket_number = $1 OR m.ticket_number IN (SELECT number FROM tickets WHERE merged_into = $1))
                  AND m.channel = $2 AND i.hook = $3 AND m.direction = 'in'
                ORDER BY m.at DESC, m.id DESC LIMIT 1)"
        ))
        .bind(ticket)
        .bind(channel)
        .bind(hook)
        .fetch_optional(&mut self.conn().await?)
        .await?;
        row.map(|row| inbound_from_row(&row).map(|record| record.inbound))
            .transpose()
    }

    /// The way back to ticket `ticket`'s buyer on `channel`: the hook through which the latest
    /// message on that channel of the ticket (or of a ticket merged into it) arrived, with its
    /// conversation. None when no such message came through a hook.
    pub async fn reply_route(&self, ticket: i64, channel: &str) -> Result<Option<ReplyRoute>> {
        let row = query(
            "SELECT i.hook, m.data FROM messages m JOIN inbound i ON i.id = m.inbound_id
             WHERE (m.ticket_number = $1 OR m.ticket_number IN (SELECT number FROM tickets WHERE merged_into = $1))
               AND m.channel = $2 AND i.hook IS NOT NULL
             ORDER BY m.at DESC, m.id DESC LIMIT 1",
        )
        .bind(ticket)
        .bind(channel)
        .fetch_optional(&mut self.conn().await?)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let data: String = row.try_get("data")?;
        let thread = serde_json::from_str::<serde_json::Value>(&data)
            .ok()
            .and_then(|m| m["thread"].as_str().map(str::to_owned));
        Ok(Some(ReplyRoute {
            hook: row.try_get("hook")?,
            thread,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::status_moves_on;
    use weft_sdk::DeliveryState::{self, *};

    #[test]
    fn statuses_never_take_a_row_back() {
        // (what the row has, what arrives, whether it is recorded)
        let table: [(Option<DeliveryState>, DeliveryState, bool); 12] = [
            (None, Queued, true),
            (None, Failed, true),
            (Some(Queued), Sent, true),
            (Some(Sent), Delivered, true),
            (Some(Delivered), Read, true),
            (Some(Delivered), Sent, false),
            (Some(Read), Delivered, false),
            (Some(Sent), Sent, false),
            (Some(Delivered), Failed, true),
            (Some(Failed), Delivered, false),
            (Some(Failed), Failed, false),
            (Some(Queued), Failed, true),
        ];
        for (current, new, expected) in table {
            assert_eq!(status_moves_on(current, new), expected, "{current:?} then {new:?}");
        }
    }
}
