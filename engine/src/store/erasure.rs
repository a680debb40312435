//! Erasure of personal data, when a marketplace asks weft to forget a buyer (Shopify's
//! `customers/redact`, eBay's marketplace account deletion) or everything from a shop
//! (Shopify's `shop/redact`).
//!
//! A channel asks with a fact ([`CUSTOMER_ERASE`], [`CHANNEL_ERASE`]; payloads in
//! [`ErasureRequest`]). The store erases in the transaction that keeps the channel's parse of
//! the request, so the request is never acknowledged as parsed without the erasure done:
//! - the customers known by one of the identities (or whose orders at the channel name one of
//!   them as the buyer), with the customers merged into them or they into;
//! - their identities (deleted), their messages' sender, address, subject, text and quoted
//!   history, their tickets' subjects, the replies and drafts written to them, the decisions
//!   about them (reason and evidence), the orders' buyer and shipping address;
//! - the raw webhook bodies and headers kept of all of this, and of the request itself, and the
//!   payloads of the events queued for those orders and facts.
//!
//! Tickets, messages and orders stay, with their numbers, times, statuses, order links and
//! shipment timelines: the history of the work remains, without whom it was about. Each
//! erasure is recorded with what it erased, counted per kind ([`Erasure`]), and each ticket
//! it touched gets a `personal_data_erased` change; the identities asked for are not recorded.

use super::orders::order_key;
use super::{Result, Store, Unit, now_ms, query};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use weft_sdk::{Identity, IdentityKind, Message, Order, Party};

/// The fact kind by which a channel asks to erase a buyer's personal data.
pub const CUSTOMER_ERASE: &str = "customer.erase";
/// The fact kind by which a channel asks to erase everything weft holds from a shop.
pub const CHANNEL_ERASE: &str = "channel.erase";
/// The fact kind of a buyer's request to see what is held about them.
pub const DATA_REQUEST: &str = "customer.data_request";
/// The event queued once an erasure is done: its payload is the [`Erasure`].
pub const ERASED: &str = "customer.erased";

/// What stands in for erased text that must stay text.
const ERASED_TEXT: &str = "[erased]";

/// A channel's request to erase, as the payload of its [`CUSTOMER_ERASE`] or [`CHANNEL_ERASE`]
/// fact:
///
/// ```json
/// {"channel": "shopify", "identities": [{"kind": "email", "value": "anna@example.de"}],
///  "reason": "shopify customers/redact from laden.myshopify.com", "request": "b54557e4"}
/// ```
///
/// For [`CHANNEL_ERASE`], `identities` is empty and `hook` names the mount whose raw traffic
/// goes too.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErasureRequest {
    /// The order channel (`shopify`, `ebay`): its orders are searched for the buyer.
    pub channel: String,
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// Why: a person reads it in the erasure's record.
    pub reason: String,
    /// The vendor's id of the request, to answer the marketplace with.
    #[serde(default)]
    pub request: Option<String>,
    /// For a shop's erasure: the mount whose raw webhooks are erased.
    #[serde(default)]
    pub hook: Option<String>,
}

/// A recorded erasure: what asked, and what was erased.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Erasure {
    pub id: i64,
    /// `customer` or `channel`.
    pub scope: String,
    pub channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    pub reason: String,
    /// How many of each kind of record lost their personal data: `customers`, `identities`,
    /// `messages`, `tickets`, `orders`, `replies`, `drafts`, `decisions`, `events`,
    /// `raw_webhooks`.
    pub counts: BTreeMap<String, i64>,
    pub customers: Vec<i64>,
    pub tickets: Vec<i64>,
    pub at: i64,
}

/// What weft holds about a buyer, for a [`DATA_REQUEST`]: the customers, tickets and orders,
/// and how many messages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    pub customers: Vec<i64>,
    pub tickets: Vec<i64>,
    pub orders: Vec<String>,
    pub messages: i64,
}

/// The forms an identity's value may be kept in: as given, trimmed, in lower case, and for a
/// phone number its digits with a leading `+`.
fn forms(identity: &Identity) -> BTreeSet<String> {
    let value = identity.value.trim();
    let mut forms: BTreeSet<String> = [value.to_owned(), value.to_lowercase()].into();
    if identity.kind == IdentityKind::Phone {
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        forms.insert(format!("+{digits}"));
        forms.insert(digits);
    }
    forms.retain(|form| !form.is_empty() && form != "+");
    forms
}

