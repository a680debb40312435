//! The change log behind the live stream: which tickets, messages and presences changed, in
//! commit order, whichever node or command changed them; and the reads that turn a change
//! into what an agent's client is shown.
//!
//! Rows are written by triggers (migration 0017) in the transaction that makes the change, so
//! no writer can forget them: the live loop, an API action, `weft ticket reply`, another node.
//! A row's [`Position`] is `(txn, id)`. On SQLite one writer commits at a time, so ids are in
//! commit order and `txn` is 0. On PostgreSQL ids are drawn when rows are written, so a later
//! id can commit first; `txn` is the writing transaction's id, and a reader takes only rows
//! whose `txn` is below [`Store::change_horizon`] (older than every transaction still
//! running), which no commit can add to any more. Reading in `(txn, id)` order up to the
//! horizon therefore never skips a row that commits later. The horizon is the server's (its
//! transaction ids are shared by all its databases): a long writing transaction anywhere on
//! it delays the stream until it ends, and loses nothing.

use super::tickets::{OUTBOX_COLUMNS, OutboxRow, outbox_from_row};
use super::{Dialect, Result, Row, Store, StoreError, query};
use weft_sdk::Message;

/// A place in the change log: every change at or before it was read. Written `TXN-ID`
/// (`0-1234` on SQLite), which is what a stream client sends back as `Last-Event-ID`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub txn: i64,
    pub id: i64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.txn, self.id)
    }
}

/// A position that is not `TXN-ID` with two non-negative integers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a stream position: expected two numbers joined by `-`, as in the `id:` of a stream event")]
pub struct BadPosition(pub String);

impl std::str::FromStr for Position {
    type Err = BadPosition;

    fn from_str(text: &str) -> Result<Position, BadPosition> {
        let bad = || BadPosition(text.chars().take(64).collect());
        let (txn, id) = text.trim().split_once('-').ok_or_else(bad)?;
        let number = |part: &str| part.parse::<i64>().ok().filter(|n| *n >= 0);
        Ok(Position {
            txn: number(txn).ok_or_else(bad)?,
            id: number(id).ok_or_else(bad)?,
        })
    }
}

/// What a change row says changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The ticket's row or one of its deadlines.
    Ticket,
    /// A message joined the ticket (a buyer's, threaded; a reply, attached).
    Message,
    /// A reply of the ticket was queued in the outbox or changed state there.
    Reply,
    /// Someone started or stopped viewing or typing on the ticket.
    Presence,
}

/// One row of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub position: Position,
    pub kind: ChangeKind,
    pub ticket: i64,
    /// For [`ChangeKind::Message`] the message's row id, for [`ChangeKind::Reply`] the outbox
    /// row's.
    pub item: Option<i64>,
}

fn change_from_row(row: &Row) -> Result<ChangeRow> {
    let kind: String = row.try_get("kind")?;
    Ok(ChangeRow {
        position: Position {
            txn: row.try_get("txn")?,
            id: row.try_get("id")?,
        },
        kind: match kind.as_str() {
            "ticket" => ChangeKind::Ticket,
            "message" => ChangeKind::Message,
            "reply" => ChangeKind::Reply,
            "presence" => ChangeKind::Presence,
            other => {
                return Err(StoreError::Invalid(format!(
                    "change row with an unknown kind `{other}`"
                )));
            }
        },
        ticket: row.try_get("ticket_number")?,
        item: row.try_get("item_id")?,
    })
}

/// A message as the stream shows it when it joins a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageHead {
    pub ticket: i64,
    /// `in` (a buyer wrote), `out` (an agent replied) or `auto` (an automatic reply).
    pub direction: String,
    pub message: Message,
}

impl Store {
    /// Change rows whose `txn` is below this are final: every transaction that could still add
    /// one has a `txn` at or above it.
    pub async fn change_horizon(&self) -> Result<i64> {
        match self.dialect() {
            // One writer at a time, and this read waits for the connection it holds.
            Dialect::Sqlite => Ok(1),
            Dialect::Postgres => query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS h")
                .fetch_one(&mut self.conn().await?)
                .await?
                .try_get("h"),
        }
    }

    /// The position of everything final now: a reader starting here sees every change that
    /// commits from now on.
    pub async fn change_start(&self) -> Result<Position> {
        let horizon = self.change_horizon().await?;
        let row = query("SELECT MAX(id) AS id FROM changes WHERE txn = $1")
            .bind(horizon - 1)
            .fetch_one(&mut self.conn().await?)
            .await?;
        Ok(Position {
            txn: horizon - 1,
            id: row.try_get::<Option<i64>>("id")?.unwrap_or(0),
        })
    }

    /// Up to `limit` change rows after `after` and at or before `through`, in order; of ticket
    /// `ticket` only when given. `through` must be final (below the horizon).
    pub async fn changes(
        &self,
        after: Position,
        through: Position,
        ticket: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ChangeRow>> {
        let rows = query(
            "SELECT id, txn, kind, ticket_number, item_id FROM changes
             WHERE (txn, id) > ($1, $2) AND (txn, id) <= ($3, $4)
               AND ($5 IS NULL OR ticket_number = $5)
             ORDER BY txn, id LIMIT $6",
        )
        .bind(after.txn)
        .bind(after.id)
        .bind(through.txn)
        .bind(through.id)
        .bind(ticket)
        .bind(limit)
        .fetch_all(&mut self.conn().await?)
        .await?;
        rows.iter().map(change_from_row).collect()
    }

    /// Deletes change rows written before `before` (ms); how many. A client that resumes from
    /// a position older than that gets what changed since as far as it is kept.
    pub async fn prune_changes(&self, before: i64) -> Result<u64> {
        // Rows are written in time order (give or take a transaction's length), so the old
        // ones are those before the first recent one: found by walking the ids from the
        // oldest, over just the rows about to go, instead of indexing `at` on every write.
        let done = query(
            "DELETE FROM changes WHERE id < COALESCE(
                 (SELECT id FROM changes WHERE at >= $1 ORDER BY id LIMIT 1),
                 (SELECT MAX(id) + 1 FROM changes))",
        )
        .bind(before)
        .execute(&mut self.conn().await?)
        .await?;
        Ok(done.rows_affected())
    }

    /// Outbox row `id`; None when there is none.
    pub async fn outbox_row(&self, id: i64) -> Result<Option<OutboxRow>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1");
        query(&sql)
            .bind(id)
            .fetch_optional(&mut self.conn().await?)
            .await?
            .as_ref()
            .map(outbox_from_row)
            .transpose()
    }

    /// Message row `id` as the stream shows it; None when it is on no ticket.
    pub async fn message_head(&self, id: i64) -> Result<Option<MessageHead>> {
        let row = query("SELECT ticket_number, direction, data FROM messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut self.conn().await?)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let Some(ticket) = row.try_get::<Option<i64>>("ticket_number")? else {
            return Ok(None);
        };
        let data: String = row.try_get("data")?;
        Ok(Some(MessageHead {
            ticket,
            direction: row.try_get("direction")?,
            message: serde_json::from_str(&data)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::Position;

    #[test]
    fn positions_read_back_and_refuse_other_text() {
        for position in [Position { txn: 0, id: 0 }, Position { txn: 7_000_001, id: 42 }] {
            assert_eq!(position.to_string().parse::<Position>(), Ok(position));
        }
        for bad in ["", "12", "-1-2", "1-", "a-1", "1-2-3", "1.2", "٣-٤"] {
            assert!(bad.parse::<Position>().is_err(), "{bad}");
        }
        assert!(Position { txn: 1, id: 0 } > Position { txn: 0, id: 99 });
    }
}
