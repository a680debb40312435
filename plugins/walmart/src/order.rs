//! A Walmart purchase order as the Orders API writes it, and the [`Order`] it becomes.
//!
//! **Numbers.** Walmart gives two ids, both digit strings kept as strings: the
//! `customerOrderId`, the number on the buyer's receipt and in their walmart.com account (the
//! one a buyer quotes in mail), and the `purchaseOrderId`, the seller's share of that customer
//! order. The order's number is the `customerOrderId`; the purchase order id is logged and
//! named in errors.
//!
//! **Status** comes from the order lines' statuses (`Created`, `Acknowledged`, `Shipped`,
//! `Delivered`, `Cancelled`, each for a quantity of a line): all cancelled is cancelled; of
//! the rest, all delivered is delivered, all shipped or delivered is shipped, some is partly
//! shipped; otherwise paid (Walmart releases an order to the seller once the buyer's payment
//! is authorized, and charges it when the seller ships).
//!
//! **Money** is exact: Walmart writes amounts as JSON numbers (`124.98`), kept as the decimal
//! text they were written as, never added as floats ([`Decimal`]). The total is every charge
//! of every line (product, shipping, fees) with its tax. A line's unit price is its product
//! charge, given only for lines of quantity 1 (Walmart splits most orders into such lines):
//! for a larger quantity the charge does not say whether it is per unit.
//!
//! **Buyer.** The `customerEmailId` is the buyer's Walmart relay address
//! (`<hex>@relay.walmart.com`); its local part is also the buyer id, which is how the email
//! channel knows a buyer who writes through the relay, so the order and the mail meet at one
//! customer. Walmart's placeholder for a hidden address (`nocxemail@walmartone.com`) is no
//! one's address and is dropped.

use serde::Deserialize;
use weft_sdk::{Address, Error, Money, Order, OrderLine, OrderStatus, Party};

/// The channel orders are reported under.
pub const CHANNEL: &str = "walmart";
/// The address Walmart puts where it does not give the buyer's.
const HIDDEN_EMAIL: &str = "nocxemail@walmartone.com";
/// The domain of Walmart's buyer relay addresses.
const RELAY_DOMAIN: &str = "relay.walmart.com";