/// Whether an order's buyer is one of these identities.
fn buyer_matches(buyer: &Party, identities: &[Identity]) -> bool {
    identities.iter().any(|identity| {
        let field = match identity.kind {
            IdentityKind::Email => &buyer.email,
            IdentityKind::Phone => &buyer.phone,
            IdentityKind::BuyerId => &buyer.buyer_id,
            IdentityKind::Handle => &buyer.handle,
            IdentityKind::Name => &buyer.name,
            _ => return false,
        };
        let Some(field) = field else { return false };
        let wanted = forms(identity);
        forms(&Identity::new(identity.kind, field.as_str()))
            .iter()
            .any(|form| wanted.contains(form))
    })
}

/// Text as a `LIKE` pattern that finds it anywhere (its `%`, `_` and `\` escaped).
fn like(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The order with its buyer and shipping address gone.
fn erase_order(order: &mut Order) {
    order.buyer = Party::default();
    order.shipping = None;
}

impl Unit {
    /// The customers known by one of `identities`, or linked to an order at `channel` whose
    /// buyer is one of them, with every customer merged into them or they into.
    async fn customers_of(&mut self, channel: &str, identities: &[Identity]) -> Result<BTreeSet<i64>> {
        let mut found = BTreeSet::new();
        for identity in identities {
            for form in forms(identity) {
                let rows = query("SELECT customer_id FROM identities WHERE kind = $1 AND value = $2")
                    .bind(identity.kind.as_str())
                    .bind(&form)
                    .fetch_all(self.conn())
                    .await?;
                for row in rows {
                    found.insert(row.try_get::<i64>("customer_id")?);
                }
            }
        }
        for (_, customer, order) in self.channel_orders(channel).await? {
            if let Some(customer) = customer
                && buyer_matches(&order.buyer, identities)
            {
                found.insert(customer);
            }
        }
        // Merges both ways, until nothing more is found.
        let mut frontier: Vec<i64> = found.iter().copied().collect();
        while let Some(customer) = frontier.pop() {
            let rows = query("SELECT id FROM customers WHERE merged_into = $1 OR id = (SELECT merged_into FROM customers WHERE id = $1)")
                .bind(customer)
                .fetch_all(self.conn())
                .await?;
            for row in rows {
                let other: i64 = row.try_get("id")?;
                if found.insert(other) {
                    frontier.push(other);
                }
            }
        }
        Ok(found)
    }

    /// Every order kept for `channel`: its row id, its customer, the order.
    async fn channel_orders(&mut self, channel: &str) -> Result<Vec<(i64, Option<i64>, Order)>> {
        let (channel, _) = order_key(channel, "x");
        let rows = query("SELECT id, customer_id, data FROM orders WHERE channel = $1")
            .bind(&channel)
            .fetch_all(self.conn())
            .await?;
        let mut orders = Vec::with_capacity(rows.len());
        for row in rows {
            let data: String = row.try_get("data")?;
            orders.push((
                row.try_get("id")?,
                row.try_get("customer_id")?,
                serde_json::from_str(&data)?,
            ));
        }
        Ok(orders)
    }

    /// The tickets of these customers.
    async fn tickets_of(&mut self, customers: &BTreeSet<i64>) -> Result<BTreeSet<i64>> {
        let mut tickets = BTreeSet::new();
        for &customer in customers {
            for row in query("SELECT number FROM tickets WHERE customer_id = $1")
                .bind(customer)
                .fetch_all(self.conn())
                .await?
            {
                tickets.insert(row.try_get::<i64>("number")?);
            }
        }
        Ok(tickets)
    }

    /// What weft holds about the buyer these identities name, for a data request.
    pub async fn held_about(&mut self, channel: &str, identities: &[Identity]) -> Result<Held> {
        let customers = self.customers_of(channel, identities).await?;
        let tickets = self.tickets_of(&customers).await?;
        let mut messages = 0;
        for &customer in &customers {
            messages += query("SELECT COUNT(*) AS n FROM messages WHERE customer_id = $1")
                .bind(customer)
                .fetch_one(self.conn())
                .await?
                .try_get::<i64>("n")?;
        }
        let orders = self
            .channel_orders(channel)
            .await?
            .into_iter()
            .filter(|(_, customer, order)| {
                customer.is_some_and(|c| customers.contains(&c)) || buyer_matches(&order.buyer, identities)
            })
            .map(|(_, _, order)| order.number)
            .collect();
        Ok(Held {
            customers: customers.into_iter().collect(),
            tickets: tickets.into_iter().collect(),
            orders,
            messages,
        })
    }

    /// Erases what `request` asks (`scope` `customer` or `channel`; see the [module
    /// docs](self)), raw traffic `inbound_id` (the request itself) included, and records the
    /// erasure. Runs in this unit: committed with it, or not at all.
    pub async fn erase(&mut self, scope: &str, request: &ErasureRequest, inbound_id: Option<i64>) -> Result<Erasure> {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        let mut count = |kind: &str, n: u64| *counts.entry(kind.to_owned()).or_default() += n as i64;
        let customers = match scope {
            "customer" => self.customers_of(&request.channel, &request.identities).await?,
            _ => BTreeSet::new(),
        };
        let tickets = self.tickets_of(&customers).await?;
        // Values to look for in raw traffic and event payloads: every form of every identity
        // asked for and held by these customers (a phone written another way, an email).
        let mut values: BTreeSet<String> = request.identities.iter().flat_map(forms).collect();
        for &customer in &customers {
            for row in query("SELECT kind, value FROM identities WHERE customer_id = $1")
                .bind(customer)
                .fetch_all(self.conn())
                .await?
            {
                let value: String = row.try_get("value")?;
                let kind: String = row.try_get("kind")?;
                // Blocking keys and short values (a bare name part) would match too much.
                if !value.starts_with(weft_sdk::BLOCKING_KEY_PREFIX) && value.chars().count() >= 5 && kind != "name" {
                    values.insert(value);
                }
            }
        }
        let mut raw: BTreeSet<i64> = inbound_id.into_iter().collect();

        count("customers", customers.len() as u64);
        for &customer in &customers {
            let done = query("DELETE FROM identities WHERE customer_id = $1")
                .bind(customer)
                .execute(self.conn())
                .await?;
            count("identities", done.rows_affected());
            let rows = query("SELECT id, inbound_id, data FROM messages WHERE customer_id = $1")
                .bind(customer)
                .fetch_all(self.conn())
                .await?;
            for row in rows {
                let id: i64 = row.try_get("id")?;
                if let Some(inbound) = row.try_get::<Option<i64>>("inbound_id")? {
                    raw.insert(inbound);
                }
                let data: String = row.try_get("data")?;
                let mut message: Message = serde_json::from_str(&data)?;
                message.from = Party::default();
                message.address = None;
                message.subject = None;
                message.body = ERASED_TEXT.to_owned();
                message.quoted = None;
                for attachment in &mut message.attachments {
                    attachment.filename = None;
                }
                query("UPDATE messages SET data = $1, subject = NULL, sender_key = NULL WHERE id = $2")
                    .bind(serde_json::to_string(&message)?)
                    .bind(id)
                    .execute(self.conn())
                    .await?;
                count("messages", 1);
            }
            let done = query(
                "UPDATE decisions SET command = 'erased', body = '{\"command\":\"erased\"}', evidence = '[]', reason = $1 WHERE customer_id = $2",
            )
            .bind(ERASED_TEXT)
            .bind(customer)
            .execute(self.conn())
            .await?;
            count("decisions", done.rows_affected());
        }
        for &ticket in &tickets {
            // What steps decided about the ticket may quote the buyer too (a reason, evidence).
            let done = query(
                "UPDATE decisions SET command = 'erased', body = '{\"command\":\"erased\"}', evidence = '[]', reason = $1
                 WHERE ticket_number = $2 AND reason <> $1",
            )
            .bind(ERASED_TEXT)
            .bind(ticket)
            .execute(self.conn())
            .await?;
            count("decisions", done.rows_affected());
            query("UPDATE tickets SET subject = NULL WHERE number = $1")
                .bind(ticket)
                .execute(self.conn())
                .await?;
            let done = query("UPDATE outbox SET body = $1, subject = NULL, recipient = $1 WHERE ticket_number = $2")
                .bind(ERASED_TEXT)
                .bind(ticket)
                .execute(self.conn())
                .await?;
            count("replies", done.rows_affected());
            let done = query("UPDATE reply_drafts SET body = $1, subject = NULL WHERE ticket_number = $2")
                .bind(ERASED_TEXT)
                .bind(ticket)
                .execute(self.conn())
                .await?;
            count("drafts", done.rows_affected());
            count("tickets", 1);
        }

        // Orders: the buyer's (by customer or by the buyer they name), or all of a shop's.
        let mut erased_orders = Vec::new();
        for (id, customer, mut order) in self.channel_orders(&request.channel).await? {
            let theirs = scope == "channel"
                || customer.is_some_and(|c| customers.contains(&c))
                || buyer_matches(&order.buyer, &request.identities);
            if !theirs || (order.buyer == Party::default() && order.shipping.is_none()) {
                continue;
            }
            for value in [&order.buyer.email, &order.buyer.phone, &order.buyer.buyer_id]
                .into_iter()
                .flatten()
            {
                if value.chars().count() >= 5 {
                    values.insert(value.clone());
                }
            }
            erased_orders.push(order.number.clone());
            erase_order(&mut order);
            query("UPDATE orders SET data = $1 WHERE id = $2")
                .bind(serde_json::to_string(&order)?)
                .bind(id)
                .execute(self.conn())
                .await?;
            count("orders", 1);
        }

        // Event payloads: the orders' events carry the order; other facts the identities.
        let mut events: BTreeMap<i64, String> = BTreeMap::new();
        for value in &values {
            let rows = query("SELECT id, payload FROM events WHERE payload LIKE $1 ESCAPE '\\'")
                .bind(like(value))
                .fetch_all(self.conn())
                .await?;
            for row in rows {
                events.insert(row.try_get("id")?, row.try_get("payload")?);
            }
        }
        if scope == "channel" {
            for number in &erased_orders {
                let rows =
                    query("SELECT id, payload FROM events WHERE kind LIKE 'order.%' AND payload LIKE $1 ESCAPE '\\'")
                        .bind(like(&format!("\"number\":{}", Value::from(number.as_str()))))
                        .fetch_all(self.conn())
                        .await?;
                for row in rows {
                    events.insert(row.try_get("id")?, row.try_get("payload")?);
                }
            }
        }
        for (id, payload) in events {
            let erased = match serde_json::from_str::<Order>(&payload) {
                Ok(mut order) => {
                    erase_order(&mut order);
                    serde_json::to_string(&order)?
                }
                Err(_) => json!({ "erased": true }).to_string(),
            };
            query("UPDATE events SET payload = $1 WHERE id = $2")
                .bind(erased)
                .bind(id)
                .execute(self.conn())
                .await?;
            count("events", 1);
        }

        // Raw traffic: the requests the messages came in, every kept webhook of the channel
        // naming the buyer, and for a shop every webhook of its mount.
        let plugin_channel = request.channel.trim().to_lowercase();
        let rows = query("SELECT id, body FROM inbound WHERE channel = $1")
            .bind(&plugin_channel)
            .fetch_all(self.conn())
            .await?;
        for row in rows {
            let body: Vec<u8> = row.try_get("body")?;
            if values
                .iter()
                .any(|value| body.windows(value.len()).any(|w| w == value.as_bytes()))
            {
                raw.insert(row.try_get("id")?);
            }
        }
        if scope == "channel"
            && let Some(hook) = &request.hook
        {
            for row in query("SELECT id FROM inbound WHERE hook = $1")
                .bind(hook)
                .fetch_all(self.conn())
                .await?
            {
                raw.insert(row.try_get("id")?);
            }
        }
        for &id in &raw {
            query("UPDATE inbound SET body = $1, headers = '[]', source = $2 WHERE id = $3")
                .bind(Vec::<u8>::new())
                .bind(ERASED_TEXT)
                .bind(id)
                .execute(self.conn())
                .await?;
        }
        count("raw_webhooks", raw.len() as u64);

        let at = now_ms();
        let counts_json = serde_json::to_string(&counts)?;
        let id: i64 = query(
            "INSERT INTO erasures (scope, channel, request, reason, counts, inbound_id, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(scope)
        .bind(&request.channel)
        .bind(request.request.as_deref())
        .bind(&request.reason)
        .bind(&counts_json)
        .bind(inbound_id)
        .bind(at)
        .fetch_one(self.conn())
        .await?
        .try_get("id")?;
        for (kind, subjects) in [("customer", &customers), ("ticket", &tickets)] {
            for &subject in subjects {
                query("INSERT INTO erasure_subjects (erasure_id, kind, subject) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(kind)
                    .bind(subject)
                    .execute(self.conn())
                    .await?;
            }
        }
        let detail = json!({ "erasure": id, "reason": request.reason, "request": request.request });
        for &ticket in &tickets {
            self.ticket_changed(ticket, "personal_data_erased", &detail).await?;
        }
        let erasure = Erasure {
            id,
            scope: scope.to_owned(),
            channel: request.channel.clone(),
            request: request.request.clone(),
            reason: request.reason.clone(),
            counts,
            customers: customers.into_iter().collect(),
            tickets: tickets.into_iter().collect(),
            at,
        };
        tracing::info!(
            erasure = id,
            scope,
            channel = %erasure.channel,
            request = erasure.request.as_deref().unwrap_or("-"),
            reason = %erasure.reason,
            erased = %counts_json,
            "personal data erased"
        );
        Ok(erasure)
    }
}

/// An erasure from its row.
fn erasure_from_row(row: &super::Row) -> Result<Erasure> {
    let counts: String = row.try_get("counts")?;
    Ok(Erasure {
        id: row.try_get("id")?,
        scope: row.try_get("scope")?,
        channel: row.try_get("channel")?,
        request: row.try_get("request")?,
        reason: row.try_get("reason")?,
        counts: serde_json::from_str(&counts)?,
        customers: Vec::new(),
        tickets: Vec::new(),
        at: row.try_get("at")?,
    })
}

const ERASURE_COLUMNS: &str = "id, scope, channel, request, reason, counts, at";

impl Store {
    /// Every erasure, newest first.
    pub async fn erasures(&self) -> Result<Vec<Erasure>> {
        let ids: Vec<i64> = query("SELECT id FROM erasures ORDER BY id DESC")
            .fetch_all(&mut self.conn().await?)
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_>>()?;
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            all.extend(self.erasure(id).await?);
        }
        Ok(all)
    }

    /// One erasure, with the customers and tickets it touched.
    pub async fn erasure(&self, id: i64) -> Result<Option<Erasure>> {
        let mut conn = self.conn().await?;
        let Some(row) = query(&format!("SELECT {ERASURE_COLUMNS} FROM erasures WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut conn)
            .await?
        else {
            return Ok(None);
        };
        let mut erasure = erasure_from_row(&row)?;
        for row in query("SELECT kind, subject FROM erasure_subjects WHERE erasure_id = $1 ORDER BY subject")
            .bind(id)
            .fetch_all(&mut conn)
            .await?
        {
            let subject: i64 = row.try_get("subject")?;
            match row.try_get::<String>("kind")?.as_str() {
                "customer" => erasure.customers.push(subject),
                _ => erasure.tickets.push(subject),
            }
        }
        Ok(Some(erasure))
    }

    /// The erasures that touched a ticket (`kind` `ticket`) or a customer (`customer`).
    pub async fn erasures_of(&self, kind: &str, subject: i64) -> Result<Vec<Erasure>> {
        let ids: Vec<i64> =
            query("SELECT erasure_id FROM erasure_subjects WHERE kind = $1 AND subject = $2 ORDER BY erasure_id")
                .bind(kind)
                .bind(subject)
                .fetch_all(&mut self.conn().await?)
                .await?
                .iter()
                .map(|row| row.try_get("erasure_id"))
                .collect::<Result<_>>()?;
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            all.extend(self.erasure(id).await?);
        }
        Ok(all)
    }
}
