//! Customers as the API shows them: one customer with every identity of its family and the
//! decisions that linked each, and customers found by email, phone, order number or name.

use super::apply::{Merged, merge_root};
use super::{Result, Store, query};
use serde_json::Value;

const FAMILY: &str = "WITH RECURSIVE family(id) AS (
     SELECT $1 UNION SELECT c.id FROM customers c JOIN family f ON c.merged_into = f.id)";

/// One identity of a customer, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityRecord {
    /// The customer row that holds it (the customer itself or one merged into it).
    pub customer: i64,
    pub kind: String,
    pub value: String,
    pub strong: bool,
    pub score: f64,
    pub created_at: i64,
    /// The message it was seen on: channel, id, time.
    pub message: Option<(String, String, i64)>,
    /// The decisions that linked that message to a customer: step, reason, evidence.
    pub linked_by: Vec<LinkRecord>,
}

/// A decision that linked a message to a customer, or merged or split customers.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRecord {
    pub command: String,
    pub workflow: String,
    pub step: String,
    pub plugin: String,
    pub reason: String,
    pub evidence: Value,
    pub at: i64,
}

/// A customer and its family.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRecord {
    pub id: i64,
    pub merged_into: Option<i64>,
    /// Where it lives now (itself unless merged).
    pub root: i64,
    /// Customers merged into it, directly or not.
    pub members: Vec<i64>,
    pub kept_apart: Vec<i64>,
    pub identities: Vec<IdentityRecord>,
    pub tickets: Vec<i64>,
    /// Merges and splits of the family, with reasons.
    pub links: Vec<LinkRecord>,
    pub created_at: i64,
}

/// What to search customers by (at least one).
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    /// Compared case-insensitively with email identities.
    pub email: Option<String>,
    /// Digits (and a leading `+`); matches phone identities that end with them.
    pub phone: Option<String>,
    /// An order number: customers of its tickets.
    pub order: Option<String>,
    /// Part of a name, case-insensitively.
    pub name: Option<String>,
    pub limit: i64,
}

fn link_from_row(row: &super::Row) -> Result<LinkRecord> {
    let evidence: String = row.try_get("evidence")?;
    Ok(LinkRecord {
        command: row.try_get("command")?,
        workflow: row.try_get("workflow")?,
        step: row.try_get("step")?,
        plugin: row.try_get("plugin")?,
        reason: row.try_get("reason")?,
        evidence: serde_json::from_str(&evidence)?,
        at: row.try_get("created_at")?,
    })
}

