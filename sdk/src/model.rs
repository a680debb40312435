//! Domain types shared by plugins and the engine: what a message, an event and a command are.
//!
//! Times are milliseconds since the Unix epoch, UTC ([`Timestamp`]). Text is Unicode throughout.

use crate::plugin::Error;
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// Who wrote a message, as far as the channel knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_id: Option<String>,
}

/// A postal address, as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A file that came with a message; only its metadata is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    pub content_type: String,
    pub size: u64,
}

/// One message, normalized from any channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The channel it arrived on: `email`, `amazon`, `instagram`, `chat`, ...
    pub channel: String,
    /// Unique within the channel.
    pub id: String,
    /// The channel's own conversation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    pub at: Timestamp,
    #[serde(default)]
    pub from: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The new text, without quoted history.
    #[serde(default)]
    pub body: String,
    /// The quoted reply history, when the channel could separate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<String>,
    /// BCP 47 language tag, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The marketplace that relayed the message, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<String>,
    /// Ids this message replies to, nearest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replies_to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Inbound (the buyer wrote; the default) or outbound (the seller answered).
    #[serde(default, skip_serializing_if = "Direction::is_inbound")]
    pub direction: Direction,
    /// Sent by a machine (auto-acknowledgement, out-of-office): starts and stops no clock.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automatic: bool,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the buyer to the seller.
    #[default]
    Inbound,
    /// From the seller to the buyer: a reply.
    Outbound,
}

impl Direction {
    /// Whether this is [`Direction::Inbound`].
    pub fn is_inbound(&self) -> bool {
        *self == Direction::Inbound
    }
}

impl Message {
    /// A message with only the required fields set.
    pub fn new(channel: impl Into<String>, id: impl Into<String>, at: Timestamp) -> Self {
        Message {
            channel: channel.into(),
            id: id.into(),
            thread: None,
            at,
            from: Party::default(),
            address: None,
            order: None,
            subject: None,
            body: String::new(),
            quoted: None,
            lang: None,
            marketplace: None,
            replies_to: Vec::new(),
            attachments: Vec::new(),
            direction: Direction::Inbound,
            automatic: false,
        }
    }
}

/// An order as the shop or marketplace reports it (an order export, an order API): who bought
/// and where it goes. Orders tell which email, phone, buyer id, name and address belong
/// together, and which customer an order number belongs to, before the buyer ever writes.
/// It is the payload of an [`ORDER_PLACED`](crate::ORDER_PLACED) event (and of
/// `order.updated`, `order.cancelled`), and one line of `weft import orders`. Only `number`,
/// `channel` and `placed_at` are required; a connector fills in what its marketplace tells
/// (status, lines, total).
///
/// ```json
/// {"number": "#1001", "channel": "shopify", "placed_at": "2026-11-20T10:00:00Z",
///  "buyer": {"name": "Anna Müller", "email": "anna@example.de"},
///  "shipping": {"line1": "Hauptstraße 12", "postcode": "10115", "city": "Berlin", "country": "DE"}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The order number as the shop shows it (`#1001`, `302-1234567-1234567`).
    pub number: String,
    /// Where it was placed: `shopify`, `woocommerce`, or a marketplace (`amazon`, `amazon.de`,
    /// `ebay`, ...), which also qualifies the buyer id.
    pub channel: String,
    /// When it was placed, RFC 3339 (`2026-11-20T10:00:00Z`).
    pub placed_at: String,
    /// The buyer as the order names them.
    #[serde(default)]
    pub buyer: Party,
    /// The shipping address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Address>,
    /// Where the order stands at the marketplace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::OrderStatus>,
    /// When the marketplace last changed it, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// What was ordered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<crate::OrderLine>,
    /// What the buyer pays in all, shipping and taxes included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<crate::Money>,
}

impl Order {
    /// The order as a step reads a message: the buyer as the sender, the shipping address,
    /// the order number; no text.
    pub fn as_message(&self, at: Timestamp) -> Message {
        Message {
            from: self.buyer.clone(),
            address: self.shipping.clone(),
            order: Some(self.number.clone()),
            marketplace: Some(self.channel.clone()),
            ..Message::new(self.channel.clone(), format!("order:{}", self.number), at)
        }
    }
}

