//! The read-only queries steps make, answered inside the event's [`Unit`] so they see what
//! earlier steps of the same event decided. Merged customers and tickets are followed to the
//! one they live in now.

use super::apply::Merged;
use super::{Result, Row, Unit, query, to_i64};
use std::collections::{HashMap, HashSet};
use weft_sdk::{CustomerView, Identity, IdentityKind, Message, MessageSummary, TicketView};

const TICKET_COLUMNS: &str =
    "number, customer_id, status, subject, order_no, category, opened_at, updated_at, merged_into, assignee, priority";

/// An identity from a row with `kind` and `value`; None for a kind this version does not know.
pub(crate) fn identity_from_row(row: &Row) -> Result<Option<Identity>> {
    let Some(kind) = IdentityKind::parse(&row.try_get::<String>("kind")?) else {
        return Ok(None);
    };
    Ok(Some(Identity {
        kind,
        value: row.try_get("value")?,
    }))
}

fn ticket_from_row(row: &Row) -> Result<TicketView> {
    let number: i64 = row.try_get("number")?;
    Ok(TicketView {
        number: number as u64,
        customer: row.try_get::<Option<i64>>("customer_id")?.map(|c| c as u64),
        status: row.try_get("status")?,
        subject: row.try_get("subject")?,
        order: row.try_get("order_no")?,
        category: row.try_get("category")?,
        opened_at: row.try_get("opened_at")?,
        updated_at: row.try_get("updated_at")?,
        merged_into: row.try_get::<Option<i64>>("merged_into")?.map(|n| n as u64),
        assignee: row.try_get("assignee")?,
        priority: row.try_get("priority")?,
    })
}

/// Reads answered again from memory while nothing is written ([`Unit::hold_reads`]).
#[derive(Debug, Default)]
pub(crate) struct Held {
    /// By (customer as asked for, limit).
    tickets: HashMap<(u64, u32), Vec<TicketView>>,
}

/// Customer reads answered again from memory: views by id, the customers an identity finds,
/// which customers live on as themselves ([`Unit::root_customer`]) and each customer's own
/// identity rows (which [`Unit::add_identities`] need not insert again). On SQLite they are kept for the whole unit: the unit holds the database's write
/// lock, so only its own writes change customers, and those keep what is remembered true
/// ([`Unit::forget_identities`], [`Unit::forget_merge`], [`Unit::forget_customers`]; every
/// write to customers, identities and splits goes through `apply.rs` or `manual.rs`, which
/// call them). A unit that commits hands what it remembers to the connection's next unit,
/// which keeps it when `PRAGMA data_version` shows no other connection committed in between
/// (a unit that rolls back hands on nothing). On PostgreSQL, where other nodes commit
/// meanwhile, they are kept only while a step decides ([`Unit::hold_reads`]).
///
/// On the identity benchmark (50,000 messages in groups of 512, the default then), kept for
/// one unit this answered 30% of the customer views and 12% of the lookups by identity from
/// memory. Handed
/// on from unit to unit, the views read from the database fell from 68,500 to 33,400 and the
/// lookups from 101,800 to 61,400: a returning buyer's customer is read once, not once per
/// group, so the reads grow with the traffic and not faster (kept for one unit, 5,000
/// messages needed a fourteenth of the lookups of 50,000, as a group was a tenth of that run
/// and a hundredth of the larger one).
#[derive(Debug, Default)]
pub(crate) struct Remembered {
    views: HashMap<i64, CustomerView>,
    /// The views that name customers kept apart.
    views_apart: HashSet<i64>,
    found: HashMap<Identity, Found>,
    /// For each customer, the identities whose remembered lookup names it (some may have been
    /// forgotten since): what a merge of it forgets, without a walk over every lookup.
    finding: HashMap<i64, Vec<Identity>>,
    /// Customers known to live on as themselves (merged into no other): their identities show
    /// in their own view only.
    roots: HashSet<i64>,
    /// Each customer's own identity rows, blocking keys included (not those of customers merged
    /// into it): what [`Unit::add_identities`] need not insert again.
    recorded: HashMap<i64, HashSet<Identity>>,
}

/// At most this many views (and customers' identity rows), and this many lookups by identity,
/// are remembered; then they are forgotten and read again. About 1 KiB a view and 150 bytes a
/// lookup: some 30 MiB in all when both are full.
const REMEMBERED_VIEWS: usize = 16_384;
const REMEMBERED_FINDS: usize = 131_072;

/// The customers an identity finds, as [`Unit::find_customers`] read them.
#[derive(Debug, Clone)]
enum Found {
    /// None of them merged: each, and whether anything was merged into it or split from it.
    Direct(Vec<(i64, bool)>),
    /// Some merged: the customers they live in now.
    Roots(Vec<i64>),
}

impl Remembered {
    fn clear(&mut self) {
        self.forget_views();
        self.found.clear();
        self.finding.clear();
        self.roots.clear();
        self.recorded.clear();
    }

