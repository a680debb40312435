//! Walmart's webhook deliveries (Notifications API subscriptions): who sent them, and what
//! they say.
//!
//! **Authentication** is what the subscription was created with (`authDetails`), checked by
//! [`verify`] before anything is kept:
//! - `BASIC_AUTH`: `Authorization: Basic base64(user:password)` with the user name and
//!   password given to Walmart;
//! - `HMAC`: `WM_SEC.TIMESTAMP` (epoch seconds) and `WM_SEC.SIGNATURE`, base64 of
//!   HMAC-SHA256, keyed with the shared secret, over `METHOD \n path?query \n timestamp \n
//!   lowercase hex SHA-256(raw body)`, the path and query as Walmart called them. A timestamp
//!   farther than the replay window from when the delivery arrived is refused, so a captured
//!   delivery cannot be sent again later.
//!
//! **Events** (`{source, eventType, eventTime, eventId, payload}`): `PO_CREATED` becomes an
//! order placed (its number the `customerOrderId`, its lines; the buyer comes with the next
//! poll of the Orders API). Every other type, `PO_LINE_AUTOCANCELLED` included (it names only
//! the cancelled lines, not the order as it is now; the poll brings that), is kept as a fact
//! of kind `walmart.<event type in lowercase>` with the whole delivery as its payload; unknown
//! types the same way, acknowledged rather than failed. Walmart may deliver an event twice:
//! the `eventId` is the item's id, by which the engine drops the second.

use crate::api;
use crate::config::Config;
use crate::order::{CHANNEL, rfc3339};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use weft_sdk::{Error, Host, Inbound, Item, Order, OrderChange, OrderLine, OrderStatus};

/// The header with the delivery's time, epoch seconds.
pub const TIMESTAMP: &str = "WM_SEC.TIMESTAMP";
/// The header with the delivery's signature.
pub const SIGNATURE: &str = "WM_SEC.SIGNATURE";
/// The event of a new purchase order.
pub const PO_CREATED: &str = "PO_CREATED";

fn refuse(reason: impl std::fmt::Display) -> Error {
    Error::permanent(format!("walmart webhook: {reason}"))
}

/// Checks that a delivery comes from Walmart, by the subscription's authentication.
pub fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
    let Some(auth) = &config.webhook else {
        return Err(refuse(
            "this mount has no `webhook:` authentication configured, so no delivery can be trusted",
        ));
    };
    if let Some(basic) = &auth.basic {
        let user = api::secret(host, &basic.user)?;
        let password = api::secret(host, &basic.password)?;
        let header = inbound
            .header("authorization")
            .ok_or_else(|| refuse("the Authorization header is missing: the delivery is not from the subscription"))?;
        let given = header
            .trim()
            .strip_prefix("Basic ")
            .or_else(|| header.trim().strip_prefix("basic "))
            .ok_or_else(|| refuse("the Authorization header is not Basic credentials"))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(given.trim())
            .map_err(|e| refuse(format!("the Basic credentials are not base64: {e}")))?;
        if !same(&decoded, format!("{user}:{password}").as_bytes()) {
            return Err(refuse(
                "the Basic credentials are not the subscription's: wrong user name or password",
            ));
        }
    }
    if let Some(secret_name) = &auth.hmac_secret {
        let secret = api::secret(host, secret_name)?;
        let timestamp = inbound
            .header(TIMESTAMP)
            .map(str::trim)
            .ok_or_else(|| refuse(format!("the {TIMESTAMP} header is missing")))?;
        let signature = inbound
            .header(SIGNATURE)
            .map(str::trim)
            .ok_or_else(|| refuse(format!("the {SIGNATURE} header is missing")))?;
        let seconds: i64 = timestamp
            .parse()
            .map_err(|_| refuse(format!("{TIMESTAMP} {timestamp:?} is not a time in epoch seconds")))?;
        // Seconds, as Walmart documents; a value in milliseconds is read as such all the same.
        let sent_ms = if seconds > 100_000_000_000 {
            seconds
        } else {
            seconds.saturating_mul(1000)
        };
        let window = i64::from(auth.replay_window_seconds);
        let apart = (inbound.received_at - sent_ms).abs() / 1000;
        if inbound.received_at > 0 && apart > window {
            return Err(refuse(format!(
                "{TIMESTAMP} {timestamp} is {apart} s from when the delivery arrived, outside the replay window of {window} s: a replayed delivery or a wrong clock"
            )));
        }
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|e| refuse(format!("{SIGNATURE} is not base64: {e}")))?;
        let path = auth.signed_path.as_deref().unwrap_or(&inbound.source);
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|e| Error::bad_config(format!("walmart: {e}")))?;
        mac.update(&string_to_sign("POST", path, timestamp, &inbound.body));
        if mac.verify_slice(&signature).is_err() {
            return Err(refuse(format!(
                "{SIGNATURE} does not match the delivery: the body was changed, or it was signed with another secret"
            )));
        }
    }
    Ok(())
}

