//! What an SP-API notification says: an `ORDER_CHANGE` becomes an order event, every other
//! type a fact, each carrying the notification's `NotificationId` so that a notification
//! delivered twice (SQS and EventBridge deliver at least once) is kept once.
//!
//! **Envelopes.** A notification arrives as the body of an SQS message, or inside `detail` of
//! an EventBridge event (`{"version": "0", "detail-type": …, "source":
//! "aws.partner/sellingpartnerapi.amazon.com/…", "detail": {…}}`). Older notification types
//! write their keys in PascalCase (`NotificationType`, `Payload`, `NotificationMetadata`),
//! newer ones in camelCase (`notificationType`, `payload`, `notificationMetadata`): both are
//! read, key by key ([`field`]).
//!
//! **ORDER_CHANGE** (`Payload.OrderChangeNotification`): the order number (`AmazonOrderId`,
//! `ddd-ddddddd-ddddddd`), its status (`Summary.OrderStatus`), purchase date, marketplace and
//! lines (`Summary.OrderItems`: SKU and quantity; the notification names no titles or prices,
//! so a line's title is its SKU). A `Pending` order is `order.placed`, a `Canceled` one
//! `order.cancelled`, any other status `order.updated`. The notification names no buyer: the
//! order is linked to one when a buyer's relayed mail names it.
//!
//! **Other types** (`ANY_OFFER_CHANGED`, `FEED_PROCESSING_FINISHED`, …) are recorded as a fact
//! of kind `amazon.<type in lowercase>` with the payload as sent, for workflows to match; they
//! are acknowledged, not failed. A body that is not a notification fails with what is wrong.

use serde_json::{Map, Value};
use weft_sdk::{Error, Item, Order, OrderChange, OrderLine, OrderStatus};

/// The notification type that becomes order events.
pub const ORDER_CHANGE: &str = "ORDER_CHANGE";

fn refuse(reason: impl std::fmt::Display) -> Error {
    Error::permanent(format!("amazon notification: {reason}"))
}

/// The value of `name` (written PascalCase) in `object`, in PascalCase or camelCase.
pub fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = object.get(name) {
        return Some(value);
    }
    let mut chars = name.chars();
    let first = chars.next()?;
    let camel: String = first.to_lowercase().chain(chars).collect();
    object.get(&camel)
}