impl Store {
    /// A customer with its family's identities (blocking keys left out), each with the
    /// decisions that linked the message it came on, and the merges and splits of the family.
    pub async fn customer_record(&self, id: i64) -> Result<Option<CustomerRecord>> {
        let mut conn = self.conn().await?;
        let Some(row) = query("SELECT merged_into, created_at FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut conn)
            .await?
        else {
            return Ok(None);
        };
        let root = merge_root(&mut conn, Merged::Customers, id).await?;
        let members: Vec<i64> = query(&format!("{FAMILY} SELECT id FROM family WHERE id <> $1 ORDER BY id"))
            .bind(id)
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_>>()?;
        let rows = query(&format!(
            "{FAMILY} SELECT i.customer_id, i.kind, i.value, i.strong, i.score, i.created_at, i.message_id,
                    m.channel, m.external_id, m.at
             FROM identities i LEFT JOIN messages m ON m.id = i.message_id
             WHERE i.customer_id IN (SELECT id FROM family) AND substr(i.value, 1, 4) <> 'blk:'
             ORDER BY i.kind, i.value, i.customer_id"
        ))
        .bind(id)
        .fetch_all(&mut conn)
        .await?;
        let mut identities = Vec::with_capacity(rows.len());
        for row in rows {
            let message_id: Option<i64> = row.try_get("message_id")?;
            let message = match row.try_get::<Option<String>>("channel")? {
                Some(channel) => Some((channel, row.try_get("external_id")?, row.try_get("at")?)),
                None => None,
            };
            let linked_by = match message_id {
                Some(message) => query(
                    "SELECT d.command, d.workflow, d.step, d.plugin, d.reason, d.evidence, d.created_at
                     FROM decisions d JOIN events e ON e.id = d.event_id
                     WHERE e.message_id = $1 AND d.command IN ('link-customer', 'merge-customers')
                     ORDER BY d.id",
                )
                .bind(message)
                .fetch_all(&mut conn)
                .await?
                .iter()
                .map(link_from_row)
                .collect::<Result<_>>()?,
                None => Vec::new(),
            };
            identities.push(IdentityRecord {
                customer: row.try_get("customer_id")?,
                kind: row.try_get("kind")?,
                value: row.try_get("value")?,
                strong: row.try_get::<i64>("strong")? != 0,
                score: row.try_get("score")?,
                created_at: row.try_get("created_at")?,
                message,
                linked_by,
            });
        }
        let tickets = query(&format!(
            "{FAMILY} SELECT number FROM tickets WHERE customer_id IN (SELECT id FROM family) ORDER BY number"
        ))
        .bind(id)
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(|r| r.try_get("number"))
        .collect::<Result<_>>()?;
        let kept_apart = query(&format!(
            "{FAMILY} SELECT split_id AS other FROM customer_splits WHERE kept_id IN (SELECT id FROM family)
             UNION SELECT kept_id FROM customer_splits WHERE split_id IN (SELECT id FROM family)"
        ))
        .bind(id)
        .fetch_all(&mut conn)
        .await?;
        let mut apart = Vec::new();
        for row in kept_apart {
            let other = merge_root(&mut conn, Merged::Customers, row.try_get("other")?).await?;
            if other != root && !apart.contains(&other) {
                apart.push(other);
            }
        }
        apart.sort_unstable();
        let links = query(&format!(
            "{FAMILY} SELECT command, workflow, step, plugin, reason, evidence, created_at FROM decisions
             WHERE customer_id IN (SELECT id FROM family) AND command IN ('merge-customers', 'split-customer')
             ORDER BY id"
        ))
        .bind(id)
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(link_from_row)
        .collect::<Result<_>>()?;
        Ok(Some(CustomerRecord {
            id,
            merged_into: row.try_get("merged_into")?,
            root,
            members,
            kept_apart: apart,
            identities,
            tickets,
            links,
            created_at: row.try_get("created_at")?,
        }))
    }

    /// Customers (as they live now, by id) matching every part of `search` given.
    pub async fn search_customers(&self, search: &CustomerQuery) -> Result<Vec<i64>> {
        let email = search.email.as_ref().map(|e| e.trim().to_lowercase());
        let phone = search.phone.as_ref().map(|p| {
            p.chars()
                .filter(|c| c.is_ascii_digit())
                .collect::<String>()
                .trim_start_matches('0')
                .to_owned()
        });
        let name = search.name.as_ref().map(|n| n.trim().to_lowercase());
        let order = search
            .order
            .as_ref()
            .map(|o| weft_sdk::order::canonical_order(o).unwrap_or_else(|| o.trim().to_owned()));
        let mut conn = self.conn().await?;
        let rows = query(
            "SELECT DISTINCT c.id FROM customers c
             WHERE (CAST($1 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM identities i WHERE i.customer_id = c.id
                        AND i.kind = 'email' AND lower(i.value) = $1))
               AND (CAST($2 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM identities i WHERE i.customer_id = c.id
                        AND i.kind = 'phone' AND i.value LIKE '%' || $2))
               AND (CAST($3 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM identities i WHERE i.customer_id = c.id
                        AND i.kind = 'name' AND substr(i.value, 1, 4) <> 'blk:' AND lower(i.value) LIKE '%' || $3 || '%'))
               AND (CAST($4 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM tickets t WHERE t.customer_id = c.id
                        AND t.order_no = $4))
             ORDER BY c.id LIMIT $5",
        )
        .bind(email)
        .bind(phone)
        .bind(name)
        .bind(order)
        .bind(search.limit)
        .fetch_all(&mut conn)
        .await?;
        let mut found = Vec::new();
        for row in rows {
            let root = merge_root(&mut conn, Merged::Customers, row.try_get("id")?).await?;
            if !found.contains(&root) {
                found.push(root);
            }
        }
        Ok(found)
    }
}
