//! The write side of commands, inside a [`Unit`]: customers, identities, tickets, merges,
//! fields, deadlines, timers, the outbox, and the decision log.
//!
//! Nothing here deletes or renumbers: merges are recorded as links (`merged_into`) with their
//! reason, so every merge can be undone. The meaning of a command (which customer "new" is,
//! which ticket is "current") is the executor's business; these are the primitives.

use super::sla::DeadlineSet;
use super::sql::Query;
use super::{Conn, Result, StoreError, Unit, now_ms, query, to_i64};
use std::collections::HashSet;
use weft_sdk::{Decision, Identity};

/// Where a decision came from, for the log.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub event: Option<i64>,
    pub workflow: &'a str,
    /// The workflow's version ([`crate::workflow::Workflow::version`]); None for decisions
    /// made by hand or from the command line.
    pub workflow_version: Option<&'a str>,
    pub step: &'a str,
    /// `name@version`.
    pub plugin: &'a str,
}

/// The tables whose rows are merged by `merged_into` links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merged {
    Customers,
    Tickets,
}

/// What setting a timer again does to one that has already fired.
#[derive(Debug, Clone, Copy)]
enum Fired {
    /// It is armed again (a new deadline under the same key).
    Rearmed,
    /// It stays fired (a paused clock resumed: each warning fires once).
    Stays,
}

/// How many `merged_into` links a chain may have before it counts as cyclic.
pub(crate) const MAX_MERGE_HOPS: u32 = 64;

/// The row a (possibly merged) customer or ticket now lives in: the end of its `merged_into`
/// chain. Most rows were never merged, and one indexed read says so; a chain is followed in one
/// recursive query rather than one statement per link.
pub(crate) async fn merge_root(conn: &mut Conn, merged: Merged, id: i64) -> Result<i64> {
    let (own, chain, what) = match merged {
        Merged::Customers => (
            "SELECT merged_into FROM customers WHERE id = $1",
            "WITH RECURSIVE chain(id, next, depth) AS (
                 SELECT id, merged_into, 0 FROM customers WHERE id = $1
                 UNION ALL
                 SELECT c.id, c.merged_into, chain.depth + 1 FROM customers c JOIN chain ON c.id = chain.next
                 WHERE chain.depth < $2)
             SELECT id, next FROM chain ORDER BY depth DESC LIMIT 1",
            "customer",
        ),
        Merged::Tickets => (
            "SELECT merged_into FROM tickets WHERE number = $1",
            "WITH RECURSIVE chain(id, next, depth) AS (
                 SELECT number, merged_into, 0 FROM tickets WHERE number = $1
                 UNION ALL
                 SELECT t.number, t.merged_into, chain.depth + 1 FROM tickets t JOIN chain ON t.number = chain.next
                 WHERE chain.depth < $2)
             SELECT id, next FROM chain ORDER BY depth DESC LIMIT 1",
            "ticket",
        ),
    };
    let missing = || StoreError::Invalid(format!("{what} {id} does not exist"));
    let row = query(own)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(missing)?;
    if row.try_get::<Option<i64>>("merged_into")?.is_none() {
        return Ok(id);
    }
    let row = query(chain)
        .bind(id)
        .bind(i64::from(MAX_MERGE_HOPS))
        .fetch_optional(conn)
        .await?
        .ok_or_else(missing)?;
    match row.try_get::<Option<i64>>("next")? {
        None => Ok(row.try_get("id")?),
        Some(_) => Err(StoreError::Invalid(format!(
            "{what} {id}: merge chain too long or cyclic"
        ))),
    }
}

impl Unit {
    pub async fn create_customer(&mut self, at: i64) -> Result<i64> {
        let row = query("INSERT INTO customers (created_at) VALUES ($1) RETURNING id")
            .bind(at)
            .fetch_one(self.conn())
            .await?;
        row.try_get("id")
    }

    /// The customer a (possibly merged) customer now lives in.
    pub async fn root_customer(&mut self, id: i64) -> Result<i64> {
        if self.known_root(id) {
            return Ok(id);
        }
        merge_root(self.conn(), Merged::Customers, id).await
    }

