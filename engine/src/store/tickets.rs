//! Tickets as agents work them: their versions and what changed since one, replies queued in
//! the outbox with a compare-and-set on the version, drafts kept when a reply was stale, and
//! the reads of the API (lists with filters and cursors, one ticket with its history).
//!
//! A ticket's `version` moves with every change agents must know of before they answer: a
//! message on its timeline (`messages.ticket_version`), a reply queued (`outbox.ticket_version`),
//! a status, an assignment, a merge or unmerge (`ticket_changes` rows). So what changed since
//! version `v` is exactly the rows of those three with a version above `v`.

use super::{Result, Store, StoreError, Unit, now_ms, query};
use serde_json::Value;
use weft_sdk::Message;

/// One change of a ticket since a version.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A message put on the ticket: a buyer's (`in`), or a reply that went out (`out`, `auto`).
    Message {
        version: i64,
        direction: String,
        message: Box<Message>,
    },
    /// A reply queued in the outbox (by an agent, or by a workflow when `author` is None).
    Reply { version: i64, reply: Box<OutboxRow> },
    /// A status, an assignment, a merge: `kind` and its `detail`.
    Other {
        version: i64,
        kind: String,
        detail: Value,
        author: Option<String>,
        at: i64,
    },
}

impl Change {
    pub fn version(&self) -> i64 {
        match self {
            Change::Message { version, .. } | Change::Reply { version, .. } | Change::Other { version, .. } => *version,
        }
    }
}

/// A row of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub key: String,
    pub channel: String,
    pub recipient: String,
    pub ticket: Option<i64>,
    pub subject: Option<String>,
    pub body: String,
    pub lang: Option<String>,
    /// `pending`, then whatever the sender makes of it (`sent`, `failed`, ...).
    pub state: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub error: Option<String>,
    pub author: Option<String>,
    pub ticket_version: Option<i64>,
    /// What the vendor reported after delivering it (`queued`, `sent`, `delivered`, `read`,
    /// `failed`: a channel's status callbacks), when it reported anything.
    pub delivery_state: Option<String>,
}

pub(super) const OUTBOX_COLUMNS: &str = "key, channel, recipient, ticket_number, subject, body, lang, state, created_at, sent_at, error, author, ticket_version, delivery_state";

pub(super) fn outbox_from_row(row: &super::Row) -> Result<OutboxRow> {
    Ok(OutboxRow {
        key: row.try_get("key")?,
        channel: row.try_get("channel")?,
        recipient: row.try_get("recipient")?,
        ticket: row.try_get("ticket_number")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        lang: row.try_get("lang")?,
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
        error: row.try_get("error")?,
        author: row.try_get("author")?,
        ticket_version: row.try_get("ticket_version")?,
        delivery_state: row.try_get("delivery_state")?,
    })
}

/// Where a reply on a ticket goes: the buyer, on the channel they last wrote on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTarget {
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub lang: Option<String>,
}

/// The buyer's address on a message's channel: an email on `email`, else the marketplace's
/// buyer id, the handle, the email, the phone, in that order.
fn recipient(message: &Message) -> Option<String> {
    let from = &message.from;
    let email_first = message.channel == "email";
    let order: [&Option<String>; 4] = if email_first {
        [&from.email, &from.buyer_id, &from.handle, &from.phone]
    } else {
        [&from.buyer_id, &from.handle, &from.email, &from.phone]
    };
    order.into_iter().flatten().find(|v| !v.trim().is_empty()).cloned()
}

/// A reply kept on the server because the ticket had changed since the version its agent saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub id: i64,
    pub ticket: i64,
    pub author: String,
    pub body: String,
    pub subject: Option<String>,
    pub lang: Option<String>,
    /// The version the agent had seen.
    pub based_on: i64,
    /// `kept`, `sent` or `discarded`.
    pub state: String,
    pub outbox_key: Option<String>,
    pub created_at: i64,
}

fn draft_from_row(row: &super::Row) -> Result<Draft> {
    Ok(Draft {
        id: row.try_get("id")?,
        ticket: row.try_get("ticket_number")?,
        author: row.try_get("author")?,
        body: row.try_get("body")?,
        subject: row.try_get("subject")?,
        lang: row.try_get("lang")?,
        based_on: row.try_get("based_on")?,
        state: row.try_get("state")?,
        outbox_key: row.try_get("outbox_key")?,
        created_at: row.try_get("created_at")?,
    })
}

