//! Changes people make by hand (`weft merge`, `weft unmerge`, `weft customer merge|split`),
//! inside a [`Unit`], each written to the decision log with the reason given.
//!
//! Like the engine's own merges, nothing here deletes or renumbers. A ticket merge points the
//! merged tickets to the one they joined and an unmerge clears that pointer, so the two leave
//! the store as it was. A customer split either undoes the merge that formed the customer, or
//! moves the given identities to a new customer; in both cases the messages and tickets that
//! came with the split-off side follow it (see [`Unit::split_customer`]), and the pair is kept
//! apart from then on (`customer_splits`), which steps see as `kept-apart`.

use super::apply::Origin;
use super::{Result, StoreError, Unit, now_ms, query, to_i64};
use serde_json::{Value, json};
use weft_sdk::{Command, Decision, Evidence, Identity, MergeCustomers, MergeTickets};

/// The decision-log origin of a change made by hand with `weft <step>`.
pub fn by_hand(step: &str) -> Origin<'_> {
    Origin {
        event: None,
        workflow: "by hand",
        workflow_version: None,
        step,
        plugin: concat!("weft@", env!("CARGO_PKG_VERSION")),
    }
}

/// What a customer split did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The customer that stayed.
    pub kept: i64,
    /// The customer that went its own way: the one whose merge was undone, or a new one.
    pub split: i64,
    /// The `customer_merges` row undone, when the split undid a merge.
    pub undone_merge: Option<i64>,
    /// Identities moved to `split` (none when a merge was undone).
    pub identities: Vec<Identity>,
    /// Messages (channel ids) that went with `split`.
    pub messages: Vec<String>,
    /// Tickets that went with `split`.
    pub tickets: Vec<i64>,
}

const CUSTOMER_FAMILY: &str = "WITH RECURSIVE family(id) AS (
     SELECT $1 UNION SELECT c.id FROM customers c JOIN family f ON c.merged_into = f.id)";

fn invalid(message: String) -> StoreError {
    StoreError::Invalid(message)
}

