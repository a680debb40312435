//! Traffic in: raw inbound kept first, then normalized messages and their events queued.
//!
//! Raw traffic is stored before a channel looks at it, so that nothing that arrived is lost:
//! what a channel cannot parse stays here, dead-lettered with its reason, and can be replayed.
//! The same bytes on the same channel are recognized and not queued twice.
//!
//! A message whose id its channel gave an earlier message is a true duplicate when its content
//! is the same, and is skipped; with other content it is another message, kept under a new id
//! (`<id>~2`, ...) with the id it arrived with (`arrived_as`). Text a database cannot hold
//! (U+0000, which PostgreSQL refuses in text) is stored as U+FFFD; the raw bytes stay as they
//! came in the inbound row, which is binary.

use super::erasure::{CHANNEL_ERASE, CUSTOMER_ERASE, DATA_REQUEST, ERASED, ErasureRequest};
use super::orders::{order_times, shipment_times};
use super::{Result, Row, Store, StoreError, Unit, now_ms, query};
use sha2::{Digest, Sha256};
use weft_sdk::fingerprint::{body_fingerprint, sender_key};
use weft_sdk::{Direction, Inbound, Item, Message, SHIPMENT_UPDATED};

/// Raw traffic as stored.
#[derive(Debug, Clone)]
pub struct InboundRecord {
    pub id: i64,
    pub channel: String,
    pub inbound: Inbound,
    /// `received`, `parsed`, `dead`, or `refused` (its channel refused it: kept for a replay).
    pub state: String,
}

/// What storing a batch of messages did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enqueued {
    /// Messages stored and queued.
    pub new: usize,
    /// Messages stored before with the same id and the same content, and order and shipment
    /// reports kept before or older than the one kept: skipped.
    pub duplicates: usize,
    /// Messages whose id an earlier message with other content has: kept under a new id.
    pub renamed: Vec<Renamed>,
    /// Messages whose text held characters the store cannot hold (U+0000), stored replaced.
    pub replaced_text: usize,
    /// Events queued for other items: orders, shipment updates, facts.
    pub facts: usize,
}

/// A message kept under a new id because its id was taken by other content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub channel: String,
    /// The id it arrived with.
    pub arrived_as: String,
    /// The id it is kept under.
    pub kept_as: String,
}

/// What [`Unit::record_inbound`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// First time these bytes arrived on this channel.
    New(i64),
    /// Seen before and parsed: nothing to do.
    AlreadyParsed(i64),
    /// Seen before and dead-lettered (or never finished): parse again.
    Retry(i64),
}

impl Unit {
    /// Keeps raw traffic before anything else happens to it, with the hook it came through
    /// when it did (a poll's).
    pub async fn record_inbound(&mut self, channel: &str, inbound: &Inbound) -> Result<Recorded> {
        let mut hasher = Sha256::new();
        hasher.update(channel.as_bytes());
        hasher.update([0]);
        hasher.update(&inbound.body);
        let digest = hex::encode(hasher.finalize());
        let existing = query("SELECT id, state FROM inbound WHERE digest = $1")
            .bind(&digest)
            .fetch_optional(self.conn())
            .await?;
        if let Some(row) = existing {
            let id: i64 = row.try_get("id")?;
            let state: String = row.try_get("state")?;
            // A chunk that was `split` is kept line by line in rows of their own.
            return Ok(if state == "parsed" || state == "split" {
                Recorded::AlreadyParsed(id)
            } else {
                Recorded::Retry(id)
            });
        }
        let headers = serde_json::to_string(&inbound.headers)?;
        let row = query(
            "INSERT INTO inbound (channel, hook, source, content_type, headers, body, digest, received_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'received') RETURNING id",
        )
        .bind(channel)
        .bind(inbound.hook.as_deref())
        .bind(&inbound.source)
        .bind(inbound.content_type.as_deref())
        .bind(headers)
        .bind(inbound.body.clone())
        .bind(digest)
        .bind(now_ms())
        .fetch_one(self.conn())
        .await?;
        Ok(Recorded::New(row.try_get("id")?))
    }

