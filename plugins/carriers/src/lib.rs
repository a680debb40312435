//! The `carriers` channel: tracking webhooks of parcel-tracking services, as shipment updates.
//!
//! One mount per service (`with: { service: easypost, secret: NAME }`), its secret granted in
//! `allow: { secrets: [NAME] }`:
//! - **EasyPost** posts an `Event`; `tracker.updated` (and `tracker.created`) carry a `Tracker`
//!   in `result`. The signature is `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256 of the
//!   raw body>`, keyed with the webhook secret normalized to Unicode NFKD (as EasyPost's client
//!   libraries check it).
//! - **AfterShip** posts `{"event": "tracking_update", "msg": {tracking}}`. The signature is the
//!   base64 HMAC-SHA256 of the raw body under the secret, in `aftership-hmac-sha256` (tracking),
//!   `as-signature-hmac-sha256` (returns) or `am-webhook-signature: hmac-sha256=<base64>`
//!   (older shipping and returns accounts).
//!
//! Each becomes one [`ShipmentUpdate`] in the one status set of weft ([`ShipmentStatus`]): the
//! carrier, the tracking number (which finds the order a marketplace shipped it under), the
//! status, the time of the latest checkpoint, the expected delivery and the carrier's words.
//! Other events of the service (a batch, a refund) are acknowledged and kept, and yield nothing.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use weft_sdk::prelude::*;

/// The channel.
pub struct Carriers;

/// The tracking services the channel reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Easypost,
    Aftership,
}

/// `with:` for the carriers channel.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which service posts to this mount: `easypost` or `aftership`.
    pub service: Service,
    /// The name of the secret that signs the service's webhooks, granted to the mount in
    /// `allow: { secrets: [NAME] }`. Example: `secret: easypost_webhook`
    pub secret: String,
}

impl Channel for Carriers {
    type Config = Config;
    const DESCRIPTION: &'static str = "carriers' tracking webhooks (EasyPost, AfterShip) as shipment updates";

    fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
        let secret = host.secret(&config.secret).map_err(Error::bad_config)?;
        match config.service {
            Service::Easypost => verify_easypost(&secret, inbound),
            Service::Aftership => verify_aftership(&secret, inbound),
        }
    }

    fn parse_items(inbound: &Inbound, config: &Config) -> Result<Vec<Item>, Error> {
        let update = match config.service {
            Service::Easypost => easypost(&inbound.body),
            Service::Aftership => aftership(&inbound.body),
        };
        update
            .map(|update| update.into_iter().map(Item::Shipment).collect())
            .map_err(|problem| Error::permanent(format!("{}: {problem}", service_name(config.service))))
    }
}

fn service_name(service: Service) -> &'static str {
    match service {
        Service::Easypost => "EasyPost",
        Service::Aftership => "AfterShip",
    }
}

/// The HMAC-SHA256 of `body` under `key`.
fn mac(key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Compares in time that does not depend on where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// EasyPost's `X-Hmac-Signature`, keyed with the secret in NFKD.
pub fn verify_easypost(secret: &str, inbound: &Inbound) -> Result<(), Error> {
    use unicode_normalization::UnicodeNormalization as _;
    let Some(header) = inbound.header("x-hmac-signature") else {
        return Err(Error::permanent("EasyPost: the X-Hmac-Signature header is missing"));
    };
    let Some(hex_digest) = header.trim().strip_prefix("hmac-sha256-hex=") else {
        return Err(Error::permanent(
            "EasyPost: the X-Hmac-Signature header does not start with `hmac-sha256-hex=`",
        ));
    };
    let given = hex::decode(hex_digest)
        .map_err(|_| Error::permanent("EasyPost: the X-Hmac-Signature header is not hexadecimal"))?;
    let key: String = secret.nfkd().collect();
    if same(&given, &mac(key.as_bytes(), &inbound.body)) {
        Ok(())
    } else {
        Err(Error::permanent(
            "EasyPost: the X-Hmac-Signature header does not match the body",
        ))
    }
}

/// AfterShip's base64 HMAC-SHA256, in whichever of its three headers the product sends.
pub fn verify_aftership(secret: &str, inbound: &Inbound) -> Result<(), Error> {
    let given = [
        ("aftership-hmac-sha256", ""),
        ("as-signature-hmac-sha256", ""),
        ("am-webhook-signature", "hmac-sha256="),
    ]
    .into_iter()
    .find_map(|(name, prefix)| {
        inbound
            .header(name)
            .map(|value| (name, value.trim().strip_prefix(prefix).unwrap_or(value.trim())))
    });
    let Some((name, given)) = given else {
        return Err(Error::permanent(
            "AfterShip: no signature header (aftership-hmac-sha256, as-signature-hmac-sha256 or am-webhook-signature)",
        ));
    };
    let expected = base64(&mac(secret.as_bytes(), &inbound.body));
    if same(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Error::permanent(format!(
            "AfterShip: the {name} header does not match the body"
        )))
    }
}