/// Something that happened, which workflows react to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: u64,
    /// `message.received`, `ticket.opened`, `timer.fired`, or a custom kind.
    pub kind: String,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<u64>,
    /// Kind-specific data.
    #[serde(default)]
    pub payload: serde_json::Value,
}

/// The kinds of identifier a customer can be known by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityKind {
    Email,
    Phone,
    BuyerId,
    Handle,
    Order,
    Name,
    Address,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 7] = [
        IdentityKind::Email,
        IdentityKind::Phone,
        IdentityKind::BuyerId,
        IdentityKind::Handle,
        IdentityKind::Order,
        IdentityKind::Name,
        IdentityKind::Address,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Email => "email",
            IdentityKind::Phone => "phone",
            IdentityKind::BuyerId => "buyer-id",
            IdentityKind::Handle => "handle",
            IdentityKind::Order => "order",
            IdentityKind::Name => "name",
            IdentityKind::Address => "address",
        }
    }

    pub fn parse(s: &str) -> Option<IdentityKind> {
        IdentityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Strong identifiers name one person; weak ones (name, address) only hint.
    pub fn is_strong(self) -> bool {
        !matches!(self, IdentityKind::Name | IdentityKind::Address)
    }

    /// Identifiers that belong to at most one customer: an email, a phone, a buyer id, a
    /// handle. An order number is strong evidence but can be shared (a household, a gift), so
    /// two customers may both carry it.
    pub fn is_exclusive(self) -> bool {
        matches!(
            self,
            IdentityKind::Email | IdentityKind::Phone | IdentityKind::BuyerId | IdentityKind::Handle
        )
    }
}

impl std::fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the value of a blocking key starts with.
///
/// A blocking key is an identity a matcher records only to find candidates by
/// ([`crate::Context::find_customers`]): a coarse key such as a name's phonetic code with a
/// postcode, shared by everyone who might be the same person. It says nothing about the
/// customer that the customer's other identities do not, so customer views leave blocking keys
/// out: a view lists what is known of a customer, not how it can be searched for.
pub const BLOCKING_KEY_PREFIX: &str = "blk:";

/// One normalized identifier of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identity {
    pub kind: IdentityKind,
    pub value: String,
}

impl Identity {
    pub fn new(kind: IdentityKind, value: impl Into<String>) -> Self {
        Identity {
            kind,
            value: value.into(),
        }
    }

    /// Whether this is a blocking key ([`BLOCKING_KEY_PREFIX`]).
    pub fn is_blocking_key(&self) -> bool {
        self.value.starts_with(BLOCKING_KEY_PREFIX)
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// Which customer a command is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CustomerRef {
    Existing(u64),
    /// A customer created for this event.
    New,
}

/// Which ticket a command is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TicketRef {
    Existing(u64),
    /// The ticket of this event.
    #[default]
    Current,
}

/// One fact a decision rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub field: String,
    pub detail: String,
    pub weight: f64,
}