const DRAFT_COLUMNS: &str = "id, ticket_number, author, body, subject, lang, based_on, state, outbox_key, created_at";

/// A reply to queue.
#[derive(Debug, Clone)]
pub struct ReplyOut<'a> {
    pub ticket: i64,
    pub author: &'a str,
    pub body: &'a str,
    pub subject: Option<&'a str>,
    pub lang: Option<&'a str>,
}

impl Unit {
    /// Moves a ticket's version on; returns the new one.
    pub async fn bump_ticket(&mut self, ticket: i64) -> Result<i64> {
        query("UPDATE tickets SET version = version + 1 WHERE number = $1 RETURNING version")
            .bind(ticket)
            .fetch_optional(self.conn())
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("ticket {ticket} does not exist")))?
            .try_get("version")
    }

    /// Records a change of a ticket that is not a message or a queued reply (a status, an
    /// assignment, a merge): its version moves, and the change is kept with it.
    pub async fn ticket_changed(&mut self, ticket: i64, kind: &str, detail: &Value) -> Result<i64> {
        let version = self.bump_ticket(ticket).await?;
        self.record_change(ticket, version, kind, detail).await?;
        Ok(version)
    }

    pub(crate) async fn record_change(&mut self, ticket: i64, version: i64, kind: &str, detail: &Value) -> Result<()> {
        let author = self.author.clone();
        query(
            "INSERT INTO ticket_changes (ticket_number, version, kind, detail, author, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ticket)
        .bind(version)
        .bind(kind)
        .bind(detail.to_string())
        .bind(author)
        .bind(now_ms())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A ticket's version now, or None when there is no such ticket.
    pub async fn ticket_version(&mut self, ticket: i64) -> Result<Option<i64>> {
        query("SELECT version FROM tickets WHERE number = $1")
            .bind(ticket)
            .fetch_optional(self.conn())
            .await?
            .map(|row| row.try_get("version"))
            .transpose()
    }

    /// Moves the version on only if it still is `expected`: the compare-and-set of the
    /// stale-reply guard. On PostgreSQL a concurrent unit doing the same waits for this one's
    /// row lock and then finds the version moved; on SQLite units take turns.
    pub async fn bump_ticket_if(&mut self, ticket: i64, expected: i64) -> Result<Option<i64>> {
        query("UPDATE tickets SET version = version + 1 WHERE number = $1 AND version = $2 RETURNING version")
            .bind(ticket)
            .bind(expected)
            .fetch_optional(self.conn())
            .await?
            .map(|row| row.try_get("version"))
            .transpose()
    }

    /// Everything that changed `ticket` after version `since`, in order.
    pub async fn changes_since(&mut self, ticket: i64, since: i64) -> Result<Vec<Change>> {
        let mut changes = Vec::new();
        let rows = query(
            "SELECT data, direction, ticket_version FROM messages WHERE ticket_number = $1 AND ticket_version > $2",
        )
        .bind(ticket)
        .bind(since)
        .fetch_all(self.conn())
        .await?;
        for row in rows {
            let data: String = row.try_get("data")?;
            changes.push(Change::Message {
                version: row.try_get("ticket_version")?,
                direction: row.try_get("direction")?,
                message: Box::new(serde_json::from_str(&data)?),
            });
        }
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ticket_number = $1 AND ticket_version > $2");
        for row in query(&sql).bind(ticket).bind(since).fetch_all(self.conn()).await? {
            let reply = outbox_from_row(&row)?;
            changes.push(Change::Reply {
                version: reply.ticket_version.unwrap_or_default(),
                reply: Box::new(reply),
            });
        }
        let rows = query(
            "SELECT version, kind, detail, author, at FROM ticket_changes WHERE ticket_number = $1 AND version > $2",
        )
        .bind(ticket)
        .bind(since)
        .fetch_all(self.conn())
        .await?;
        for row in rows {
            let detail: String = row.try_get("detail")?;
            changes.push(Change::Other {
                version: row.try_get("version")?,
                kind: row.try_get("kind")?,
                detail: serde_json::from_str(&detail)?,
                author: row.try_get("author")?,
                at: row.try_get("at")?,
            });
        }
        changes.sort_by_key(Change::version);
        Ok(changes)
    }

    /// Where a reply on `ticket` (or a ticket merged into it) goes: the sender of its latest
    /// buyer message that has an address.
    pub async fn reply_target(&mut self, ticket: i64) -> Result<Option<ReplyTarget>> {
        let rows = query(
            "WITH RECURSIVE family(number) AS (
                 SELECT $1 UNION SELECT t.number FROM tickets t JOIN family f ON t.merged_into = f.number)
             SELECT data FROM messages WHERE ticket_number IN (SELECT number FROM family) AND direction = 'in'
             ORDER BY at DESC, id DESC LIMIT 20",
        )
        .bind(ticket)
        .fetch_all(self.conn())
        .await?;
        for row in rows {
            let data: String = row.try_get("data")?;
            let message: Message = serde_json::from_str(&data)?;
            if let Some(recipient) = recipient(&message) {
                let subject = message.subject.as_ref().map(|s| {
                    if s.to_lowercase().starts_with("re:") {
                        s.clone()
                    } else {
                        format!("Re: {s}")
                    }
                });
                return Ok(Some(ReplyTarget {
                    channel: message.channel,
                    recipient,
                    subject,
                    lang: message.lang,
                }));
            }
        }
        Ok(None)
    }

    /// Queues an agent's reply in the outbox under the version `version` it made (the caller
    /// moved it), addressed to `target`; returns its row.
    pub async fn queue_reply(&mut self, reply: &ReplyOut<'_>, target: &ReplyTarget, version: i64) -> Result<OutboxRow> {
        let key = format!("reply:{}:v{version}", reply.ticket);
        let sql = format!(
            "INSERT INTO outbox (key, channel, recipient, ticket_number, subject, body, lang, state, created_at,
                                 author, ticket_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10) RETURNING {OUTBOX_COLUMNS}"
        );
        let row = query(&sql)
            .bind(&key)
            .bind(&target.channel)
            .bind(&target.recipient)
            .bind(reply.ticket)
            .bind(reply.subject.map(str::to_owned).or_else(|| target.subject.clone()))
            .bind(reply.body)
            .bind(reply.lang.map(str::to_owned).or_else(|| target.lang.clone()))
            .bind(now_ms())
            .bind(reply.author)
            .bind(version)
            .fetch_one(self.conn())
            .await?;
        outbox_from_row(&row)
    }

    /// Keeps a refused reply as a draft based on version `based_on`; returns its id.
    pub async fn keep_draft(&mut self, reply: &ReplyOut<'_>, based_on: i64) -> Result<i64> {
        query(
            "INSERT INTO reply_drafts (ticket_number, author, body, subject, lang, based_on, state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'kept', $7) RETURNING id",
        )
        .bind(reply.ticket)
        .bind(reply.author)
        .bind(reply.body)
        .bind(reply.subject)
        .bind(reply.lang)
        .bind(based_on)
        .bind(now_ms())
        .fetch_one(self.conn())
        .await?
        .try_get("id")
    }

    /// A draft by id.
    pub async fn draft(&mut self, id: i64) -> Result<Option<Draft>> {
        let sql = format!("SELECT {DRAFT_COLUMNS} FROM reply_drafts WHERE id = $1");
        query(&sql)
            .bind(id)
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(draft_from_row)
            .transpose()
    }

    /// A kept draft refused again: it is now based on `based_on`.
    pub async fn rebase_draft(&mut self, id: i64, based_on: i64) -> Result<()> {
        query("UPDATE reply_drafts SET based_on = $1 WHERE id = $2")
            .bind(based_on)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Ends a kept draft: `sent` (with the outbox key it became) or `discarded`. False when it
    /// was not kept any more.
    pub async fn close_draft(&mut self, id: i64, state: &str, outbox_key: Option<&str>) -> Result<bool> {
        let done = query(
            "UPDATE reply_drafts SET state = $1, outbox_key = $2, closed_at = $3 WHERE id = $4 AND state = 'kept'",
        )
        .bind(state)
        .bind(outbox_key)
        .bind(now_ms())
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// What to list (every filter optional) and from where.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub team: Option<String>,
    /// Tickets with a message on this channel.
    pub channel: Option<String>,
    pub category: Option<String>,
    /// Only tickets with a running clock that warned, breached, or falls due before this time
    /// (ms).
    pub at_risk_before: Option<i64>,
    /// Tickets numbered below this (the cursor: the last number of the previous page).
    pub before: Option<i64>,
    pub limit: i64,
}

/// A ticket row as the API lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRow {
    pub number: i64,
    pub customer: Option<i64>,
    pub status: String,
    pub subject: Option<String>,
    pub order: Option<String>,
    pub opened_at: i64,
    pub updated_at: i64,
    pub merged_into: Option<i64>,
    pub category: Option<String>,
    pub confidence: Option<f64>,
    pub language: Option<String>,
    pub priority: Option<String>,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub version: i64,
    /// The channel of its first message.
    pub channel: Option<String>,
    /// The earliest due time of its running clocks.
    pub next_due: Option<i64>,
}