fn text<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    field(object, name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn object<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Map<String, Value>> {
    field(object, name).and_then(Value::as_object)
}

/// The items of a body holding one notification, bare (an SQS message's body) or in an
/// EventBridge event's `detail`.
pub fn parse(body: &[u8]) -> Result<Vec<Item>, Error> {
    let value: Value = serde_json::from_slice(body).map_err(|e| refuse(format!("the body is not JSON: {e}")))?;
    let Value::Object(outer) = value else {
        return Err(refuse("the body is not a JSON object"));
    };
    let notification = match outer.get("detail") {
        Some(Value::Object(detail)) if outer.contains_key("detail-type") || outer.contains_key("source") => detail,
        Some(_) => return Err(refuse("the EventBridge event's `detail` is not an object")),
        None => &outer,
    };
    Ok(vec![item(notification)?])
}

/// One notification as an item.
pub fn item(notification: &Map<String, Value>) -> Result<Item, Error> {
    let kind = text(notification, "NotificationType")
        .ok_or_else(|| refuse("`NotificationType` is missing: the body is not an SP-API notification"))?;
    let metadata = object(notification, "NotificationMetadata")
        .ok_or_else(|| refuse(format!("{kind}: `NotificationMetadata` is missing")))?;
    let id = text(metadata, "NotificationId")
        .ok_or_else(|| refuse(format!("{kind}: `NotificationMetadata.NotificationId` is missing")))?
        .to_owned();
    let what = format!("{kind} {id}");
    let event_time = match text(notification, "EventTime") {
        Some(time) => Some(
            time.parse::<jiff::Timestamp>()
                .map_err(|e| refuse(format!("{what}: `EventTime` {time:?} is not an ISO 8601 time: {e}")))?,
        ),
        None => None,
    };
    let payload = field(notification, "Payload")
        .and_then(Value::as_object)
        .ok_or_else(|| refuse(format!("{what}: `Payload` is missing or not an object")))?;
    if kind == ORDER_CHANGE {
        let change = object(payload, "OrderChangeNotification")
            .ok_or_else(|| refuse(format!("{what}: `Payload.OrderChangeNotification` is missing")))?;
        let (change, order) = order(change, event_time, &what)?;
        return Ok(Item::Order {
            change,
            order,
            id: Some(id),
        });
    }
    Ok(Item::Fact {
        kind: format!("amazon.{}", kind.to_lowercase()),
        at: event_time.map(|t| t.as_millisecond()),
        payload: serde_json::json!({
            "channel": "amazon",
            "notification_type": kind,
            "notification": id,
            "payload_version": text(notification, "PayloadVersion"),
            "payload": payload,
        }),
        id: Some(id),
    })
}

/// Whether `number` is written as Amazon writes order numbers: `ddd-ddddddd-ddddddd`.
pub fn is_amazon_order(number: &str) -> bool {
    let parts: Vec<&str> = number.split('-').collect();
    parts.len() == 3
        && [3, 7, 7]
            .iter()
            .zip(&parts)
            .all(|(len, part)| part.len() == *len && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Amazon's order statuses as weft's; None for one weft has no word for.
pub fn status(amazon: &str) -> Option<OrderStatus> {
    Some(match amazon {
        "Pending" | "PendingAvailability" => OrderStatus::Pending,
        "Unshipped" | "InvoiceUnconfirmed" => OrderStatus::Paid,
        "PartiallyShipped" => OrderStatus::PartiallyShipped,
        "Shipped" => OrderStatus::Shipped,
        "Canceled" | "Cancelled" => OrderStatus::Cancelled,
        _ => return None,
    })
}

/// `OrderChangeNotification` as an order and what happened to it.
fn order(
    notification: &Map<String, Value>,
    event_time: Option<jiff::Timestamp>,
    what: &str,
) -> Result<(OrderChange, Order), Error> {
    let number =
        text(notification, "AmazonOrderId").ok_or_else(|| refuse(format!("{what}: `AmazonOrderId` is missing")))?;
    if !is_amazon_order(number) {
        return Err(refuse(format!(
            "{what}: `AmazonOrderId` {number:?} is not an Amazon order number (ddd-ddddddd-ddddddd)"
        )));
    }
    let summary = object(notification, "Summary")
        .ok_or_else(|| refuse(format!("{what}: order {number}: `Summary` is missing")))?;
    let amazon_status = text(summary, "OrderStatus");
    let placed_at = match text(summary, "PurchaseDate") {
        Some(date) => date
            .parse::<jiff::Timestamp>()
            .map_err(|e| {
                refuse(format!(
                    "{what}: order {number}: `PurchaseDate` {date:?} is not an ISO 8601 time: {e}"
                ))
            })?
            .to_string(),
        None => event_time.map(|t| t.to_string()).ok_or_else(|| {
            refuse(format!(
                "{what}: order {number}: neither `PurchaseDate` nor `EventTime` says when"
            ))
        })?,
    };
    let mut lines = Vec::new();
    if let Some(items) = field(summary, "OrderItems") {
        let items = items
            .as_array()
            .ok_or_else(|| refuse(format!("{what}: order {number}: `OrderItems` is not a list")))?;
        for (i, line) in items.iter().enumerate() {
            let line = line
                .as_object()
                .ok_or_else(|| refuse(format!("{what}: order {number}: `OrderItems[{i}]` is not an object")))?;
            let sku = text(line, "SellerSKU")
                .or_else(|| text(line, "ASIN"))
                .map(str::to_owned);
            let quantity = field(line, "Quantity").and_then(Value::as_u64).ok_or_else(|| {
                refuse(format!(
                    "{what}: order {number}: `OrderItems[{i}].Quantity` is not a whole number"
                ))
            })?;
            let title = sku
                .clone()
                .or_else(|| text(line, "OrderItemId").map(str::to_owned))
                .unwrap_or_default();
            lines.push(OrderLine {
                sku,
                title,
                quantity: u32::try_from(quantity).map_err(|_| {
                    refuse(format!(
                        "{what}: order {number}: `OrderItems[{i}].Quantity` {quantity} is too large"
                    ))
                })?,
                unit_price: None,
            });
        }
    }
    let status = amazon_status.and_then(status);
    let change = match status {
        Some(OrderStatus::Pending) => OrderChange::Placed,
        Some(OrderStatus::Cancelled) => OrderChange::Cancelled,
        _ => OrderChange::Updated,
    };
    let order = Order {
        number: number.to_owned(),
        channel: "amazon".into(),
        placed_at,
        buyer: weft_sdk::Party::default(),
        shipping: None,
        status,
        updated_at: event_time.map(|t| t.to_string()),
        lines,
        total: None,
    };
    Ok((change, order))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// ORDER_CHANGE as SP-API's notification guide shows it (its keys in PascalCase).
    pub const ORDER_CHANGE_PASCAL: &str = r#"{"NotificationVersion":"1.0","NotificationType":"ORDER_CHANGE","PayloadVersion":"1.0","EventTime":"2026-11-30T01:35:06.382Z","Payload":{"OrderChangeNotification":{"NotificationLevel":"OrderLevel","SellerId":"A3TH9S8BH6GOGM","AmazonOrderId":"302-1234567-7654321","OrderChangeType":"OrderStatusChange","OrderChangeTrigger":{"TimeOfOrderChange":"2026-11-30T01:35:05.000Z","ChangeReason":"Order status changed"},"Summary":{"MarketplaceId":"A1PA6795UKMFR9","OrderStatus":"Unshipped","PurchaseDate":"2026-11-29T20:11:01.000Z","DestinationPostalCode":"10115","FulfillmentType":"MFN","OrderType":"StandardOrder","OrderPrograms":[],"ShippingPrograms":[],"EasyShipShipmentStatus":null,"ElectronicInvoiceStatus":null,"OrderItems":[{"OrderItemId":"23470766441234","SupplySourceId":null,"SellerSKU":"WANDERSCHUH-42","Quantity":1},{"OrderItemId":"23470766445678","SellerSKU":"SOCKEN-3","Quantity":15}]}}},"NotificationMetadata":{"ApplicationId":"amzn1.sp.solution.2b2e5e27-3f1d-4f1b-8f5e-1234567890ab","SubscriptionId":"6d2b2e3a-1234-4c5d-9e8f-0a1b2c3d4e5f","PublishTime":"2026-11-30T01:35:06.500Z","NotificationId":"8b1f2c3d-4e5f-4a6b-9c7d-0e1f2a3b4c5d"}}"#;

    fn camel(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let mut chars = k.chars();
                        let key: String = chars
                            .next()
                            .into_iter()
                            .flat_map(char::to_lowercase)
                            .chain(chars)
                            .collect();
                        (key, camel(v))
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(camel).collect()),
            other => other.clone(),
        }
    }

    #[test]
    fn order_change_in_every_envelope_is_one_order() {
        let pascal: Value = serde_json::from_str(ORDER_CHANGE_PASCAL).unwrap();
        let eventbridge = serde_json::json!({"version": "0", "id": "c8b0d3f2-1111-2222-3333-444455556666",
            "detail-type": "ORDER_CHANGE", "source": "aws.partner/sellingpartnerapi.amazon.com/amzn1.sp.solution.2b2e5e27",
            "account": "123456789012", "time": "2026-11-30T01:35:06Z", "region": "eu-west-1", "resources": [],
            "detail": camel(&pascal)});
        for body in [pascal.clone(), camel(&pascal), eventbridge] {
            let items = parse(body.to_string().as_bytes()).unwrap();
            let [Item::Order { change, order, id }] = items.as_slice() else {
                panic!("{items:?}")
            };
            assert_eq!(*change, OrderChange::Updated);
            assert_eq!(id.as_deref(), Some("8b1f2c3d-4e5f-4a6b-9c7d-0e1f2a3b4c5d"));
            assert_eq!(order.number, "302-1234567-7654321");
            assert_eq!(order.channel, "amazon");
            assert_eq!(order.status, Some(OrderStatus::Paid));
            assert_eq!(order.placed_at, "2026-11-29T20:11:01Z");
            assert_eq!(order.updated_at.as_deref(), Some("2026-11-30T01:35:06.382Z"));
            let lines: Vec<(Option<&str>, u32)> = order.lines.iter().map(|l| (l.sku.as_deref(), l.quantity)).collect();
            assert_eq!(lines, [(Some("WANDERSCHUH-42"), 1), (Some("SOCKEN-3"), 15)]);
        }
    }

    #[test]
    fn statuses_choose_the_change() {
        for (amazon, change, status) in [
            ("Pending", OrderChange::Placed, Some(OrderStatus::Pending)),
            ("Shipped", OrderChange::Updated, Some(OrderStatus::Shipped)),
            ("Canceled", OrderChange::Cancelled, Some(OrderStatus::Cancelled)),
            ("Unfulfillable", OrderChange::Updated, None),
        ] {
            let body = ORDER_CHANGE_PASCAL.replace("\"Unshipped\"", &format!("\"{amazon}\""));
            let items = parse(body.as_bytes()).unwrap();
            let [Item::Order { change: got, order, .. }] = items.as_slice() else {
                panic!()
            };
            assert_eq!((*got, order.status), (change, status), "{amazon}");
        }
    }

    #[test]
    fn other_types_are_facts_and_bad_bodies_say_what_is_wrong() {
        let offer = r#"{"notificationVersion":"1.0","notificationType":"ANY_OFFER_CHANGED","payloadVersion":"1.0","eventTime":"2026-11-30T02:00:00Z","payload":{"anyOfferChangedNotification":{"sellerId":"A3TH9S8BH6GOGM","offerChangeTrigger":{"marketplaceId":"A1PA6795UKMFR9","asin":"B07XJ8C8F5"}}},"notificationMetadata":{"notificationId":"n-offer-1"}}"#;
        let items = parse(offer.as_bytes()).unwrap();
        let [Item::Fact { kind, payload, id, at }] = items.as_slice() else {
            panic!("{items:?}")
        };
        assert_eq!(kind, "amazon.any_offer_changed");
        assert_eq!(id.as_deref(), Some("n-offer-1"));
        assert!(at.is_some());
        assert_eq!(
            payload["payload"]["anyOfferChangedNotification"]["offerChangeTrigger"]["asin"],
            "B07XJ8C8F5"
        );
        let cases = [
            ("kein JSON — 不是", "the body is not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"Type":"Notification"}"#, "`NotificationType` is missing"),
            (
                &ORDER_CHANGE_PASCAL.replace("302-1234567-7654321", "302-123"),
                "`AmazonOrderId` \"302-123\" is not an Amazon order number",
            ),
            (
                &ORDER_CHANGE_PASCAL.replace("\"Quantity\":15", "\"Quantity\":\"viele\""),
                "`OrderItems[1].Quantity` is not a whole number",
            ),
            (
                &ORDER_CHANGE_PASCAL.replace("\"NotificationId\"", "\"Id\""),
                "`NotificationMetadata.NotificationId` is missing",
            ),
        ];
        for (body, expected) in cases {
            let error = parse(body.as_bytes()).unwrap_err();
            assert!(
                matches!(&error, Error::Permanent(m) if m.starts_with("amazon notification: ") && m.contains(expected)),
                "{body}: {error:?}"
            );
        }
    }
}