impl Evidence {
    pub fn new(field: impl Into<String>, detail: impl Into<String>, weight: f64) -> Self {
        Evidence {
            field: field.into(),
            detail: detail.into(),
            weight,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkCustomer {
    pub customer: CustomerRef,
    pub identities: Vec<Identity>,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeCustomers {
    pub into: u64,
    pub from: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OpenTicket {
    pub subject: Option<String>,
    pub order: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppendToTicket {
    pub ticket: u64,
    /// Set when the message is a system copy of one already on the ticket.
    pub duplicate_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeTickets {
    pub into: u64,
    pub from: Vec<u64>,
}

/// Sets one field of a ticket: `status`, `category`, `language`, `priority`, `tag`, ...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetField {
    pub ticket: TicketRef,
    pub name: String,
    pub value: String,
    pub confidence: f64,
}

impl SetField {
    /// Sets `name` on the event's ticket, with full confidence.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        SetField {
            ticket: TicketRef::Current,
            name: name.into(),
            value: value.into(),
            confidence: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assign {
    pub ticket: TicketRef,
    pub agent: Option<String>,
    pub team: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetDeadline {
    pub ticket: TicketRef,
    pub kind: String,
    pub policy: String,
    pub due: Timestamp,
    pub warn_at: Vec<Timestamp>,
    /// Ticket statuses that pause this clock. Setting a deadline whose clock is paused
    /// resumes it (see the WIT `set-deadline`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pause_on: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessage {
    pub channel: String,
    pub to: String,
    pub ticket: TicketRef,
    pub subject: Option<String>,
    pub body: String,
    pub lang: Option<String>,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleTimer {
    pub key: String,
    pub at: Timestamp,
    pub kind: String,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmitEvent {
    pub kind: String,
    pub payload: serde_json::Value,
}

/// What a step wants done. The engine acts on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    LinkCustomer(LinkCustomer),
    MergeCustomers(MergeCustomers),
    OpenTicket(OpenTicket),
    AppendToTicket(AppendToTicket),
    MergeTickets(MergeTickets),
    SetField(SetField),
    Assign(Assign),
    SetDeadline(SetDeadline),
    SendMessage(SendMessage),
    ScheduleTimer(ScheduleTimer),
    EmitEvent(EmitEvent),
}

impl Command {
    /// The command's name as the decision log and dry runs show it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::LinkCustomer(_) => "link-customer",
            Command::MergeCustomers(_) => "merge-customers",
            Command::OpenTicket(_) => "open-ticket",
            Command::AppendToTicket(_) => "append-to-ticket",
            Command::MergeTickets(_) => "merge-tickets",
            Command::SetField(_) => "set-field",
            Command::Assign(_) => "assign",
            Command::SetDeadline(_) => "set-deadline",
            Command::SendMessage(_) => "send-message",
            Command::ScheduleTimer(_) => "schedule-timer",
            Command::EmitEvent(_) => "emit-event",
        }
    }
}

/// A command with the reason and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    #[serde(flatten)]
    pub command: Command,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

impl Decision {
    pub fn new(command: Command, reason: impl Into<String>) -> Self {
        Decision {
            command,
            reason: reason.into(),
            evidence: Vec::new(),
        }
    }

    pub fn with_evidence(mut self, evidence: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(evidence);
        self
    }
}

/// Raw traffic handed to a channel, exactly as it arrived.
///
/// For a webhook (`POST /hooks/{id}` on `weft serve`): `source` is the request path, `hook`
/// the hook id of the channels file, `received_at` when the engine received it, `headers`
/// every header as sent and `body` the raw bytes, so a signature over the body can be checked.
/// For a file (`weft run`): `source` is the file name, `hook` is `None`, no headers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inbound {
    /// Where it came from: a file name, a webhook path (with the query it was called with).
    pub source: String,
    /// The hook id it arrived on (`shop-de`); `None` for files.
    pub hook: Option<String>,
    /// When the engine received it (a webhook: when the request arrived, the same on every
    /// call for it); 0 when unknown.
    pub received_at: Timestamp,
    /// The `Content-Type` header, if sent.
    pub content_type: Option<String>,
    /// Every header as sent (one entry per value), names in lowercase; look one up with
    /// [`Inbound::header`].
    pub headers: Vec<(String, String)>,
    /// The raw body, byte for byte: compute signatures over it.
    pub body: Vec<u8>,
}

impl Inbound {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }
}

/// A vendor's subscription check on a hook (`GET /hooks/{id}`): Meta's `hub.challenge`,
/// eBay's `challenge_code`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HandshakeRequest {
    /// The hook id of the channels file.
    pub hook: String,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// The path and query as received.
    pub target: String,
}

impl HandshakeRequest {
    /// The first query parameter with this name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The answer to a subscription check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HandshakeResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A message for a channel to deliver. Build one with `..Default::default()` for the fields
/// you leave out, so that fields added later do not break your code.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Outbound {
    pub key: String,
    pub to: String,
    pub thread: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub lang: Option<String>,
    /// When the buyer last wrote on this channel about this ticket (the newest inbound message
    /// of the ticket on the message's channel); none when unknown. A channel whose platform
    /// only allows replies for a while after it (Meta's 24-hour window) refuses, before
    /// sending, what the platform would refuse. Since contract 0.4.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inbound_at: Option<Timestamp>,
    /// Sent by a machine (a workflow's acknowledgement), not written by a person: some
    /// platforms allow only a person's reply in some cases (Meta's human-agent tag). Since
    /// contract 0.4.0.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automatic: bool,
    /// The raw traffic of the message this one answers (the newest inbound message of the
    /// ticket on the message's channel that came through a hook); none when there is none. A
    /// channel threads its reply by it and judges the rules it states (an email's
    /// `Auto-Submitted`). Since contract 0.5.0.
    #[serde(default, skip)]
    pub replying_to: Option<Inbound>,
}

/// The SMTP envelope of a message submitted through [`crate::Host::submit_mail`]: who it is
/// from and to as the relay sees them (not the header fields).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailEnvelope {
    /// The return path (`MAIL FROM`), where bounces go; empty for the null sender `<>`.
    pub sender: String,
    /// The recipients (`RCPT TO`), at least one.
    pub recipients: Vec<String>,
}

/// Why a mail submission failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Refused for now (an SMTP 4xx reply) or the relay could not be reached before the
    /// message was handed over: submitting it again later cannot deliver it twice.
    #[error("{0}")]
    Transient(String),
    /// Refused for good (an SMTP 5xx reply), with the server's own text.
    #[error("{0}")]
    Permanent(String),
    /// No relay is configured for the mount, or the envelope is unusable.
    #[error("{0}")]
    Refused(String),
}

/// What a channel reports after delivering.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Delivery {
    pub external_id: Option<String>,
}

/// How far a delivered message got, as its vendor reported later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Accepted by the vendor, not yet sent on.
    Queued,
    /// Handed to the carrier or the platform.
    Sent,
    /// On the buyer's device.
    Delivered,
    /// Read by the buyer.
    Read,
    /// It did not reach the buyer.
    Failed,
}

