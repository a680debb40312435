//! The poll of the Orders API: the orders changed since the last poll, page by page, and a
//! cursor that a restart neither skips past nor repeats.
//!
//! **Windows of change.** Each poll reads the purchase orders *last modified* in one window of
//! time, `[since, until)`: `GET /v3/orders?lastModifiedStartDate=since&lastModifiedEndDate=
//! until-1ms&createdStartDate=…&limit=…`. Filtering on modification rather than creation is
//! what brings an order again when it changes later (shipped, delivered, cancelled), as
//! `order.updated` or `order.cancelled`; `createdStartDate` is set to the oldest date the
//! Orders API keeps (180 days), since Walmart otherwise limits every listing to orders created
//! in the last 7 days and an older order changed now would be missed. The window ends a little
//! before the poll started ([`Config::settle_seconds`]) so that it is closed: the next window
//! starts exactly where it ended, and every change falls into exactly one window.
//!
//! **Pages.** Walmart answers a page with `list.meta.nextCursor`, the query of the next page
//! (`?limit=…&hasMoreElements=true&soIndex=…&poIndex=…&…`), asked as `GET /v3/orders{nextCursor}`.
//! A poll reads at most [`Config::pages_per_poll`]; the cursor then keeps the window and Walmart's
//! `nextCursor`, and the next poll goes on from that page. The cursor is stored with the
//! orders in one transaction, so a restart goes on from the last page taken.
//!
//! **Which change.** An order whose every line is cancelled is `order.cancelled`. An order
//! created inside the window, or whose lines are all still `Created` (Walmart releases an
//! order to the seller a little after the buyer placed it, so its creation can fall into the
//! window before the one that first lists it), is placed (`order.placed`); any other is
//! updated (`order.updated`).

use crate::api;
use crate::config::{Config, MAX_LOOKBACK_DAYS};
use crate::order::PurchaseOrder;
use serde::{Deserialize, Serialize};
use weft_sdk::{Error, Host, Item, OrderChange, OrderStatus, Polled};

/// Where a poll starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The start of the window being read (or to read next), RFC 3339.
    pub since: String,
    /// The end of the window being read, while its pages are not all read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Walmart's `nextCursor` of the next page of that window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl Cursor {
    /// The cursor a poll was given, or where a first poll starts.
    pub fn read(cursor: Option<&str>, now: jiff::Timestamp, config: &Config) -> Result<Cursor, Error> {
        let Some(text) = cursor else {
            let since = now - jiff::SignedDuration::from_hours(24 * i64::from(config.first_poll_days));
            return Ok(Cursor {
                since: since.to_string(),
                until: None,
                next: None,
            });
        };
        let bad = |e: &dyn std::fmt::Display| {
            Error::permanent(format!("walmart: the poll cursor {text:?} is not this channel's: {e}"))
        };
        let cursor: Cursor = serde_json::from_str(text).map_err(|e| bad(&e))?;
        cursor.since_time().map_err(|e| bad(&e))?;
        if let Some(until) = &cursor.until {
            until.parse::<jiff::Timestamp>().map_err(|e| bad(&e))?;
        }
        Ok(cursor)
    }

    fn since_time(&self) -> Result<jiff::Timestamp, jiff::Error> {
        self.since.parse()
    }

    /// The cursor as it is stored.
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A page of `GET /v3/orders`.
#[derive(Debug, Deserialize)]
struct Page {
    list: List,
}