    fn forget_views(&mut self) {
        self.views.clear();
        self.views_apart.clear();
    }

    fn forget_view(&mut self, customer: i64) {
        self.views.remove(&customer);
        self.views_apart.remove(&customer);
    }
}

impl Found {
    fn names(&self, customer: i64) -> bool {
        match self {
            Found::Direct(found) => found.iter().any(|(id, _)| *id == customer),
            Found::Roots(found) => found.contains(&customer),
        }
    }
}

impl Unit {
    /// Forgets what was remembered of `customer`'s view and of what `identities` find: they
    /// were just recorded for it. `fresh`: the customer was created in this unit (so nothing
    /// was merged into it and it was merged into nothing).
    pub(crate) fn forget_identities(&mut self, customer: i64, identities: &[Identity], fresh: bool) {
        let Some(remembered) = self.remembered.as_mut() else {
            return;
        };
        if fresh {
            remembered
                .recorded
                .insert(customer, identities.iter().cloned().collect());
        } else if let Some(recorded) = remembered.recorded.get_mut(&customer) {
            recorded.extend(identities.iter().cloned());
        }
        for identity in identities {
            remembered.found.remove(identity);
        }
        if fresh || remembered.roots.contains(&customer) {
            remembered.forget_view(customer);
            remembered.roots.insert(customer);
        } else {
            // It may be merged into another, whose view shows them too.
            remembered.forget_views();
        }
    }

    /// Forgets what the merge of the customer `from` into `into` (both living on as themselves
    /// until then) changes: their views, and what finds either of them.
    pub(crate) fn forget_merge(&mut self, into: i64, from: i64) {
        let Some(remembered) = self.remembered.as_mut() else {
            return;
        };
        // Customers kept apart are named by the customers they live in now: a merge can move
        // them.
        if !remembered.views_apart.is_empty() {
            remembered.forget_views();
        }
        remembered.forget_view(into);
        remembered.forget_view(from);
        remembered.roots.remove(&from);
        remembered.roots.insert(into);
        for customer in [into, from] {
            for identity in remembered.finding.remove(&customer).unwrap_or_default() {
                if remembered
                    .found
                    .get(&identity)
                    .is_some_and(|found| found.names(customer))
                {
                    remembered.found.remove(&identity);
                }
            }
        }
    }

    /// Forgets every customer read: customers were merged, unmerged or split, or identities
    /// moved between them.
    pub(crate) fn forget_customers(&mut self) {
        if let Some(remembered) = self.remembered.as_mut() {
            remembered.clear();
        }
    }

    fn remember_view(&mut self, view: &CustomerView) {
        if let Some(remembered) = self.remembered.as_mut() {
            if remembered.views.len() >= REMEMBERED_VIEWS {
                remembered.clear();
            }
            if view.merged_into.is_none() {
                remembered.roots.insert(view.id as i64);
            }
            if !view.kept_apart.is_empty() {
                remembered.views_apart.insert(view.id as i64);
            }
            remembered.views.insert(view.id as i64, view.clone());
        }
    }

    /// Whether `customer` is known to live on as itself (merged into no other).
    pub(crate) fn known_root(&self, customer: i64) -> bool {
        self.remembered
            .as_ref()
            .is_some_and(|remembered| remembered.roots.contains(&customer))
    }

    /// The identity rows of `customer` itself, when remembered.
    pub(crate) fn recorded_identities(&self, customer: i64) -> Option<&HashSet<Identity>> {
        self.remembered.as_ref()?.recorded.get(&customer)
    }

    /// Remembers the identity rows of `customer` itself, as just read; hands them back when
    /// this unit remembers nothing.
    pub(crate) fn remember_recorded(
        &mut self,
        customer: i64,
        identities: HashSet<Identity>,
    ) -> Option<HashSet<Identity>> {
        let Some(remembered) = self.remembered.as_mut() else {
            return Some(identities);
        };
        if remembered.recorded.len() >= REMEMBERED_VIEWS {
            remembered.recorded.clear();
        }
        remembered.recorded.insert(customer, identities);
        None
    }

    fn remember_found(&mut self, identity: &Identity, found: Found) {
        if let Some(remembered) = self.remembered.as_mut() {
            if remembered.found.len() >= REMEMBERED_FINDS {
                remembered.clear();
            }
            let customers: Vec<i64> = match &found {
                Found::Direct(found) => found.iter().map(|(id, _)| *id).collect(),
                Found::Roots(found) => found.clone(),
            };
            for customer in customers {
                let finding = remembered.finding.entry(customer).or_default();
                if !finding.contains(identity) {
                    finding.push(identity.clone());
                }
            }
            remembered.found.insert(identity.clone(), found);
        }
    }
}