impl DeliveryState {
    /// Every state, in the order a message goes through them.
    pub const ALL: [DeliveryState; 5] = [
        DeliveryState::Queued,
        DeliveryState::Sent,
        DeliveryState::Delivered,
        DeliveryState::Read,
        DeliveryState::Failed,
    ];

    /// As stored and shown: `queued`, `sent`, `delivered`, `read`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Read => "read",
            DeliveryState::Failed => "failed",
        }
    }

    /// Reads a stored state.
    pub fn parse(text: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What a vendor said later about a message a channel delivered (a status callback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStatus {
    /// The vendor's id of the message: the [`Delivery::external_id`] of its delivery.
    pub external_id: String,
    pub state: DeliveryState,
    pub at: Timestamp,
    /// Why it failed, in the vendor's words with its error code, when it did.
    pub reason: Option<String>,
}

/// A buyer opted out of messages on a channel (an SMS `STOP`) or back in (`START`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// The buyer's address on the channel, as replies are addressed to it.
    pub address: String,
    pub opted_out: bool,
    /// What the buyer did, for people to read (`replied "STOP"`).
    pub reason: String,
    pub at: Timestamp,
}

/// What traffic says besides messages ([`crate::Channel::notices`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    DeliveryStatus(DeliveryStatus),
    Consent(Consent),
}

/// A customer as the read-only context shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerView {
    pub id: u64,
    pub identities: Vec<Identity>,
    pub merged_into: Option<u64>,
    /// Customers this one was split from by hand, as the customers they live in now. A step
    /// must not merge them again, nor link one's messages to the other on the evidence that
    /// once joined them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_apart: Vec<u64>,
}