#[derive(Debug, Deserialize)]
struct List {
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    elements: Elements,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Elements {
    #[serde(default)]
    order: Vec<serde_json::Value>,
}

/// `value` as a query value.
fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The URL of the first page of a window.
fn first_page(config: &Config, since: jiff::Timestamp, until: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let oldest = now - jiff::SignedDuration::from_hours(24 * i64::from(MAX_LOOKBACK_DAYS));
    let end = until - jiff::SignedDuration::from_millis(1);
    format!(
        "{}?createdStartDate={}&lastModifiedStartDate={}&lastModifiedEndDate={}&limit={}&productInfo=false",
        config.orders_url(),
        encode(&oldest.to_string()),
        encode(&since.to_string()),
        encode(&end.to_string()),
        config.page_size,
    )
}

/// The URL of the page Walmart's `nextCursor` names (its query, starting with `?`).
fn next_page(config: &Config, next: &str) -> String {
    let next = next.trim();
    if next.starts_with('?') {
        format!("{}{next}", config.orders_url())
    } else {
        format!("{}?{next}", config.orders_url())
    }
}

/// What changed since `cursor`: the orders, and the next cursor.
pub fn poll(cursor: Option<&str>, config: &Config, host: &dyn Host) -> Result<Polled, Error> {
    let now = jiff::Timestamp::now();
    let start = Cursor::read(cursor, now, config)?;
    let since = start
        .since_time()
        .map_err(|e| Error::permanent(format!("walmart: the poll cursor's `since`: {e}")))?;
    let (until, mut url) = match (&start.until, &start.next) {
        (Some(until), Some(next)) => (
            until
                .parse::<jiff::Timestamp>()
                .map_err(|e| Error::permanent(format!("walmart: the poll cursor's `until`: {e}")))?,
            next_page(config, next),
        ),
        _ => {
            let until = now - jiff::SignedDuration::from_secs(i64::from(config.settle_seconds));
            // Whole seconds: a window's ends are as Walmart's dates are usually written.
            let until = jiff::Timestamp::from_second(until.as_second())
                .map_err(|e| Error::permanent(format!("walmart: the end of the poll window: {e}")))?;
            if until <= since {
                return Ok(Polled {
                    items: Vec::new(),
                    cursor: cursor.is_none().then(|| start.text()),
                });
            }
            (until, first_page(config, since, until, now))
        }
    };
    let mut found: Vec<(i64, Item)> = Vec::new();
    let mut next = None;
    for _ in 0..config.pages_per_poll {
        let what = "listing orders";
        let response = api::get(config, host, &url, what)?;
        if !response.is_success() {
            return Err(api::api_error(what, &response));
        }
        let page: Page = serde_json::from_slice(&response.body).map_err(|e| {
            Error::permanent(format!(
                "walmart: {what}: the answer is not the Orders API's format: {e}"
            ))
        })?;
        for raw in page.list.elements.order {
            found.push(item(raw, since)?);
        }
        next = page.list.meta.next_cursor.filter(|n| !n.trim().is_empty());
        match &next {
            Some(cursor) => url = next_page(config, cursor),
            None => break,
        }
    }
    found.sort_by_key(|(at, _)| *at);
    let cursor = match next {
        // More pages of this window: the next poll goes on from there.
        Some(next) => Cursor {
            since: start.since.clone(),
            until: Some(until.to_string()),
            next: Some(next),
        },
        None => Cursor {
            since: until.to_string(),
            until: None,
            next: None,
        },
    };
    Ok(Polled {
        items: found.into_iter().map(|(_, item)| item).collect(),
        cursor: Some(cursor.text()),
    })
}

/// One purchase order of a page as an item, with its last change time (ms) for sorting.
fn item(raw: serde_json::Value, since: jiff::Timestamp) -> Result<(i64, Item), Error> {
    let id = raw
        .get("purchaseOrderId")
        .and_then(|v| v.as_str())
        .unwrap_or("(without purchaseOrderId)")
        .to_owned();
    let purchase: PurchaseOrder = serde_json::from_value(raw).map_err(|e| {
        Error::permanent(format!(
            "walmart: purchase order {id} is not in the Orders API's format: {e}"
        ))
    })?;
    let order = purchase.to_order()?;
    let change = if order.status == Some(OrderStatus::Cancelled) {
        OrderChange::Cancelled
    } else if purchase.order_date >= since.as_millisecond() || purchase.is_untouched() {
        OrderChange::Placed
    } else {
        OrderChange::Updated
    };
    let at = purchase.last_change();
    Ok((
        at,
        Item::Order {
            change,
            order,
            id: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::testing::TestHost;
    use weft_sdk::{HttpResponse, Money};

    const PAGE_1: &[u8] = include_bytes!("../tests/payloads/orders-page-1.json");
    const PAGE_2: &[u8] = include_bytes!("../tests/payloads/orders-page-2.json");

    fn config() -> Config {
        weft_sdk::testing::channel_config::<crate::Walmart>(serde_json::json!({
            "api_url": "https://marketplace.walmartapis.com",
            "client_id": "id", "client_secret": "secret", "page_size": 2,
        }))
        .unwrap()
    }

    fn host() -> TestHost {
        TestHost::new()
            .with_secret("id", "client")
            .with_secret("secret", "geheim")
            .respond(
                "POST",
                "https://marketplace.walmartapis.com/v3/token",
                HttpResponse::new(200).with_json(&serde_json::json!({"access_token": "t", "expires_in": 900})),
            )
    }

    #[test]
    fn a_window_is_read_page_by_page_and_the_next_starts_where_it_ended() {
        let since = "2026-12-01T00:00:00Z";
        let cursor = Cursor {
            since: since.into(),
            until: Some("2026-12-07T12:00:00Z".into()),
            next: Some("?limit=2&hasMoreElements=true&soIndex=2&poIndex=1796277083022&sellerId=101&createdStartDate=2026-06-10".into()),
        };
        let host = host()
            .respond(
                "GET",
                "https://marketplace.walmartapis.com/v3/orders?limit=2&hasMoreElements=true&soIndex=2&poIndex=1796277083022&sellerId=101&createdStartDate=2026-06-10",
                HttpResponse::new(200).with_body(PAGE_1.to_vec()),
            )
            .respond(
                "GET",
                "https://marketplace.walmartapis.com/v3/orders?limit=2&hasMoreElements=true&soIndex=4&poIndex=2575693098967&sellerId=101&createdStartDate=2026-06-10",
                HttpResponse::new(200).with_body(PAGE_2.to_vec()),
            );
        let polled = poll(Some(&cursor.text()), &config(), &host).unwrap();
        let next: Cursor = serde_json::from_str(polled.cursor.as_deref().unwrap()).unwrap();
        assert_eq!(
            next,
            Cursor {
                since: "2026-12-07T12:00:00Z".into(),
                until: None,
                next: None
            }
        );
        let orders: Vec<(OrderChange, &str, Option<OrderStatus>)> = polled
            .items
            .iter()
            .map(|item| match item {
                Item::Order { change, order, id } => {
                    assert_eq!(*id, None);
                    (*change, order.number.as_str(), order.status)
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            orders,
            [
                (OrderChange::Updated, "4021603941547", Some(OrderStatus::Shipped)),
                (OrderChange::Placed, "5281956426648", Some(OrderStatus::Paid)),
                (OrderChange::Cancelled, "3912345678901", Some(OrderStatus::Cancelled)),
            ]
        );
        let Item::Order { order, .. } = &polled.items[1] else {
            unreachable!()
        };
        assert_eq!(order.buyer.name.as_deref(), Some("José Núñez"));
        assert_eq!(
            order.buyer.email.as_deref(),
            Some("3A31739D8B0A45A1B23F7F8C81C8747F@relay.walmart.com")
        );
        assert_eq!(
            order.buyer.buyer_id.as_deref(),
            Some("3A31739D8B0A45A1B23F7F8C81C8747F")
        );
        assert_eq!(order.buyer.phone.as_deref(), Some("3155598681"));
        assert_eq!(order.placed_at, "2026-12-07T08:15:30Z");
        assert_eq!(order.updated_at.as_deref(), Some("2026-12-07T08:16:10Z"));
        assert_eq!(
            order.total,
            Some(Money::new("32.39", "USD").unwrap()),
            "8.99 + 0.72 tax + 0 shipping + 21.0 + 1.68 tax"
        );
        let address = order.shipping.as_ref().unwrap();
        assert_eq!(
            (
                address.line1.as_deref(),
                address.city.as_deref(),
                address.region.as_deref(),
                address.postcode.as_deref()
            ),
            (Some("3258 Calle Peña"), Some("San Antonio"), Some("TX"), Some("78205"))
        );
        let lines: Vec<(Option<&str>, u32, Option<String>)> = order
            .lines
            .iter()
            .map(|l| {
                (
                    l.sku.as_deref(),
                    l.quantity,
                    l.unit_price.as_ref().map(|m| m.to_string()),
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                (Some("WM-KAFFEE-250"), 1, Some("8.99 USD".into())),
                (Some("WM-TASSE-2"), 2, None)
            ]
        );
        let Item::Order { order, .. } = &polled.items[2] else {
            unreachable!()
        };
        assert_eq!(order.buyer.email, None, "Walmart's placeholder address is no one's");
        let gets: Vec<_> = host.requests().into_iter().filter(|r| r.method == "GET").collect();
        assert_eq!(gets.len(), 2);
    }

    #[test]
    fn a_first_window_asks_by_last_modification_and_not_only_recent_creation() {
        let host = host();
        let now = jiff::Timestamp::now();
        // Nothing canned for the orders: the request itself is what is looked at.
        let error = poll(None, &config(), &host).unwrap_err();
        assert!(error.message().contains("no canned response"), "{error}");
        let request = host.requests().into_iter().find(|r| r.method == "GET").unwrap();
        let query: std::collections::BTreeMap<String, String> =
            form_urlencoded::parse(request.url.split_once('?').unwrap().1.as_bytes())
                .into_owned()
                .collect();
        let time = |key: &str| query[key].parse::<jiff::Timestamp>().unwrap();
        let days = |t: jiff::Timestamp| ((now - t).get_seconds() + 43_200) / 86_400;
        assert_eq!(days(time("lastModifiedStartDate")), 7);
        assert_eq!(days(time("createdStartDate")), 180);
        let end = time("lastModifiedEndDate");
        assert!(end < now - jiff::SignedDuration::from_secs(59), "{end}");
        assert_eq!(end.subsec_millisecond(), 999, "the window's end is left out: {end}");
        assert_eq!(query["limit"], "2");
    }

    #[test]
    fn a_cursor_of_another_kind_is_refused() {
        let error = Cursor::read(Some("{\"since\": \"gestern\"}"), jiff::Timestamp::now(), &config()).unwrap_err();
        assert!(error.message().starts_with("walmart: the poll cursor"), "{error}");
    }
}
