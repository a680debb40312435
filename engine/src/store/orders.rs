//! Orders and shipments, as channels report them and `weft import orders` reads them, and the
//! cursors of polled channels.
//!
//! An order is kept once per channel and canonical number ([`order_key`]), as last reported:
//! a report older than the one kept (by the marketplace's own time) changes nothing, so
//! webhooks arriving out of order leave the newest state. A shipment is kept by tracking
//! number, with every status reported as its timeline; its order is the one a source named
//! (a marketplace's fulfillment), which a carrier's later news, naming only the tracking number,
//! keeps.

use super::apply::Merged;
use super::{Conn, Result, Row, Store, StoreError, Unit, query, to_i64};
use weft_sdk::{Order, OrderChange, OrderView, ShipmentStatus, ShipmentStep, ShipmentUpdate, ShipmentView, Timestamp};

/// An order's key: its channel in lower case and its canonical number (`#1001` and `1001` are
/// one order; see [`weft_sdk::order::canonical_order`]).
pub fn order_key(channel: &str, number: &str) -> (String, String) {
    let number = weft_sdk::order::canonical_order(number).unwrap_or_else(|| number.trim().to_owned());
    (channel.trim().to_lowercase(), number)
}

/// A tracking number as it is kept: uppercase, without spaces (carriers print it in groups).
pub fn tracking_key(tracking_number: &str) -> String {
    tracking_number
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Times of an order report, in milliseconds: when it was placed, and when the marketplace last
/// changed it (its `updated_at`, else when it was placed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderTimes {
    pub placed_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Times of a shipment update, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShipmentTimes {
    pub at: Timestamp,
    pub estimated_delivery: Option<Timestamp>,
}

/// Where a polled channel's hook stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PollState {
    /// Where the next poll starts; none before the first poll that returned one.
    pub cursor: Option<String>,
    /// Failed polls in a row since the last one that succeeded.
    pub failures: i64,
    /// Not to be polled again before this time (a backoff after a failure).
    pub next_at: Timestamp,
    /// Why the last poll failed, while it does.
    pub error: Option<String>,
}

/// An RFC 3339 time in milliseconds, or what is wrong with it, naming `field`.
fn rfc3339(field: &str, text: &str) -> std::result::Result<Timestamp, String> {
    text.trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| format!("`{field}` {text:?} is not an RFC 3339 time like 2026-11-20T10:00:00Z: {e}"))
}

/// The times of an order report, or what is wrong with the order: an empty number or
/// channel, a time that is not RFC 3339, an amount that is not decimal text with a currency.
pub fn order_times(order: &Order) -> std::result::Result<OrderTimes, String> {
    if order.number.trim().is_empty() {
        return Err("the order's `number` is empty".into());
    }
    if order.channel.trim().is_empty() {
        return Err(format!("order {}: `channel` is empty", order.number));
    }
    let at = |problem: String| format!("order {}: {problem}", order.number);
    let placed_at = rfc3339("placed_at", &order.placed_at).map_err(at)?;
    let updated_at = match &order.updated_at {
        Some(text) => rfc3339("updated_at", text).map_err(at)?,
        None => placed_at,
    };
    if let Some(total) = &order.total {
        total.check().map_err(|e| at(format!("`total`: {e}")))?;
    }
    for (index, line) in order.lines.iter().enumerate() {
        if let Some(price) = &line.unit_price {
            price
                .check()
                .map_err(|e| at(format!("`lines[{index}].unit_price`: {e}")))?;
        }
    }
    Ok(OrderTimes { placed_at, updated_at })
}

/// The times of a shipment update, or what is wrong with it.
pub fn shipment_times(update: &ShipmentUpdate) -> std::result::Result<ShipmentTimes, String> {
    if tracking_key(&update.tracking_number).is_empty() {
        return Err("the shipment's `tracking_number` is empty".into());
    }
    let at = |problem: String| format!("shipment {}: {problem}", update.tracking_number);
    if update.carrier.trim().is_empty() {
        return Err(at("`carrier` is empty".into()));
    }
    Ok(ShipmentTimes {
        at: rfc3339("at", &update.at).map_err(at)?,
        estimated_delivery: update
            .estimated_delivery
            .as_deref()
            .map(|text| rfc3339("estimated_delivery", text))
            .transpose()
            .map_err(at)?,
    })
}