/// A ticket as the read-only context shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketView {
    pub number: u64,
    pub customer: Option<u64>,
    pub status: String,
    pub subject: Option<String>,
    pub order: Option<String>,
    pub category: Option<String>,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
    pub merged_into: Option<u64>,
    /// The agent the ticket is assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// `low`, `normal`, `high`, `urgent`, as a step set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
}

/// A message already on a ticket, as far as comparing messages needs it: what
/// [`crate::Context::ticket_messages`] answers. The engine and plugins compute `sender_key` and
/// `body_fingerprint` with the same functions, in [`crate::fingerprint`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSummary {
    /// The message's id in its channel.
    pub id: String,
    pub at: Timestamp,
    /// [`crate::fingerprint::sender_key`] of its sender.
    #[serde(default)]
    pub sender_key: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    /// [`crate::fingerprint::body_fingerprint`] of its body.
    pub body_fingerprint: u64,
    /// Set when this message is itself a system copy: the id of the original.
    #[serde(default)]
    pub duplicate_of: Option<String>,
}

impl MessageSummary {
    /// The summary of a message that is not a copy.
    pub fn of(message: &Message) -> Self {
        MessageSummary {
            id: message.id.clone(),
            at: message.at,
            sender_key: crate::fingerprint::sender_key(&message.from),
            subject: message.subject.clone(),
            body_fingerprint: crate::fingerprint::body_fingerprint(&message.body),
            duplicate_of: None,
        }
    }
}

/// An HTTP request made through the host ([`crate::Host::fetch`]).
///
/// ```
/// use weft_sdk::HttpRequest;
/// let request = HttpRequest::new("POST", "https://api.example.com/v1/messages")
///     .with_header("Authorization", "Bearer t0ken")
///     .with_json(&serde_json::json!({"text": "Danke für Ihre Geduld"}));
/// assert_eq!(request.header("content-type"), Some("application/json"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// An absolute `http` or `https` URL; its host must be granted (`allow: { http: [..] }`).
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A request without headers or body.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The same request with one more header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same request with this body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The same request with `value` as its JSON body and `Content-Type: application/json`.
    pub fn with_json(self, value: &serde_json::Value) -> Self {
        self.with_header("Content-Type", "application/json")
            .with_body(value.to_string())
    }

    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }
}