/// What Walmart signs: `METHOD\npath?query\ntimestamp\nhex(SHA-256(body))`.
pub fn string_to_sign(method: &str, path: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    format!(
        "{}\n{path}\n{timestamp}\n{}",
        method.to_ascii_uppercase(),
        hex::encode(Sha256::digest(body))
    )
    .into_bytes()
}

/// Whether two secrets are equal, compared in time that does not depend on where they differ
/// (their SHA-256 digests, compared byte by byte to the end).
fn same(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter().zip(b.iter()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A delivery: `{source, eventType, eventTime, eventId, payload}`; the Order management
/// webhook puts the type and id in `source` instead.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    event_time: Option<serde_json::Value>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    payload: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    event_time: Option<serde_json::Value>,
}

/// The payload of `PO_CREATED`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoCreated {
    purchase_order_id: String,
    customer_order_id: String,
    order_date: serde_json::Value,
    #[serde(default)]
    order_lines: Vec<PoLine>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoLine {
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    product_name: Option<String>,
    #[serde(default)]
    quantity: Option<PoQuantity>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoQuantity {
    measurement_value: serde_json::Value,
}

/// A time Walmart writes as RFC 3339 text, or as epoch milliseconds (a number or digits).
fn time_ms(value: &serde_json::Value, field: &str) -> Result<i64, Error> {
    let millis = match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) if s.trim().bytes().all(|b| b.is_ascii_digit()) => s.trim().parse().ok(),
        serde_json::Value::String(s) => s.trim().parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond()),
        _ => None,
    };
    millis.ok_or_else(|| refuse(format!("`{field}` {value} is not a time")))
}

/// The items of a delivery (see the [module docs](self)).
pub fn parse(body: &[u8]) -> Result<Vec<Item>, Error> {
    let delivery: Delivery =
        serde_json::from_slice(body).map_err(|e| refuse(format!("the body is not a Walmart event: {e}")))?;
    let source = delivery.source.unwrap_or_default();
    let event_type = delivery
        .event_type
        .or(source.event_type)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| refuse("the body has no `eventType` (at the top or in `source`)"))?;
    let id = delivery
        .event_id
        .or(source.event_id)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let at = delivery
        .event_time
        .or(source.event_time)
        .map(|t| time_ms(&t, "eventTime"))
        .transpose()?;
    if event_type == PO_CREATED {
        let payload = delivery
            .payload
            .ok_or_else(|| refuse("the PO_CREATED event has no `payload`"))?;
        let created: PoCreated = serde_json::from_value(payload)
            .map_err(|e| refuse(format!("the PO_CREATED payload is not a purchase order: {e}")))?;
        let order = created.to_order()?;
        return Ok(vec![Item::Order {
            change: OrderChange::Placed,
            order,
            id,
        }]);
    }
    let payload: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| refuse(format!("the body is not JSON: {e}")))?;
    Ok(vec![Item::Fact {
        kind: format!("{CHANNEL}.{}", event_type.to_lowercase()),
        at,
        payload,
        id,
    }])
}