impl Unit {
    /// Writes a decision whose command the SDK does not have (an unmerge, a split): `body` is
    /// the command as JSON, with a `command` field naming it.
    #[expect(
        clippy::too_many_arguments,
        reason = "one column each; a struct would only rename them"
    )]
    pub async fn record_note(
        &mut self,
        origin: Origin<'_>,
        command: &str,
        body: &Value,
        reason: &str,
        evidence: &[Evidence],
        customer: Option<i64>,
        ticket: Option<i64>,
    ) -> Result<()> {
        query(
            "INSERT INTO decisions (event_id, workflow, workflow_version, step, plugin, command, body, reason,
                                    evidence, customer_id, ticket_number, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(origin.event)
        .bind(origin.workflow)
        .bind(origin.workflow_version)
        .bind(origin.step)
        .bind(origin.plugin)
        .bind(command)
        .bind(body.to_string())
        .bind(reason)
        .bind(serde_json::to_string(evidence)?)
        .bind(customer)
        .bind(ticket)
        .bind(now_ms())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn ticket_line(&mut self, number: i64) -> Result<String> {
        let row = query("SELECT subject, customer_id, status FROM tickets WHERE number = $1")
            .bind(number)
            .fetch_optional(self.conn())
            .await?
            .ok_or_else(|| invalid(format!("ticket {number} does not exist")))?;
        let subject: Option<String> = row.try_get("subject")?;
        let customer: Option<i64> = row.try_get("customer_id")?;
        let status: String = row.try_get("status")?;
        Ok(format!(
            "#{number} \"{}\", {status}, customer {}",
            subject.unwrap_or_default(),
            customer.map(|c| c.to_string()).unwrap_or_else(|| "-".into())
        ))
    }

    /// Merges tickets `from` into `into` by hand; each merge is logged with `reason` and the
    /// tickets as they were. Returns the tickets merged (their roots; some may already be one).
    pub async fn merge_tickets_by_hand(&mut self, into: u64, from: &[u64], reason: &str) -> Result<Vec<i64>> {
        if from.is_empty() {
            return Err(invalid("name at least one ticket to merge into the first".into()));
        }
        if from.contains(&into) {
            return Err(invalid(format!("ticket {into} cannot be merged into itself")));
        }
        let into_root = self.root_ticket(to_i64(into)?).await?;
        let into_line = self.ticket_line(into_root).await?;
        let mut lines = Vec::new();
        for &number in from {
            let root = self.root_ticket(to_i64(number)?).await?;
            lines.push((root, self.ticket_line(root).await?));
        }
        let merged = self.merge_tickets(into, from, None, reason).await?;
        for (number, line) in lines.into_iter().filter(|(n, _)| merged.contains(n)) {
            let decision = Decision::new(
                Command::MergeTickets(MergeTickets {
                    into: into_root as u64,
                    from: vec![number as u64],
                }),
                reason,
            )
            .with_evidence([
                Evidence::new("ticket", format!("{line} joins it"), 1.0),
                Evidence::new("into", into_line.clone(), 1.0),
            ]);
            self.record_decision(by_hand("merge"), &decision, None, Some(number))
                .await?;
        }
        Ok(merged)
    }

    /// Undoes the merge of ticket `number` by hand. Returns the ticket it had joined.
    pub async fn unmerge_ticket_by_hand(&mut self, number: u64, reason: &str) -> Result<i64> {
        let number = to_i64(number)?;
        let into = self.unmerge_ticket(number).await?;
        let body = json!({ "command": "unmerge-ticket", "ticket": number, "from": into });
        let evidence = [
            Evidence::new("ticket", self.ticket_line(number).await?, 1.0),
            Evidence::new("from", format!("had joined {}", self.ticket_line(into).await?), 1.0),
        ];
        for about in [number, into] {
            self.record_note(
                by_hand("unmerge"),
                "unmerge-ticket",
                &body,
                reason,
                &evidence,
                None,
                Some(about),
            )
            .await?;
        }
        Ok(into)
    }

    /// Merges customers `from` into `into` by hand, logged with `reason`.
    pub async fn merge_customers_by_hand(&mut self, into: u64, from: &[u64], reason: &str) -> Result<Vec<i64>> {
        if from.is_empty() {
            return Err(invalid("name at least one customer to merge into the first".into()));
        }
        if from.contains(&into) {
            return Err(invalid(format!("customer {into} cannot be merged into itself")));
        }
        let into_root = self.root_customer(to_i64(into)?).await?;
        let mut roots = Vec::new();
        for &id in from {
            let root = self.root_customer(to_i64(id)?).await?;
            if root != into_root && !roots.contains(&root) {
                roots.push(root);
            }
        }
        let apart = self.kept_apart(into_root).await?;
        let from_roots: Vec<u64> = roots.iter().map(|&r| r as u64).collect();
        self.merge_customers(into_root as u64, &from_roots, None, reason)
            .await?;
        for &root in &roots {
            let mut evidence = vec![Evidence::new(
                "customer",
                format!("customer {root} joins customer {into_root}"),
                1.0,
            )];
            if apart.contains(&root) {
                evidence.push(Evidence::new(
                    "kept-apart",
                    format!("customers {into_root} and {root} had been split apart; merged again by hand"),
                    0.0,
                ));
            }
            let decision = Decision::new(
                Command::MergeCustomers(MergeCustomers {
                    into: into_root as u64,
                    from: vec![root as u64],
                }),
                reason,
            )
            .with_evidence(evidence);
            self.record_decision(by_hand("customer merge"), &decision, Some(root), None)
                .await?;
        }
        Ok(roots)
    }

    /// Splits customer `id`, logged with `reason`, and keeps the two apart from then on.
    ///
    /// - Without `identities`, the customer must have been formed by a merge: if `id` was
    ///   merged into another customer, that merge is undone; else the latest merge into `id`
    ///   is undone.
    /// - With `identities`, each must be held by `id` or a customer merged into it; they move
    ///   to a new customer.
    ///
    /// Then the messages of the remaining side whose link decisions rest only on strong
    /// identifiers the split-off side now holds go with it, and so do the tickets all of whose
    /// messages went. Messages linked on names and addresses alone, or on identifiers of both
    /// sides, stay where they are (the log shows them).
    pub async fn split_customer(&mut self, id: u64, identities: &[Identity], reason: &str) -> Result<Split> {
        self.forget_customers();
        let id = to_i64(id)?;
        let (kept, split, undone_merge) = if identities.is_empty() {
            self.undo_merge_of(id).await?
        } else {
            let kept = self.root_customer(id).await?;
            let split = self.create_customer(now_ms()).await?;
            for identity in identities {
                self.move_identity(id, identity, split).await?;
            }
            (kept, split, None)
        };
        let (messages, tickets) = self.rehome(kept, split).await?;
        self.forget_customers();
        query("UPDATE customers SET related = 1 WHERE id IN ($1, $2)")
            .bind(kept)
            .bind(split)
            .execute(self.conn())
            .await?;
        query(
            "INSERT INTO customer_splits (kept_id, split_id, merge_id, reason, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(kept)
        .bind(split)
        .bind(undone_merge)
        .bind(reason)
        .bind(now_ms())
        .execute(self.conn())
        .await?;
        let result = Split {
            kept,
            split,
            undone_merge,
            identities: identities.to_vec(),
            messages,
            tickets,
        };
        let (body, evidence) = split_record(&result);
        for about in [kept, split] {
            self.record_note(
                by_hand("customer split"),
                "split-customer",
                &body,
                reason,
                &evidence,
                Some(about),
                None,
            )
            .await?;
        }
        Ok(result)
    }

    /// Undoes the merge that formed customer `id`: (kept, split, customer_merges row).
    async fn undo_merge_of(&mut self, id: i64) -> Result<(i64, i64, Option<i64>)> {
        let row = query("SELECT merged_into FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?
            .ok_or_else(|| invalid(format!("customer {id} does not exist")))?;
        let (from, into) = match row.try_get::<Option<i64>>("merged_into")? {
            Some(into) => (id, into),
            None => {
                let latest = query(
                    "SELECT m.from_id FROM customer_merges m JOIN customers c ON c.id = m.from_id
                     WHERE m.into_id = $1 AND m.undone_at IS NULL AND c.merged_into = $1
                     ORDER BY m.id DESC LIMIT 1",
                )
                .bind(id)
                .fetch_optional(self.conn())
                .await?
                .ok_or_else(|| {
                    invalid(format!(
                        "customer {id} was not formed by a merge: name the identities to split off with --identity kind:value"
                    ))
                })?;
                (latest.try_get("from_id")?, id)
            }
        };
        let merge = query(
            "SELECT id FROM customer_merges WHERE from_id = $1 AND into_id = $2 AND undone_at IS NULL
             ORDER BY id DESC LIMIT 1",
        )
        .bind(from)
        .bind(into)
        .fetch_optional(self.conn())
        .await?
        .map(|r| r.try_get::<i64>("id"))
        .transpose()?;
        self.unmerge_customer(from).await?;
        Ok((self.root_customer(into).await?, from, merge))
    }

    /// Moves `identity` from customer `id`'s family to customer `to`.
    async fn move_identity(&mut self, id: i64, identity: &Identity, to: i64) -> Result<()> {
        let sql = format!(
            "{CUSTOMER_FAMILY}
             SELECT id FROM identities WHERE customer_id IN (SELECT id FROM family) AND kind = $2 AND value = $3"
        );
        let rows = query(&sql)
            .bind(id)
            .bind(identity.kind.as_str())
            .bind(&identity.value)
            .fetch_all(self.conn())
            .await?;
        let row = match rows.as_slice() {
            [] => {
                return Err(invalid(format!(
                    "identity {identity} does not belong to customer {id} or a customer merged into it"
                )));
            }
            [row] => row.try_get::<i64>("id")?,
            _ => {
                return Err(invalid(format!(
                    "identity {identity} is held by several customers merged into customer {id}: split those merges first"
                )));
            }
        };
        self.forget_customers();
        query("UPDATE identities SET customer_id = $1 WHERE id = $2")
            .bind(to)
            .bind(row)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// The strong identities the link decisions of a message rest on.
    async fn linked_strong_identities(&mut self, message: i64) -> Result<Vec<Identity>> {
        self.flush_log().await?;
        let rows = query(
            "SELECT d.body FROM decisions d JOIN events e ON e.id = d.event_id
             WHERE e.message_id = $1 AND d.command = 'link-customer' ORDER BY d.id",
        )
        .bind(message)
        .fetch_all(self.conn())
        .await?;
        let mut identities = Vec::new();
        for row in rows {
            let body: String = row.try_get("body")?;
            if let Command::LinkCustomer(link) = serde_json::from_str::<Command>(&body)? {
                identities.extend(link.identities.into_iter().filter(|i| i.kind.is_strong()));
            }
        }
        identities.sort();
        identities.dedup();
        Ok(identities)
    }

    /// The customer (as it lives now) holding a strong identity, if any.
    async fn holder(&mut self, identity: &Identity) -> Result<Option<i64>> {
        let row = query("SELECT customer_id FROM identities WHERE kind = $1 AND value = $2 AND strong = 1")
            .bind(identity.kind.as_str())
            .bind(&identity.value)
            .fetch_optional(self.conn())
            .await?;
        match row {
            Some(row) => Ok(Some(self.root_customer(row.try_get("customer_id")?).await?)),
            None => Ok(None),
        }
    }

    /// Moves to `to` the messages of `from`'s family whose link decisions rest only on strong
    /// identities `to` holds, then the tickets all of whose messages are `to`'s.
    async fn rehome(&mut self, from: i64, to: i64) -> Result<(Vec<String>, Vec<i64>)> {
        let to_root = self.root_customer(to).await?;
        let sql = format!(
            "{CUSTOMER_FAMILY}
             SELECT id, external_id FROM messages WHERE customer_id IN (SELECT id FROM family) ORDER BY at, id"
        );
        let rows = query(&sql).bind(from).fetch_all(self.conn()).await?;
        let mut candidates = Vec::with_capacity(rows.len());
        for row in rows {
            candidates.push((row.try_get::<i64>("id")?, row.try_get::<String>("external_id")?));
        }
        let mut moved = Vec::new();
        for (message, external) in candidates {
            let strong = self.linked_strong_identities(message).await?;
            if strong.is_empty() {
                continue;
            }
            let mut all_theirs = true;
            for identity in &strong {
                if self.holder(identity).await? != Some(to_root) {
                    all_theirs = false;
                    break;
                }
            }
            if all_theirs {
                self.set_message_customer(message, to).await?;
                moved.push(external);
            }
        }
        let sql = format!(
            "{CUSTOMER_FAMILY}
             SELECT number FROM tickets WHERE customer_id IN (SELECT id FROM family) ORDER BY number"
        );
        let numbers: Vec<i64> = query(&sql)
            .bind(from)
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|r| r.try_get("number"))
            .collect::<Result<_, _>>()?;
        let mut tickets = Vec::new();
        for number in numbers {
            let owners = query("SELECT customer_id FROM messages WHERE ticket_number = $1")
                .bind(number)
                .fetch_all(self.conn())
                .await?;
            let mut all_theirs = !owners.is_empty();
            for owner in owners {
                let owner: Option<i64> = owner.try_get("customer_id")?;
                let root = match owner {
                    Some(c) => Some(self.root_customer(c).await?),
                    None => None,
                };
                if root != Some(to_root) {
                    all_theirs = false;
                    break;
                }
            }
            if all_theirs {
                query("UPDATE tickets SET customer_id = $1 WHERE number = $2")
                    .bind(to)
                    .bind(number)
                    .execute(self.conn())
                    .await?;
                tickets.push(number);
            }
        }
        Ok((moved, tickets))
    }
}

/// The logged body and evidence of a split.
fn split_record(split: &Split) -> (Value, Vec<Evidence>) {
    let body = json!({
        "command": "split-customer",
        "kept": split.kept,
        "split": split.split,
        "identities": split.identities,
        "messages": split.messages,
        "tickets": split.tickets,
    });
    let mut evidence = Vec::new();
    match split.undone_merge {
        Some(merge) => evidence.push(Evidence::new(
            "merge",
            format!(
                "undid merge {merge} of customer {} into customer {}",
                split.split, split.kept
            ),
            1.0,
        )),
        None if split.identities.is_empty() => {}
        None => {
            for identity in &split.identities {
                evidence.push(Evidence::new(
                    identity.kind.as_str(),
                    format!(
                        "{} moved from customer {} to new customer {}",
                        identity.value, split.kept, split.split
                    ),
                    1.0,
                ));
            }
        }
    }
    for message in &split.messages {
        evidence.push(Evidence::new(
            "message",
            format!(
                "{message} went to customer {}: its link rests only on identifiers customer {} holds",
                split.split, split.split
            ),
            0.0,
        ));
    }
    for ticket in &split.tickets {
        evidence.push(Evidence::new(
            "ticket",
            format!("#{ticket} went to customer {}: all its messages did", split.split),
            0.0,
        ));
    }
    evidence.push(Evidence::new(
        "kept-apart",
        format!(
            "customers {} and {} are kept apart from now on",
            split.kept, split.split
        ),
        0.0,
    ));
    (body, evidence)
}