const TICKET_SELECT: &str = "SELECT t.number, t.customer_id, t.status, t.subject, t.order_no, t.opened_at,
        t.updated_at, t.merged_into, t.category, t.confidence, t.language, t.priority, t.assignee,
        t.team, t.version,
        (SELECT m.channel FROM messages m WHERE m.ticket_number = t.number ORDER BY m.at, m.id LIMIT 1) AS channel,
        (SELECT MIN(d.due) FROM deadlines d WHERE d.ticket_number = t.number AND d.met_at IS NULL
            AND d.paused_at IS NULL) AS next_due
     FROM tickets t";

fn ticket_from_row(row: &super::Row) -> Result<TicketRow> {
    Ok(TicketRow {
        number: row.try_get("number")?,
        customer: row.try_get("customer_id")?,
        status: row.try_get("status")?,
        subject: row.try_get("subject")?,
        order: row.try_get("order_no")?,
        opened_at: row.try_get("opened_at")?,
        updated_at: row.try_get("updated_at")?,
        merged_into: row.try_get("merged_into")?,
        category: row.try_get("category")?,
        confidence: row.try_get("confidence")?,
        language: row.try_get("language")?,
        priority: row.try_get("priority")?,
        assignee: row.try_get("assignee")?,
        team: row.try_get("team")?,
        version: row.try_get("version")?,
        channel: row.try_get("channel")?,
        next_due: row.try_get("next_due")?,
    })
}