impl Unit {
    /// A customer with every identity of it and of the customers merged into it, except
    /// blocking keys ([`weft_sdk::BLOCKING_KEY_PREFIX`]).
    ///
    /// Two indexed reads in the usual case, a customer nothing was merged into and nobody split
    /// from: its row (saying so) and its identities. Otherwise the family is walked and each
    /// member's identities and splits are read with indexed statements too; the customers kept
    /// apart are followed to where they live now only when there are any.
    pub async fn customer_view(&mut self, id: i64) -> Result<Option<CustomerView>> {
        self.view_of(id, None).await
    }

    /// [`Unit::customer_view`], given the customer's `merged_into` and whether anything was
    /// merged into it or split from it when those were read already.
    async fn view_of(&mut self, id: i64, row: Option<(Option<i64>, bool)>) -> Result<Option<CustomerView>> {
        if let Some(view) = self.remembered.as_ref().and_then(|r| r.views.get(&id)) {
            return Ok(Some(view.clone()));
        }
        let view = match row {
            Some((merged_into, related)) => Some(self.assemble_customer_view(id, merged_into, related).await?),
            None => self.read_customer_view(id).await?,
        };
        if let Some(view) = &view {
            self.remember_view(view);
        }
        Ok(view)
    }

    async fn read_customer_view(&mut self, id: i64) -> Result<Option<CustomerView>> {
        let sql = "SELECT merged_into, related FROM customers WHERE id = $1";
        let row = query(sql).bind(id).fetch_optional(self.conn()).await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let merged_into = row.try_get::<Option<i64>>("merged_into")?;
        let related = row.try_get::<i64>("related")? > 0;
        self.assemble_customer_view(id, merged_into, related).await.map(Some)
    }

    /// [`Unit::customer_view`] of a customer whose row was read: `related` says whether any
    /// customer was merged into it or split from it.
    async fn assemble_customer_view(
        &mut self,
        id: i64,
        merged_into: Option<i64>,
        related: bool,
    ) -> Result<CustomerView> {
        let family = if related {
            self.family(Merged::Customers, id).await?
        } else {
            vec![id]
        };
        let mut identities = Vec::new();
        let mut apart = Vec::new();
        for &member in &family {
            // Blocking keys (`blk:...`, weft_sdk::BLOCKING_KEY_PREFIX) are for finding, not
            // shown: about half of a customer's identities.
            let rows =
                query("SELECT kind, value FROM identities WHERE customer_id = $1 AND substr(value, 1, 4) <> 'blk:'")
                    .bind(member)
                    .fetch_all(self.conn())
                    .await?;
            for row in &rows {
                identities.extend(identity_from_row(row)?);
            }
            if related {
                let rows = query(
                    "SELECT split_id AS other FROM customer_splits WHERE kept_id = $1
                     UNION ALL SELECT kept_id FROM customer_splits WHERE split_id = $1",
                )
                .bind(member)
                .fetch_all(self.conn())
                .await?;
                for row in rows {
                    apart.push(row.try_get::<i64>("other")?);
                }
            }
        }
        identities.sort_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
        identities.dedup();
        let kept_apart = if apart.is_empty() {
            Vec::new()
        } else {
            self.roots_apart_from(id, apart).await?
        };
        Ok(CustomerView {
            id: id as u64,
            identities,
            merged_into: merged_into.map(|m| m as u64),
            kept_apart: kept_apart.into_iter().map(|c| c as u64).collect(),
        })
    }

    /// A customer or ticket and every one merged into it, directly or not: the root first, then
    /// level by level. Merges are few, so one indexed read per member beats a recursive query
    /// and its temporary tables.
    pub(super) async fn family(&mut self, merged: Merged, root: i64) -> Result<Vec<i64>> {
        let sql = match merged {
            Merged::Customers => "SELECT id AS member FROM customers WHERE merged_into = $1",
            Merged::Tickets => "SELECT number AS member FROM tickets WHERE merged_into = $1",
        };
        let mut family = vec![root];
        let mut seen: std::collections::HashSet<i64> = family.iter().copied().collect();
        let mut next = 0;
        while let Some(&parent) = family.get(next) {
            next += 1;
            let rows = query(sql).bind(parent).fetch_all(self.conn()).await?;
            for row in rows {
                let member: i64 = row.try_get("member")?;
                if seen.insert(member) {
                    family.push(member);
                }
            }
        }
        Ok(family)
    }

    /// The customers split by hand from `id` or from a customer merged into it, as the
    /// customers they live in now, in ascending order (empty for an unknown customer).
    pub async fn kept_apart(&mut self, id: i64) -> Result<Vec<i64>> {
        Ok(self
            .customer_view(id)
            .await?
            .map(|view| view.kept_apart.into_iter().map(|c| c as i64).collect())
            .unwrap_or_default())
    }