/// A purchase order of `GET /v3/orders` (`list.elements.order[]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseOrder {
    pub purchase_order_id: String,
    pub customer_order_id: String,
    #[serde(default)]
    pub customer_email_id: Option<String>,
    /// Epoch milliseconds.
    pub order_date: i64,
    #[serde(default)]
    pub shipping_info: Option<ShippingInfo>,
    #[serde(default)]
    pub order_lines: OrderLines,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingInfo {
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub postal_address: Option<PostalAddress>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalAddress {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLines {
    #[serde(default)]
    pub order_line: Vec<Line>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    #[serde(default)]
    pub line_number: Option<String>,
    #[serde(default)]
    pub item: Item,
    #[serde(default)]
    pub charges: Charges,
    #[serde(default)]
    pub order_line_quantity: Option<Quantity>,
    /// Epoch milliseconds: when the line's status last changed.
    #[serde(default)]
    pub status_date: Option<i64>,
    #[serde(default)]
    pub order_line_statuses: LineStatuses,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Charges {
    #[serde(default)]
    pub charge: Vec<Charge>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Charge {
    #[serde(default)]
    pub charge_type: Option<String>,
    pub charge_amount: Amount,
    #[serde(default)]
    pub tax: Option<Tax>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tax {
    pub tax_amount: Amount,
}

/// `{"currency": "USD", "amount": 124.98}`: the number kept as written.
#[derive(Debug, Clone, Deserialize)]
pub struct Amount {
    pub currency: String,
    pub amount: serde_json::Number,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quantity {
    /// A digit string (`"1"`).
    pub amount: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineStatuses {
    #[serde(default)]
    pub order_line_status: Vec<LineStatus>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineStatus {
    pub status: String,
}

/// An exact decimal: digits and a scale (`124.98` is 12498 at scale 2). Written here rather
/// than taken from a decimal crate: the orders need only the sum of a few amounts of one
/// currency, and the text back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// The decimal a JSON number was written as, or `None` for an exponent form or too many
    /// digits.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || whole.len() + fraction.len() > 30 {
            return None;
        }
        let units: i128 = format!("{whole}{fraction}").parse().ok()?;
        Some(Decimal {
            units: if negative { -units } else { units },
            scale: fraction.len() as u32,
        })
    }

    fn rescaled(self, scale: u32) -> Option<i128> {
        self.units.checked_mul(10i128.checked_pow(scale - self.scale)?)
    }

    /// The sum, at the larger scale of the two.
    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        Some(Decimal {
            units: self.rescaled(scale)?.checked_add(other.rescaled(scale)?)?,
            scale,
        })
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = self.units.unsigned_abs().to_string();
        if self.scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let scale = self.scale as usize;
        let digits = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        write!(f, "{sign}{whole}.{fraction}")
    }
}

/// A time in epoch milliseconds as RFC 3339.
pub fn rfc3339(millis: i64, what: &str) -> Result<String, String> {
    jiff::Timestamp::from_millisecond(millis)
        .map(|t| t.to_string())
        .map_err(|e| format!("`{what}` {millis} is not a time: {e}"))
}

impl PurchaseOrder {
    /// The order, or what is wrong with Walmart's data (naming the purchase order).
    pub fn to_order(&self) -> Result<Order, Error> {
        let bad = |problem: String| {
            Error::permanent(format!(
                "walmart: purchase order {} (customer order {}): {problem}",
                self.purchase_order_id, self.customer_order_id
            ))
        };
        if self.customer_order_id.trim().is_empty() {
            return Err(bad("`customerOrderId` is empty".into()));
        }
        let placed_at = rfc3339(self.order_date, "orderDate").map_err(bad)?;
        let updated_at = rfc3339(self.last_change(), "statusDate").map_err(bad)?;
        let lines = self
            .order_lines
            .order_line
            .iter()
            .map(|line| line.to_line().map_err(&bad))
            .collect::<Result<Vec<_>, _>>()?;
        let total = self.total().map_err(bad)?;
        let shipping = self.shipping_info.as_ref();
        let address = shipping.and_then(|s| s.postal_address.as_ref());
        Ok(Order {
            number: self.customer_order_id.trim().to_owned(),
            channel: CHANNEL.to_owned(),
            placed_at,
            buyer: self.buyer(),
            shipping: address.map(|a| Address {
                line1: text(&a.address1),
                line2: text(&a.address2),
                city: text(&a.city),
                postcode: text(&a.postal_code),
                region: text(&a.state),
                country: text(&a.country),
            }),
            status: Some(status(
                self.order_lines
                    .order_line
                    .iter()
                    .flat_map(|line| &line.order_line_statuses.order_line_status)
                    .map(|s| s.status.as_str()),
            )),
            updated_at: Some(updated_at),
            lines,
            total,
        })
    }

    /// When Walmart last changed it, in epoch milliseconds: its lines' latest `statusDate`,
    /// else when it was placed.
    pub fn last_change(&self) -> i64 {
        self.order_lines
            .order_line
            .iter()
            .filter_map(|line| line.status_date)
            .chain([self.order_date])
            .max()
            .unwrap_or(self.order_date)
    }

    /// Whether nothing has happened to it since Walmart released it: every line is `Created`.
    pub fn is_untouched(&self) -> bool {
        let mut statuses = self
            .order_lines
            .order_line
            .iter()
            .flat_map(|line| &line.order_line_statuses.order_line_status)
            .peekable();
        statuses.peek().is_some() && statuses.all(|s| s.status.trim().eq_ignore_ascii_case("created"))
    }

    /// The buyer: the name on the shipping address, the relay address (and its local part as
    /// the buyer id), the phone.
    fn buyer(&self) -> Party {
        let shipping = self.shipping_info.as_ref();
        let email = self
            .customer_email_id
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case(HIDDEN_EMAIL));
        let buyer_id = email.and_then(|e| {
            let (local, domain) = e.rsplit_once('@')?;
            let domain = domain.to_ascii_lowercase();
            (domain == RELAY_DOMAIN || domain.ends_with(&format!(".{RELAY_DOMAIN}"))).then(|| local.to_owned())
        });
        Party {
            name: shipping
                .and_then(|s| s.postal_address.as_ref())
                .and_then(|a| text(&a.name)),
            email: email.map(str::to_owned),
            phone: shipping.and_then(|s| text(&s.phone)),
            buyer_id,
            ..Party::default()
        }
    }

    /// Every charge of every line with its tax, when they are of one currency.
    fn total(&self) -> Result<Option<Money>, String> {
        let mut sum: Option<(Decimal, String)> = None;
        for charge in self.order_lines.order_line.iter().flat_map(|line| &line.charges.charge) {
            let amounts = std::iter::once(&charge.charge_amount).chain(charge.tax.as_ref().map(|t| &t.tax_amount));
            for amount in amounts {
                let value = decimal(amount)?;
                sum = match sum {
                    None => Some((value, amount.currency.trim().to_owned())),
                    Some((total, currency)) if currency == amount.currency.trim() => Some((
                        total
                            .checked_add(value)
                            .ok_or_else(|| "the total does not fit a decimal".to_owned())?,
                        currency,
                    )),
                    // Charges in two currencies have no one total.
                    Some(_) => return Ok(None),
                };
            }
        }
        sum.map(|(total, currency)| Money::new(total.to_string(), currency).map_err(|e| format!("total: {e}")))
            .transpose()
    }
}

impl Line {
    fn to_line(&self) -> Result<OrderLine, String> {
        let at = |problem: String| match &self.line_number {
            Some(number) => format!("line {number}: {problem}"),
            None => problem,
        };
        let quantity = match &self.order_line_quantity {
            Some(q) => q
                .amount
                .trim()
                .parse::<u32>()
                .map_err(|_| at(format!("quantity {:?} is not a whole number", q.amount)))?,
            None => 1,
        };
        let product = self.charges.charge.iter().find(|c| {
            c.charge_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("PRODUCT"))
        });
        let unit_price = match product {
            Some(charge) if quantity == 1 => Some(money(&charge.charge_amount).map_err(at)?),
            _ => None,
        };
        Ok(OrderLine {
            sku: text(&self.item.sku),
            title: text(&self.item.product_name).unwrap_or_default(),
            quantity,
            unit_price,
        })
    }
}

/// The order's status from its lines' statuses (see the [module docs](self)).
pub fn status<'a>(statuses: impl Iterator<Item = &'a str>) -> OrderStatus {
    let active: Vec<String> = statuses
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| s != "cancelled" && s != "canceled")
        .collect();
    let moved = |s: &String| s == "shipped" || s == "delivered";
    if active.is_empty() {
        OrderStatus::Cancelled
    } else if active.iter().all(|s| s == "delivered") {
        OrderStatus::Delivered
    } else if active.iter().all(moved) {
        OrderStatus::Shipped
    } else if active.iter().any(moved) {
        OrderStatus::PartiallyShipped
    } else {
        OrderStatus::Paid
    }
}