/// A deadline of one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDeadline {
    pub kind: String,
    pub policy: String,
    pub due: i64,
    /// `pending`, `warned`, `breached` or `met`.
    pub state: String,
    pub started_at: Option<i64>,
    pub met_at: Option<i64>,
    pub stopped_by: Option<String>,
    pub paused_at: Option<i64>,
}

/// A merge of one ticket into another, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRecord {
    pub into: i64,
    pub from: i64,
    pub reason: String,
    pub at: i64,
    pub undone_at: Option<i64>,
}

/// One ticket as an agent sees it, read so that its `version` covers exactly what is in it.
#[derive(Debug, Clone)]
pub struct TicketSnapshot {
    pub row: TicketRow,
    pub timeline: Vec<super::report::TimelineEntry>,
    pub outbox: Vec<OutboxRow>,
    pub decisions: Vec<super::report::LoggedDecision>,
    pub merges: Vec<MergeRecord>,
    pub changes: Vec<Change>,
    pub customer: Option<super::customers::CustomerRecord>,
    /// The other tickets about its order.
    pub order_tickets: Vec<i64>,
    /// Its order as each channel reported it, with the shipments' timelines.
    pub orders: Vec<super::orders::TicketOrder>,
    pub deadlines: Vec<TicketDeadline>,
    pub drafts: Vec<Draft>,
}

/// How often [`Store::ticket_snapshot`] reads again when the ticket changed under it.
const SNAPSHOT_ATTEMPTS: usize = 8;