    /// `others` (customers split from `id`'s family) as the customers they live in now, without
    /// `id`'s own and without repeats, in ascending order.
    async fn roots_apart_from(&mut self, id: i64, others: Vec<i64>) -> Result<Vec<i64>> {
        if others.is_empty() {
            return Ok(others);
        }
        let own_root = self.root_customer(id).await?;
        let mut apart = Vec::new();
        for other in others {
            let other = self.root_customer(other).await?;
            if other != own_root && !apart.contains(&other) {
                apart.push(other);
            }
        }
        apart.sort_unstable();
        Ok(apart)
    }

    /// Customers known by exactly this identifier, as the customers they live in now (in the
    /// order of the lowest customer that leads to each). When none of those found was merged
    /// (the usual case) one indexed read answers; otherwise the merge chains are followed in
    /// one recursive statement.
    ///
    /// The lookup also says of each customer whether anything was merged into it or split from
    /// it, so that the view of a customer found directly needs no second read of its row.
    pub async fn find_customers(&mut self, identity: &Identity) -> Result<Vec<CustomerView>> {
        let remembered = self.remembered.as_ref().and_then(|r| r.found.get(identity)).cloned();
        let found = match remembered {
            Some(found) => found,
            None => {
                let found = self.read_found(identity).await?;
                self.remember_found(identity, found.clone());
                found
            }
        };
        let mut views = Vec::new();
        match found {
            Found::Direct(customers) => {
                for (id, related) in customers {
                    views.extend(self.view_of(id, Some((None, related))).await?);
                }
            }
            Found::Roots(roots) => {
                for root in roots {
                    views.extend(self.customer_view(root).await?);
                }
            }
        }
        Ok(views)
    }

    async fn read_found(&mut self, identity: &Identity) -> Result<Found> {
        // `strong` is written out, not bound: it names the unique index of the identity's rule
        // (migration 0009), which SQLite uses only when the statement's text implies its
        // condition.
        macro_rules! found {
            ($strong:literal) => {
                concat!(
                    "SELECT i.customer_id AS id, c.merged_into AS next, c.related
                     FROM identities i JOIN customers c ON c.id = i.customer_id
                     WHERE i.kind = $1 AND i.value = $2 AND i.strong = ",
                    $strong,
                    " ORDER BY i.customer_id"
                )
            };
        }
        let sql = if identity.kind.is_exclusive() {
            found!("1")
        } else {
            found!("0")
        };
        let direct = query(sql)
            .bind(identity.kind.as_str())
            .bind(&identity.value)
            .fetch_all(self.conn())
            .await?;
        let mut customers = Vec::with_capacity(direct.len());
        let mut any_merged = false;
        for row in &direct {
            any_merged |= row.try_get::<Option<i64>>("next")?.is_some();
            customers.push((row.try_get::<i64>("id")?, row.try_get::<i64>("related")? > 0));
        }
        if any_merged {
            return Ok(Found::Roots(self.find_customer_roots(identity).await?));
        }
        Ok(Found::Direct(customers))
    }

    /// [`Unit::find_customers`] when some customer found was merged: the roots, each once, in
    /// the order of the lowest customer that leads to it.
    async fn find_customer_roots(&mut self, identity: &Identity) -> Result<Vec<i64>> {
        macro_rules! roots {
            ($strong:literal) => {
                concat!(
                    "WITH RECURSIVE chain(start, id, next, depth) AS (
                         SELECT c.id, c.id, c.merged_into, 0 FROM customers c
                         WHERE c.id IN (SELECT customer_id FROM identities
                                        WHERE kind = $1 AND value = $2 AND strong = ",
                    $strong,
                    ")
                         UNION ALL
                         SELECT chain.start, c.id, c.merged_into, chain.depth + 1 FROM customers c JOIN chain ON c.id = chain.next
                         WHERE chain.depth < $3)
                     SELECT id, next, MIN(start) AS first FROM chain WHERE next IS NULL OR depth = $3
                     GROUP BY id, next ORDER BY first"
                )
            };
        }
        let rows = query(if identity.kind.is_exclusive() {
            roots!("1")
        } else {
            roots!("0")
        })
        .bind(identity.kind.as_str())
        .bind(&identity.value)
        .bind(i64::from(super::apply::MAX_MERGE_HOPS))
        .fetch_all(self.conn())
        .await?;
        let mut roots = Vec::with_capacity(rows.len());
        for row in rows {
            let root: i64 = row.try_get("id")?;
            if row.try_get::<Option<i64>>("next")?.is_some() {
                return Err(super::StoreError::Invalid(format!(
                    "customer {root}: merge chain too long or cyclic"
                )));
            }
            roots.push(root);
        }
        Ok(roots)
    }