/// Standard base64 with padding (RFC 4648 §4). Hand-written: only encoding is needed, and it
/// is a dozen lines against a crate in the plugin.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An EasyPost event, as far as a tracker's news needs it.
#[derive(Deserialize)]
struct EasypostEvent {
    description: String,
    #[serde(default)]
    result: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Tracker {
    tracking_code: String,
    carrier: String,
    status: String,
    updated_at: String,
    #[serde(default)]
    est_delivery_date: Option<String>,
    #[serde(default)]
    tracking_details: Vec<TrackingDetail>,
}

#[derive(Deserialize)]
struct TrackingDetail {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    datetime: Option<String>,
}

/// EasyPost's tracker statuses in weft's set; `unknown` says nothing.
fn easypost_status(status: &str) -> Option<ShipmentStatus> {
    Some(match status {
        "pre_transit" => ShipmentStatus::Pending,
        "in_transit" | "available_for_pickup" => ShipmentStatus::InTransit,
        "out_for_delivery" => ShipmentStatus::OutForDelivery,
        "delivered" => ShipmentStatus::Delivered,
        "return_to_sender" => ShipmentStatus::Returned,
        "failure" | "cancelled" | "error" => ShipmentStatus::Exception,
        _ => return None,
    })
}

fn easypost(body: &[u8]) -> Result<Option<ShipmentUpdate>, String> {
    let event: EasypostEvent = serde_json::from_slice(body).map_err(|e| format!("not an event: {e}"))?;
    if !event.description.starts_with("tracker.") {
        return Ok(None);
    }
    let tracker: Tracker = serde_json::from_value(event.result.unwrap_or_default())
        .map_err(|e| format!("{}: `result` is not a tracker: {e}", event.description))?;
    let Some(status) = easypost_status(&tracker.status) else {
        return Ok(None);
    };
    let latest = tracker.tracking_details.last();
    Ok(Some(ShipmentUpdate {
        carrier: tracker.carrier,
        tracking_number: tracker.tracking_code,
        status,
        at: latest.and_then(|d| d.datetime.clone()).unwrap_or(tracker.updated_at),
        order: None,
        channel: None,
        estimated_delivery: tracker.est_delivery_date,
        detail: latest.and_then(|d| d.message.clone()),
    }))
}

/// An AfterShip webhook, as far as a tracking's news needs it.
#[derive(Deserialize)]
struct AftershipEvent {
    event: String,
    #[serde(default)]
    msg: Option<serde_json::Value>,
    ts: i64,
}

#[derive(Deserialize)]
struct Tracking {
    tracking_number: String,
    slug: String,
    tag: String,
    #[serde(default)]
    subtag_message: Option<String>,
    #[serde(default)]
    order_number: Option<String>,
    #[serde(default)]
    expected_delivery: Option<String>,
    #[serde(default)]
    checkpoints: Vec<Checkpoint>,
}

#[derive(Deserialize)]
struct Checkpoint {
    #[serde(default)]
    checkpoint_time: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// AfterShip's tags in weft's set; `Pending` and `Expired` say nothing of where the parcel is.
fn aftership_status(tag: &str) -> Option<ShipmentStatus> {
    Some(match tag {
        "InfoReceived" => ShipmentStatus::Pending,
        "InTransit" | "AvailableForPickup" => ShipmentStatus::InTransit,
        "OutForDelivery" => ShipmentStatus::OutForDelivery,
        "Delivered" => ShipmentStatus::Delivered,
        "AttemptFail" | "Exception" => ShipmentStatus::Exception,
        _ => return None,
    })
}

fn aftership(body: &[u8]) -> Result<Option<ShipmentUpdate>, String> {
    let event: AftershipEvent = serde_json::from_slice(body).map_err(|e| format!("not a webhook: {e}"))?;
    if event.event != "tracking_update" {
        return Ok(None);
    }
    let tracking: Tracking = serde_json::from_value(event.msg.unwrap_or_default())
        .map_err(|e| format!("{}: `msg` is not a tracking: {e}", event.event))?;
    let Some(status) = aftership_status(&tracking.tag) else {
        return Ok(None);
    };
    let latest = tracking.checkpoints.last();
    // `ts` is Unix seconds; RFC 3339 in UTC without a date library (civil from days, after
    // Howard Hinnant's algorithm): the plugin needs no other time arithmetic.
    let at = latest
        .and_then(|c| c.checkpoint_time.clone())
        .unwrap_or_else(|| unix_rfc3339(event.ts));
    Ok(Some(ShipmentUpdate {
        carrier: tracking.slug,
        tracking_number: tracking.tracking_number,
        status,
        at,
        order: tracking.order_number.filter(|o| !o.trim().is_empty()),
        channel: None,
        estimated_delivery: tracking.expected_delivery.filter(|d| d.contains('T')),
        detail: latest.and_then(|c| c.message.clone()).or(tracking.subtag_message),
    }))
}

/// Unix seconds as RFC 3339 in UTC.
fn unix_rfc3339(seconds: i64) -> String {
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_channel!(Carriers);

#[cfg(test)]
mod tests {
    use super::*;

    const EASYPOST_BODY: &[u8] = include_bytes!("../tests/vectors/easypost-event-body.json");
    /// CHANNELS.md, vector 6 (self-made: AfterShip publishes none).
    const AFTERSHIP_BODY: &str = r#"{"event":"tracking_update","event_id":"94dadd60-ed26-46d0-aa52-3ced925a50ff","is_tracking_first_tag":true,"msg":{"id":"00000000000000000000000000000000","slug":"usps","tag":"InTransit","subtag":"InTransit_001","tracking_number":"9400100000000000000000"},"ts":1712741696}"#;

    fn inbound(body: &[u8], headers: &[(&str, &str)]) -> Inbound {
        Inbound {
            source: "/hooks/parcels".into(),
            hook: Some("parcels".into()),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.to_vec(),
            ..Inbound::default()
        }
    }

    #[test]
    fn the_published_vectors_pass_and_tampering_fails_with_its_reason() {
        let easypost_sig = "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db";
        let aftership_sig = "GkjAAvXNo5OUG0KePC4qiK2+yGXvEZ0PNhTF52SUI9U=";
        let mut tampered = EASYPOST_BODY.to_vec();
        tampered[20] ^= 1;
        // (what, result, the reason it must fail with)
        let cases: Vec<(&str, Result<(), Error>, Option<&str>)> = vec![
            (
                "easypost vector",
                verify_easypost("sécret", &inbound(EASYPOST_BODY, &[("x-hmac-signature", easypost_sig)])),
                None,
            ),
            // The secret as typed in composed form (é as one code point) is the same secret.
            (
                "easypost composed secret",
                verify_easypost(
                    "s\u{e9}cret",
                    &inbound(EASYPOST_BODY, &[("x-hmac-signature", easypost_sig)]),
                ),
                None,
            ),
            (
                "easypost tampered",
                verify_easypost("sécret", &inbound(&tampered, &[("x-hmac-signature", easypost_sig)])),
                Some("EasyPost: the X-Hmac-Signature header does not match the body"),
            ),
            (
                "easypost wrong secret",
                verify_easypost("secret", &inbound(EASYPOST_BODY, &[("x-hmac-signature", easypost_sig)])),
                Some("EasyPost: the X-Hmac-Signature header does not match the body"),
            ),
            (
                "easypost missing",
                verify_easypost("sécret", &inbound(EASYPOST_BODY, &[])),
                Some("EasyPost: the X-Hmac-Signature header is missing"),
            ),
            (
                "aftership vector",
                verify_aftership(
                    "aftership-test-secret",
                    &inbound(AFTERSHIP_BODY.as_bytes(), &[("aftership-hmac-sha256", aftership_sig)]),
                ),
                None,
            ),
            (
                "aftership older header",
                verify_aftership(
                    "aftership-test-secret",
                    &inbound(
                        AFTERSHIP_BODY.as_bytes(),
                        &[("am-webhook-signature", &format!("hmac-sha256={aftership_sig}"))],
                    ),
                ),
                None,
            ),
            (
                "aftership wrong secret",
                verify_aftership(
                    "andere",
                    &inbound(AFTERSHIP_BODY.as_bytes(), &[("aftership-hmac-sha256", aftership_sig)]),
                ),
                Some("AfterShip: the aftership-hmac-sha256 header does not match the body"),
            ),
            (
                "aftership missing",
                verify_aftership("aftership-test-secret", &inbound(AFTERSHIP_BODY.as_bytes(), &[])),
                Some("AfterShip: no signature header"),
            ),
        ];
        for (what, result, reason) in cases {
            match (result, reason) {
                (Ok(()), None) => {}
                (Err(Error::Permanent(got)), Some(reason)) => assert!(got.starts_with(reason), "{what}: {got}"),
                (other, _) => panic!("{what}: {other:?}"),
            }
        }
        // A key of the test's own, signed as the services sign.
        let body = br#"{"event":"tracking_update","msg":{"slug":"dhl","tag":"Delivered","tracking_number":"JD1","checkpoints":[{"checkpoint_time":"2026-11-23T12:00:00+01:00","message":"Zugestellt"}]},"ts":1795000000}"#;
        let own = base64(&mac("schlüssel-鍵".as_bytes(), body));
        assert_eq!(
            verify_aftership("schlüssel-鍵", &inbound(body, &[("as-signature-hmac-sha256", &own)])),
            Ok(())
        );
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
    }

    #[test]
    fn trackers_become_shipment_updates() {
        let easypost = Config {
            service: Service::Easypost,
            secret: "s".into(),
        };
        let items = Carriers::parse_items(&inbound(EASYPOST_BODY, &[]), &easypost).unwrap();
        let [Item::Shipment(update)] = items.as_slice() else {
            panic!("{items:?}")
        };
        assert_eq!(
            (update.carrier.as_str(), update.tracking_number.as_str()),
            ("FedEx", "1")
        );
        assert_eq!(update.status, ShipmentStatus::InTransit);
        assert_eq!(update.at, "2024-08-02T18:50:00Z");
        assert_eq!(update.detail.as_deref(), Some("Arrived at FedEx location"));
        assert_eq!(update.estimated_delivery.as_deref(), Some("2024-08-05T00:00:00Z"));

        let aftership = Config {
            service: Service::Aftership,
            secret: "s".into(),
        };
        let items = Carriers::parse_items(&inbound(AFTERSHIP_BODY.as_bytes(), &[]), &aftership).unwrap();
        let [Item::Shipment(update)] = items.as_slice() else {
            panic!("{items:?}")
        };
        assert_eq!(update.status, ShipmentStatus::InTransit);
        assert_eq!(update.at, "2024-04-10T09:34:56Z");
        assert_eq!(unix_rfc3339(0), "1970-01-01T00:00:00Z");

        // Other events are acknowledged and yield nothing; a malformed one names the service.
        let batch = br#"{"description":"batch.updated","result":{}}"#;
        assert_eq!(Carriers::parse_items(&inbound(batch, &[]), &easypost).unwrap(), vec![]);
        let err = Carriers::parse_items(&inbound(b"<xml/>", &[]), &aftership).unwrap_err();
        assert!(err.message().starts_with("AfterShip: not a webhook"), "{err}");
    }
}