impl Store {
    /// Unmerged tickets matching `filter`, newest first, at most `filter.limit`.
    pub async fn list_tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketRow>> {
        let sql = format!(
            "{TICKET_SELECT}
             WHERE t.merged_into IS NULL
               AND (CAST($1 AS TEXT) IS NULL OR t.status = $1)
               AND (CAST($2 AS TEXT) IS NULL OR t.assignee = $2)
               AND (CAST($3 AS TEXT) IS NULL OR t.team = $3)
               AND (CAST($4 AS TEXT) IS NULL OR t.category = $4)
               AND (CAST($5 AS TEXT) IS NULL
                    OR EXISTS (SELECT 1 FROM messages m WHERE m.ticket_number = t.number AND m.channel = $5))
               AND (CAST($6 AS BIGINT) IS NULL
                    OR EXISTS (SELECT 1 FROM deadlines d WHERE d.ticket_number = t.number AND d.met_at IS NULL
                               AND (d.state IN ('warned', 'breached') OR (d.paused_at IS NULL AND d.due <= $6))))
               AND (CAST($7 AS BIGINT) IS NULL OR t.number < $7)
             ORDER BY t.number DESC LIMIT $8"
        );
        let rows = query(&sql)
            .bind(filter.status.as_deref())
            .bind(filter.assignee.as_deref())
            .bind(filter.team.as_deref())
            .bind(filter.category.as_deref())
            .bind(filter.channel.as_deref())
            .bind(filter.at_risk_before)
            .bind(filter.before)
            .bind(filter.limit)
            .fetch_all(&mut self.conn().await?)
            .await?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// One ticket with everything on it. The parts are read one after another, so a change
    /// can land between them; the ticket's version is read before and after, and the parts are
    /// read again until it held still. An agent answering with that version is then refused if
    /// anything arrived that the snapshot does not show. Should the ticket never hold still
    /// (a storm of changes), the last reading is returned with the version from its start:
    /// older than what it shows, which errs on the side of a refused reply, never a lost one.
    pub async fn ticket_snapshot(&self, number: i64) -> Result<Option<TicketSnapshot>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(row) = self.ticket_row(number).await? else {
                return Ok(None);
            };
            let snapshot = TicketSnapshot {
                timeline: self.ticket_timeline(number).await?,
                outbox: self.ticket_outbox(number).await?,
                decisions: self.ticket_decisions(number).await?,
                merges: self.ticket_merges(number).await?,
                changes: self.ticket_changes(number).await?,
                customer: match row.customer {
                    Some(id) => self.customer_record(id).await?,
                    None => None,
                },
                order_tickets: match &row.order {
                    Some(order) => self
                        .order_ticket_numbers(order)
                        .await?
                        .into_iter()
                        .filter(|n| *n != number)
                        .collect(),
                    None => Vec::new(),
                },
                orders: match &row.order {
                    Some(order) => self.ticket_orders(order).await?,
                    None => Vec::new(),
                },
                deadlines: self.ticket_deadlines(number).await?,
                drafts: self.kept_drafts(number).await?,
                row,
            };
            let now = self.ticket_row(number).await?.map(|r| r.version);
            if now == Some(snapshot.row.version) || attempt == SNAPSHOT_ATTEMPTS {
                return Ok(Some(snapshot));
            }
        }
    }

    /// One ticket's row.
    pub async fn ticket_row(&self, number: i64) -> Result<Option<TicketRow>> {
        let sql = format!("{TICKET_SELECT} WHERE t.number = $1");
        query(&sql)
            .bind(number)
            .fetch_optional(&mut self.conn().await?)
            .await?
            .as_ref()
            .map(ticket_from_row)
            .transpose()
    }

    /// A ticket's deadlines, by due time.
    pub async fn ticket_deadlines(&self, number: i64) -> Result<Vec<TicketDeadline>> {
        let rows = query(
            "SELECT kind, policy, due, state, started_at, met_at, stopped_by, paused_at FROM deadlines
             WHERE ticket_number = $1 ORDER BY due, kind, policy",
        )
        .bind(number)
        .fetch_all(&mut self.conn().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TicketDeadline {
                    kind: row.try_get("kind")?,
                    policy: row.try_get("policy")?,
                    due: row.try_get("due")?,
                    state: row.try_get("state")?,
                    started_at: row.try_get("started_at")?,
                    met_at: row.try_get("met_at")?,
                    stopped_by: row.try_get("stopped_by")?,
                    paused_at: row.try_get("paused_at")?,
                })
            })
            .collect()
    }

    /// The outbox rows of a ticket, oldest first.
    pub async fn ticket_outbox(&self, number: i64) -> Result<Vec<OutboxRow>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ticket_number = $1 ORDER BY id");
        let rows = query(&sql).bind(number).fetch_all(&mut self.conn().await?).await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// Every change of a ticket that is not a message or a reply (see [`Change::Other`]).
    pub async fn ticket_changes(&self, number: i64) -> Result<Vec<Change>> {
        let mut unit_conn = self.conn().await?;
        let rows = query(
            "SELECT version, kind, detail, author, at FROM ticket_changes WHERE ticket_number = $1 ORDER BY version",
        )
        .bind(number)
        .fetch_all(&mut unit_conn)
        .await?;
        rows.iter()
            .map(|row| {
                let detail: String = row.try_get("detail")?;
                Ok(Change::Other {
                    version: row.try_get("version")?,
                    kind: row.try_get("kind")?,
                    detail: serde_json::from_str(&detail)?,
                    author: row.try_get("author")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    /// Merges into or out of a ticket, undone ones included.
    pub async fn ticket_merges(&self, number: i64) -> Result<Vec<MergeRecord>> {
        let rows = query(
            "SELECT into_number, from_number, reason, created_at, undone_at FROM ticket_merges
             WHERE into_number = $1 OR from_number = $1 ORDER BY id",
        )
        .bind(number)
        .fetch_all(&mut self.conn().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MergeRecord {
                    into: row.try_get("into_number")?,
                    from: row.try_get("from_number")?,
                    reason: row.try_get("reason")?,
                    at: row.try_get("created_at")?,
                    undone_at: row.try_get("undone_at")?,
                })
            })
            .collect()
    }

    /// The tickets about an order, as they are numbered (merged ones too).
    pub async fn order_ticket_numbers(&self, order: &str) -> Result<Vec<i64>> {
        let rows = query("SELECT number FROM tickets WHERE order_no = $1 ORDER BY number")
            .bind(order)
            .fetch_all(&mut self.conn().await?)
            .await?;
        rows.iter().map(|r| r.try_get("number")).collect()
    }

    /// The drafts of a ticket still kept.
    pub async fn kept_drafts(&self, number: i64) -> Result<Vec<Draft>> {
        let sql =
            format!("SELECT {DRAFT_COLUMNS} FROM reply_drafts WHERE ticket_number = $1 AND state = 'kept' ORDER BY id");
        let rows = query(&sql).bind(number).fetch_all(&mut self.conn().await?).await?;
        rows.iter().map(draft_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::Party;

    fn kinds(changes: &[Change]) -> Vec<(i64, String)> {
        changes
            .iter()
            .map(|c| match c {
                Change::Message { version, message, .. } => (*version, format!("message {}", message.id)),
                Change::Reply { version, reply } => (*version, format!("reply {}", reply.key)),
                Change::Other { version, kind, .. } => (*version, kind.clone()),
            })
            .collect()
    }

    /// Each change an agent must see moves the version once and is listed since any version;
    /// what is no change (the same assignment again, the delivery of a queued reply) is not.
    #[tokio::test]
    async fn versions_count_what_changed() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let mut unit = store.unit().await.unwrap();
        let mut buyer = Message::new("email", "<1@example.de>", 1_000);
        buyer.from.email = Some("jürgen@example.de".into());
        buyer.lang = Some("de".into());
        buyer.subject = Some("Lieferung".into());
        let mut again = Message::new("email", "<2@example.de>", 2_000);
        again.from = buyer.from.clone();
        unit.enqueue_messages(0, &[buyer, again]).await.unwrap();
        let ticket = unit.open_ticket(None, Some("Lieferung"), None, 1_000).await.unwrap();
        assert_eq!(unit.ticket_version(ticket).await.unwrap(), Some(0));
        unit.append_message(ticket, 1, None, 1_000).await.unwrap();
        unit.assign_ticket(ticket, Some("anna"), Some("shipping"))
            .await
            .unwrap();
        unit.assign_ticket(ticket, Some("anna"), Some("shipping"))
            .await
            .unwrap();
        assert_eq!(unit.ticket_version(ticket).await.unwrap(), Some(2));
        // An agent's reply, queued with a compare-and-set: only at the version now.
        assert_eq!(unit.bump_ticket_if(ticket, 1).await.unwrap(), None);
        let version = unit.bump_ticket_if(ticket, 2).await.unwrap().unwrap();
        let target = unit.reply_target(ticket).await.unwrap().unwrap();
        assert_eq!(
            target,
            ReplyTarget {
                channel: "email".into(),
                recipient: "jürgen@example.de".into(),
                subject: Some("Re: Lieferung".into()),
                lang: Some("de".into()),
            }
        );
        let out = ReplyOut {
            ticket,
            author: "anna",
            body: "Ist unterwegs.",
            subject: None,
            lang: None,
        };
        let queued = unit.queue_reply(&out, &target, version).await.unwrap();
        assert_eq!((queued.key.as_str(), queued.ticket_version), ("reply:1:v3", Some(3)));
        // Its delivery (a message whose id is the outbox key) moves nothing; a reply sent from
        // elsewhere does.
        let delivered = unit
            .enqueue_reply(&Message::new("email", &queued.key, 3_000), false, Some(ticket))
            .await
            .unwrap();
        assert!(delivered.is_some());
        let elsewhere = unit
            .enqueue_reply(&Message::new("email", "seller-1", 3_500), false, Some(ticket))
            .await
            .unwrap();
        assert!(elsewhere.is_some());
        unit.attach_reply(ticket, 3).await.unwrap();
        assert_eq!(unit.ticket_version(ticket).await.unwrap(), Some(3));
        unit.attach_reply(ticket, 4).await.unwrap();
        unit.append_message(ticket, 2, None, 4_000).await.unwrap();
        unit.act_for("jonas");
        unit.ticket_changed(ticket, "status", &serde_json::json!({ "from": "open", "to": "solved" }))
            .await
            .unwrap();
        let other = unit.open_ticket(None, None, None, 5_000).await.unwrap();
        unit.merge_tickets(ticket as u64, &[other as u64], None, "same buyer")
            .await
            .unwrap();
        assert_eq!(unit.ticket_version(other).await.unwrap(), Some(1));
        let changes = unit.changes_since(ticket, 0).await.unwrap();
        assert_eq!(
            kinds(&changes),
            [
                (1, "message <1@example.de>".to_owned()),
                (2, "assigned".into()),
                (3, "reply reply:1:v3".into()),
                (4, "message seller-1".into()),
                (5, "message <2@example.de>".into()),
                (6, "status".into()),
                (7, "merged".into()),
            ]
        );
        assert_eq!(
            kinds(&unit.changes_since(ticket, 5).await.unwrap()),
            kinds(&changes[5..])
        );
        let Change::Other { author, .. } = &changes[5] else {
            panic!()
        };
        assert_eq!(author.as_deref(), Some("jonas"));
        // A refused reply kept as a draft, then sent.
        let draft = unit.keep_draft(&out, 2).await.unwrap();
        assert_eq!(unit.draft(draft).await.unwrap().unwrap().state, "kept");
        assert!(unit.close_draft(draft, "sent", Some("reply:1:v8")).await.unwrap());
        assert!(!unit.close_draft(draft, "discarded", None).await.unwrap());
        unit.commit().await.unwrap();
        assert!(store.kept_drafts(ticket).await.unwrap().is_empty());
    }

    #[test]
    fn replies_go_to_the_address_of_the_channel() {
        let party = |email: Option<&str>, buyer: Option<&str>, handle: Option<&str>| Party {
            email: email.map(str::to_owned),
            buyer_id: buyer.map(str::to_owned),
            handle: handle.map(str::to_owned),
            ..Party::default()
        };
        let cases = [
            (
                "email",
                party(Some("jürgen@example.de"), Some("A1"), None),
                Some("jürgen@example.de"),
            ),
            (
                "amazon",
                party(Some("x@marketplace.amazon.de"), Some("A1B2"), None),
                Some("A1B2"),
            ),
            ("instagram", party(None, None, Some("@yuki_山田")), Some("@yuki_山田")),
            ("chat", party(None, None, None), None),
        ];
        for (channel, from, expected) in cases {
            let mut message = Message::new(channel, "m1", 0);
            message.from = from;
            assert_eq!(recipient(&message).as_deref(), expected, "{channel}");
        }
    }
}