    /// Records identifiers of a customer. An exclusive identifier (email, phone, buyer id,
    /// handle) that already belongs to another customer is a conflict: the step should have
    /// merged the two first. `fresh` says the customer was just created (it has none yet).
    pub async fn add_identities(
        &mut self,
        customer: i64,
        identities: &[Identity],
        message: Option<i64>,
        score: f64,
        fresh: bool,
    ) -> Result<()> {
        // A returning customer mostly brings identities it already has (its email, name,
        // address, blocking keys): one indexed read of them (or what the unit remembers of
        // them) saves an insert attempt each.
        let read = if !fresh && identities.len() > 1 && self.recorded_identities(customer).is_none() {
            let known = self.identity_rows(customer).await?;
            self.remember_recorded(customer, known)
        } else {
            None
        };
        let known = if fresh {
            None
        } else {
            read.as_ref().or_else(|| self.recorded_identities(customer))
        };
        let unknown: Vec<Identity> = identities
            .iter()
            .filter(|i| known.is_none_or(|known| !known.contains(*i)))
            .cloned()
            .collect();
        // What is new changes what those identities find and the customer's view.
        let mut added = Vec::new();
        for identity in &unknown {
            let kind = identity.kind.as_str();
            // One statement in the usual cases (new, or already this customer's); the owner is
            // looked up only when a strong identifier is taken.
            let inserted = query(
                "INSERT INTO identities (customer_id, kind, value, strong, message_id, score, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(customer)
            .bind(kind)
            .bind(&identity.value)
            .bind(i64::from(identity.kind.is_exclusive()))
            .bind(message)
            .bind(score)
            .bind(now_ms())
            .execute(self.conn())
            .await?;
            if inserted.rows_affected() == 1 {
                added.push(identity.clone());
                continue;
            }
            if !identity.kind.is_exclusive() {
                continue;
            }
            let owner = query("SELECT customer_id FROM identities WHERE kind = $1 AND value = $2 AND strong = 1")
                .bind(kind)
                .bind(&identity.value)
                .fetch_optional(self.conn())
                .await?;
            let Some(row) = owner else { continue };
            let owner: i64 = row.try_get("customer_id")?;
            if owner != customer && self.root_customer(owner).await? != self.root_customer(customer).await? {
                return Err(StoreError::Invalid(format!(
                    "identity {identity} already belongs to customer {owner}, not {customer}: merge the customers first"
                )));
            }
        }
        if !added.is_empty() {
            self.forget_identities(customer, &added, fresh);
        }
        Ok(())
    }

    /// The identity rows of `customer` itself (not of customers merged into it), blocking keys
    /// included; rows of a kind this version does not know are left out.
    pub(crate) async fn identity_rows(&mut self, customer: i64) -> Result<HashSet<Identity>> {
        let rows = query("SELECT kind, value FROM identities WHERE customer_id = $1")
            .bind(customer)
            .fetch_all(self.conn())
            .await?;
        let mut identities = HashSet::new();
        for row in &rows {
            identities.extend(super::context::identity_from_row(row)?);
        }
        Ok(identities)
    }

    pub async fn set_message_customer(&mut self, message: i64, customer: i64) -> Result<()> {
        query("UPDATE messages SET customer_id = $1 WHERE id = $2")
            .bind(customer)
            .bind(message)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Merges customers `from` into `into`, reversibly.
    pub async fn merge_customers(&mut self, into: u64, from: &[u64], event: Option<i64>, reason: &str) -> Result<()> {
        let into = self.root_customer(to_i64(into)?).await?;
        for &other in from {
            let other = self.root_customer(to_i64(other)?).await?;
            if other == into {
                continue;
            }
            query("UPDATE customers SET merged_into = $1 WHERE id = $2")
                .bind(into)
                .bind(other)
                .execute(self.conn())
                .await?;
            query("UPDATE customers SET related = 1 WHERE id = $1 AND related = 0")
                .bind(into)
                .execute(self.conn())
                .await?;
            self.forget_merge(into, other);
            query(
                "INSERT INTO customer_merges (into_id, from_id, event_id, reason, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(into)
            .bind(other)
            .bind(event)
            .bind(reason)
            .bind(now_ms())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    pub async fn open_ticket(
        &mut self,
        customer: Option<i64>,
        subject: Option<&str>,
        order: Option<&str>,
        at: i64,
    ) -> Result<i64> {
        let row = query(
            "INSERT INTO tickets (customer_id, status, subject, order_no, opened_at, updated_at)
             VALUES ($1, 'open', $2, $3, $4, $4) RETURNING number",
        )
        .bind(customer)
        .bind(subject)
        .bind(order)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        row.try_get("number")
    }

    /// The ticket a (possibly merged) ticket now lives in.
    pub async fn root_ticket(&mut self, number: i64) -> Result<i64> {
        merge_root(self.conn(), Merged::Tickets, number).await
    }

    /// Puts a message on a ticket (its status is the caller's business: see
    /// `exec::apply`, where a buyer's follow-up reopens the ticket).
    pub async fn append_message(
        &mut self,
        ticket: i64,
        message: i64,
        duplicate_of: Option<&str>,
        at: i64,
    ) -> Result<()> {
        // The message is a change of the ticket: it takes the version it makes.
        let version = query(
            "UPDATE tickets SET updated_at = CASE WHEN updated_at > $1 THEN updated_at ELSE $1 END,
                 version = version + 1
             WHERE number = $2 RETURNING version",
        )
        .bind(at)
        .bind(ticket)
        .fetch_optional(self.conn())
        .await?
        .map(|row| row.try_get::<i64>("version"))
        .transpose()?;
        query("UPDATE messages SET ticket_number = $1, duplicate_of = $2, ticket_version = $3 WHERE id = $4")
            .bind(ticket)
            .bind(duplicate_of)
            .bind(version)
            .bind(message)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Remembers that a channel conversation belongs to a ticket (first ticket wins).
    pub async fn register_thread(&mut self, channel: &str, thread: &str, ticket: i64) -> Result<()> {
        query(
            "INSERT INTO ticket_threads (channel, thread, ticket_number) VALUES ($1, $2, $3)
             ON CONFLICT (channel, thread) DO NOTHING",
        )
        .bind(channel)
        .bind(thread)
        .bind(ticket)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Merges tickets `from` into `into`: they keep their numbers and messages and point to
    /// `into`. Returns the tickets actually merged.
    pub async fn merge_tickets(
        &mut self,
        into: u64,
        from: &[u64],
        event: Option<i64>,
        reason: &str,
    ) -> Result<Vec<i64>> {
        let into = self.root_ticket(to_i64(into)?).await?;
        let mut merged = Vec::new();
        for &other in from {
            let other = self.root_ticket(to_i64(other)?).await?;
            if other == into {
                continue;
            }
            query("UPDATE tickets SET merged_into = $1 WHERE number = $2")
                .bind(into)
                .bind(other)
                .execute(self.conn())
                .await?;
            self.ticket_changed(into, "merged", &serde_json::json!({ "from": other, "reason": reason }))
                .await?;
            self.ticket_changed(
                other,
                "merged_into",
                &serde_json::json!({ "into": into, "reason": reason }),
            )
            .await?;
            query(
                "INSERT INTO ticket_merges (into_number, from_number, event_id, reason, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(into)
            .bind(other)
            .bind(event)
            .bind(reason)
            .bind(now_ms())
            .execute(self.conn())
            .await?;
            merged.push(other);
        }
        Ok(merged)
    }

    /// Undoes the merge of customer `id` into another. Returns the customer it had joined.
    pub async fn unmerge_customer(&mut self, id: i64) -> Result<i64> {
        self.forget_customers();
        let row = query("SELECT merged_into FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("customer {id} does not exist")))?;
        let into: i64 = row
            .try_get::<Option<i64>>("merged_into")?
            .ok_or_else(|| StoreError::Invalid(format!("customer {id} is not merged into another customer")))?;
        query("UPDATE customers SET merged_into = NULL WHERE id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        query("UPDATE customer_merges SET undone_at = $1 WHERE from_id = $2 AND into_id = $3 AND undone_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .bind(into)
            .execute(self.conn())
            .await?;
        Ok(into)
    }

    /// Undoes the merge of `number` into another ticket. Returns the ticket it had joined.
    pub async fn unmerge_ticket(&mut self, number: i64) -> Result<i64> {
        let row = query("SELECT merged_into FROM tickets WHERE number = $1")
            .bind(number)
            .fetch_optional(self.conn())
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("ticket {number} does not exist")))?;
        let into: i64 = row
            .try_get::<Option<i64>>("merged_into")?
            .ok_or_else(|| StoreError::Invalid(format!("ticket {number} is not merged into another ticket")))?;
        query("UPDATE tickets SET merged_into = NULL WHERE number = $1")
            .bind(number)
            .execute(self.conn())
            .await?;
        self.ticket_changed(into, "unmerged", &serde_json::json!({ "ticket": number }))
            .await?;
        self.ticket_changed(number, "unmerged_from", &serde_json::json!({ "ticket": into }))
            .await?;
        query(
            "UPDATE ticket_merges SET undone_at = $1 WHERE from_number = $2 AND into_number = $3 AND undone_at IS NULL",
        )
        .bind(now_ms())
        .bind(number)
        .bind(into)
        .execute(self.conn())
        .await?;
        Ok(into)
    }

    /// Sets one field of a ticket. Known fields have columns; others go to `fields`.
    pub async fn set_ticket_field(&mut self, ticket: i64, name: &str, value: &str, confidence: f64) -> Result<()> {
        let column = match name {
            "status" => Some("status"),
            "category" => Some("category"),
            "language" => Some("language"),
            "priority" => Some("priority"),
            "subject" => Some("subject"),
            "order" => Some("order_no"),
            _ => None,
        };
        if let Some(column) = column {
            let sql = format!("UPDATE tickets SET {column} = $1 WHERE number = $2");
            query(&sql).bind(value).bind(ticket).execute(self.conn()).await?;
            if column == "category" {
                query("UPDATE tickets SET confidence = $1 WHERE number = $2")
                    .bind(confidence)
                    .bind(ticket)
                    .execute(self.conn())
                    .await?;
            }
            return Ok(());
        }
        let row = query("SELECT fields FROM tickets WHERE number = $1")
            .bind(ticket)
            .fetch_one(self.conn())
            .await?;
        let fields: String = row.try_get("fields")?;
        let mut fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&fields)?;
        if name == "tag" {
            let tags = fields.entry("tags").or_insert_with(|| serde_json::json!([]));
            if let Some(tags) = tags.as_array_mut()
                && !tags.iter().any(|t| t == value)
            {
                tags.push(value.into());
            }
        } else {
            fields.insert(name.to_owned(), value.into());
        }
        query("UPDATE tickets SET fields = $1 WHERE number = $2")
            .bind(serde_json::Value::Object(fields).to_string())
            .bind(ticket)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Assigns a ticket; a new assignment is a change of the ticket (its version moves), the
    /// same one again is not.
    pub async fn assign_ticket(&mut self, ticket: i64, agent: Option<&str>, team: Option<&str>) -> Result<()> {
        let changed = query(
            "UPDATE tickets SET assignee = $1, team = $2, version = version + 1
             WHERE number = $3 AND (assignee IS DISTINCT FROM $1 OR team IS DISTINCT FROM $2) RETURNING version",
        )
        .bind(agent)
        .bind(team)
        .bind(ticket)
        .fetch_optional(self.conn())
        .await?;
        if let Some(row) = changed {
            let detail = serde_json::json!({ "assignee": agent, "team": team });
            self.record_change(ticket, row.try_get("version")?, "assigned", &detail)
                .await?;
        }
        Ok(())
    }

    /// Sets a deadline at `at`. A deadline whose clock is paused is resumed: it keeps its start
    /// and state, and the paused time is added to `paused_ms`. Any other is (re)started at `at`.
    pub async fn set_deadline(
        &mut self,
        ticket: i64,
        kind: &str,
        policy: &str,
        due: i64,
        at: i64,
        pause_on: &[String],
    ) -> Result<DeadlineSet> {
        let pause_on = serde_json::to_string(pause_on)?;
        let paused = query(
            "SELECT paused_at FROM deadlines
             WHERE ticket_number = $1 AND kind = $2 AND policy = $3 AND paused_at IS NOT NULL AND met_at IS NULL",
        )
        .bind(ticket)
        .bind(kind)
        .bind(policy)
        .fetch_optional(self.conn())
        .await?;
        if let Some(row) = paused {
            let since: i64 = row.try_get("paused_at")?;
            let paused_ms = (at - since).max(0);
            query(
                "UPDATE deadlines SET due = $1, paused_at = NULL, paused_ms = paused_ms + $2, pause_on = $3
                 WHERE ticket_number = $4 AND kind = $5 AND policy = $6",
            )
            .bind(due)
            .bind(paused_ms)
            .bind(&pause_on)
            .bind(ticket)
            .bind(kind)
            .bind(policy)
            .execute(self.conn())
            .await?;
            return Ok(DeadlineSet::Resumed { paused_ms });
        }
        query(
            "INSERT INTO deadlines (ticket_number, kind, policy, due, state, started_at, pause_on)
             VALUES ($1, $2, $3, $4, 'pending', $5, $6)
             ON CONFLICT (ticket_number, kind, policy) DO UPDATE SET due = excluded.due, state = 'pending',
                 started_at = excluded.started_at, met_at = NULL, stopped_by = NULL, pause_on = excluded.pause_on,
                 paused_at = NULL, paused_ms = 0",
        )
        .bind(ticket)
        .bind(kind)
        .bind(policy)
        .bind(due)
        .bind(at)
        .bind(&pause_on)
        .execute(self.conn())
        .await?;
        Ok(DeadlineSet::Started)
    }

    /// Moves a timer that has not fired yet (and re-arms it if it was cancelled); one that
    /// fired stays fired. A new key is scheduled.
    pub async fn reschedule_timer(
        &mut self,
        key: &str,
        due: i64,
        kind: &str,
        payload: &serde_json::Value,
        ticket: Option<i64>,
    ) -> Result<()> {
        self.upsert_timer(key, due, kind, payload, ticket, Fired::Stays).await
    }

    /// Schedules a timer; the same key again moves it (and re-arms it).
    pub async fn schedule_timer(
        &mut self,
        key: &str,
        due: i64,
        kind: &str,
        payload: &serde_json::Value,
        ticket: Option<i64>,
    ) -> Result<()> {
        self.upsert_timer(key, due, kind, payload, ticket, Fired::Rearmed).await
    }

    async fn upsert_timer(
        &mut self,
        key: &str,
        due: i64,
        kind: &str,
        payload: &serde_json::Value,
        ticket: Option<i64>,
        fired: Fired,
    ) -> Result<()> {
        let on_conflict = match fired {
            Fired::Rearmed => "fired_at = NULL, cancelled_at = NULL",
            Fired::Stays => "cancelled_at = NULL WHERE timers.fired_at IS NULL",
        };
        let sql = format!(
            "INSERT INTO timers (key, due_at, kind, payload, ticket_number) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at, kind = excluded.kind,
                 payload = excluded.payload, ticket_number = excluded.ticket_number, {on_conflict}"
        );
        query(&sql)
            .bind(key)
            .bind(due)
            .bind(kind)
            .bind(payload.to_string())
            .bind(ticket)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Writes one decision to the log, with what it was about once applied: for decisions made
    /// outside a step (by hand, from the command line), whose origin names no event.
    pub async fn record_decision(
        &mut self,
        origin: Origin<'_>,
        decision: &Decision,
        customer: Option<i64>,
        ticket: Option<i64>,
    ) -> Result<()> {
        self.record_step(origin, &[(decision, customer, ticket)]).await
    }

    /// Writes the decisions of one step to the log now, each with what it was about once
    /// applied, and claims the step's (event, workflow, step) key: a second claim of the same
    /// key fails the unit. What [`Unit::log_step`] kept is written first, so the log stays in
    /// the order things were decided.
    pub async fn record_step(
        &mut self,
        origin: Origin<'_>,
        decisions: &[(&Decision, Option<i64>, Option<i64>)],
    ) -> Result<()> {
        self.log_step(origin, decisions)?;
        self.flush_log().await
    }

    /// [`Unit::record_step`], kept in memory until [`Unit::flush_log`]: the executor logs each
    /// step of each event of a commit group this way, and the group's rows go to the database
    /// in a few multi-row statements instead of two statements per step. A second claim of
    /// the same key then fails the flush, and so the unit, as it would have failed the step.
    pub fn log_step(&mut self, origin: Origin<'_>, decisions: &[(&Decision, Option<i64>, Option<i64>)]) -> Result<()> {
        let at = now_ms();
        if let Some(event) = origin.event {
            self.log.runs.push(StepRun {
                event,
                workflow: origin.workflow.to_owned(),
                step: origin.step.to_owned(),
                at,
            });
        }
        for (decision, customer, ticket) in decisions {
            self.log.decisions.push(LoggedDecision {
                event: origin.event,
                workflow: origin.workflow.to_owned(),
                workflow_version: origin.workflow_version.map(str::to_owned),
                step: origin.step.to_owned(),
                plugin: origin.plugin.to_owned(),
                command: decision.command.name(),
                body: serde_json::to_string(&decision.command)?,
                reason: decision.reason.clone(),
                evidence: serde_json::to_string(&decision.evidence)?,
                customer: *customer,
                ticket: *ticket,
                at,
            });
        }
        Ok(())
    }

    /// Writes what [`Unit::log_step`] kept. [`Unit::commit`] and [`Unit::savepoint`] do it
    /// too; the executor calls it before committing so that a failure here (a step claimed
    /// twice) is the events' failure, handled as such, rather than a failed commit.
    pub async fn flush_log(&mut self) -> Result<()> {
        if self.log.is_empty() {
            return Ok(());
        }
        let log = std::mem::take(&mut self.log);
        let done = (
            "UPDATE events SET state = 'done', claimed_by = NULL, claimed_until = NULL, error = NULL WHERE id IN (",
            "$",
            ")",
        );
        self.write_rows(done, &log.done, |query, event| query.bind(*event))
            .await?;
        let runs = (
            "INSERT INTO step_runs (event_id, workflow, step, outcome, finished_at) VALUES ",
            "($, $, $, 'applied', $)",
            "",
        );
        self.write_rows(runs, &log.runs, |query, run| {
            query.bind(run.event).bind(&run.workflow).bind(&run.step).bind(run.at)
        })
        .await?;
        let decisions = (
            "INSERT INTO decisions (event_id, workflow, workflow_version, step, plugin, command, body, reason,
                                    evidence, customer_id, ticket_number, created_at) VALUES ",
            "($, $, $, $, $, $, $, $, $, $, $, $)",
            "",
        );
        self.write_rows(decisions, &log.decisions, |query, row| {
            query
                .bind(row.event)
                .bind(&row.workflow)
                .bind(row.workflow_version.as_deref())
                .bind(&row.step)
                .bind(&row.plugin)
                .bind(row.command)
                .bind(&row.body)
                .bind(&row.reason)
                .bind(&row.evidence)
                .bind(row.customer)
                .bind(row.ticket)
                .bind(row.at)
        })
        .await
    }

    /// Runs `head`, then `row` once per item (comma-separated), then `tail`, over `items`: a
    /// few statements of up to 64 rows ([`chunk`]), each item's parameters bound by `bind`.
    async fn write_rows<T>(
        &mut self,
        (head, row, tail): (&'static str, &'static str, &'static str),
        items: &[T],
        bind: impl Fn(Query<'static>, &T) -> Query<'static>,
    ) -> Result<()> {
        let mut left = items;
        while !left.is_empty() {
            let n = chunk(left.len());
            let mut query = query(values_sql(head, row, n, tail));
            for item in &left[..n] {
                query = bind(query, item);
            }
            query.execute(self.conn()).await?;
            left = &left[n..];
        }
        Ok(())
    }

    /// Forgets what [`Unit::log_step`] kept: the work it logged was rolled back.
    pub(crate) fn discard_log(&mut self) {
        self.log = PendingLog::default();
    }
}

/// What [`Unit::log_step`] and [`Unit::finish_event`] kept until [`Unit::flush_log`]: rows
/// of the decision log, and the events to mark done.
#[derive(Debug, Default)]
pub(crate) struct PendingLog {
    runs: Vec<StepRun>,
    decisions: Vec<LoggedDecision>,
    pub(crate) done: Vec<i64>,
}

impl PendingLog {
    fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.decisions.is_empty() && self.done.is_empty()
    }
}

#[derive(Debug)]
struct StepRun {
    event: i64,
    workflow: String,
    step: String,
    at: i64,
}

#[derive(Debug)]
struct LoggedDecision {
    event: Option<i64>,
    workflow: String,
    workflow_version: Option<String>,
    step: String,
    plugin: String,
    command: &'static str,
    body: String,
    reason: String,
    evidence: String,
    customer: Option<i64>,
    ticket: Option<i64>,
    at: i64,
}

/// Rows per multi-row statement: the largest of a few fixed sizes that fits, so that a flush
/// of any length uses at most four distinct statements (each prepared once) and stays far
/// below either database's limit on parameters (12 per decision row: 768 at most).
fn chunk(left: usize) -> usize {
    [64, 16, 4, 1].into_iter().find(|&n| n <= left).unwrap_or(1)
}

/// `head`, then `rows` copies of `row` separated by commas, then `tail`; the `$` placeholders
/// are numbered `$1`, `$2`, ... across the rows. Built once per (statement, rows) and kept: the
/// statement cache and the parameter shapes are keyed by the text.
fn values_sql(head: &'static str, row: &'static str, rows: usize, tail: &'static str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static BUILT: Mutex<Option<HashMap<(&'static str, usize), &'static str>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    built
        .get_or_insert_with(HashMap::new)
        .entry((head, rows))
        .or_insert_with(|| {
            let mut sql = String::from(head);
            let mut n = 0;
            for i in 0..rows {
                if i > 0 {
                    sql.push(',');
                }
                for c in row.chars() {
                    sql.push(c);
                    if c == '$' {
                        n += 1;
                        sql.push_str(&n.to_string());
                    }
                }
            }
            sql.push_str(tail);
            Box::leak(sql.into_boxed_str())
        })
}
