//! Shopify through the real `weft serve` (the binary on `127.0.0.1:0`, the real `shopify`,
//! `json` and `carriers` plugins through the real runtime, the shipped workflows; SQLite, and
//! PostgreSQL when `WEFT_TEST_POSTGRES` is set). Webhook bodies are shaped like Shopify's
//! sample payloads (German, Japanese and Arabic names; ids beyond 2^53) and signed with an app
//! secret of the test's own, in the classic `X-Shopify-*` headers and in the unprefixed
//! `shopify-*` ones:
//! - an order, then the buyer's mail about it, then its fulfillment and the carrier's news:
//!   one customer, one ticket linked to the order, the shipment timeline on it;
//! - a tampered body, a wrong secret and a missing signature are refused with their reason; a
//!   delivery sent again is dropped; an unknown topic is recorded; a malformed order is a dead
//!   letter naming the channel and the problem;
//! - `customers/data_request` says what weft holds; `customers/redact` erases the buyer's
//!   personal data everywhere and says what it erased (`weft explain`, the API, the log); the
//!   ticket, the order and its parcel stay;
//! - Shopify's retry of an event after the order changed (another webhook id, another body) is
//!   queued once, another event of the same topic is not dropped (contract 0.6.0's event ids);
//! - refused deliveries are kept as dead letters with their reason, once per body, and after
//!   the secret is fixed `weft replay` queues the one signed with it. Nothing here times speed.

mod common;

use base64::Engine as _;
use common::serve::{Serve, hmac_sha256, weft};
use serde_json::{Value, json};
use std::path::Path;
use weft::store::Store;

const APP_SECRET: &str = "shpss_geheimnis-秘密-سر";
const EASYPOST_SECRET: &str = "easypost-秘密";

const CHANNELS: &str = "\
version: 1
channels:
  - id: laden
    uses: shopify
    with: { secret: shopify_app }
    allow: { secrets: [shopify_app] }
  - id: mail
    uses: json
    with: { default_channel: email }
  - id: easypost
    uses: carriers
    with: { service: easypost, secret: easypost_webhook }
    allow: { secrets: [easypost_webhook] }
";

fn payload(name: &str) -> Vec<u8> {
    std::fs::read(
        weft_test_support::workspace_root()
            .join("plugins/shopify/tests/payloads")
            .join(name),
    )
    .unwrap()
}

/// Shopify's signature: base64 of the HMAC-SHA256 of the raw body under the client secret.
fn shopify_signature(secret: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(secret.as_bytes(), body))
}

/// How a delivery is signed and labelled.
#[derive(Clone, Copy)]
enum Headers {
    /// `X-Shopify-Topic`, `X-Shopify-Hmac-Sha256`, ...
    Classic,
    /// `shopify-topic`, `shopify-hmac-sha256`, ...
    Unprefixed,
}

/// Posts a Shopify delivery of `topic` with this signature (none: unsigned); the status and
/// the answer.
async fn deliver(
    client: &reqwest::Client,
    serve: &Serve,
    headers: Headers,
    topic: &str,
    event: &str,
    body: &[u8],
    signature: Option<String>,
) -> (u16, Value) {
    let webhook = format!("wh-{event}");
    deliver_as(client, serve, headers, (topic, event, &webhook), body, signature).await
}