fn decimal(amount: &Amount) -> Result<Decimal, String> {
    let text = amount.amount.to_string();
    Decimal::parse(&text).ok_or_else(|| format!("amount {text} is not a decimal"))
}

fn money(amount: &Amount) -> Result<Money, String> {
    Money::new(decimal(amount)?.to_string(), amount.currency.clone())
}

/// A text field, trimmed, or none when empty.
fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_add_exactly() {
        let cases = [
            (&["124.98", "10.94"][..], "135.92"),
            (&["0.1", "0.2"], "0.3"),
            (&["8", "0.99", "-1.5"], "7.49"),
            (&["0.05"], "0.05"),
            (&["-0.05", "0.01"], "-0.04"),
        ];
        for (parts, sum) in cases {
            let total = parts
                .iter()
                .map(|p| Decimal::parse(p).unwrap())
                .reduce(|a, b| a.checked_add(b).unwrap())
                .unwrap();
            assert_eq!(total.to_string(), sum, "{parts:?}");
        }
        for bad in ["1e5", "", ".5", "1.2.3", "abc", "1234567890123456789012345678901"] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn untouched_is_every_line_still_created() {
        let order = |statuses: &[&str]| -> PurchaseOrder {
            let lines: Vec<serde_json::Value> = statuses
                .iter()
                .map(|s| serde_json::json!({"orderLineStatuses": {"orderLineStatus": [{"status": s}]}}))
                .collect();
            serde_json::from_value(serde_json::json!({
                "purchaseOrderId": "1", "customerOrderId": "2", "orderDate": 0,
                "orderLines": {"orderLine": lines},
            }))
            .unwrap()
        };
        assert!(order(&["Created", "Created"]).is_untouched());
        assert!(!order(&["Created", "Acknowledged"]).is_untouched());
        assert!(!order(&["Shipped"]).is_untouched());
        assert!(!order(&[]).is_untouched());
    }

    #[test]
    fn status_from_the_lines() {
        let cases: [(&[&str], OrderStatus); 7] = [
            (&["Created"], OrderStatus::Paid),
            (&["Acknowledged", "Created"], OrderStatus::Paid),
            (&["Shipped", "Acknowledged"], OrderStatus::PartiallyShipped),
            (&["Shipped", "Cancelled"], OrderStatus::Shipped),
            (&["Delivered", "Shipped"], OrderStatus::Shipped),
            (&["Delivered", "Cancelled"], OrderStatus::Delivered),
            (&["Cancelled", "Cancelled"], OrderStatus::Cancelled),
        ];
        for (statuses, expected) in cases {
            assert_eq!(status(statuses.iter().copied()), expected, "{statuses:?}");
        }
    }
}