    /// The raw traffic with this id.
    pub async fn inbound(&mut self, id: i64) -> Result<InboundRecord> {
        let row = query(&format!("SELECT {INBOUND_COLUMNS} FROM inbound WHERE id = $1"))
            .bind(id)
            .fetch_one(self.conn())
            .await?;
        inbound_from_row(&row)
    }

    /// Stores the messages a channel made of inbound `inbound_id` and queues an event for each
    /// new one: `message.received` for what the buyer wrote, `message.sent` (payload
    /// `automatic`) for the seller's replies the channel saw go out. Messages already stored
    /// (same channel, id and content) are skipped. Returns how many were new.
    pub async fn enqueue_messages(&mut self, inbound_id: i64, messages: &[Message]) -> Result<usize> {
        Ok(self.enqueue(inbound_id, messages).await?.new)
    }

    /// [`Unit::enqueue_messages`], saying also what was skipped, renamed or replaced.
    pub async fn enqueue(&mut self, inbound_id: i64, messages: &[Message]) -> Result<Enqueued> {
        let now = now_ms();
        let mut done = Enqueued::default();
        for message in messages {
            self.enqueue_message(inbound_id, message, now, &mut done).await?;
        }
        self.mark_parsed(inbound_id).await?;
        Ok(done)
    }

    /// Stores what a channel found in inbound `inbound_id` and queues an event for each new
    /// item: messages as [`Unit::enqueue`] does; orders kept (see [`super::orders`]) and queued
    /// as `order.placed`, `order.updated` or `order.cancelled` with the order as payload;
    /// shipment updates kept and queued as `shipment.updated`; other facts queued as their
    /// kind, at their time or else at `received_at`. An order or shipment report already kept,
    /// or older than the one kept, queues nothing.
    pub async fn enqueue_items(&mut self, inbound_id: i64, items: &[Item], received_at: i64) -> Result<Enqueued> {
        let now = now_ms();
        let mut done = Enqueued::default();
        for item in items {
            match item {
                Item::Message(message) => self.enqueue_message(inbound_id, message, now, &mut done).await?,
                Item::Order { change, order, id } => {
                    if !self.first_of(inbound_id, change.kind(), id.as_deref(), now).await? {
                        done.duplicates += 1;
                        continue;
                    }
                    let times = order_times(order).map_err(StoreError::Invalid)?;
                    if self.record_order(*change, order, times).await? {
                        let payload = serde_json::to_value(order)?;
                        self.enqueue_event(change.kind(), times.updated_at, None, None, &payload)
                            .await?;
                        done.facts += 1;
                    } else {
                        done.duplicates += 1;
                    }
                }
                Item::Shipment(update) => {
                    let times = shipment_times(update).map_err(StoreError::Invalid)?;
                    if self.record_shipment(update, times).await? {
                        let payload = serde_json::to_value(update)?;
                        self.enqueue_event(SHIPMENT_UPDATED, times.at, None, None, &payload)
                            .await?;
                        done.facts += 1;
                    } else {
                        done.duplicates += 1;
                    }
                }
                Item::Fact { kind, at, payload, id } => {
                    if !self.first_of(inbound_id, kind, id.as_deref(), now).await? {
                        done.duplicates += 1;
                        continue;
                    }
                    let at = at.unwrap_or(received_at);
                    let (kind, payload) = self.personal_data_fact(inbound_id, kind, payload).await?;
                    self.enqueue_event(&kind, at, None, None, &payload).await?;
                    done.facts += 1;
                }
            }
        }
        self.mark_parsed(inbound_id).await?;
        Ok(done)
    }

