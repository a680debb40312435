//! The `shopify` channel: a shop's webhooks, as orders, shipments, customers and privacy
//! requests.
//!
//! One mount per app (`with: { secret: NAME }`), the app's client secret granted in
//! `allow: { secrets: [NAME] }`. Shopify signs every delivery with
//! `base64(HMAC-SHA256(client secret, raw body))`, in `X-Shopify-Hmac-Sha256` (classic webhooks)
//! or `shopify-hmac-sha256` (the unprefixed, lowercase header set of newer deliveries); the
//! other headers come in the same two sets (`X-Shopify-Topic` / `shopify-topic`, ...). When both
//! are present the unprefixed one is read, as Shopify's own libraries do.
//!
//! What each topic becomes:
//! - `orders/create`, `orders/updated`, `orders/paid`, `orders/fulfilled`, `orders/edited`,
//!   `orders/cancelled`: an [`Order`] placed, updated or cancelled (number as the shop shows
//!   it, `#1001`; the buyer with their email, phone, name and Shopify customer id; the shipping
//!   address; the lines and the total as decimal text with the currency).
//! - `fulfillments/create`, `fulfillments/update`: a [`ShipmentUpdate`] per tracking number,
//!   linked to its order (a fulfillment `#1001.2` belongs to order `#1001`).
//! - `customers/create`, `customers/update`: a `customer.updated` fact with the customer's
//!   email, phone, name and address, for identity steps to match.
//! - the mandatory privacy topics: `customers/data_request` becomes a `customer.data_request`
//!   fact, `customers/redact` a `customer.erase` fact (the engine erases that buyer's personal
//!   data and records what it erased), `shop/redact` a `channel.erase` fact for the mount.
//! - any other topic: a `shopify.unhandled` fact naming it, so the delivery is acknowledged and
//!   recorded rather than failed.
//!
//! Ids beyond 2^53 (Shopify's order, customer and line ids) are read as integers and kept as
//! decimal text, never through a float.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, de::DeserializeOwned};
use sha2::Sha256;
use weft_sdk::prelude::*;

/// The channel.
pub struct Shopify;

/// The order channel the shop's orders are kept under.
pub const CHANNEL: &str = "shopify";

/// `with:` for the shopify channel.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The name of the secret holding the app's client secret (which signs its webhooks),
    /// granted to the mount in `allow: { secrets: [NAME] }`. Example: `secret: shopify_app`
    pub secret: String,
}

impl Channel for Shopify {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "Shopify webhooks: orders, fulfillments, customers and the privacy requests (redact, data request)";

    fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
        let secret = host.secret(&config.secret).map_err(Error::bad_config)?;
        verify_signature(&secret, inbound)
    }

    fn parse_items(inbound: &Inbound, _config: &Config) -> Result<Vec<Item>, Error> {
        let Some((_, topic)) = shopify_header(inbound, "topic") else {
            return Err(Error::permanent(
                "Shopify: the delivery names no topic (no X-Shopify-Topic or shopify-topic header)",
            ));
        };
        items(topic.trim(), inbound).map_err(|problem| Error::permanent(format!("Shopify {topic}: {problem}")))
    }
}

/// A Shopify header in either set: the unprefixed lowercase `shopify-NAME` first, else the
/// classic `X-Shopify-NAME`; with the name it was found under.
pub fn shopify_header<'a>(inbound: &'a Inbound, name: &str) -> Option<(String, &'a str)> {
    [format!("shopify-{name}"), format!("x-shopify-{name}")]
        .into_iter()
        .find_map(|header| inbound.header(&header).map(|value| (header, value)))
}

/// Checks the base64 HMAC-SHA256 of the raw body under the app's client secret, in constant
/// time; the reason names the header and what was wrong with it.
pub fn verify_signature(secret: &str, inbound: &Inbound) -> Result<(), Error> {
    let Some((header, given)) = shopify_header(inbound, "hmac-sha256") else {
        return Err(Error::permanent(
            "Shopify: the delivery is not signed (no X-Shopify-Hmac-Sha256 or shopify-hmac-sha256 header)",
        ));
    };
    let given = base64::engine::general_purpose::STANDARD
        .decode(given.trim())
        .map_err(|_| Error::permanent(format!("Shopify: the {header} header is not base64")))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(&inbound.body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).map_err(|_| {
        Error::permanent(format!(
            "Shopify: the {header} header does not match the body (tampered, or signed with another secret)"
        ))
    })
}

