use super::*;

const ORDER: &[u8] = include_bytes!("../tests/payloads/orders-create.json");
const FULFILLMENT: &[u8] = include_bytes!("../tests/payloads/fulfillments-create.json");
const CUSTOMER: &[u8] = include_bytes!("../tests/payloads/customers-update.json");
const REDACT: &[u8] = include_bytes!("../tests/payloads/customers-redact.json");
const DATA_REQUEST: &[u8] = include_bytes!("../tests/payloads/customers-data_request.json");
const SHOP_REDACT: &[u8] = include_bytes!("../tests/payloads/shop-redact.json");

fn inbound(body: &[u8], headers: &[(&str, &str)]) -> Inbound {
    Inbound {
        source: "/hooks/laden".into(),
        hook: Some("laden".into()),
        headers: headers.iter().map(|(n, v)| (n.to_lowercase(), v.to_string())).collect(),
        body: body.to_vec(),
        ..Inbound::default()
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn parse(topic: &str, body: &[u8]) -> Result<Vec<Item>, Error> {
    Shopify::parse_items(
        &inbound(
            body,
            &[("X-Shopify-Topic", topic), ("X-Shopify-Webhook-Id", "b54557e4")],
        ),
        &Config { secret: "s".into() },
    )
}

/// (what, secret, body, headers, the reason it must fail with)
type Case<'a> = (&'a str, &'a str, &'a [u8], Vec<(&'a str, &'a str)>, Option<&'a str>);

#[test]
fn the_published_vector_passes_in_both_header_sets_and_tampering_fails_with_its_reason() {
    // CHANNELS.md vector 1: Shopify/shopify-app-js validate.test.ts, secret `test_secret_key`.
    let body = br#"{"foo": "bar"}"#;
    let vector = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=";
    let own_secret = "geheimnis-秘密-سر";
    let own = sign(own_secret, ORDER);
    let mut tampered = ORDER.to_vec();
    tampered[10] ^= 1;
    let cases: Vec<Case> = vec![
        (
            "classic",
            "test_secret_key",
            &body[..],
            vec![("X-Shopify-Hmac-Sha256", vector)],
            None,
        ),
        (
            "unprefixed",
            "test_secret_key",
            &body[..],
            vec![("shopify-hmac-sha256", vector)],
            None,
        ),
        (
            "both, the unprefixed wins",
            "test_secret_key",
            &body[..],
            vec![("shopify-hmac-sha256", vector), ("X-Shopify-Hmac-Sha256", "AAAA")],
            None,
        ),
        (
            "own secret",
            own_secret,
            ORDER,
            vec![("X-Shopify-Hmac-Sha256", own.as_str())],
            None,
        ),
        (
            "own secret, new set",
            own_secret,
            ORDER,
            vec![("shopify-hmac-sha256", own.as_str())],
            None,
        ),
        (
            "tampered body",
            own_secret,
            &tampered[..],
            vec![("X-Shopify-Hmac-Sha256", own.as_str())],
            Some("Shopify: the x-shopify-hmac-sha256 header does not match the body"),
        ),
        (
            "wrong secret",
            "test_secret",
            &body[..],
            vec![("shopify-hmac-sha256", vector)],
            Some("Shopify: the shopify-hmac-sha256 header does not match the body"),
        ),
        (
            "missing header",
            "test_secret_key",
            &body[..],
            vec![("X-Shopify-Topic", "orders/create")],
            Some("Shopify: the delivery is not signed"),
        ),
        (
            "hex instead of base64",
            "test_secret_key",
            &body[..],
            vec![("X-Shopify-Hmac-Sha256", "07 6d ed 5c")],
            Some("Shopify: the x-shopify-hmac-sha256 header is not base64"),
        ),
        (
            "truncated",
            "test_secret_key",
            &body[..],
            vec![("X-Shopify-Hmac-Sha256", "B23tXN681gZ0qIWNRrgtzA==")],
            Some("Shopify: the x-shopify-hmac-sha256 header does not match"),
        ),
    ];
    for (what, secret, body, headers, reason) in cases {
        match (verify_signature(secret, &inbound(body, &headers)), reason) {
            (Ok(()), None) => {}
            (Err(Error::Permanent(got)), Some(reason)) => assert!(got.starts_with(reason), "{what}: {got}"),
            (other, _) => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn an_order_becomes_an_order_with_exact_money_and_its_buyer() {
    let items = parse("orders/create", ORDER).unwrap();
    let [Item::Order { change, order, .. }] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(*change, OrderChange::Placed);
    assert_eq!(order.number, "#1001");
    assert_eq!(order.channel, "shopify");
    assert_eq!(order.placed_at, "2026-11-20T10:00:00+01:00");
    assert_eq!(order.status, Some(OrderStatus::Paid));
    assert_eq!(order.buyer.name.as_deref(), Some("Anna Müller"));
    assert_eq!(order.buyer.email.as_deref(), Some("anna.mueller@example.de"));
    assert_eq!(order.buyer.phone.as_deref(), Some("+4930123456789"));
    // Beyond 2^53, exact: a float would have made it 706405506930370000 or so.
    assert_eq!(order.buyer.buyer_id.as_deref(), Some("706405506930370084"));
    let shipping = order.shipping.as_ref().unwrap();
    assert_eq!(shipping.line1.as_deref(), Some("Hauptstraße 12"));
    assert_eq!(shipping.country.as_deref(), Some("DE"));
    assert_eq!(order.total, Some(Money::new("263.80", "EUR").unwrap()));
    assert_eq!(order.lines.len(), 2);
    assert_eq!(order.lines[1].title, "靴下 (3足)");
    assert_eq!(order.lines[1].unit_price, Some(Money::new("29.90", "EUR").unwrap()));

    for (topic, change) in [
        ("orders/updated", OrderChange::Updated),
        ("orders/paid", OrderChange::Updated),
        ("orders/cancelled", OrderChange::Cancelled),
    ] {
        let items = parse(topic, ORDER).unwrap();
        assert!(
            matches!(&items[..], [Item::Order { change: c, .. }] if *c == change),
            "{topic}"
        );
    }
    let mut cancelled: serde_json::Value = serde_json::from_slice(ORDER).unwrap();
    cancelled["cancelled_at"] = "2026-11-20T12:00:00+01:00".into();
    let items = parse("orders/cancelled", cancelled.to_string().as_bytes()).unwrap();
    let [Item::Order { order, .. }] = items.as_slice() else {
        panic!()
    };
    assert_eq!(order.status, Some(OrderStatus::Cancelled));
}

#[test]
fn ids_stay_exact_and_floats_are_refused() {
    for (json, id) in [
        ("820982911946154508", "820982911946154508"),
        ("9007199254740993", "9007199254740993"),
        ("18446744073709551615", "18446744073709551615"),
        ("\"gid-like-1\"", "gid-like-1"),
    ] {
        assert_eq!(serde_json::from_str::<Id>(json).unwrap(), Id(id.into()), "{json}");
    }
    assert!(serde_json::from_str::<Id>("8.2e17").is_err());
}

#[test]
fn a_fulfillment_is_a_shipment_of_its_order() {
    let items = parse("fulfillments/create", FULFILLMENT).unwrap();
    let [Item::Shipment(update)] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(update.carrier, "DHL Express");
    assert_eq!(update.tracking_number, "JD014600006281230704");
    assert_eq!(update.status, ShipmentStatus::InTransit);
    assert_eq!(update.order.as_deref(), Some("#1001"));
    assert_eq!(update.channel.as_deref(), Some("shopify"));
    assert_eq!(update.at, "2026-11-21T08:00:00+01:00");
    assert!(update.detail.as_deref().unwrap().contains("820982911946154508"));

    // Shopify's shipment statuses in weft's set.
    for (fulfillment, shipment, status) in [
        (Some("success"), None, ShipmentStatus::Pending),
        (Some("success"), Some("label_printed"), ShipmentStatus::Pending),
        (Some("success"), Some("confirmed"), ShipmentStatus::Pending),
        (Some("success"), Some("in_transit"), ShipmentStatus::InTransit),
        (
            Some("success"),
            Some("out_for_delivery"),
            ShipmentStatus::OutForDelivery,
        ),
        (Some("success"), Some("delivered"), ShipmentStatus::Delivered),
        (Some("success"), Some("attempted_delivery"), ShipmentStatus::Exception),
        (Some("success"), Some("failure"), ShipmentStatus::Exception),
        (Some("cancelled"), Some("in_transit"), ShipmentStatus::Exception),
    ] {
        assert_eq!(
            shipment_status(fulfillment, shipment),
            status,
            "{fulfillment:?} {shipment:?}"
        );
    }

    // Several tracking numbers: one shipment each; none: nothing to track.
    let mut two: serde_json::Value = serde_json::from_slice(FULFILLMENT).unwrap();
    two["tracking_numbers"] = serde_json::json!(["JD014600006281230704", "JD014600006281230705"]);
    assert_eq!(
        parse("fulfillments/update", two.to_string().as_bytes()).unwrap().len(),
        2
    );
    two["tracking_numbers"] = serde_json::json!([]);
    two["tracking_number"] = serde_json::Value::Null;
    assert_eq!(
        parse("fulfillments/update", two.to_string().as_bytes()).unwrap(),
        vec![]
    );
}

#[test]
fn customers_and_privacy_requests_are_facts_with_exact_ids() {
    let items = parse("customers/update", CUSTOMER).unwrap();
    let [Item::Fact { kind, payload, .. }] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(kind, "customer.updated");
    assert_eq!(payload["customer_id"], "115310627314723954");
    assert_eq!(payload["buyer"]["name"], "太郎 山田");
    assert_eq!(payload["address"]["city"], "東京都");
    assert_eq!(
        payload["identities"][1],
        serde_json::json!({"kind": "email", "value": "yamada.taro@example.jp"})
    );

    let items = parse("customers/redact", REDACT).unwrap();
    let [Item::Fact { kind, payload, .. }] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(kind, "customer.erase");
    assert_eq!(payload["channel"], "shopify");
    assert_eq!(
        payload["identities"],
        serde_json::json!([
            {"kind": "buyer-id", "value": "706405506930370084"},
            {"kind": "email", "value": "anna.mueller@example.de"},
            {"kind": "phone", "value": "+4930123456789"},
        ])
    );
    assert_eq!(
        payload["orders"],
        serde_json::json!(["820982911946154508", "9007199254740993"])
    );
    assert_eq!(
        payload["reason"],
        "shopify customers/redact from laden-berlin.myshopify.com"
    );
    assert_eq!(payload["request"], "b54557e4");

    let items = parse("customers/data_request", DATA_REQUEST).unwrap();
    let [Item::Fact { kind, payload, .. }] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(kind, "customer.data_request");
    assert_eq!(payload["request"], "9999");

    let items = parse("shop/redact", SHOP_REDACT).unwrap();
    let [Item::Fact { kind, payload, .. }] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(kind, "channel.erase");
    assert_eq!(
        (payload["hook"].as_str(), payload["shop"].as_str()),
        (Some("laden"), Some("laden-berlin.myshopify.com"))
    );
}

#[test]
fn unknown_topics_are_recorded_and_bad_bodies_name_the_channel_and_the_problem() {
    let items = parse("app/uninstalled", br#"{"id": 1}"#).unwrap();
    let [Item::Fact { kind, payload, .. }] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(
        (kind.as_str(), payload["topic"].as_str()),
        ("shopify.unhandled", Some("app/uninstalled"))
    );

    let unprefixed = Shopify::parse_items(
        &inbound(
            ORDER,
            &[
                ("shopify-topic", "orders/create"),
                ("X-Shopify-Topic", "orders/cancelled"),
            ],
        ),
        &Config { secret: "s".into() },
    )
    .unwrap();
    assert!(matches!(
        &unprefixed[..],
        [Item::Order {
            change: OrderChange::Placed,
            ..
        }]
    ));

    let mut bad_price: serde_json::Value = serde_json::from_slice(ORDER).unwrap();
    bad_price["total_price"] = "263,80".into();
    let mut no_name: serde_json::Value = serde_json::from_slice(ORDER).unwrap();
    no_name.as_object_mut().unwrap().remove("name");
    for (topic, body, reason) in [
        (
            "orders/create",
            b"<html/>".to_vec(),
            "Shopify orders/create: the body is not an order: expected value",
        ),
        (
            "orders/create",
            bad_price.to_string().into_bytes(),
            "Shopify orders/create: total_price: amount \"263,80\"",
        ),
        (
            "orders/updated",
            no_name.to_string().into_bytes(),
            "Shopify orders/updated: the body is not an order: missing field `name`",
        ),
        (
            "customers/redact",
            br#"{"shop_domain": "x", "customer": {}}"#.to_vec(),
            "Shopify customers/redact: the customer to redact has no id, email or phone",
        ),
        (
            "fulfillments/create",
            br#"{"order_id": 1.5}"#.to_vec(),
            "Shopify fulfillments/create: the body is not a fulfillment: id 1.5 is not an integer",
        ),
    ] {
        let error = parse(topic, &body).unwrap_err();
        assert!(error.message().starts_with(reason), "{topic}: {error}");
    }
    let error = Shopify::parse_items(&inbound(ORDER, &[]), &Config { secret: "s".into() }).unwrap_err();
    assert!(
        error.message().starts_with("Shopify: the delivery names no topic"),
        "{error}"
    );
}