    pub async fn ticket_view(&mut self, number: i64) -> Result<Option<TicketView>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE number = $1");
        let row = query(&sql).bind(number).fetch_optional(self.conn()).await?;
        row.as_ref().map(ticket_from_row).transpose()
    }

    /// A customer's (and its merged customers') unmerged tickets, newest activity first.
    ///
    /// `+merged_into`: the unary plus keeps SQLite from answering `merged_into IS NULL` with
    /// an index on `merged_into`. Before migration 11 `tickets_merged_into` held nearly every
    /// ticket under NULL, and SQLite walked all unmerged tickets for every lookup (1 ms at 4k
    /// customers, growing with the store) instead of this customer's few through
    /// `tickets_customer` (30 µs); it now holds merged tickets only, and the plus keeps the
    /// plan from depending on that.
    pub async fn customer_tickets(&mut self, customer: u64, limit: u32) -> Result<Vec<TicketView>> {
        if let Some(tickets) = self.held.as_ref().and_then(|held| held.tickets.get(&(customer, limit))) {
            return Ok(tickets.clone());
        }
        let tickets = self.read_customer_tickets(customer, limit).await?;
        if let Some(held) = self.held.as_mut() {
            held.tickets.insert((customer, limit), tickets.clone());
        }
        Ok(tickets)
    }

    async fn read_customer_tickets(&mut self, customer: u64, limit: u32) -> Result<Vec<TicketView>> {
        let root = self.root_customer(to_i64(customer)?).await?;
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE customer_id = $1 AND +merged_into IS NULL
             ORDER BY updated_at DESC, number DESC LIMIT $2"
        );
        let mut tickets = Vec::new();
        for member in self.family(Merged::Customers, root).await? {
            let rows = query(&sql)
                .bind(member)
                .bind(i64::from(limit))
                .fetch_all(self.conn())
                .await?;
            for row in &rows {
                tickets.push(ticket_from_row(row)?);
            }
        }
        tickets.sort_by_key(|t| std::cmp::Reverse((t.updated_at, t.number)));
        tickets.truncate(limit as usize);
        Ok(tickets)
    }

    /// Tickets about an order, as the tickets they live in now, newest activity first.
    ///
    /// One read answers the usual case, where none of them was merged: each row is its own
    /// view. A merged one is followed to the ticket it lives in now, which is read then.
    pub async fn order_tickets(&mut self, order: &str) -> Result<Vec<TicketView>> {
        let sql =
            format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE order_no = $1 ORDER BY updated_at DESC, number DESC");
        let rows = query(&sql).bind(order).fetch_all(self.conn()).await?;
        let mut found: Vec<TicketView> = Vec::with_capacity(rows.len());
        for row in &rows {
            let ticket = ticket_from_row(row)?;
            let root = match ticket.merged_into {
                None => to_i64(ticket.number)?,
                Some(_) => self.root_ticket(to_i64(ticket.number)?).await?,
            };
            if found.iter().any(|t| t.number as i64 == root) {
                continue;
            }
            match ticket.merged_into {
                None => found.push(ticket),
                Some(_) => found.extend(self.ticket_view(root).await?),
            }
        }
        Ok(found)
    }

    /// The ticket (as it lives now) of the message with this channel id or Message-ID.
    pub async fn message_ticket(&mut self, external_id: &str) -> Result<Option<u64>> {
        let row = query(
            "SELECT ticket_number FROM messages WHERE external_id = $1 AND ticket_number IS NOT NULL ORDER BY id LIMIT 1",
        )
        .bind(external_id)
        .fetch_optional(self.conn())
        .await?;
        // Else a reply weft delivered under that id (the Message-ID the email channel gave it).
        let row = match row {
            Some(row) => Some(row),
            None => {
                query(
                    "SELECT ticket_number FROM outbox WHERE external_id = $1 AND ticket_number IS NOT NULL
                     AND state = 'delivered' ORDER BY id LIMIT 1",
                )
                .bind(external_id)
                .fetch_optional(self.conn())
                .await?
            }
        };
        match row {
            Some(row) => Ok(Some(self.root_ticket(row.try_get("ticket_number")?).await? as u64)),
            None => Ok(None),
        }
    }

    /// The most recent messages of a ticket and of the tickets merged into it, newest first,
    /// summarized with the SDK's fingerprint functions (worked out when each message was
    /// stored; from its JSON for messages stored before that was done).
    ///
    /// The columns read are all in the `messages_ticket` index (migration 10), so the read
    /// stays in the index; only a message stored before the summary columns existed has its
    /// JSON read from its row.
    pub async fn ticket_messages(&mut self, ticket: u64, limit: u32) -> Result<Vec<MessageSummary>> {
        let mut found = Vec::new();
        for member in self.family(Merged::Tickets, to_i64(ticket)?).await? {
            let rows = query(
                "SELECT id, external_id, at, sender_key, subject, body_fingerprint, duplicate_of
                 FROM messages WHERE ticket_number = $1 ORDER BY at DESC, id DESC LIMIT $2",
            )
            .bind(member)
            .bind(i64::from(limit))
            .fetch_all(self.conn())
            .await?;
            for row in rows {
                let id: i64 = row.try_get("id")?;
                let summary = match row.try_get::<Option<i64>>("body_fingerprint")? {
                    Some(fingerprint) => MessageSummary {
                        id: row.try_get("external_id")?,
                        at: row.try_get("at")?,
                        sender_key: row.try_get("sender_key")?,
                        subject: row.try_get("subject")?,
                        body_fingerprint: fingerprint as u64,
                        duplicate_of: None,
                    },
                    None => {
                        let data: String = query("SELECT data FROM messages WHERE id = $1")
                            .bind(id)
                            .fetch_one(self.conn())
                            .await?
                            .try_get("data")?;
                        MessageSummary::of(&serde_json::from_str::<Message>(&data)?)
                    }
                };
                found.push((
                    (summary.at, id),
                    MessageSummary {
                        duplicate_of: row.try_get("duplicate_of")?,
                        ..summary
                    },
                ));
            }
        }
        found.sort_by_key(|(order, _)| std::cmp::Reverse(*order));
        found.truncate(limit as usize);
        Ok(found.into_iter().map(|(_, summary)| summary).collect())
    }

    /// The ticket (as it lives now) of a channel conversation.
    pub async fn thread_ticket(&mut self, channel: &str, thread: &str) -> Result<Option<u64>> {
        let row = query("SELECT ticket_number FROM ticket_threads WHERE channel = $1 AND thread = $2")
            .bind(channel)
            .bind(thread)
            .fetch_optional(self.conn())
            .await?;
        match row {
            Some(row) => Ok(Some(self.root_ticket(row.try_get("ticket_number")?).await? as u64)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::Party;

    /// Summaries come from the columns filled when a message is stored, and from its JSON for
    /// messages stored before those columns existed; both read the same.
    #[tokio::test]
    async fn message_summaries_from_columns_and_from_older_rows() {
        let store = crate::store::Store::open("sqlite::memory:").await.unwrap();
        let mut unit = store.unit().await.unwrap();
        let mut first = Message::new("email", "<a@example.de>", 1_000);
        first.subject = Some("Wo bleibt meine Bestellung?".into());
        first.body = "Hallo,\nmein Paket ist noch nicht da.\n> zitiert".into();
        first.from = Party {
            email: Some("Jürgen@Example.DE".into()),
            ..Party::default()
        };
        let mut second = Message::new("line", "U77-2", 2_000);
        second.body = "荷物がまだ届きません。".into();
        unit.enqueue_messages(0, &[first.clone(), second.clone()])
            .await
            .unwrap();
        let ticket = unit.open_ticket(None, None, None, 1_000).await.unwrap();
        for (row, message) in [(1, &first), (2, &second)] {
            unit.append_message(ticket, row, None, message.at).await.unwrap();
        }
        let expected = vec![MessageSummary::of(&second), MessageSummary::of(&first)];
        assert!(expected[1].sender_key.is_some());
        let summaries = unit.ticket_messages(ticket as u64, 10).await.unwrap();
        assert_eq!(summaries, expected);

        query("UPDATE messages SET sender_key = NULL, subject = NULL, body_fingerprint = NULL")
            .execute(unit.conn())
            .await
            .unwrap();
        let summaries = unit.ticket_messages(ticket as u64, 10).await.unwrap();
        assert_eq!(summaries, expected);
    }

    /// Blocking keys find a customer, but its view leaves them out; other identities, whatever
    /// their script, are all there.
    #[tokio::test]
    async fn views_leave_blocking_keys_out() {
        assert_eq!(
            weft_sdk::BLOCKING_KEY_PREFIX,
            "blk:",
            "the view's statement spells the prefix out"
        );
        let store = crate::store::Store::open("sqlite::memory:").await.unwrap();
        let mut unit = store.unit().await.unwrap();
        let customer = unit.create_customer(0).await.unwrap();
        let blocking = Identity::new(IdentityKind::Name, "blk:Y530|JP-100-0001");
        let kept = vec![
            Identity::new(IdentityKind::Email, "yamada@example.jp"),
            Identity::new(IdentityKind::Name, "山田 太郎"),
            Identity::new(IdentityKind::Name, "blkowski anna"),
        ];
        let mut all = kept.clone();
        all.push(blocking.clone());
        unit.add_identities(customer, &all, None, 1.0, true).await.unwrap();
        let found = unit.find_customers(&blocking).await.unwrap();
        assert_eq!(found.len(), 1);
        let mut expected = kept;
        expected.sort_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
        assert_eq!(found[0].identities, expected);
        assert_eq!(unit.customer_view(customer).await.unwrap().unwrap(), found[0]);
    }

    /// A ticket's messages include those of the tickets merged into it (and into those), newest
    /// first, at most `limit`; a customer's tickets include its merged customers' tickets.
    #[tokio::test]
    async fn merged_families_are_read_whole() {
        let store = crate::store::Store::open("sqlite::memory:").await.unwrap();
        let mut unit = store.unit().await.unwrap();
        let messages: Vec<Message> = ["Où est mon colis ?", "¿Dónde está mi pedido?", "我的包裹在哪里？"]
            .iter()
            .enumerate()
            .map(|(n, body)| {
                let mut m = Message::new("chat", format!("m{n}"), 1_000 * (n as i64 + 1));
                m.body = (*body).into();
                m
            })
            .collect();
        unit.enqueue_messages(0, &messages).await.unwrap();
        let customers = [
            unit.create_customer(0).await.unwrap(),
            unit.create_customer(0).await.unwrap(),
        ];
        let mut tickets = Vec::new();
        for (row, message) in messages.iter().enumerate() {
            let customer = customers[row.min(1)];
            let ticket = unit.open_ticket(Some(customer), None, None, message.at).await.unwrap();
            unit.append_message(ticket, row as i64 + 1, None, message.at)
                .await
                .unwrap();
            tickets.push(ticket as u64);
        }
        // 3 into 2, then 2 into 1: ticket 1 holds all three messages.
        unit.merge_tickets(tickets[1], &[tickets[2]], None, "test")
            .await
            .unwrap();
        unit.merge_tickets(tickets[0], &[tickets[1]], None, "test")
            .await
            .unwrap();
        let ids = |summaries: Vec<MessageSummary>| summaries.into_iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(
            ids(unit.ticket_messages(tickets[0], 10).await.unwrap()),
            ["m2", "m1", "m0"]
        );
        assert_eq!(ids(unit.ticket_messages(tickets[0], 2).await.unwrap()), ["m2", "m1"]);
        assert_eq!(ids(unit.ticket_messages(tickets[2], 10).await.unwrap()), ["m2"]);

        unit.merge_customers(customers[0] as u64, &[customers[1] as u64], None, "test")
            .await
            .unwrap();
        let open: Vec<u64> = unit
            .customer_tickets(customers[1] as u64, 20)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.number)
            .collect();
        assert_eq!(open, [tickets[0]], "merged tickets are left out, the root is found");
    }

    /// On SQLite a unit remembers customer reads until it ends; each write through it must
    /// leave what is remembered as the database says. After every step of a sequence of
    /// writes, what the unit answers is compared with what it answers once it has forgotten
    /// everything.
    #[tokio::test]
    async fn remembered_reads_follow_the_units_writes() {
        let store = crate::store::Store::open("sqlite::memory:").await.unwrap();
        let mut unit = store.unit().await.unwrap();
        let email = |v: &str| Identity::new(IdentityKind::Email, v);
        let name = |v: &str| Identity::new(IdentityKind::Name, v);
        let probes = [
            email("jürgen@example.de"),
            email("yamada@example.jp"),
            email("zhang.wei@example.cn"),
            name("山田 太郎"),
            name("müller jürgen"),
            Identity::new(IdentityKind::Name, "blk:M460|DE-10115"),
            Identity::new(IdentityKind::Phone, "+33612345678"),
            Identity::new(IdentityKind::Handle, "instagram:jürgen.m"),
        ];
        let customers: Vec<i64> = {
            let mut ids = Vec::new();
            for _ in 0..3 {
                ids.push(unit.create_customer(0).await.unwrap());
            }
            ids
        };
        async fn answers(unit: &mut Unit, probes: &[Identity], customers: &[i64]) -> Vec<String> {
            let mut out = Vec::new();
            for probe in probes {
                out.push(format!("{probe}: {:?}", unit.find_customers(probe).await.unwrap()));
            }
            for &id in customers {
                out.push(format!("{id}: {:?}", unit.customer_view(id).await.unwrap()));
                out.push(format!("{id} lives on as {}", unit.root_customer(id).await.unwrap()));
            }
            out
        }
        async fn check(unit: &mut Unit, probes: &[Identity], customers: &[i64], after: &str) {
            // The identity rows remembered for each customer are the rows it has.
            for &id in customers {
                let Some(recorded) = unit.recorded_identities(id).cloned() else {
                    continue;
                };
                let stored = unit.identity_rows(id).await.unwrap();
                assert_eq!(recorded, stored, "identity rows of customer {id} after {after}");
            }
            let remembered = answers(unit, probes, customers).await;
            unit.forget_customers();
            let read = answers(unit, probes, customers).await;
            assert_eq!(remembered, read, "after {after}");
        }
        let [a, b, c] = [customers[0], customers[1], customers[2]];
        // Read everything first, so that every answer is remembered before each write.
        check(&mut unit, &probes, &customers, "nothing").await;
        let steps: Vec<(&str, Vec<Identity>, i64)> = vec![
            (
                "a new customer's identities",
                vec![email("jürgen@example.de"), name("müller jürgen")],
                a,
            ),
            (
                "a Japanese customer's identities",
                vec![email("yamada@example.jp"), name("山田 太郎")],
                b,
            ),
            (
                "a blocking key",
                vec![Identity::new(IdentityKind::Name, "blk:M460|DE-10115")],
                a,
            ),
            ("a Chinese buyer's email", vec![email("zhang.wei@example.cn")], c),
            (
                "known identities and a new one",
                vec![
                    email("jürgen@example.de"),
                    name("müller jürgen"),
                    Identity::new(IdentityKind::Handle, "instagram:jürgen.m"),
                ],
                a,
            ),
        ];
        for (what, identities, customer) in steps {
            answers(&mut unit, &probes, &customers).await;
            unit.add_identities(customer, &identities, None, 1.0, false)
                .await
                .unwrap();
            check(&mut unit, &probes, &customers, what).await;
        }
        unit.merge_customers(a as u64, &[c as u64], None, "test").await.unwrap();
        check(&mut unit, &probes, &customers, "a merge").await;
        // An identity recorded for the merged customer shows in the view of the one it joined.
        unit.add_identities(
            c,
            &[Identity::new(IdentityKind::Phone, "+33612345678")],
            None,
            1.0,
            false,
        )
        .await
        .unwrap();
        check(&mut unit, &probes, &customers, "an identity of a merged customer").await;
        unit.savepoint().await.unwrap();
        answers(&mut unit, &probes, &customers).await;
        unit.unmerge_customer(c).await.unwrap();
        check(&mut unit, &probes, &customers, "an unmerge").await;
        unit.rollback_to_savepoint().await.unwrap();
        check(&mut unit, &probes, &customers, "a rollback to a savepoint").await;
        unit.split_customer(a as u64, &[name("müller jürgen")], "test")
            .await
            .unwrap();
        let split = unit.find_customers(&name("müller jürgen")).await.unwrap();
        assert_eq!(split.len(), 1);
        assert_ne!(split[0].id as i64, a, "the name went with the customer split off");
        let mut all = customers.clone();
        all.push(split[0].id as i64);
        check(&mut unit, &probes, &all, "a split").await;
        // The customer split off joins another: the view of the one it was split from names
        // the customer it lives in now.
        let d = unit.create_customer(0).await.unwrap();
        unit.add_identities(d, &[email("li.na@example.cn")], None, 1.0, true)
            .await
            .unwrap();
        all.push(d);
        answers(&mut unit, &probes, &all).await;
        unit.merge_customers(d as u64, &[split[0].id], None, "test")
            .await
            .unwrap();
        assert_eq!(unit.customer_view(a).await.unwrap().unwrap().kept_apart, [d as u64]);
        check(&mut unit, &probes, &all, "a merge of a customer split off").await;
    }

    /// What a committed unit remembered is handed to the connection's next unit; a rollback
    /// hands on nothing, and another connection's commit makes the next unit read again. A
    /// write through the connection that bypasses the unit's forgetting shows what is handed
    /// on: the next unit still answers from memory, without it.
    #[tokio::test]
    async fn remembered_reads_pass_to_the_next_unit_until_another_connection_commits() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("weft.db").display());
        let store = crate::store::Store::open(&url).await.unwrap();
        let email = Identity::new(IdentityKind::Email, "jürgen.müller@example.de");
        let name = Identity::new(IdentityKind::Name, "山田 太郎");
        let phone = Identity::new(IdentityKind::Phone, "+34612345678");
        let mut unit = store.unit().await.unwrap();
        let a = unit.create_customer(0).await.unwrap();
        unit.add_identities(a, std::slice::from_ref(&email), None, 1.0, true)
            .await
            .unwrap();
        assert_eq!(unit.find_customers(&email).await.unwrap().len(), 1);
        unit.commit().await.unwrap();
        let raw_insert = |identity: Identity| {
            query("INSERT INTO identities (customer_id, kind, value, strong, score, created_at) VALUES ($1, $2, $3, 0, 1.0, 0)")
                .bind(a)
                .bind(identity.kind.as_str().to_owned())
                .bind(identity.value)
        };
        raw_insert(name.clone())
            .execute(&mut store.conn().await.unwrap())
            .await
            .unwrap();
        let identities = |view: Option<CustomerView>| view.unwrap().identities;

        let mut unit = store.unit().await.unwrap();
        assert_eq!(
            identities(unit.customer_view(a).await.unwrap()),
            std::slice::from_ref(&email),
            "the view remembered by the last unit"
        );
        unit.rollback().await.unwrap();

        let mut unit = store.unit().await.unwrap();
        assert_eq!(
            identities(unit.customer_view(a).await.unwrap()),
            [email.clone(), name.clone()],
            "read again after a rollback"
        );
        unit.commit().await.unwrap();

        let other = crate::store::Store::open(&url).await.unwrap();
        raw_insert(phone.clone())
            .execute(&mut other.conn().await.unwrap())
            .await
            .unwrap();
        let mut unit = store.unit().await.unwrap();
        assert_eq!(
            identities(unit.customer_view(a).await.unwrap()),
            [email, name, phone],
            "read again after another connection's commit"
        );
        unit.commit().await.unwrap();
    }
}
