//! Orders and shipments as channels report them, and what a channel's `parse` or `poll` yields.
//!
//! A channel answers with [`Item`]s: [`Message`]s, and facts about orders ([`Order`], placed,
//! updated or cancelled) and shipments ([`ShipmentUpdate`]). The engine keeps the orders and
//! shipments and queues an event for each item: [`ORDER_PLACED`], [`ORDER_UPDATED`],
//! [`ORDER_CANCELLED`], [`SHIPMENT_UPDATED`], or a channel's own kind ([`Item::Fact`]).
//!
//! Money is never a float: an amount is its decimal text (`"1299.90"`) with an ISO 4217
//! currency code ([`Money`]), as the marketplaces write it. Shipments have one set of statuses
//! for every carrier ([`ShipmentStatus`]); each connector maps its carrier's onto it.

use crate::model::{Message, Order, Timestamp};
use serde::{Deserialize, Serialize};

/// The event kind of an order placed (a connector's new order, or an order the seller
/// imported): its payload is an [`Order`].
pub const ORDER_PLACED: &str = "order.placed";
/// The event kind of an order changed at the marketplace (paid, shipped, edited): its payload
/// is the [`Order`] as it is now.
pub const ORDER_UPDATED: &str = "order.updated";
/// The event kind of an order cancelled: its payload is the [`Order`] as it is now.
pub const ORDER_CANCELLED: &str = "order.cancelled";
/// The event kind of a carrier's news about a parcel: its payload is a [`ShipmentUpdate`].
pub const SHIPMENT_UPDATED: &str = "shipment.updated";

/// Whether an event kind is one of an order ([`ORDER_PLACED`], [`ORDER_UPDATED`],
/// [`ORDER_CANCELLED`]), whose payload is an [`Order`].
pub fn is_order_event(kind: &str) -> bool {
    OrderChange::from_kind(kind).is_some()
}

/// What happened to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderChange {
    Placed,
    Updated,
    Cancelled,
}

impl OrderChange {
    /// The event kind it becomes.
    pub fn kind(self) -> &'static str {
        match self {
            OrderChange::Placed => ORDER_PLACED,
            OrderChange::Updated => ORDER_UPDATED,
            OrderChange::Cancelled => ORDER_CANCELLED,
        }
    }

    /// The change an event kind tells of, if it is an order's.
    pub fn from_kind(kind: &str) -> Option<OrderChange> {
        [OrderChange::Placed, OrderChange::Updated, OrderChange::Cancelled]
            .into_iter()
            .find(|change| change.kind() == kind)
    }
}

/// What a channel found in traffic, or in what a poll brought.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A message, as [`crate::Channel::parse`] returns them.
    Message(Message),
    /// An order placed, updated or cancelled at the marketplace. `id` is the vendor's id of
    /// the notification that told of it (Amazon's `NotificationId`), when it has one: the
    /// engine drops a second one with the same id on the same mount. (A report of an order
    /// already kept, or older than the one kept, queues nothing either way.)
    Order {
        change: OrderChange,
        order: Order,
        id: Option<String>,
    },
    /// A carrier's news about a parcel.
    Shipment(ShipmentUpdate),
    /// Anything else worth an event: a workflow can match `kind` (say `customer.updated`).
    Fact {
        kind: String,
        /// When it happened; none for when it was received.
        at: Option<Timestamp>,
        payload: serde_json::Value,
        /// The vendor's id of the event it came from (Shopify's `X-Shopify-Event-Id`,
        /// Walmart's `eventId`), for vendors that may deliver an event twice: the engine drops
        /// a second fact of the same kind and id on the same mount. None when there is none.
        id: Option<String>,
    },
}

impl From<Message> for Item {
    fn from(message: Message) -> Self {
        Item::Message(message)
    }
}

impl From<ShipmentUpdate> for Item {
    fn from(update: ShipmentUpdate) -> Self {
        Item::Shipment(update)
    }
}

/// The fact kind of traffic a polled channel received but could not read (a malformed
/// message in a queue it drains). The engine does not queue it as an event: it keeps the
/// traffic as a dead letter of the hook with its reason, as it keeps a webhook the channel's
/// `parse` refused, and `weft replay` parses it again through the channel's `parse`. Build it
/// with [`Item::unreadable`]. (A polled channel must take such a message off its queue, or it
/// would come back forever; this keeps it.)
pub const UNREADABLE: &str = "inbound.unreadable";