/// [`deliver`] with its own webhook id: `(topic, event id, webhook id)`. Shopify gives each
/// delivery a webhook id and each event an event id; a retry of an event after the resource
/// changed is another delivery (another webhook id, another body) of the same event.
async fn deliver_as(
    client: &reqwest::Client,
    serve: &Serve,
    headers: Headers,
    (topic, event, webhook): (&str, &str, &str),
    body: &[u8],
    signature: Option<String>,
) -> (u16, Value) {
    let prefix = match headers {
        Headers::Classic => "X-Shopify-",
        Headers::Unprefixed => "shopify-",
    };
    let mut request = client
        .post(serve.url("/hooks/laden"))
        .header("content-type", "application/json")
        .header(format!("{prefix}Topic"), topic)
        .header(format!("{prefix}Shop-Domain"), "laden-berlin.myshopify.com")
        .header(format!("{prefix}API-Version"), "2026-10")
        .header(format!("{prefix}Webhook-Id"), webhook)
        .header(format!("{prefix}Event-Id"), event)
        .header(format!("{prefix}Triggered-At"), "2026-11-20T09:00:00.000Z")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header(format!("{prefix}Hmac-Sha256"), signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Posts a Shopify delivery of `topic` signed with the app's secret.
async fn deliver_signed(
    client: &reqwest::Client,
    serve: &Serve,
    headers: Headers,
    topic: &str,
    event: &str,
    body: &[u8],
) -> (u16, Value) {
    let signature = shopify_signature(APP_SECRET, body);
    deliver(client, serve, headers, topic, event, body, Some(signature)).await
}

/// Runs `weft ARGS --db DB`, which must succeed; its stdout.
fn weft_ok(args: &[&str], db: &str) -> String {
    let mut all = args.to_vec();
    all.extend(["--db", db]);
    let (ok, out, err) = weft(&all);
    assert!(ok, "weft {args:?}: {err}");
    out
}

/// The events of `kind` queued so far (ids count up from 1 in a fresh database).
async fn events_of(store: &Store, kind: &str) -> Vec<Value> {
    let mut found = Vec::new();
    let mut id = 1;
    let mut misses = 0;
    while misses < 20 {
        match store.event(id).await.unwrap() {
            Some(event) => {
                misses = 0;
                if event.kind == kind {
                    found.push(event.payload);
                }
            }
            None => misses += 1,
        }
        id += 1;
    }
    found
}

async fn shopify_through_serve(db: &str, dir: &Path) {
    let serve = Serve::start(
        dir,
        db,
        CHANNELS,
        &[
            ("WEFT_SECRET_SHOPIFY_APP", APP_SECRET),
            ("WEFT_SECRET_EASYPOST_WEBHOOK", EASYPOST_SECRET),
        ],
    );
    let (ok, out, err) = weft(&["token", "create", "--name", "agent", "--role", "agent", "--db", db]);
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap().to_owned();
    let client = reqwest::Client::new();
    let store = Store::open(db).await.unwrap();

    // Refused with its reason (and kept as a dead letter: `refused_deliveries_*` below).
    let order = payload("orders-create.json");
    let mut tampered = order.clone();
    let at = tampered.windows(6).position(|w| w == b"263.80").unwrap();
    tampered[at] = b'1';
    for (what, headers, body, signature, reason) in [
        (
            "tampered",
            Headers::Classic,
            &tampered,
            Some(shopify_signature(APP_SECRET, &order)),
            "Shopify: the x-shopify-hmac-sha256 header does not match the body",
        ),
        (
            "wrong secret",
            Headers::Unprefixed,
            &order,
            Some(shopify_signature("shpss_andere", &order)),
            "Shopify: the shopify-hmac-sha256 header does not match the body",
        ),
        (
            "unsigned",
            Headers::Classic,
            &order,
            None,
            "Shopify: the delivery is not signed",
        ),
    ] {
        let (status, answer) = deliver(&client, &serve, headers, "orders/create", "e-0", body, signature).await;
        assert_eq!(status, 401, "{what}: {answer}");
        assert!(answer.to_string().contains(reason), "{what}: {answer}");
    }

    // The order, in the classic headers; sent again (Shopify retries): dropped.
    let (status, first) = deliver_signed(&client, &serve, Headers::Classic, "orders/create", "e-1", &order).await;
    assert_eq!(status, 202, "{first}");
    let (status, again) = deliver_signed(&client, &serve, Headers::Classic, "orders/create", "e-1", &order).await;
    assert_eq!((status, &again["duplicate"]), (200, &json!(true)), "{again}");
    assert_eq!(again["inbound"], first["inbound"]);

    // The buyer writes about it (a mail, through the json channel's webhook).
    let mail = json!({
        "channel": "email", "id": "<m-1@example.de>", "at": "2026-11-22T09:00:00Z",
        "from": {"name": "Anna Müller", "email": "anna.mueller@example.de"},
        "subject": "Wo bleibt Bestellung #1001?", "order": "#1001", "lang": "de",
        "body": "Hallo, meine Bestellung #1001 ist noch nicht da. Können Sie nachsehen? Tel. +49 30 123456789",
    });
    let status = client
        .post(serve.url("/hooks/mail"))
        .header("content-type", "application/json")
        .body(mail.to_string())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 202);

    // Shipped (the unprefixed headers), then the carrier's news through EasyPost.
    let (status, answer) = deliver_signed(
        &client,
        &serve,
        Headers::Unprefixed,
        "fulfillments/create",
        "e-2",
        &payload("fulfillments-create.json"),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let tracker = json!({
        "object": "Event", "id": "evt_3f1a6f6e9a1b11ef", "mode": "test", "description": "tracker.updated",
        "created_at": "2026-11-23T11:00:00Z", "previous_attributes": {"status": "in_transit"},
        "result": {"object": "Tracker", "id": "trk_6f1e", "mode": "test", "tracking_code": "JD014600006281230704",
            "carrier": "DHLExpress", "status": "delivered", "updated_at": "2026-11-23T11:00:00Z",
            "est_delivery_date": null,
            "tracking_details": [
                {"object": "TrackingDetail", "message": "Ankunft im Paketzentrum", "status": "in_transit", "datetime": "2026-11-22T06:00:00Z"},
                {"object": "TrackingDetail", "message": "Zugestellt — 配達完了", "status": "delivered", "datetime": "2026-11-23T11:00:00Z"}
            ]}
    })
    .to_string();
    let status = client
        .post(serve.url("/hooks/easypost"))
        .header("content-type", "application/json")
        .header(
            "x-hmac-signature",
            format!(
                "hmac-sha256-hex={}",
                hex::encode(hmac_sha256(EASYPOST_SECRET.as_bytes(), tracker.as_bytes()))
            ),
        )
        .body(tracker)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 202);

    let number = serve.processed_ticket_of(&store, "<m-1@example.de>").await;
    let ticket = serve
        .eventually(
            "the ticket with the order, its buyer and the delivered parcel",
            async || {
                let tickets = store.export_tickets().await.unwrap();
                tickets.into_iter().find(|t| {
                    t["ticket"] == number
                        && t["orders"][0]["customer"] == t["customer"]
                        && t["orders"][0]["shipments"][0]["status"] == "delivered"
                })
            },
        )
        .await;
    assert_eq!(store.export_tickets().await.unwrap().len(), 1, "one ticket");
    let order_json = &ticket["orders"][0];
    assert_eq!(order_json["channel"], "shopify");
    assert_eq!(order_json["written"], "#1001");
    assert_eq!(order_json["status"], "paid");
    assert_eq!(order_json["total"], json!({"amount": "263.80", "currency": "EUR"}));
    assert_eq!(order_json["lines"][1]["title"], "靴下 (3足)");
    let parcel = &order_json["shipments"][0];
    assert_eq!(parcel["tracking_number"], "JD014600006281230704");
    let steps: Vec<&str> = parcel["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["in_transit", "delivered"], "{parcel:#}");
    let customer = ticket["customer"].as_i64().unwrap();

    // An Arabic buyer in the unprefixed headers, with a customer id beyond 2^53.
    let mut arabic: Value = serde_json::from_slice(&order).unwrap();
    arabic["name"] = "#1002".into();
    arabic["email"] = "fatima@example.ae".into();
    arabic["contact_email"] = "fatima@example.ae".into();
    arabic["currency"] = "AED".into();
    arabic["customer"] = json!({"id": 9007199254740993u64, "email": "fatima@example.ae", "first_name": "فاطمة", "last_name": "الزهراء", "phone": "+971501234567"});
    arabic["shipping_address"] = json!({"name": "فاطمة الزهراء", "address1": "شارع الشيخ زايد ١", "city": "دبي",
        "zip": "00000", "country": "United Arab Emirates", "country_code": "AE", "phone": "+971501234567"});
    arabic.as_object_mut().unwrap().remove("billing_address");
    let arabic = arabic.to_string();
    assert!(
        arabic.contains("9007199254740993"),
        "serde_json keeps the integer exact"
    );
    let (status, answer) = deliver_signed(
        &client,
        &serve,
        Headers::Unprefixed,
        "orders/create",
        "e-3",
        arabic.as_bytes(),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let kept = serve
        .eventually("order #1002", async || {
            store.ticket_orders("#1002").await.unwrap().into_iter().next()
        })
        .await;
    assert_eq!(kept.order.order.buyer.buyer_id.as_deref(), Some("9007199254740993"));
    assert_eq!(kept.order.order.buyer.name.as_deref(), Some("فاطمة الزهراء"));
    assert_eq!(kept.order.order.total.as_ref().unwrap().to_string(), "263.80 AED");

    // A Japanese customer's update is a fact; an unknown topic is recorded; a malformed order
    // is a dead letter naming the channel and the problem.
    for (topic, event, body) in [
        ("customers/update", "e-4", payload("customers-update.json")),
        (
            "app/uninstalled",
            "e-5",
            br#"{"id": 548380009, "name": "Laden Berlin"}"#.to_vec(),
        ),
        ("orders/create", "e-6", br##"{"id": 1, "name": "#1003"}"##.to_vec()),
    ] {
        let (status, answer) = deliver_signed(&client, &serve, Headers::Classic, topic, event, &body).await;
        assert_eq!(status, 202, "{topic}: {answer}");
    }
    let letter = serve
        .eventually("the malformed order dead-lettered", async || {
            let letters = store.dead_letters(true).await.unwrap();
            letters.into_iter().find(|l| !l.error.contains("refused by channel"))
        })
        .await;
    assert!(
        letter.error.contains("/hooks/laden")
            && letter
                .error
                .contains("Shopify orders/create: the body is not an order: missing field `created_at`"),
        "{}",
        letter.error
    );
    let updated = serve
        .eventually("the customer update", async || {
            events_of(&store, "customer.updated").await.pop()
        })
        .await;
    assert_eq!(updated["buyer"]["name"], "太郎 山田");
    assert_eq!(updated["customer_id"], "115310627314723954");
    let unhandled = serve
        .eventually("the unknown topic recorded", async || {
            events_of(&store, "shopify.unhandled").await.pop()
        })
        .await;
    assert_eq!(unhandled["topic"], "app/uninstalled");

    // What weft holds about Anna, then her erasure.
    let (status, answer) = deliver_signed(
        &client,
        &serve,
        Headers::Classic,
        "customers/data_request",
        "e-7",
        &payload("customers-data_request.json"),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let asked = serve
        .eventually("the data request", async || {
            events_of(&store, "customer.data_request").await.pop()
        })
        .await;
    assert_eq!(asked["held"]["customers"], json!([customer]), "{asked:#}");
    assert_eq!(asked["held"]["tickets"], json!([number]));
    assert_eq!(asked["held"]["orders"], json!(["#1001"]));
    assert_eq!(asked["request"], "9999");

    let (status, answer) = deliver_signed(
        &client,
        &serve,
        Headers::Unprefixed,
        "customers/redact",
        "e-8",
        &payload("customers-redact.json"),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let erasure = serve
        .eventually("the erasure", async || {
            store.erasures().await.unwrap().into_iter().next()
        })
        .await;
    assert_eq!(erasure.scope, "customer");
    assert_eq!(erasure.request.as_deref(), Some("e-8"));
    assert_eq!(
        erasure.reason,
        "shopify customers/redact from laden-berlin.myshopify.com"
    );
    assert_eq!(erasure.customers, [customer]);
    assert_eq!(erasure.tickets, [number]);
    // Exactly: one customer, their mail, their ticket, their order; the raw order webhook
    // (kept once), the fulfillment, the data request, the redaction itself, the mail and the
    // two refused copies of her order (tampered; wrong secret and unsigned, one body); the
    // order's event and the data request's. At least: identities (with blocking keys) and
    // the steps' decisions.
    for (kind, exactly) in [
        ("customers", 1),
        ("messages", 1),
        ("tickets", 1),
        ("orders", 1),
        ("raw_webhooks", 7),
        ("events", 2),
    ] {
        assert_eq!(erasure.counts.get(kind), Some(&exactly), "{kind}: {:?}", erasure.counts);
    }
    for kind in ["identities", "decisions"] {
        assert!(
            erasure.counts.get(kind).is_some_and(|n| *n >= 2),
            "{kind}: {:?}",
            erasure.counts
        );
    }

    // Nothing of Anna is left in what weft shows or exports; the work is.
    let tickets = store.export_tickets().await.unwrap();
    let customers = store.export_customers().await.unwrap();
    let shown = format!("{tickets:?}{customers:?}{:?}", events_of(&store, "order.placed").await);
    for personal in [
        "anna.mueller@example.de",
        "Müller",
        "+4930123456789",
        "Hauptstraße",
        "Können Sie",
        "706405506930370084",
    ] {
        assert!(!shown.contains(personal), "{personal} is still shown:\n{shown}");
    }
    let ticket = tickets.iter().find(|t| t["ticket"] == number).unwrap();
    assert_eq!(ticket["orders"][0]["written"], "#1001");
    assert_eq!(ticket["orders"][0]["shipments"][0]["status"], "delivered");
    assert_eq!(ticket["orders"][0]["total"]["amount"], "263.80");
    let first_inbound = first["inbound"].as_i64().unwrap();
    assert!(
        store.inbound(first_inbound).await.unwrap().inbound.body.is_empty(),
        "the kept order webhook is erased"
    );
    // Fatima's order is untouched.
    let fatima = store.ticket_orders("#1002").await.unwrap();
    assert_eq!(fatima[0].order.order.buyer.email.as_deref(), Some("fatima@example.ae"));

    let explained = weft_ok(&["explain", "ticket", &number.to_string()], db);
    assert!(
        explained.contains(&format!("personal data erased (erasure {}", erasure.id))
            && explained.contains("shopify customers/redact from laden-berlin.myshopify.com · request e-8"),
        "{explained}"
    );
    assert!(!explained.contains("Müller"), "{explained}");
    let explained = weft_ok(&["explain", "erasure", &erasure.id.to_string()], db);
    assert!(explained.contains(&format!("tickets: {number}")), "{explained}");

    let api: Value = client
        .get(serve.url("/api/v1/erasures"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["erasures"][0]["id"], erasure.id, "{api:#}");
    assert_eq!(api["erasures"][0]["counts"]["orders"], 1);
    let changes: Value = client
        .get(serve.url(&format!("/api/v1/tickets/{number}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!changes.to_string().contains("anna.mueller"), "{changes:#}");

    // The shop uninstalled the app: everything from it goes (Fatima's order), the parcels and
    // the ticket stay.
    let (status, answer) = deliver_signed(
        &client,
        &serve,
        Headers::Classic,
        "shop/redact",
        "e-9",
        &payload("shop-redact.json"),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let shop = serve
        .eventually("the shop's erasure", async || {
            store
                .erasures()
                .await
                .unwrap()
                .into_iter()
                .find(|e| e.scope == "channel")
        })
        .await;
    assert_eq!(shop.request.as_deref(), Some("e-9"));
    assert_eq!(shop.counts.get("orders"), Some(&1), "{:?}", shop.counts);
    assert!(
        shop.counts.get("raw_webhooks").is_some_and(|n| *n >= 5),
        "every kept request of the mount: {:?}",
        shop.counts
    );
    let fatima = store.ticket_orders("#1002").await.unwrap();
    assert_eq!(fatima[0].order.order.buyer, weft_sdk::Party::default());
    assert_eq!(fatima[0].order.order.shipping, None);
    assert_eq!(fatima[0].order.order.total.as_ref().unwrap().amount, "263.80");
    let tickets = store.export_tickets().await.unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["orders"][0]["shipments"][0]["status"], "delivered");

    let log = serve.stop();
    for line in [
        "Shopify: the x-shopify-hmac-sha256 header does not match the body",
        "Shopify: the delivery is not signed",
        "personal data erased",
    ] {
        assert!(log.contains(line), "{line:?} in the log:\n{log}");
    }
    assert!(
        !log.contains("anna.mueller@example.de"),
        "the log names the erased buyer"
    );
}

/// The order of `orders-create.json` as Shopify would send it later: another name and id
/// when `number` is given, else the same order updated at `updated_at` with another note.
fn order_version(number: Option<u64>, updated_at: &str, note: &str) -> Vec<u8> {
    let mut order: Value = serde_json::from_slice(&payload("orders-create.json")).unwrap();
    if let Some(number) = number {
        order["id"] = json!(820982911946150000u64 + number);
        order["name"] = format!("#{number}").into();
        order["order_number"] = number.into();
    }
    order["updated_at"] = updated_at.into();
    order["note"] = note.into();
    order.to_string().into_bytes()
}

/// Runs `weft replay` over every open dead letter with the channels file `weft serve` used
/// and `secret` as the app's secret; (exit code, stdout, stderr).
fn replay_with_secret(dir: &Path, db: &str, secret: &str) -> (Option<i32>, String, String) {
    let root = weft_test_support::workspace_root();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["replay", "--db", db])
        .arg("--workflows")
        .arg(root.join("workflows"))
        .arg("--channels")
        .arg(dir.join("channels.yaml"))
        .env("WEFT_PLUGINS", weft_test_support::plugins_dir())
        .env("WEFT_MODELS", dir.join("no-models"))
        .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"))
        .env("WEFT_SECRET_SHOPIFY_APP", secret)
        .env("WEFT_SECRET_EASYPOST_WEBHOOK", EASYPOST_SECRET)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Contract 0.6.0's event ids end to end: Shopify's retry of an event after the order changed
/// again (another webhook id, another body) is answered and queued once; another event of the
/// same topic is not dropped. Then deliveries refused for their signature: 401 with the
/// reason, each kept once as a dead letter naming the channel and what was wrong, and after the
/// secret is fixed `weft replay` queues the one signed with it; the others fail again.
async fn event_ids_and_refused_deliveries(db: &str, dir: &Path) {
    let serve = Serve::start(
        dir,
        db,
        CHANNELS,
        &[
            ("WEFT_SECRET_SHOPIFY_APP", APP_SECRET),
            ("WEFT_SECRET_EASYPOST_WEBHOOK", EASYPOST_SECRET),
        ],
    );
    let client = reqwest::Client::new();
    let store = Store::open(db).await.unwrap();
    let (status, answer) = deliver_signed(
        &client,
        &serve,
        Headers::Classic,
        "orders/create",
        "ev-create",
        &payload("orders-create.json"),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let first = order_version(None, "2026-11-20T11:00:00+01:00", "Bitte beim Nachbarn abgeben");
    let retry = order_version(
        None,
        "2026-11-20T12:00:00+01:00",
        "Bitte beim Nachbarn abgeben — 隣の人に",
    );
    let other = order_version(None, "2026-11-20T13:00:00+01:00", "Lieferung an die Packstation");
    for (headers, event, webhook, body) in [
        (Headers::Classic, "ev-update-1", "wh-a", &first),
        // The same event again, in the other header set: newer, so only its id tells it apart.
        (Headers::Unprefixed, "ev-update-1", "wh-b", &retry),
        (Headers::Classic, "ev-update-2", "wh-c", &other),
    ] {
        let signature = shopify_signature(APP_SECRET, body);
        let (status, answer) = deliver_as(
            &client,
            &serve,
            headers,
            ("orders/updated", event, webhook),
            body,
            Some(signature),
        )
        .await;
        assert_eq!(status, 202, "{event} {webhook}: {answer}");
        assert_eq!(
            answer["duplicate"],
            Value::Null,
            "another body is another delivery: {answer}"
        );
    }
    // Once every kept webhook is parsed (none left received) and the second event is queued,
    // ev-update-1 is queued once: by whichever of its two deliveries was parsed first (the
    // server parses webhooks concurrently, so that need not be the one kept first).
    let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
    let mut updates = serve
        .eventually("the second event's update, every webhook parsed", async || {
            let times: Vec<jiff::Timestamp> = events_of(&store, "order.updated")
                .await
                .iter()
                .map(|u| at(u["updated_at"].as_str().unwrap()))
                .collect();
            let parsed = store.received_webhooks(10).await.unwrap().is_empty();
            (parsed && times.contains(&at("2026-11-20T12:00:00Z"))).then_some(times)
        })
        .await;
    updates.sort();
    assert_eq!(updates.len(), 2, "the retry of ev-update-1 is dropped: {updates:?}");
    assert!(
        [at("2026-11-20T10:00:00Z"), at("2026-11-20T11:00:00Z")].contains(&updates[0]),
        "ev-update-1 is queued once: {updates:?}"
    );
    assert_eq!(updates[1], at("2026-11-20T12:00:00Z"));

    // Refused: signed with a secret weft does not have yet (the app's was rotated), a tampered
    // body, no signature. 401 with the reason, and each kept as a dead letter.
    const ROTATED: &str = "shpss_neues-geheimnis-新しい";
    let rotated = order_version(Some(1005), "2026-11-24T09:00:00+01:00", "Geschenkverpackung, bitte");
    let tampered = order_version(Some(1006), "2026-11-24T10:00:00+01:00", "Originaltext");
    let unsigned = order_version(Some(1007), "2026-11-24T11:00:00+01:00", "ohne Signatur");
    let refused = [
        (
            &rotated,
            Some(shopify_signature(ROTATED, &rotated)),
            "Shopify: the x-shopify-hmac-sha256 header does not match the body",
        ),
        (
            &tampered,
            Some(shopify_signature(APP_SECRET, b"{\"name\": \"#1006\"}")),
            "Shopify: the x-shopify-hmac-sha256 header does not match the body",
        ),
        (&unsigned, None, "Shopify: the delivery is not signed"),
    ];
    for (round, what) in ["first", "again (Shopify retries)"].iter().enumerate() {
        for (body, signature, reason) in &refused {
            let event = format!("ev-refused-{round}");
            let (status, answer) = deliver(
                &client,
                &serve,
                Headers::Classic,
                "orders/create",
                &event,
                body,
                signature.clone(),
            )
            .await;
            assert_eq!(status, 401, "{what}: {answer}");
            assert_eq!(answer["error"]["code"], "unauthenticated", "{answer}");
            assert!(
                answer["error"]["message"].as_str().unwrap().contains(reason),
                "{answer}"
            );
        }
    }
    let listed = weft_ok(&["dead-letters"], db);
    let letters: Vec<&str> = listed.lines().collect();
    assert_eq!(letters.len(), 3, "each refused body kept once:\n{listed}");
    for ((_, _, reason), line) in refused.iter().zip(&letters) {
        assert!(
            line.contains("(shopify): /hooks/laden: refused by channel shopify: ") && line.contains(reason),
            "{line}"
        );
    }
    let kept = store.dead_letters(true).await.unwrap();
    let record = store.inbound(kept[0].inbound.unwrap()).await.unwrap();
    assert_eq!(record.inbound.body, rotated, "the exact body is kept");
    assert!(
        record
            .inbound
            .headers
            .iter()
            .any(|(name, value)| name == "x-shopify-topic" && value == "orders/create"),
        "{:?}",
        record.inbound.headers
    );
    assert!(
        store.ticket_orders("#1005").await.unwrap().is_empty(),
        "nothing refused was parsed"
    );
    serve.stop();

    // The secret fixed, `weft replay` verifies each again: the rotated one passes and its order
    // is queued; the others fail again and stay open, with the same reason.
    let (code, _, stderr) = replay_with_secret(dir, db, ROTATED);
    assert_eq!(code, Some(2), "two failed again: {stderr}");
    assert!(
        stderr.contains(&format!("dead letter #{} failed again", kept[2].id))
            && stderr.contains("Shopify: the delivery is not signed"),
        "{stderr}"
    );
    let order = store.ticket_orders("#1005").await.unwrap();
    assert_eq!(order.len(), 1, "the replayed order is kept");
    assert_eq!(events_of(&store, "order.placed").await.len(), 2, "#1001 and #1005");
    let open = store.dead_letters(true).await.unwrap();
    assert_eq!(
        open.iter().map(|l| (l.id, l.attempts)).collect::<Vec<_>>(),
        [(kept[1].id, 2), (kept[2].id, 2)]
    );
    assert!(
        open[1].error.contains("the delivery is not signed"),
        "{}",
        open[1].error
    );
    // Replayed again with nothing fixed: the same two fail again, nothing is queued twice.
    let (code, _, stderr) = replay_with_secret(dir, db, ROTATED);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(store.ticket_orders("#1005").await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn event_ids_and_refused_deliveries_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    event_ids_and_refused_deliveries(&db, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn event_ids_and_refused_deliveries_on_postgres() {
    if let Some(db) = common::postgres_database("event_ids_and_refused_deliveries").await {
        let dir = tempfile::tempdir().unwrap();
        event_ids_and_refused_deliveries(&db, dir.path()).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn shopify_through_serve_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    shopify_through_serve(&db, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shopify_through_serve_on_postgres() {
    if let Some(db) = common::postgres_database("shopify_through_serve").await {
        let dir = tempfile::tempdir().unwrap();
        shopify_through_serve(&db, dir.path()).await;
    }
}