    /// Whether a fact of `kind` with the vendor's event id `id` is the first of its kind and id
    /// from the mount (hook, else channel) of inbound `inbound_id`, remembering it if so. A fact
    /// without an id is always first.
    async fn first_of(&mut self, inbound_id: i64, kind: &str, id: Option<&str>, now: i64) -> Result<bool> {
        let Some(id) = id else { return Ok(true) };
        let done = query(
            "INSERT INTO fact_ids (origin, kind, vendor_id, inbound_id, at)
             SELECT COALESCE(hook, channel), $2, $3, id, $4 FROM inbound WHERE id = $1
             ON CONFLICT DO NOTHING",
        )
        .bind(inbound_id)
        .bind(kind)
        .bind(id)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A fact about personal data done before it is queued ([`super::erasure`]): an erasure
    /// request is carried out and queued as [`ERASED`] with what was erased (not with the
    /// identities it named); a data request is queued with what weft holds about the buyer.
    /// Other facts are queued as they are.
    async fn personal_data_fact(
        &mut self,
        inbound_id: i64,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<(String, serde_json::Value)> {
        let scope = match kind {
            CUSTOMER_ERASE => "customer",
            CHANNEL_ERASE => "channel",
            DATA_REQUEST => {
                let request: ErasureRequest =
                    serde_json::from_value(payload.clone()).map_err(|e| StoreError::Invalid(format!("{kind}: {e}")))?;
                let held = self.held_about(&request.channel, &request.identities).await?;
                tracing::info!(
                    channel = %request.channel,
                    request = request.request.as_deref().unwrap_or("-"),
                    customers = ?held.customers,
                    tickets = ?held.tickets,
                    orders = ?held.orders,
                    messages = held.messages,
                    "a buyer asked what is held about them"
                );
                let mut payload = payload.clone();
                payload["held"] = serde_json::to_value(held)?;
                return Ok((kind.to_owned(), payload));
            }
            _ => return Ok((kind.to_owned(), payload.clone())),
        };
        let request: ErasureRequest =
            serde_json::from_value(payload.clone()).map_err(|e| StoreError::Invalid(format!("{kind}: {e}")))?;
        if scope == "customer" && request.identities.is_empty() {
            return Err(StoreError::Invalid(format!("{kind}: names no identity to erase")));
        }
        let erasure = self.erase(scope, &request, Some(inbound_id)).await?;
        Ok((ERASED.to_owned(), serde_json::to_value(erasure)?))
    }

    async fn mark_parsed(&mut self, inbound_id: i64) -> Result<()> {
        query("UPDATE inbound SET state = 'parsed', error = NULL WHERE id = $1")
            .bind(inbound_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Stores one message and queues its event, unless it is stored already.
    async fn enqueue_message(
        &mut self,
        inbound_id: i64,
        message: &Message,
        now: i64,
        done: &mut Enqueued,
    ) -> Result<()> {
        let (message, replaced) = storable(message)?;
        if replaced {
            done.replaced_text += 1;
        }
        let Some((message_id, renamed)) = self.insert_message(inbound_id, &message).await? else {
            done.duplicates += 1;
            return Ok(());
        };
        let (kind, payload) = match (message.direction, message.automatic) {
            (Direction::Inbound, _) => ("message.received", "{}"),
            (Direction::Outbound, false) => ("message.sent", r#"{"automatic":false}"#),
            (Direction::Outbound, true) => ("message.sent", r#"{"automatic":true}"#),
        };
        query(
            "INSERT INTO events (kind, at, message_id, payload, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(kind)
        .bind(message.at)
        .bind(message_id)
        .bind(payload)
        .bind(now)
        .execute(self.conn())
        .await?;
        done.new += 1;
        done.renamed.extend(renamed);
        Ok(())
    }

    /// Stores one message under its id, or, when an earlier message with other content has
    /// that id, under the first free `<id>~N`. None when the same message is stored already.
    async fn insert_message(&mut self, inbound_id: i64, message: &Message) -> Result<Option<(i64, Option<Renamed>)>> {
        let direction = match (message.direction, message.automatic) {
            (Direction::Inbound, _) => "in",
            (Direction::Outbound, false) => "out",
            (Direction::Outbound, true) => "auto",
        };
        let mut candidate = message.clone();
        for n in 1u32.. {
            if n > 1 {
                candidate.id = format!("{}~{n}", message.id);
            }
            let data = serde_json::to_string(&candidate)?;
            let arrived_as = (n > 1).then_some(message.id.as_str());
            let inserted = query(
                "INSERT INTO messages (channel, external_id, inbound_id, at, data, direction, sender_key, subject, body_fingerprint, arrived_as)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
            )
            .bind(&candidate.channel)
            .bind(&candidate.id)
            .bind(inbound_id)
            .bind(candidate.at)
            .bind(data.as_str())
            .bind(direction)
            .bind(sender_key(&candidate.from))
            .bind(candidate.subject.as_deref())
            .bind(body_fingerprint(&candidate.body) as i64)
            .bind(arrived_as)
            .fetch_optional(self.conn())
            .await?;
            if let Some(row) = inserted {
                let renamed = arrived_as.map(|original| Renamed {
                    channel: candidate.channel.clone(),
                    arrived_as: original.to_owned(),
                    kept_as: candidate.id.clone(),
                });
                return Ok(Some((row.try_get("id")?, renamed)));
            }
            let stored: String = query("SELECT data FROM messages WHERE channel = $1 AND external_id = $2")
                .bind(&candidate.channel)
                .bind(&candidate.id)
                .fetch_one(self.conn())
                .await?
                .try_get("data")?;
            if stored == data {
                return Ok(None);
            }
        }
        unreachable!("the ids `<id>~N` run out only after u32::MAX messages")
    }

    /// Keeps raw traffic that could not be parsed, with the reason, for replay.
    pub async fn dead_letter_inbound(&mut self, inbound_id: i64, channel: &str, error: &str) -> Result<()> {
        let unit = self;
        let error = error.replace('\0', "\u{FFFD}");
        let error = error.as_str();
        query("UPDATE inbound SET state = 'dead', error = $1 WHERE id = $2")
            .bind(error)
            .bind(inbound_id)
            .execute(unit.conn())
            .await?;
        query("INSERT INTO dead_letters (inbound_id, plugin, error, created_at) VALUES ($1, $2, $3, $4)")
            .bind(inbound_id)
            .bind(channel)
            .bind(error)
            .bind(now_ms())
            .execute(unit.conn())
            .await?;
        Ok(())
    }

    /// Marks a chunk of lines that failed to parse as a whole as `split`: each of its lines
    /// is then kept and parsed as traffic of its own, so one bad line takes no other with it.
    pub async fn split_inbound(&mut self, inbound_id: i64, error: &str) -> Result<()> {
        query("UPDATE inbound SET state = 'split', error = $1 WHERE id = $2")
            .bind(error.replace('\0', "\u{FFFD}"))
            .bind(inbound_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

/// The columns [`inbound_from_row`] reads.
pub(super) const INBOUND_COLUMNS: &str = "id, channel, hook, received_at, source, content_type, headers, body, state";

/// One row of `inbound`, selected as [`INBOUND_COLUMNS`].
pub(super) fn inbound_from_row(row: &Row) -> Result<InboundRecord> {
    let headers: String = row.try_get("headers")?;
    Ok(InboundRecord {
        id: row.try_get("id")?,
        channel: row.try_get("channel")?,
        state: row.try_get("state")?,
        inbound: Inbound {
            source: row.try_get("source")?,
            hook: row.try_get("hook")?,
            received_at: row.try_get("received_at")?,
            content_type: row.try_get("content_type")?,
            headers: serde_json::from_str(&headers)?,
            body: row.try_get("body")?,
        },
    })
}

/// The message as the store can hold it: every U+0000 in its text replaced by U+FFFD (the
/// replacement character), and whether anything was replaced. PostgreSQL refuses U+0000 in
/// text; SQLite would take it, but both stores keep the same.
fn storable(message: &Message) -> Result<(std::borrow::Cow<'_, Message>, bool)> {
    fn replace(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) if text.contains('\0') => *text = text.replace('\0', "\u{FFFD}"),
            serde_json::Value::Array(items) => items.iter_mut().for_each(replace),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(replace),
            _ => {}
        }
    }
    let serialized = serde_json::to_string(message)?;
    // serde_json writes U+0000 as `\u0000` (a text may also hold those six characters: then the
    // walk below finds nothing to replace, and the copy is the same message).
    if !serialized.contains("\\u0000") {
        return Ok((std::borrow::Cow::Borrowed(message), false));
    }
    let mut value: serde_json::Value = serde_json::from_str(&serialized)?;
    replace(&mut value);
    let cleaned: Message = serde_json::from_value(value)?;
    let replaced = cleaned != *message;
    Ok((std::borrow::Cow::Owned(cleaned), replaced))
}

impl Store {
    /// Raw traffic by id, outside any unit.
    pub async fn inbound(&self, id: i64) -> Result<InboundRecord> {
        let mut unit = self.unit().await?;
        let record = unit.inbound(id).await?;
        unit.commit().await?;
        Ok(record)
    }
}