impl Item {
    /// Traffic a poll received and could not read: `source` names where it came from (a
    /// queue's message id), `reason` what is wrong, `body` the bytes as received (kept as
    /// text: the queues that carry vendor notifications carry text).
    pub fn unreadable(source: &str, reason: &str, body: &[u8], content_type: Option<&str>) -> Item {
        Item::Fact {
            kind: UNREADABLE.into(),
            at: None,
            payload: serde_json::json!({
                "source": source,
                "reason": reason,
                "body": String::from_utf8_lossy(body),
                "content_type": content_type,
            }),
            id: Some(source.to_owned()),
        }
    }

    /// The source, reason and body of an [`UNREADABLE`] fact; None for any other item.
    pub fn as_unreadable(&self) -> Option<(&str, &str, &str, Option<&str>)> {
        match self {
            Item::Fact { kind, payload, .. } if kind == UNREADABLE => Some((
                payload["source"].as_str().unwrap_or_default(),
                payload["reason"].as_str().unwrap_or_default(),
                payload["body"].as_str().unwrap_or_default(),
                payload["content_type"].as_str(),
            )),
            _ => None,
        }
    }
}

/// What one [`crate::Channel::poll`] brought: the items, and where the next poll starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Polled {
    pub items: Vec<Item>,
    /// The cursor of the next poll (a page token, a time); `None` keeps the one given. The
    /// engine stores it with the items in one transaction.
    pub cursor: Option<String>,
}

/// An amount of money: its decimal text and its ISO 4217 currency, exact (never a float).
///
/// ```
/// use weft_sdk::Money;
/// let total = Money::new("1299.90", "EUR").unwrap();
/// assert_eq!(total.to_string(), "1299.90 EUR");
/// assert!(Money::new("12,99", "EUR").is_err());
/// assert!(Money::new("12.99", "euro").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// The amount as decimal text: digits, at most one `.`, a leading `-` for a refund
    /// (`"1299.90"`, `"-5"`).
    pub amount: String,
    /// The ISO 4217 code, three capital letters (`EUR`, `JPY`, `USD`).
    pub currency: String,
}

impl Money {
    /// Money from an amount and a currency as a marketplace writes them, or what is wrong.
    pub fn new(amount: impl Into<String>, currency: impl Into<String>) -> Result<Money, String> {
        let money = Money {
            amount: amount.into().trim().to_owned(),
            currency: currency.into().trim().to_owned(),
        };
        money.check()?;
        Ok(money)
    }

    /// What is wrong with the amount or the currency, if anything.
    pub fn check(&self) -> Result<(), String> {
        let digits = self.amount.strip_prefix('-').unwrap_or(&self.amount);
        let (whole, fraction) = match digits.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (digits, None),
        };
        let all_digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || !fraction.is_none_or(all_digits) {
            return Err(format!("amount {:?} is not a decimal number like 1299.90", self.amount));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("currency {:?} is not an ISO 4217 code like EUR", self.currency));
        }
        Ok(())
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// Where an order stands at the marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, not paid yet (or payment pending).
    Pending,
    /// Paid, not shipped yet.
    Paid,
    /// Some of it shipped.
    PartiallyShipped,
    /// All of it shipped.
    Shipped,
    /// All of it delivered.
    Delivered,
    Cancelled,
    /// Money returned, in part or in full.
    Refunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::PartiallyShipped => "partially_shipped",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
        }
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    /// The seller's SKU (or the marketplace's: ASIN, item id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub title: String,
    pub quantity: u32,
    /// The price of one unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
}

/// Where a parcel is, in one set for every carrier: each connector maps its carrier's statuses
/// onto it. `pending` is the carrier knowing of the parcel before it moves (a label printed:
/// EasyPost's `pre_transit`, AfterShip's `InfoReceived`), which none of the other five says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    Pending,
    InTransit,
    OutForDelivery,
    Delivered,
    /// Held, damaged, undeliverable, lost: something a person should look at.
    Exception,
    /// On its way back to the seller, or back.
    Returned,
}