/// What a delivery of `topic` says.
fn items(topic: &str, inbound: &Inbound) -> Result<Vec<Item>, String> {
    // Shopify sends a retried or duplicated event with the same event id (the webhook id
    // names one delivery): the engine drops a second fact with that id.
    let event = shopify_header(inbound, "event-id").map(|(_, id)| id.trim().to_owned());
    let request = event
        .clone()
        .or_else(|| shopify_header(inbound, "webhook-id").map(|(_, id)| id.trim().to_owned()));
    let shop = shopify_header(inbound, "shop-domain").map(|(_, shop)| shop.trim().to_owned());
    let body = &inbound.body;
    let change = match topic {
        "orders/create" => Some(OrderChange::Placed),
        "orders/updated" | "orders/paid" | "orders/fulfilled" | "orders/partially_fulfilled" | "orders/edited" => {
            Some(OrderChange::Updated)
        }
        "orders/cancelled" => Some(OrderChange::Cancelled),
        _ => None,
    };
    if let Some(change) = change {
        let order = read::<ShopifyOrder>(body, "an order")?.into_order()?;
        return Ok(vec![Item::Order {
            change,
            order,
            id: event,
        }]);
    }
    match topic {
        "fulfillments/create" | "fulfillments/update" => {
            let fulfillment = read::<Fulfillment>(body, "a fulfillment")?;
            Ok(fulfillment.shipments()?.into_iter().map(Item::Shipment).collect())
        }
        "customers/create" | "customers/update" => {
            let customer = read::<Customer>(body, "a customer")?;
            Ok(vec![Item::Fact {
                kind: "customer.updated".into(),
                at: None,
                payload: serde_json::json!({
                    "channel": CHANNEL,
                    "topic": topic,
                    "customer_id": customer.id.0.clone(),
                    "buyer": customer.party(),
                    "address": customer.default_address.as_ref().map(ShopifyAddress::address),
                    "identities": customer.identities(),
                }),
                id: event.clone(),
            }])
        }
        "customers/data_request" => {
            let asked = read::<DataRequest>(body, "a customer data request")?;
            Ok(vec![Item::Fact {
                kind: "customer.data_request".into(),
                at: None,
                payload: serde_json::json!({
                    "channel": CHANNEL,
                    "identities": asked.customer.identities(),
                    "orders": asked.orders_requested.iter().map(|id| &id.0).collect::<Vec<_>>(),
                    "shop": asked.shop_domain.or(shop),
                    "reason": "shopify customers/data_request",
                    "request": asked.data_request.map(|r| r.id.0).or(request),
                }),
                id: event.clone(),
            }])
        }
        "customers/redact" => {
            let redact = read::<CustomerRedact>(body, "a customer redaction request")?;
            let identities = redact.customer.identities();
            if identities.is_empty() {
                return Err("the customer to redact has no id, email or phone".into());
            }
            Ok(vec![Item::Fact {
                kind: "customer.erase".into(),
                at: None,
                payload: serde_json::json!({
                    "channel": CHANNEL,
                    "identities": identities,
                    "orders": redact.orders_to_redact.iter().map(|id| &id.0).collect::<Vec<_>>(),
                    "reason": format!("shopify customers/redact from {}", redact.shop_domain.or(shop).unwrap_or_default()),
                    "request": request,
                }),
                id: event.clone(),
            }])
        }
        "shop/redact" => {
            let redact = read::<ShopRedact>(body, "a shop redaction request")?;
            let shop = redact.shop_domain.or(shop).unwrap_or_default();
            Ok(vec![Item::Fact {
                kind: "channel.erase".into(),
                at: None,
                payload: serde_json::json!({
                    "channel": CHANNEL,
                    "hook": inbound.hook,
                    "shop": shop,
                    "shop_id": redact.shop_id.map(|id| id.0),
                    "reason": format!("shopify shop/redact from {shop}"),
                    "request": request,
                }),
                id: event.clone(),
            }])
        }
        _ => Ok(vec![Item::Fact {
            kind: "shopify.unhandled".into(),
            at: None,
            payload: serde_json::json!({ "topic": topic, "shop": shop, "request": request }),
            id: event,
        }]),
    }
}

/// The body as a `T`, or what it is not.
fn read<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("the body is not {what}: {e}"))
}

