//! Reading for people and other programs: exports (JSONL objects), the timeline and decision
//! history behind `weft explain`, and the totals the demo prints.

use super::orders::TicketOrder;
use super::{Result, Store, query};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use weft_sdk::Message;

/// RFC 3339 in UTC, to the second.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| format!("{t:.0}"))
        .unwrap_or_else(|_| ms.to_string())
}

/// An order a ticket is about, with its shipments and their timelines, as exports show it.
pub fn ticket_order_json(found: &TicketOrder) -> Value {
    let (view, order) = (&found.order, &found.order.order);
    let shipments: Vec<Value> = found
        .shipments
        .iter()
        .map(|shipment| {
            json!({
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "status": shipment.status,
                "estimated_delivery": shipment.estimated_delivery.map(rfc3339),
                "delivered_at": shipment.delivered_at.map(rfc3339),
                "history": shipment.history.iter().map(|step| json!({
                    "at": rfc3339(step.at),
                    "status": step.status,
                    "detail": step.detail,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "channel": order.channel.trim().to_lowercase(),
        "number": view.number,
        "written": order.number,
        "status": order.status,
        "last_change": view.last_change,
        "placed_at": order.placed_at,
        "updated_at": rfc3339(view.updated_at),
        "customer": view.customer,
        "buyer": order.buyer,
        "shipping": order.shipping,
        "total": order.total,
        "lines": order.lines,
        "shipments": shipments,
    })
}

/// One message on a timeline.
#[derive(Debug, Clone)]
pub struct TimelineEntry {
    pub ticket: i64,
    pub message: Message,
    pub duplicate_of: Option<String>,
    /// The id the message arrived with, when an earlier message with other content had it and
    /// this one was kept under a new id.
    pub arrived_as: Option<String>,
    /// `in` (the buyer), `out` (a reply), `auto` (an automatic reply).
    pub direction: String,
}

/// One logged decision.
#[derive(Debug, Clone)]
pub struct LoggedDecision {
    pub event: Option<i64>,
    /// The kind of that event (`message.received`, `order.placed`, ...), while it is kept.
    pub event_kind: Option<String>,
    pub workflow: String,
    /// The version of the workflow that made it (see [`crate::workflow::Workflow::version`]);
    /// None when made by hand or logged before versions were recorded.
    pub workflow_version: Option<String>,
    pub step: String,
    pub plugin: String,
    pub command: Value,
    pub reason: String,
    pub evidence: Vec<weft_sdk::Evidence>,
    pub customer: Option<i64>,
    pub ticket: Option<i64>,
    /// When it was logged (ms).
    pub at: i64,
}

/// Totals for status lines and the demo.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub messages: i64,
    pub customers: i64,
    pub tickets: i64,
    pub merged_tickets: i64,
    pub decisions: i64,
    pub events_done: i64,
    pub dead_letters: i64,
}

impl Store {
    async fn count(&self, sql: &str) -> Result<i64> {
        query(sql).fetch_one(&mut self.conn().await?).await?.try_get("n")
    }

    pub async fn totals(&self) -> Result<Totals> {
        Ok(Totals {
            messages: self.count("SELECT COUNT(*) AS n FROM messages").await?,
            customers: self
                .count("SELECT COUNT(*) AS n FROM customers WHERE merged_into IS NULL")
                .await?,
            tickets: self
                .count("SELECT COUNT(*) AS n FROM tickets WHERE merged_into IS NULL")
                .await?,
            merged_tickets: self
                .count("SELECT COUNT(*) AS n FROM tickets WHERE merged_into IS NOT NULL")
                .await?,
            decisions: self.count("SELECT COUNT(*) AS n FROM decisions").await?,
            events_done: self
                .count("SELECT COUNT(*) AS n FROM events WHERE state = 'done'")
                .await?,
            dead_letters: self
                .count("SELECT COUNT(*) AS n FROM dead_letters WHERE replayed_at IS NULL")
                .await?,
        })
    }

    /// Every ticket, one JSON object each, by number.
    pub async fn export_tickets(&self) -> Result<Vec<Value>> {
        let mut failures = self.step_failures_by_ticket().await?;
        // One connection for every read, held until the export is done.
        let mut conn = self.conn().await?;
        let rows = query(
            "SELECT number, customer_id, status, subject, order_no, opened_at, updated_at, merged_into,
                    category, confidence, language, priority, assignee, team, fields
             FROM tickets ORDER BY number",
        )
        .fetch_all(&mut conn)
        .await?;
        let mut messages: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        for row in
            query("SELECT ticket_number, external_id FROM messages WHERE ticket_number IS NOT NULL ORDER BY at, id")
                .fetch_all(&mut conn)
                .await?
        {
            let external: String = row.try_get("external_id")?;
            messages
                .entry(row.try_get("ticket_number")?)
                .or_default()
                .push(external.into());
        }
        let mut deadlines: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        for row in query(
            "SELECT ticket_number, kind, policy, due, state, paused_at FROM deadlines ORDER BY ticket_number, due, kind, policy",
        )
        .fetch_all(&mut conn)
        .await?
        {
            let due: i64 = row.try_get("due")?;
            let mut deadline = json!({
                "kind": row.try_get::<String>("kind")?,
                "policy": row.try_get::<String>("policy")?,
                "due": rfc3339(due),
                "state": row.try_get::<String>("state")?,
            });
            // A paused clock's `due` is where it stood at the pause; it moves when it resumes.
            if let Some(paused) = row.try_get::<Option<i64>>("paused_at")? {
                deadline["paused_since"] = rfc3339(paused).into();
            }
            deadlines
                .entry(row.try_get("ticket_number")?)
                .or_default()
                .push(deadline);
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let number: i64 = row.try_get("number")?;
            let order_no: Option<String> = row.try_get("order_no")?;
            let orders = match &order_no {
                Some(order_no) => super::orders::ticket_orders(&mut conn, order_no).await?,
                None => Vec::new(),
            };
            let customer: Option<i64> = row.try_get("customer_id")?;
            let customer = match customer {
                Some(c) => Some(super::apply::merge_root(&mut conn, super::apply::Merged::Customers, c).await?),
                None => None,
            };
            let fields: String = row.try_get("fields")?;
            let mut object = json!({
                "ticket": number,
                "customer": customer,
                "status": row.try_get::<String>("status")?,
                "subject": row.try_get::<Option<String>>("subject")?,
                "order": order_no,
                // The order (at each channel that has one with this number) and where its
                // parcels are.
                "orders": orders.iter().map(ticket_order_json).collect::<Vec<_>>(),
                "opened_at": rfc3339(row.try_get("opened_at")?),
                "updated_at": rfc3339(row.try_get("updated_at")?),
                "messages": messages.remove(&number).unwrap_or_default(),
                "merged_into": row.try_get::<Option<i64>>("merged_into")?,
                "category": row.try_get::<Option<String>>("category")?,
                "confidence": row.try_get::<Option<f64>>("confidence")?,
                "language": row.try_get::<Option<String>>("language")?,
                "priority": row.try_get::<Option<String>>("priority")?,
                "assignee": row.try_get::<Option<String>>("assignee")?,
                "team": row.try_get::<Option<String>>("team")?,
                "deadlines": deadlines.remove(&number).unwrap_or_default(),
                // Steps that failed on this ticket's messages: which, why, when, and whether a
                // replay has resolved it since.
                "failed_steps": failures.remove(&number).unwrap_or_default().iter().map(failure_json).collect::<Vec<_>>(),
            });
            if let (Value::Object(object), Ok(Value::Object(extra))) = (&mut object, serde_json::from_str(&fields)) {
                for (k, v) in extra {
                    object.entry(k).or_insert(v);
                }
            }
            out.push(object);
        }
        Ok(out)
    }

    /// Every customer, one JSON object each, by id.
    pub async fn export_customers(&self) -> Result<Vec<Value>> {
        // One connection for every read, held until the export is done.
        let mut conn = self.conn().await?;
        let rows = query("SELECT id, merged_into FROM customers ORDER BY id")
            .fetch_all(&mut conn)
            .await?;
        let mut identities: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        for row in query("SELECT customer_id, kind, value, score FROM identities ORDER BY customer_id, kind, value")
            .fetch_all(&mut conn)
            .await?
        {
            identities.entry(row.try_get("customer_id")?).or_default().push(json!({
                "kind": row.try_get::<String>("kind")?,
                "value": row.try_get::<String>("value")?,
                "score": row.try_get::<f64>("score")?,
            }));
        }
        let mut messages: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        for row in query("SELECT customer_id, external_id FROM messages WHERE customer_id IS NOT NULL ORDER BY at, id")
            .fetch_all(&mut conn)
            .await?
        {
            let external: String = row.try_get("external_id")?;
            messages
                .entry(row.try_get("customer_id")?)
                .or_default()
                .push(external.into());
        }
        let mut tickets: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        for row in query("SELECT customer_id, number FROM tickets WHERE customer_id IS NOT NULL ORDER BY number")
            .fetch_all(&mut conn)
            .await?
        {
            tickets
                .entry(row.try_get("customer_id")?)
                .or_default()
                .push(row.try_get::<i64>("number")?.into());
        }
        let mut kept_apart: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        for row in query("SELECT kept_id, split_id FROM customer_splits ORDER BY id")
            .fetch_all(&mut conn)
            .await?
        {
            let (kept, split): (i64, i64) = (row.try_get("kept_id")?, row.try_get("split_id")?);
            kept_apart.entry(kept).or_default().push(split.into());
            kept_apart.entry(split).or_default().push(kept.into());
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            out.push(json!({
                "customer": id,
                "merged_into": row.try_get::<Option<i64>>("merged_into")?,
                "kept_apart": kept_apart.remove(&id).unwrap_or_default(),
                "identities": identities.remove(&id).unwrap_or_default(),
                "messages": messages.remove(&id).unwrap_or_default(),
                "tickets": tickets.remove(&id).unwrap_or_default(),
            }));
        }
        Ok(out)
    }

    /// Tickets merged (directly or not) into `number`, and `number` itself.
    async fn ticket_family(&self, number: i64) -> Result<Vec<i64>> {
        let rows = query(
            "WITH RECURSIVE family(number) AS (
                 SELECT $1 UNION SELECT t.number FROM tickets t JOIN family f ON t.merged_into = f.number)
             SELECT number FROM family ORDER BY number",
        )
        .bind(number)
        .fetch_all(&mut self.conn().await?)
        .await?;
        rows.iter().map(|r| r.try_get("number")).collect()
    }

    /// A ticket's row as JSON, or None if there is no such ticket.
    pub async fn ticket_json(&self, number: i64) -> Result<Option<Value>> {
        Ok(self.export_tickets().await?.into_iter().find(|t| t["ticket"] == number))
    }

    /// The messages of a ticket and of the tickets merged into it, in order of arrival.
    pub async fn ticket_timeline(&self, number: i64) -> Result<Vec<TimelineEntry>> {
        let mut entries = Vec::new();
        for member in self.ticket_family(number).await? {
            let rows = query("SELECT data, duplicate_of, arrived_as, direction FROM messages WHERE ticket_number = $1")
                .bind(member)
                .fetch_all(&mut self.conn().await?)
                .await?;
            for row in rows {
                let data: String = row.try_get("data")?;
                entries.push(TimelineEntry {
                    ticket: member,
                    message: serde_json::from_str(&data)?,
                    duplicate_of: row.try_get("duplicate_of")?,
                    arrived_as: row.try_get("arrived_as")?,
                    direction: row.try_get("direction")?,
                });
            }
        }
        entries.sort_by(|a, b| {
            a.message
                .at
                .cmp(&b.message.at)
                .then_with(|| a.message.id.cmp(&b.message.id))
        });
        Ok(entries)
    }

    async fn decisions_where(&self, filter: &str, id: i64) -> Result<Vec<LoggedDecision>> {
        let sql = format!(
            "SELECT event_id, workflow, workflow_version, step, plugin, body, reason, evidence, customer_id, ticket_number, created_at,
                    (SELECT e.kind FROM events e WHERE e.id = decisions.event_id) AS event_kind
             FROM decisions WHERE {filter} ORDER BY id"
        );
        let rows = query(&sql).bind(id).fetch_all(&mut self.conn().await?).await?;
        rows.iter()
            .map(|row| {
                let body: String = row.try_get("body")?;
                let evidence: String = row.try_get("evidence")?;
                Ok(LoggedDecision {
                    event: row.try_get("event_id")?,
                    event_kind: row.try_get("event_kind")?,
                    workflow: row.try_get("workflow")?,
                    workflow_version: row.try_get("workflow_version")?,
                    step: row.try_get("step")?,
                    plugin: row.try_get("plugin")?,
                    command: serde_json::from_str(&body)?,
                    reason: row.try_get("reason")?,
                    evidence: serde_json::from_str(&evidence)?,
                    customer: row.try_get("customer_id")?,
                    ticket: row.try_get("ticket_number")?,
                    at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Every decision about a ticket: those naming it or a ticket merged into it, and those
    /// made while processing its messages.
    pub async fn ticket_decisions(&self, number: i64) -> Result<Vec<LoggedDecision>> {
        let family = "WITH RECURSIVE family(number) AS (
                 SELECT $1 UNION SELECT t.number FROM tickets t JOIN family f ON t.merged_into = f.number)";
        let sql = format!(
            "ticket_number IN ({family} SELECT number FROM family)
             OR event_id IN (SELECT e.id FROM events e JOIN messages m ON m.id = e.message_id
                             WHERE m.ticket_number IN ({family} SELECT number FROM family))"
        );
        self.decisions_where(&sql, number).await
    }

    /// Every decision made on one event.
    pub async fn event_decisions(&self, event: i64) -> Result<Vec<LoggedDecision>> {
        self.decisions_where("event_id = $1", event).await
    }

    /// Every decision about a customer or a customer merged into it.
    pub async fn customer_decisions(&self, customer: i64) -> Result<Vec<LoggedDecision>> {
        let family = "WITH RECURSIVE family(id) AS (
                 SELECT $1 UNION SELECT c.id FROM customers c JOIN family f ON c.merged_into = f.id)";
        let sql = format!(
            "customer_id IN ({family} SELECT id FROM family) AND command IN ('link-customer', 'merge-customers', 'split-customer')"
        );
        self.decisions_where(&sql, customer).await
    }

    /// The customer's export object, or None.
    pub async fn customer_json(&self, customer: i64) -> Result<Option<Value>> {
        Ok(self
            .export_customers()
            .await?
            .into_iter()
            .find(|c| c["customer"] == customer))
    }

    /// How many decisions each (workflow, step, command) made.
    pub async fn decision_counts(&self) -> Result<Vec<(String, String, String, i64)>> {
        let rows = query(
            "SELECT workflow, step, command, COUNT(*) AS n FROM decisions GROUP BY workflow, step, command
             ORDER BY workflow, MIN(id), command",
        )
        .fetch_all(&mut self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("workflow")?,
                    r.try_get("step")?,
                    r.try_get("command")?,
                    r.try_get("n")?,
                ))
            })
            .collect()
    }
}

/// A step failure as exports show it.
pub fn failure_json(failure: &super::failures::StepFailureRecord) -> Value {
    let mut value = json!({
        "id": failure.id,
        "event": failure.event,
        "workflow": failure.workflow,
        "step": failure.step,
        "plugin": failure.plugin,
        "on_error": failure.on_error,
        "error": failure.error,
        "retryable": failure.retryable,
        "attempts": failure.attempts,
        "failed_at": rfc3339(failure.failed_at),
        "last_failed_at": rfc3339(failure.last_failed_at),
        "resolved_at": failure.resolved_at.map(rfc3339),
    });
    if let Some(customer) = failure.own_customer {
        value["own_customer"] = customer.into();
    }
    if let Some(ticket) = failure.own_ticket {
        value["own_ticket"] = ticket.into();
    }
    value
}