impl PoCreated {
    fn to_order(&self) -> Result<Order, Error> {
        let at = |problem: String| {
            refuse(format!(
                "PO_CREATED purchase order {} (customer order {}): {problem}",
                self.purchase_order_id, self.customer_order_id
            ))
        };
        if self.customer_order_id.trim().is_empty() {
            return Err(at("`customerOrderId` is empty".into()));
        }
        let placed = time_ms(&self.order_date, "orderDate")?;
        let placed_at = rfc3339(placed, "orderDate").map_err(at)?;
        let lines = self
            .order_lines
            .iter()
            .map(|line| {
                let quantity = match &line.quantity {
                    Some(q) => {
                        let text = match &q.measurement_value {
                            serde_json::Value::String(s) => s.trim().to_owned(),
                            other => other.to_string(),
                        };
                        text.parse::<u32>()
                            .map_err(|_| at(format!("quantity {text} is not a whole number")))?
                    }
                    None => 1,
                };
                Ok(OrderLine {
                    sku: line.sku.clone().filter(|s| !s.trim().is_empty()),
                    title: line.product_name.clone().unwrap_or_default(),
                    quantity,
                    unit_price: None,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Order {
            number: self.customer_order_id.trim().to_owned(),
            channel: CHANNEL.to_owned(),
            // Kept as of its placing: the poll's report of the same order, with the buyer and
            // the money, is newer or as new and replaces it.
            updated_at: Some(placed_at.clone()),
            placed_at,
            buyer: Default::default(),
            shipping: None,
            status: Some(OrderStatus::Paid),
            lines,
            total: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::testing::TestHost;

    const SECRET: &str = "wm-test-secret";
    const VECTOR_PATH: &str = "/webhooks/walmart?src=wm";
    const VECTOR_TS: &str = "1767225600";
    const VECTOR_BODY: &str =
        r#"{"eventType":"SELLER_PERFORMANCE_NOTIFICATIONS","eventId":"e-1","payload":{"notificationType":"ALARMS"}}"#;
    const VECTOR_SIGNATURE: &str = "1PfDkPeVS6DI6b17mp7mZOITNUI/dOLUZKKNYyNc8vE=";

    fn config(webhook: serde_json::Value) -> Config {
        weft_sdk::testing::channel_config::<crate::Walmart>(serde_json::json!({
            "client_id": "id", "client_secret": "secret", "webhook": webhook,
        }))
        .unwrap()
    }

    fn host() -> TestHost {
        TestHost::new()
            .with_secret("hook_secret", SECRET)
            .with_secret("hook_user", "walmart-hook")
            .with_secret("hook_password", "pässwort-パス")
    }

    fn inbound(source: &str, received_s: i64, headers: &[(&str, &str)], body: &[u8]) -> Inbound {
        Inbound {
            source: source.into(),
            hook: Some("walmart".into()),
            received_at: received_s * 1000,
            headers: headers.iter().map(|(n, v)| (n.to_lowercase(), v.to_string())).collect(),
            body: body.to_vec(),
            ..Inbound::default()
        }
    }

    fn sign(path: &str, ts: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(&string_to_sign("POST", path, ts, body));
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn the_channels_md_vector_passes() {
        assert_eq!(sign(VECTOR_PATH, VECTOR_TS, VECTOR_BODY.as_bytes()), VECTOR_SIGNATURE);
        let config = config(serde_json::json!({"hmac_secret": "hook_secret"}));
        let delivery = inbound(
            VECTOR_PATH,
            1767225600 + 30,
            &[("WM_SEC.TIMESTAMP", VECTOR_TS), ("WM_SEC.SIGNATURE", VECTOR_SIGNATURE)],
            VECTOR_BODY.as_bytes(),
        );
        verify(&delivery, &config, &host()).unwrap();
        // Behind a proxy: the path Walmart called is configured, the one weft saw differs.
        let proxied = Inbound {
            source: "/hooks/walmart".into(),
            ..delivery
        };
        assert!(verify(&proxied, &config, &host()).is_err());
        let config = self::config(serde_json::json!({"hmac_secret": "hook_secret", "signed_path": VECTOR_PATH}));
        verify(&proxied, &config, &host()).unwrap();
    }

    /// (what, headers, body, the reason it fails with; None passes)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [u8], Option<&'a str>);

    #[test]
    fn each_fault_fails_with_its_reason() {
        let body = include_bytes!("../tests/payloads/po-created.json");
        let ts = "1796630400";
        let now = 1796630400 + 10;
        let good = sign("/hooks/walmart", ts, body);
        let mut tampered = body.to_vec();
        let at = tampered.windows(4).position(|w| w == b"5281").unwrap();
        tampered[at] = b'6';
        let other_secret = {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"not-the-secret").unwrap();
            mac.update(&string_to_sign("POST", "/hooks/walmart", ts, body));
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        };
        let basic = |user_password: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(user_password)
            )
        };
        let right = basic("walmart-hook:pässwort-パス");
        let wrong = basic("walmart-hook:password");
        let both = serde_json::json!({"hmac_secret": "hook_secret", "basic": {"user": "hook_user", "password": "hook_password"}});
        let stale = (1796630400 - 301).to_string();
        let stale_signature = sign("/hooks/walmart", &stale, body);
        let cases: Vec<Case> = vec![
            (
                "signed and authorized",
                vec![
                    ("WM_SEC.TIMESTAMP", ts),
                    ("WM_SEC.SIGNATURE", &good),
                    ("Authorization", &right),
                ],
                body,
                None,
            ),
            (
                "tampered body",
                vec![
                    ("WM_SEC.TIMESTAMP", ts),
                    ("WM_SEC.SIGNATURE", &good),
                    ("Authorization", &right),
                ],
                &tampered,
                Some("walmart webhook: WM_SEC.SIGNATURE does not match the delivery"),
            ),
            (
                "another secret",
                vec![
                    ("WM_SEC.TIMESTAMP", ts),
                    ("WM_SEC.SIGNATURE", &other_secret),
                    ("Authorization", &right),
                ],
                body,
                Some("walmart webhook: WM_SEC.SIGNATURE does not match the delivery"),
            ),
            (
                "no signature",
                vec![("WM_SEC.TIMESTAMP", ts), ("Authorization", &right)],
                body,
                Some("walmart webhook: the WM_SEC.SIGNATURE header is missing"),
            ),
            (
                "no timestamp",
                vec![("WM_SEC.SIGNATURE", &good), ("Authorization", &right)],
                body,
                Some("walmart webhook: the WM_SEC.TIMESTAMP header is missing"),
            ),
            (
                "replayed",
                vec![
                    ("WM_SEC.TIMESTAMP", &stale),
                    ("WM_SEC.SIGNATURE", &stale_signature),
                    ("Authorization", &right),
                ],
                body,
                Some(
                    "walmart webhook: WM_SEC.TIMESTAMP 1796630099 is 311 s from when the delivery arrived, outside the replay window of 300 s",
                ),
            ),
            (
                "wrong password",
                vec![
                    ("WM_SEC.TIMESTAMP", ts),
                    ("WM_SEC.SIGNATURE", &good),
                    ("Authorization", &wrong),
                ],
                body,
                Some("walmart webhook: the Basic credentials are not the subscription's"),
            ),
            (
                "no Authorization",
                vec![("WM_SEC.TIMESTAMP", ts), ("WM_SEC.SIGNATURE", &good)],
                body,
                Some("walmart webhook: the Authorization header is missing"),
            ),
        ];
        let config = config(both);
        for (what, headers, body, reason) in cases {
            let result = verify(&inbound("/hooks/walmart", now, &headers, body), &config, &host());
            match reason {
                None => assert_eq!(result, Ok(()), "{what}"),
                Some(reason) => {
                    let error = result.expect_err(what);
                    assert!(matches!(error, Error::Permanent(_)), "{what}: {error}");
                    assert!(error.message().starts_with(reason), "{what}: {error}");
                }
            }
        }
        let unconfigured = weft_sdk::testing::channel_config::<crate::Walmart>(
            serde_json::json!({"client_id": "id", "client_secret": "secret"}),
        )
        .unwrap();
        let error = verify(&inbound("/hooks/walmart", now, &[], body), &unconfigured, &host()).unwrap_err();
        assert!(error.message().contains("no `webhook:` authentication"), "{error}");
        let ungranted = verify(&inbound("/hooks/walmart", now, &[], body), &config, &TestHost::new()).unwrap_err();
        assert!(matches!(ungranted, Error::BadConfig(_)), "{ungranted}");
    }

    #[test]
    fn events_become_orders_and_facts() {
        let items = parse(include_bytes!("../tests/payloads/po-created.json")).unwrap();
        let [Item::Order { change, order, id }] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(*change, OrderChange::Placed);
        assert_eq!(id.as_deref(), Some("0b2b8f5a-3c7e-4f0e-9a51-7d2d1f6c9e10"));
        assert_eq!(
            (order.number.as_str(), order.channel.as_str(), order.placed_at.as_str()),
            ("5281956426648", "walmart", "2026-12-07T08:15:30Z")
        );
        assert_eq!(order.status, Some(OrderStatus::Paid));
        let lines: Vec<(Option<&str>, &str, u32)> = order
            .lines
            .iter()
            .map(|l| (l.sku.as_deref(), l.title.as_str(), l.quantity))
            .collect();
        assert_eq!(
            lines,
            [
                (Some("WM-KAFFEE-250"), "Café molido «Altura» 250 g", 1),
                (Some("WM-TASSE-2"), "Tazas de cerámica, 2 piezas", 2)
            ]
        );

        for (file, kind, id) in [
            (
                &include_bytes!("../tests/payloads/po-line-autocancelled.json")[..],
                "walmart.po_line_autocancelled",
                Some("5e1a9c2d-77b0-4d8e-8f3a-2b6c4d8e0f11"),
            ),
            (
                &include_bytes!("../tests/payloads/order-updates.json")[..],
                "walmart.order_updates",
                Some("a7f3c1e2-0d4b-4b7a-9c2e-6f8d1e3b5a77"),
            ),
            (
                VECTOR_BODY.as_bytes(),
                "walmart.seller_performance_notifications",
                Some("e-1"),
            ),
        ] {
            let items = parse(file).unwrap();
            let [
                Item::Fact {
                    kind: got,
                    id: got_id,
                    payload,
                    ..
                },
            ] = &items[..]
            else {
                panic!("{items:?}")
            };
            assert_eq!((got.as_str(), got_id.as_deref()), (kind, id));
            assert_eq!(payload, &serde_json::from_slice::<serde_json::Value>(file).unwrap());
        }
    }

    #[test]
    fn malformed_deliveries_say_what_is_wrong() {
        let cases: [(&[u8], &str); 4] = [
            (b"<xml/>", "walmart webhook: the body is not a Walmart event"),
            (
                br#"{"eventId": "x", "payload": {}}"#,
                "walmart webhook: the body has no `eventType`",
            ),
            (
                br#"{"eventType": "PO_CREATED", "eventId": "x", "payload": {"purchaseOrderId": "1"}}"#,
                "walmart webhook: the PO_CREATED payload is not a purchase order: missing field `customerOrderId`",
            ),
            (
                br#"{"eventType": "PO_CREATED", "eventId": "x", "eventTime": "gestern"}"#,
                "walmart webhook: `eventTime` \"gestern\" is not a time",
            ),
        ];
        for (body, reason) in cases {
            let error = parse(body).unwrap_err();
            assert!(matches!(error, Error::Permanent(_)));
            assert!(error.message().starts_with(reason), "{error}");
        }
    }
}