impl Unit {
    /// Keeps an order report: inserts the order, or replaces the one kept (the report is the
    /// order as it is now) when this report is newer, or as new and different. Returns whether anything changed: a report kept before
    /// (a webhook sent again) or older than the one kept changes nothing.
    pub async fn record_order(&mut self, change: OrderChange, order: &Order, times: OrderTimes) -> Result<bool> {
        let (channel, number) = order_key(&order.channel, &order.number);
        // A cancellation that does not say the status says it all the same.
        let cancelled;
        let order = match (change, order.status) {
            (OrderChange::Cancelled, None) => {
                cancelled = Order {
                    status: Some(weft_sdk::OrderStatus::Cancelled),
                    ..order.clone()
                };
                &cancelled
            }
            _ => order,
        };
        let data = serde_json::to_string(order)?;
        let last_change = match change {
            OrderChange::Placed => "placed",
            OrderChange::Updated => "updated",
            OrderChange::Cancelled => "cancelled",
        };
        let kept = query("SELECT updated_at, last_change, data FROM orders WHERE channel = $1 AND number = $2")
            .bind(channel.as_str())
            .bind(number.as_str())
            .fetch_optional(self.conn())
            .await?;
        if let Some(kept) = kept {
            let updated_at: i64 = kept.try_get("updated_at")?;
            let same = kept.try_get::<String>("last_change")? == last_change && kept.try_get::<String>("data")? == data;
            if updated_at > times.updated_at || updated_at == times.updated_at && same {
                return Ok(false);
            }
        }
        let status = order.status.map(|status| status.as_str());
        let (total, currency) = match &order.total {
            Some(money) => (Some(money.amount.as_str()), Some(money.currency.as_str())),
            None => (None, None),
        };
        query(
            "INSERT INTO orders (channel, number, status, last_change, total, currency, placed_at, updated_at, data)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (channel, number) DO UPDATE SET
                 status = excluded.status, last_change = excluded.last_change,
                 total = excluded.total, currency = excluded.currency,
                 placed_at = excluded.placed_at, updated_at = excluded.updated_at, data = excluded.data",
        )
        .bind(channel.as_str())
        .bind(number.as_str())
        .bind(status)
        .bind(last_change)
        .bind(total)
        .bind(currency)
        .bind(times.placed_at)
        .bind(times.updated_at)
        .bind(data)
        .execute(self.conn())
        .await?;
        Ok(true)
    }