/// A Shopify id: an integer (often beyond 2^53) or its text, kept as exact decimal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer id or its text")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_owned()))
            }
            // A float here would already have lost digits: refused rather than rounded.
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Id, E> {
                Err(E::custom(format!("id {v} is not an integer")))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// Text that is absent, null or blank is none.
fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[derive(Deserialize)]
struct ShopifyOrder {
    name: String,
    created_at: String,
    #[serde(default)]
    updated_at: Option<String>,
    currency: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    contact_email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    total_price: Option<String>,
    #[serde(default)]
    financial_status: Option<String>,
    #[serde(default)]
    fulfillment_status: Option<String>,
    #[serde(default)]
    cancelled_at: Option<String>,
    #[serde(default)]
    customer: Option<Customer>,
    #[serde(default)]
    shipping_address: Option<ShopifyAddress>,
    #[serde(default)]
    billing_address: Option<ShopifyAddress>,
    #[serde(default)]
    line_items: Vec<LineItem>,
}

#[derive(Deserialize)]
struct LineItem {
    title: String,
    quantity: u32,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price: Option<String>,
}

#[derive(Deserialize)]
struct Customer {
    #[serde(default = "no_id")]
    id: Id,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    default_address: Option<ShopifyAddress>,
}

fn no_id() -> Id {
    Id(String::new())
}

impl Customer {
    fn name(&self) -> Option<String> {
        full_name(&self.first_name, &self.last_name)
    }

    fn party(&self) -> Party {
        Party {
            name: self.name(),
            email: text(&self.email),
            phone: text(&self.phone),
            buyer_id: Some(self.id.0.clone()).filter(|id| !id.is_empty()),
            ..Party::default()
        }
    }

    /// The customer's identities, as the engine's erasure and identity steps match them.
    fn identities(&self) -> Vec<Identity> {
        let party = self.party();
        [
            (IdentityKind::BuyerId, party.buyer_id),
            (IdentityKind::Email, party.email),
            (IdentityKind::Phone, party.phone),
        ]
        .into_iter()
        .filter_map(|(kind, value)| value.map(|value| Identity::new(kind, value)))
        .collect()
    }
}

fn full_name(first: &Option<String>, last: &Option<String>) -> Option<String> {
    let name = [text(first), text(last)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

#[derive(Deserialize)]
struct ShopifyAddress {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    address1: Option<String>,
    #[serde(default)]
    address2: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    zip: Option<String>,
    #[serde(default)]
    province_code: Option<String>,
    #[serde(default)]
    province: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

impl ShopifyAddress {
    fn address(&self) -> Address {
        Address {
            line1: text(&self.address1),
            line2: text(&self.address2),
            city: text(&self.city),
            postcode: text(&self.zip),
            region: text(&self.province_code).or_else(|| text(&self.province)),
            country: text(&self.country_code).or_else(|| text(&self.country)),
        }
    }

    fn name(&self) -> Option<String> {
        text(&self.name).or_else(|| full_name(&self.first_name, &self.last_name))
    }
}

impl ShopifyOrder {
    fn into_order(self) -> Result<Order, String> {
        let money = |amount: &str| Money::new(amount, &self.currency);
        let lines = self
            .line_items
            .iter()
            .map(|line| {
                Ok(OrderLine {
                    sku: text(&line.sku),
                    title: line.title.clone(),
                    quantity: line.quantity,
                    unit_price: line
                        .price
                        .as_deref()
                        .map(&money)
                        .transpose()
                        .map_err(|e| format!("line {:?}: {e}", line.title))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let total = self
            .total_price
            .as_deref()
            .map(&money)
            .transpose()
            .map_err(|e| format!("total_price: {e}"))?;
        let customer = self.customer.as_ref();
        let shipping = self.shipping_address.as_ref();
        let buyer = Party {
            name: customer
                .and_then(Customer::name)
                .or_else(|| shipping.and_then(ShopifyAddress::name))
                .or_else(|| self.billing_address.as_ref().and_then(ShopifyAddress::name)),
            email: text(&self.email)
                .or_else(|| text(&self.contact_email))
                .or_else(|| customer.and_then(|c| text(&c.email))),
            phone: text(&self.phone)
                .or_else(|| customer.and_then(|c| text(&c.phone)))
                .or_else(|| shipping.and_then(|a| text(&a.phone))),
            buyer_id: customer.map(|c| c.id.0.clone()).filter(|id| !id.is_empty()),
            ..Party::default()
        };
        let status = order_status(
            self.cancelled_at.is_some(),
            self.financial_status.as_deref(),
            self.fulfillment_status.as_deref(),
        );
        Ok(Order {
            number: self.name,
            channel: CHANNEL.into(),
            placed_at: self.created_at,
            buyer,
            shipping: shipping.map(ShopifyAddress::address),
            status,
            updated_at: self.updated_at,
            lines,
            total,
        })
    }
}

/// Where a Shopify order stands, from its cancellation and its financial and fulfillment
/// statuses (a cancellation first, then a refund, then how much of it shipped, then payment).
fn order_status(cancelled: bool, financial: Option<&str>, fulfillment: Option<&str>) -> Option<OrderStatus> {
    if cancelled {
        return Some(OrderStatus::Cancelled);
    }
    Some(match (financial, fulfillment) {
        (Some("refunded" | "partially_refunded"), _) => OrderStatus::Refunded,
        (_, Some("fulfilled")) => OrderStatus::Shipped,
        (_, Some("partial")) => OrderStatus::PartiallyShipped,
        (Some("paid"), _) => OrderStatus::Paid,
        (Some("pending" | "authorized" | "partially_paid"), _) => OrderStatus::Pending,
        _ => return None,
    })
}

#[derive(Deserialize)]
struct Fulfillment {
    order_id: Id,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    shipment_status: Option<String>,
    #[serde(default)]
    tracking_company: Option<String>,
    #[serde(default)]
    tracking_number: Option<String>,
    #[serde(default)]
    tracking_numbers: Vec<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

/// A fulfillment's shipment status in weft's set (Shopify's `shipment_status`, or the
/// fulfillment's own status when it failed or was cancelled); `label_printed`, `confirmed`
/// and no status at all are a parcel not moving yet.
fn shipment_status(fulfillment: Option<&str>, shipment: Option<&str>) -> ShipmentStatus {
    if matches!(fulfillment, Some("cancelled" | "failure" | "error")) {
        return ShipmentStatus::Exception;
    }
    match shipment {
        Some("in_transit" | "ready_for_pickup" | "picked_up") => ShipmentStatus::InTransit,
        Some("out_for_delivery") => ShipmentStatus::OutForDelivery,
        Some("delivered") => ShipmentStatus::Delivered,
        Some("attempted_delivery" | "failure" | "delayed" | "carrier_picked_up_failure") => ShipmentStatus::Exception,
        _ => ShipmentStatus::Pending,
    }
}

impl Fulfillment {
    fn shipments(self) -> Result<Vec<ShipmentUpdate>, String> {
        let mut numbers: Vec<String> = self
            .tracking_numbers
            .iter()
            .filter_map(|n| text(&Some(n.clone())))
            .collect();
        if let Some(number) = text(&self.tracking_number)
            && !numbers.contains(&number)
        {
            numbers.insert(0, number);
        }
        let Some(at) = text(&self.updated_at).or_else(|| text(&self.created_at)) else {
            return Err("the fulfillment has neither updated_at nor created_at".into());
        };
        // Shopify names a fulfillment after its order: `#1001.2` is the second of `#1001`.
        let order = text(&self.name).map(|name| match name.rsplit_once('.') {
            Some((order, nth)) if !nth.is_empty() && nth.bytes().all(|b| b.is_ascii_digit()) => order.to_owned(),
            _ => name,
        });
        let status = shipment_status(self.status.as_deref(), self.shipment_status.as_deref());
        Ok(numbers
            .into_iter()
            .map(|tracking_number| ShipmentUpdate {
                carrier: text(&self.tracking_company).unwrap_or_else(|| "unknown".into()),
                tracking_number,
                status,
                at: at.clone(),
                order: order.clone(),
                channel: Some(CHANNEL.into()),
                estimated_delivery: None,
                detail: Some(format!(
                    "Shopify fulfillment of order id {}: {}",
                    self.order_id.0,
                    self.shipment_status
                        .as_deref()
                        .or(self.status.as_deref())
                        .unwrap_or("no shipment status")
                )),
            })
            .collect())
    }
}

#[derive(Deserialize)]
struct DataRequest {
    #[serde(default)]
    shop_domain: Option<String>,
    customer: Customer,
    #[serde(default)]
    orders_requested: Vec<Id>,
    #[serde(default)]
    data_request: Option<DataRequestId>,
}

#[derive(Deserialize)]
struct DataRequestId {
    id: Id,
}

#[derive(Deserialize)]
struct CustomerRedact {
    #[serde(default)]
    shop_domain: Option<String>,
    customer: Customer,
    #[serde(default)]
    orders_to_redact: Vec<Id>,
}

#[derive(Deserialize)]
struct ShopRedact {
    #[serde(default)]
    shop_id: Option<Id>,
    #[serde(default)]
    shop_domain: Option<String>,
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_channel!(Shopify);

#[cfg(test)]
mod tests;