impl ShipmentStatus {
    pub const ALL: [ShipmentStatus; 6] = [
        ShipmentStatus::Pending,
        ShipmentStatus::InTransit,
        ShipmentStatus::OutForDelivery,
        ShipmentStatus::Delivered,
        ShipmentStatus::Exception,
        ShipmentStatus::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::Pending => "pending",
            ShipmentStatus::InTransit => "in_transit",
            ShipmentStatus::OutForDelivery => "out_for_delivery",
            ShipmentStatus::Delivered => "delivered",
            ShipmentStatus::Exception => "exception",
            ShipmentStatus::Returned => "returned",
        }
    }

    pub fn parse(text: &str) -> Option<ShipmentStatus> {
        ShipmentStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A carrier's news about one parcel: the payload of a [`SHIPMENT_UPDATED`] event.
///
/// ```json
/// {"carrier": "DHL", "tracking_number": "JD014600006281230704", "status": "in_transit",
///  "at": "2026-11-21T08:00:00Z", "order": "#1001", "channel": "shopify",
///  "estimated_delivery": "2026-11-23T18:00:00Z", "detail": "Ankunft im Paketzentrum"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentUpdate {
    /// The carrier as the source names it (`DHL`, `USPS`, `Yamato`).
    pub carrier: String,
    /// The carrier's tracking number: the shipment's key, with which a carrier's later news
    /// finds the order a marketplace shipped under it.
    pub tracking_number: String,
    pub status: ShipmentStatus,
    /// When the carrier saw it, RFC 3339.
    pub at: String,
    /// The order number the parcel belongs to, when the source knows it (a marketplace's
    /// fulfillment does; a carrier's tracker usually not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The channel of that order (`shopify`, `amazon`), as in [`Order::channel`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// When the carrier expects to deliver it, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<String>,
    /// The carrier's own words for the step (`Ankunft im Paketzentrum`), and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An order as the engine keeps it, for steps ([`crate::Context::order`]) and agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    /// The order as last reported (its `number` as the marketplace writes it).
    pub order: Order,
    /// The canonical number ([`crate::order::canonical_order`]) it is kept under.
    pub number: String,
    /// The customer the order's buyer is, once a step linked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<u64>,
    /// The last change: `placed`, `updated` or `cancelled`.
    pub last_change: String,
    pub updated_at: Timestamp,
}

/// One step of a shipment's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentStep {
    pub at: Timestamp,
    pub status: ShipmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A shipment as the engine keeps it: where it is, and how it got there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentView {
    pub carrier: String,
    pub tracking_number: String,
    pub status: ShipmentStatus,
    /// The order it belongs to (channel and canonical number), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
    /// Every status the carrier reported, oldest first.
    pub history: Vec<ShipmentStep>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_decimal_text_with_a_currency() {
        for (amount, currency) in [
            ("1299.90", "EUR"),
            ("0", "JPY"),
            ("-5.00", "USD"),
            ("12345678901234567890.12", "CNY"),
        ] {
            assert_eq!(Money::new(amount, currency).map(|m| m.amount), Ok(amount.to_owned()));
        }
        for (amount, currency, problem) in [
            ("12,99", "EUR", "amount \"12,99\""),
            ("1.2.3", "EUR", "amount"),
            ("", "EUR", "amount"),
            ("1.", "EUR", "amount"),
            (".5", "EUR", "amount"),
            ("1e3", "EUR", "amount"),
            ("NaN", "EUR", "amount"),
            ("10", "eur", "currency \"eur\""),
            ("10", "€", "currency"),
            ("10", "EURO", "currency"),
        ] {
            let error = Money::new(amount, currency).unwrap_err();
            assert!(error.starts_with(problem), "{amount} {currency}: {error}");
        }
    }

    #[test]
    fn order_changes_are_event_kinds() {
        for change in [OrderChange::Placed, OrderChange::Updated, OrderChange::Cancelled] {
            assert_eq!(OrderChange::from_kind(change.kind()), Some(change));
            assert!(is_order_event(change.kind()));
        }
        assert!(!is_order_event(SHIPMENT_UPDATED));
        assert!(!is_order_event("message.received"));
    }

    #[test]
    fn shipment_statuses_read_as_they_are_written() {
        for status in ShipmentStatus::ALL {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(ShipmentStatus::parse(status.as_str()), Some(status));
        }
        let update: ShipmentUpdate = serde_json::from_str(
            r#"{"carrier": "ヤマト運輸", "tracking_number": "4470-1234-5678", "status": "out_for_delivery",
                "at": "2026-11-21T08:00:00+09:00", "detail": "配達中です"}"#,
        )
        .unwrap();
        assert_eq!(update.status, ShipmentStatus::OutForDelivery);
        assert!(
            serde_json::from_str::<ShipmentUpdate>(
                r#"{"carrier": "DHL", "tracking_number": "1", "status": "lost", "at": "x"}"#
            )
            .is_err()
        );
    }
}