    /// Links an order to the customer a step found for its buyer.
    pub async fn link_order_customer(&mut self, channel: &str, number: &str, customer: i64) -> Result<()> {
        let (channel, number) = order_key(channel, number);
        query("UPDATE orders SET customer_id = $1 WHERE channel = $2 AND number = $3")
            .bind(customer)
            .bind(channel)
            .bind(number)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Keeps a carrier's news about a parcel: a step of its timeline, its status when the news
    /// is not older than what is kept, its order when the news names one. Returns whether the
    /// step is new (news kept before changes nothing).
    pub async fn record_shipment(&mut self, update: &ShipmentUpdate, times: ShipmentTimes) -> Result<bool> {
        let tracking = tracking_key(&update.tracking_number);
        let order = update
            .order
            .as_deref()
            .map(|number| order_key(update.channel.as_deref().unwrap_or(""), number));
        let (order_channel, order_number) = match &order {
            Some((channel, number)) => ((!channel.is_empty()).then_some(channel.as_str()), Some(number.as_str())),
            None => (None, None),
        };
        let delivered_at = (update.status == ShipmentStatus::Delivered).then_some(times.at);
        let row = query(
            "INSERT INTO shipments (tracking_number, carrier, status, order_channel, order_number, estimated_delivery, delivered_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (tracking_number) DO UPDATE SET
                 order_channel = COALESCE(excluded.order_channel, shipments.order_channel),
                 order_number = COALESCE(excluded.order_number, shipments.order_number),
                 estimated_delivery = COALESCE(excluded.estimated_delivery, shipments.estimated_delivery),
                 delivered_at = COALESCE(shipments.delivered_at, excluded.delivered_at),
                 status = CASE WHEN shipments.updated_at <= excluded.updated_at THEN excluded.status ELSE shipments.status END,
                 updated_at = CASE WHEN shipments.updated_at <= excluded.updated_at THEN excluded.updated_at ELSE shipments.updated_at END
             RETURNING id",
        )
        .bind(tracking)
        .bind(update.carrier.trim())
        .bind(update.status.as_str())
        .bind(order_channel)
        .bind(order_number)
        .bind(times.estimated_delivery)
        .bind(delivered_at)
        .bind(times.at)
        .fetch_one(self.conn())
        .await?;
        let shipment: i64 = row.try_get("id")?;
        let added = query(
            "INSERT INTO shipment_events (shipment_id, at, status, detail) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(shipment)
        .bind(times.at)
        .bind(update.status.as_str())
        .bind(update.detail.as_deref().unwrap_or("").trim())
        .execute(self.conn())
        .await?;
        Ok(added.rows_affected() > 0)
    }

    /// The order with this number (any written form) at this channel.
    pub async fn order(&mut self, channel: &str, number: &str) -> Result<Option<OrderView>> {
        let (channel, number) = order_key(channel, number);
        let row = query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE channel = $1 AND number = $2"
        ))
        .bind(channel)
        .bind(number)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// The orders with this number (any written form) at any channel: what a ticket about the
    /// order number is about.
    pub async fn orders_numbered(&mut self, number: &str) -> Result<Vec<OrderView>> {
        orders_numbered(self.conn(), number).await
    }

    /// A customer's orders and those of the customers merged into it, newest first.
    pub async fn customer_orders(&mut self, customer: u64, limit: u32) -> Result<Vec<OrderView>> {
        let root = self.root_customer(to_i64(customer)?).await?;
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE customer_id = $1 ORDER BY placed_at DESC LIMIT $2");
        let mut orders = Vec::new();
        for member in self.family(Merged::Customers, root).await? {
            let rows = query(&sql)
                .bind(member)
                .bind(i64::from(limit))
                .fetch_all(self.conn())
                .await?;
            for row in &rows {
                orders.push(order_from_row(row)?);
            }
        }
        orders.sort_by_key(|o| std::cmp::Reverse(o.updated_at));
        orders.truncate(limit as usize);
        Ok(orders)
    }

    /// The shipments of an order, oldest first, each with its timeline. A shipment that names
    /// the order's number without a channel counts too: a source that knows the number but
    /// not the marketplace.
    pub async fn order_shipments(&mut self, channel: &str, number: &str) -> Result<Vec<ShipmentView>> {
        order_shipments(self.conn(), channel, number).await
    }

    /// Where a polled hook stands; the default before its first poll.
    pub async fn poll_state(&mut self, hook: &str) -> Result<PollState> {
        let row = query("SELECT cursor, failures, next_at, error FROM poll_cursors WHERE hook = $1")
            .bind(hook)
            .fetch_optional(self.conn())
            .await?;
        let Some(row) = row else {
            return Ok(PollState::default());
        };
        Ok(PollState {
            cursor: row.try_get("cursor")?,
            failures: row.try_get("failures")?,
            next_at: row.try_get("next_at")?,
            error: row.try_get("error")?,
        })
    }

    /// A poll succeeded: its items are kept in this unit, and the next one starts at `cursor`
    /// (none keeps the cursor there is), not before `next_at`.
    pub async fn poll_succeeded(
        &mut self,
        hook: &str,
        cursor: Option<&str>,
        at: Timestamp,
        next_at: Timestamp,
    ) -> Result<()> {
        query(
            "INSERT INTO poll_cursors (hook, cursor, polled_at, failures, next_at, error) VALUES ($1, $2, $3, 0, $4, NULL)
             ON CONFLICT (hook) DO UPDATE SET cursor = COALESCE(excluded.cursor, poll_cursors.cursor),
                 polled_at = excluded.polled_at, failures = 0, next_at = excluded.next_at, error = NULL",
        )
        .bind(hook)
        .bind(cursor)
        .bind(at)
        .bind(next_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A poll failed: the cursor stays, the failure is counted, and the next try waits until
    /// `next_at`.
    pub async fn poll_failed(&mut self, hook: &str, error: &str, next_at: Timestamp) -> Result<()> {
        query(
            "INSERT INTO poll_cursors (hook, cursor, polled_at, failures, next_at, error) VALUES ($1, NULL, NULL, 1, $2, $3)
             ON CONFLICT (hook) DO UPDATE SET failures = poll_cursors.failures + 1, next_at = excluded.next_at,
                 error = excluded.error",
        )
        .bind(hook)
        .bind(next_at)
        .bind(error.replace('\0', "\u{FFFD}"))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

/// The orders with this number (any written form) at any channel.
async fn orders_numbered(conn: &mut Conn, number: &str) -> Result<Vec<OrderView>> {
    let (_, number) = order_key("", number);
    let rows = query(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE number = $1 ORDER BY placed_at, channel"
    ))
    .bind(number)
    .fetch_all(conn)
    .await?;
    rows.iter().map(order_from_row).collect()
}

/// The shipments of an order, oldest first, each with its timeline. A shipment that names
/// the order's number without a channel counts too: a source that knows the number but
/// not the marketplace.
async fn order_shipments(conn: &mut Conn, channel: &str, number: &str) -> Result<Vec<ShipmentView>> {
    let (channel, number) = order_key(channel, number);
    let rows = query(
        "SELECT id, tracking_number, carrier, status, order_channel, order_number, estimated_delivery, delivered_at
         FROM shipments WHERE order_number = $1 AND (order_channel = $2 OR order_channel IS NULL)
         ORDER BY id",
    )
    .bind(number)
    .bind(channel)
    .fetch_all(&mut *conn)
    .await?;
    let mut shipments = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let steps =
            query("SELECT at, status, detail FROM shipment_events WHERE shipment_id = $1 ORDER BY at, status, detail")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
        let history = steps
            .iter()
            .map(|step| {
                let detail: String = step.try_get("detail")?;
                Ok(ShipmentStep {
                    at: step.try_get("at")?,
                    status: status_of(&step.try_get::<String>("status")?)?,
                    detail: (!detail.is_empty()).then_some(detail),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        shipments.push(ShipmentView {
            carrier: row.try_get("carrier")?,
            tracking_number: row.try_get("tracking_number")?,
            status: status_of(&row.try_get::<String>("status")?)?,
            channel: row.try_get("order_channel")?,
            order: row.try_get("order_number")?,
            estimated_delivery: row.try_get("estimated_delivery")?,
            delivered_at: row.try_get("delivered_at")?,
            history,
        });
    }
    Ok(shipments)
}

/// An order a ticket is about, with its shipments.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketOrder {
    pub order: OrderView,
    pub shipments: Vec<ShipmentView>,
}

/// The orders with the number a ticket is about (at any channel), each with its shipments.
pub(super) async fn ticket_orders(conn: &mut Conn, order_no: &str) -> Result<Vec<TicketOrder>> {
    let mut found = Vec::new();
    for order in orders_numbered(conn, order_no).await? {
        let shipments = order_shipments(conn, &order.order.channel, &order.number).await?;
        found.push(TicketOrder { order, shipments });
    }
    Ok(found)
}

impl Store {
    /// The orders with the number a ticket is about (at any channel), each with its shipments.
    pub async fn ticket_orders(&self, order_no: &str) -> Result<Vec<TicketOrder>> {
        ticket_orders(&mut self.conn().await?, order_no).await
    }
}

/// The columns [`order_from_row`] reads.
const ORDER_COLUMNS: &str = "number, customer_id, last_change, updated_at, data";

fn order_from_row(row: &Row) -> Result<OrderView> {
    let data: String = row.try_get("data")?;
    Ok(OrderView {
        order: serde_json::from_str(&data)?,
        number: row.try_get("number")?,
        customer: row.try_get::<Option<i64>>("customer_id")?.map(|c| c as u64),
        last_change: row.try_get("last_change")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn status_of(text: &str) -> Result<ShipmentStatus> {
    ShipmentStatus::parse(text).ok_or_else(|| StoreError::Invalid(format!("unknown shipment status {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::{Money, OrderStatus};

    fn order(number: &str, updated_at: Option<&str>, status: Option<OrderStatus>) -> Order {
        serde_json::from_value(serde_json::json!({
            "number": number, "channel": "Amazon", "placed_at": "2026-11-20T10:00:00+09:00",
            "buyer": {"name": "山田太郎"}, "updated_at": updated_at, "status": status,
            "total": {"amount": "4980", "currency": "JPY"},
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn an_order_is_kept_once_as_last_reported() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let mut unit = store.unit().await.unwrap();
        let placed = order("302-1234567-7654321", None, Some(OrderStatus::Paid));
        let shipped = order(
            "30212345677654321",
            Some("2026-11-21T10:00:00Z"),
            Some(OrderStatus::Shipped),
        );
        // (change, report, whether it changes what is kept)
        for (step, (change, report, changes)) in [
            (OrderChange::Placed, &placed, true),
            // Sent again: nothing new.
            (OrderChange::Placed, &placed, false),
            (OrderChange::Updated, &shipped, true),
            // The placement arriving late is older than what is kept.
            (OrderChange::Placed, &placed, false),
        ]
        .into_iter()
        .enumerate()
        {
            let times = order_times(report).unwrap();
            assert_eq!(
                unit.record_order(change, report, times).await.unwrap(),
                changes,
                "step {step}"
            );
        }
        let kept = unit.order("amazon", "#302 1234567 7654321").await.unwrap().unwrap();
        assert_eq!(kept.number, "302-1234567-7654321");
        assert_eq!(kept.last_change, "updated");
        assert_eq!(kept.order.status, Some(OrderStatus::Shipped));
        assert_eq!(kept.order.total, Some(Money::new("4980", "JPY").unwrap()));
        assert_eq!(unit.orders_numbered("302-1234567-7654321").await.unwrap().len(), 1);
        unit.commit().await.unwrap();
    }

    /// What steps read: a customer's orders (those of a customer merged into it too) and an
    /// order's shipments, linked by tracking number when the carrier does not name the order.
    #[tokio::test]
    async fn steps_read_a_customers_orders_and_an_orders_shipments() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let mut unit = store.unit().await.unwrap();
        let (anna, other) = (
            unit.create_customer(0).await.unwrap(),
            unit.create_customer(0).await.unwrap(),
        );
        for (number, placed_at, customer) in [
            ("250-1111111-1111111", "2026-11-01T10:00:00Z", anna),
            ("250-2222222-2222222", "2026-11-20T10:00:00Z", other),
        ] {
            let mut placed = order(number, None, None);
            placed.placed_at = placed_at.into();
            let times = order_times(&placed).unwrap();
            unit.record_order(OrderChange::Placed, &placed, times).await.unwrap();
            unit.link_order_customer("amazon", number, customer).await.unwrap();
        }
        unit.merge_customers(anna as u64, &[other as u64], None, "same buyer")
            .await
            .unwrap();
        let orders = unit.customer_orders(anna as u64, 10).await.unwrap();
        let numbers: Vec<&str> = orders.iter().map(|o| o.number.as_str()).collect();
        assert_eq!(numbers, ["250-2222222-2222222", "250-1111111-1111111"], "newest first");
        assert_eq!(unit.customer_orders(other as u64, 1).await.unwrap().len(), 1);

        let news = |status: &str, at: &str, order: Option<&str>| -> ShipmentUpdate {
            serde_json::from_value(serde_json::json!({
                "carrier": "Yamato", "tracking_number": "4470 1234 5678", "status": status, "at": at,
                "order": order, "channel": order.map(|_| "amazon"), "detail": "お届け済み",
            }))
            .unwrap()
        };
        for (update, new) in [
            (
                news("in_transit", "2026-11-21T08:00:00Z", Some("250-1111111-1111111")),
                true,
            ),
            (news("delivered", "2026-11-22T08:00:00Z", None), true),
            (news("delivered", "2026-11-22T08:00:00Z", None), false),
        ] {
            let times = shipment_times(&update).unwrap();
            assert_eq!(unit.record_shipment(&update, times).await.unwrap(), new);
        }
        let shipments = unit.order_shipments("Amazon", "25011111111111111").await.unwrap();
        assert_eq!(shipments.len(), 1);
        assert_eq!(shipments[0].tracking_number, "447012345678");
        assert_eq!(shipments[0].status, ShipmentStatus::Delivered);
        assert_eq!(shipments[0].history.len(), 2);
        assert!(
            unit.order_shipments("amazon", "250-2222222-2222222")
                .await
                .unwrap()
                .is_empty()
        );
        unit.commit().await.unwrap();
    }

    #[test]
    fn what_is_wrong_with_an_order_or_a_shipment_is_said() {
        let mut bad = order("#1", None, None);
        bad.total = Some(Money {
            amount: "1.234,50".into(),
            currency: "EUR".into(),
        });
        let problem = order_times(&bad).unwrap_err();
        assert!(
            problem.starts_with("order #1: `total`: amount \"1.234,50\""),
            "{problem}"
        );
        bad.placed_at = "20.11.2026".into();
        assert!(order_times(&bad).unwrap_err().contains("`placed_at` \"20.11.2026\""));
        let update: ShipmentUpdate = serde_json::from_value(serde_json::json!({
            "carrier": " ", "tracking_number": "1Z 999", "status": "exception", "at": "2026-11-21T08:00:00Z"
        }))
        .unwrap();
        assert_eq!(
            shipment_times(&update).unwrap_err(),
            "shipment 1Z 999: `carrier` is empty"
        );
        assert_eq!(tracking_key(" 1z 999 aa "), "1Z999AA");
    }
}