/// The host's answer to an [`HttpRequest`]: whatever the status (a 4xx or 5xx is an answer,
/// not an error; [`crate::Host::fetch`] fails only when no answer came).
///
/// ```
/// use weft_sdk::HttpResponse;
/// let response = HttpResponse::new(429).with_header("Retry-After", "30");
/// assert_eq!(response.retry_after(), Some(std::time::Duration::from_secs(30)));
/// assert!(!response.is_success());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with this status, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The same response with one more header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same response with this body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The same response with `value` as its JSON body and `Content-Type: application/json`.
    pub fn with_json(self, value: &serde_json::Value) -> Self {
        self.with_header("Content-Type", "application/json")
            .with_body(value.to_string())
    }

    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text, with U+FFFD where it is not UTF-8: for error messages.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// How long the `Retry-After` header asks to wait, as rate limits (429) and maintenance
    /// answers (503) send it: seconds (`Retry-After: 120`) or an HTTP-date, which is measured
    /// from this answer's own `Date` header (see [`crate::http::retry_after`]); `None` without
    /// the header, or when it is neither form.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_sdk::HttpResponse;
    /// let dated = HttpResponse::new(503)
    ///     .with_header("Date", "Mon, 07 Dec 2026 08:00:00 GMT")
    ///     .with_header("Retry-After", "Mon, 07 Dec 2026 08:02:00 GMT");
    /// assert_eq!(dated.retry_after(), Some(Duration::from_secs(120)));
    /// ```
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        crate::http::retry_after(self.header("Retry-After")?, self.header("Date"))
    }

    /// What a channel returns for an answer that is not a success, `what` saying what was
    /// tried (`sending the reply to conversation c-9`): [`Error::Retryable`] for statuses a
    /// later try may get past (408 Request Timeout, 425 Too Early, 429 Too Many Requests, any
    /// 5xx), or [`Error::RetryLater`] with the [`HttpResponse::retry_after`] delay when the
    /// vendor gave one (in seconds or as a date), so that the next try waits at least that long; [`Error::Permanent`] for the rest
    /// (a 4xx: the request itself is wrong). Either way the message carries the status and the
    /// start of the vendor's body, which is what an agent sees of a failed delivery.
    ///
    /// ```
    /// use weft_sdk::{Error, HttpResponse};
    /// let limited = HttpResponse::new(429).with_header("Retry-After", "30");
    /// assert_eq!(
    ///     limited.error("sending the reply"),
    ///     Error::retry_later(std::time::Duration::from_secs(30), "sending the reply: HTTP 429, retry after 30s")
    /// );
    /// let refused = HttpResponse::new(422).with_body(r#"{"error":"conversation closed"}"#);
    /// assert_eq!(
    ///     refused.error("sending the reply"),
    ///     Error::Permanent(r#"sending the reply: HTTP 422: {"error":"conversation closed"}"#.into())
    /// );
    /// ```
    pub fn error(&self, what: &str) -> Error {
        self.error_in_words(what, None)
    }

    /// [`HttpResponse::error`] in the vendor's own words: `words` is what the channel read of
    /// the vendor's error format (`InvalidInput: Der Text ist zu lang`, or
    /// [`crate::http::oauth_error_words`] for a token endpoint), put in the message in place of
    /// the start of the body; `None` when the body was not in that format. Classified alike.
    ///
    /// ```
    /// use weft_sdk::{Error, HttpResponse};
    /// let refused = HttpResponse::new(400).with_body(r#"{"errors":[{"code":"InvalidInput"}]}"#);
    /// assert_eq!(
    ///     refused.error_in_words("amazon: sending", Some("InvalidInput".into())),
    ///     Error::Permanent("amazon: sending: HTTP 400: InvalidInput".into())
    /// );
    /// ```
    pub fn error_in_words(&self, what: &str, words: Option<String>) -> Error {
        let mut message = format!("{what}: HTTP {}", self.status);
        let retryable = matches!(self.status, 408 | 425 | 429 | 500..=599);
        let wait = self.retry_after().filter(|_| retryable);
        if let Some(wait) = wait {
            message.push_str(&format!(", retry after {}s", wait.as_secs()));
        }
        let text = match words {
            Some(words) => words,
            None => self.text().split_whitespace().collect::<Vec<_>>().join(" "),
        };
        if !text.is_empty() {
            message.push_str(": ");
            match text.char_indices().nth(MAX_REASON_CHARS) {
                Some((cut, _)) => {
                    message.push_str(&text[..cut]);
                    message.push('…');
                }
                None => message.push_str(&text),
            }
        }
        match (retryable, wait) {
            // The vendor's delay is a floor for the next try, not only words in the reason.
            (true, Some(wait)) => Error::retry_later(wait, message),
            (true, None) => Error::Retryable(message),
            (false, _) => Error::Permanent(message),
        }
    }
}

/// How much of a vendor's answer [`HttpResponse::error`] keeps, in characters.
const MAX_REASON_CHARS: usize = 300;

fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A deadline on a ticket, as [`crate::Context::ticket_deadlines`] shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineView {
    /// `first-response`, `next-response`, `resolution`.
    pub kind: String,
    pub policy: String,
    pub due: Timestamp,
    /// `pending`, `warned`, `met` or `breached`.
    pub state: String,
    /// When its clock started.
    pub started_at: Timestamp,
    /// When it stopped; None while it runs.
    #[serde(default)]
    pub stopped_at: Option<Timestamp>,
    /// Since when its clock is paused, if it is.
    #[serde(default)]
    pub paused_since: Option<Timestamp>,
}

impl DeadlineView {
    /// Whether its clock still runs or is paused: not stopped by a reply or a status.
    pub fn is_open(&self) -> bool {
        self.stopped_at.is_none()
    }
}
