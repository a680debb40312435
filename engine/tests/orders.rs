//! Orders and shipments through the real `weft serve` (the binary on `127.0.0.1:0`, the real
//! json channel plugin, the shipped workflows, SQLite and PostgreSQL when
//! `WEFT_TEST_POSTGRES` is set): an order webhook, the buyer's mail about it and the parcel's
//! news become one customer and one ticket showing the order and the shipment timeline in
//! `weft explain`, `weft export tickets` and the API; a malformed order is a dead letter with
//! its reason; a polled feed on a local HTTP server is read from its cursor, backs off on 503
//! and `Retry-After`, and after a restart goes on where it stopped.

mod common;

use axum::extract::{Query, State};
use common::serve::{Serve, weft};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a wait for something the server does in the background may take.
const PATIENCE: Duration = Duration::from_secs(120);

const CHANNELS: &str = "\
version: 1
channels:
  - id: shop
    uses: json
    with: { default_channel: email }
";

/// Posts one body to a hook; the status.
async fn post(client: &reqwest::Client, serve: &Serve, hook: &str, body: &Value) -> u16 {
    client
        .post(serve.url(&format!("/hooks/{hook}")))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

/// Runs `weft ARGS --db DB`, which must succeed; its stdout.
fn weft_ok(args: &[&str], db: &str) -> String {
    let mut all = args.to_vec();
    all.extend(["--db", db]);
    let (ok, out, err) = weft(&all);
    assert!(ok, "weft {args:?}: {err}");
    out
}

/// The tickets `weft export tickets` prints.
fn tickets(db: &str) -> Vec<Value> {
    weft_ok(&["export", "tickets"], db)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Waits until `done` holds of the exported tickets; returns them.
async fn until_tickets(db: &str, serve: &Serve, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let found = tickets(db);
        if done(&found) {
            return found;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "waited for {what}; tickets: {found:#?}\nlog:\n{}",
            serve.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn order_line() -> Value {
    json!({"change": "placed", "order": {
        "number": "#1001", "channel": "shopify", "placed_at": "2026-11-20T10:00:00Z",
        "buyer": {"name": "Anna Müller", "email": "anna@example.de"},
        "shipping": {"line1": "Hauptstraße 12", "postcode": "10115", "city": "Berlin", "country": "DE"},
        "status": "paid",
        "lines": [
            {"sku": "WS-42", "title": "Wanderschuhe „Alpen“ 42", "quantity": 1, "unit_price": {"amount": "129.90", "currency": "EUR"}},
            {"title": "靴下 (3足)", "quantity": 2, "unit_price": {"amount": "2.45", "currency": "EUR"}}
        ],
        "total": {"amount": "134.80", "currency": "EUR"}
    }})
}

fn shipment(status: &str, at: &str, tracking: &str, order: bool, detail: &str) -> Value {
    let mut update =
        json!({"carrier": "DHL", "tracking_number": tracking, "status": status, "at": at, "detail": detail});
    if order {
        update["order"] = "#1001".into();
        update["channel"] = "shopify".into();
        update["estimated_delivery"] = "2026-11-23T18:00:00Z".into();
    }
    json!({ "shipment": update })
}

/// A Shopify-style order, then the buyer's mail about it, then the parcel's news (in transit
/// with the order named, delivered and an older "out for delivery" naming only the tracking
/// number, written with spaces): one customer, one ticket, the order and its timeline on it.
async fn order_mail_and_parcel(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), db, CHANNELS, &[]);
    let (ok, out, err) = weft(&["token", "create", "--name", "agent", "--role", "agent", "--db", db]);
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap().to_owned();
    let client = reqwest::Client::new();

    assert_eq!(post(&client, &serve, "shop", &order_line()).await, 202);
    let mail = json!({
        "channel": "email", "id": "<m-1@example.de>", "at": "2026-11-22T09:00:00Z",
        "from": {"name": "Anna Müller", "email": "anna@example.de"},
        "subject": "Wo bleibt Bestellung #1001?", "order": "#1001", "lang": "de",
        "body": "Hallo, meine Bestellung #1001 ist noch nicht da. Können Sie nachsehen?",
    });
    assert_eq!(post(&client, &serve, "shop", &mail).await, 202);
    for update in [
        shipment(
            "in_transit",
            "2026-11-21T08:00:00Z",
            "JD0146 0000 6281",
            true,
            "Ankunft im Paketzentrum",
        ),
        shipment(
            "delivered",
            "2026-11-23T12:00:00Z",
            "jd014600006281",
            false,
            "Zugestellt — 配達完了",
        ),
        // Older news arriving late: in the timeline, but the parcel stays delivered.
        shipment(
            "out_for_delivery",
            "2026-11-23T07:30:00Z",
            "JD014600006281",
            false,
            "Zustellung heute",
        ),
    ] {
        assert_eq!(post(&client, &serve, "shop", &update).await, 202);
    }

    let found = until_tickets(
        db,
        &serve,
        "the ticket with the order and three shipment steps",
        |tickets| {
            tickets.iter().any(|t| {
                t["orders"][0]["shipments"][0]["history"]
                    .as_array()
                    .is_some_and(|h| h.len() == 3)
                    && t["orders"][0]["customer"].is_number()
            })
        },
    )
    .await;
    assert_eq!(found.len(), 1, "one ticket: {found:#?}");
    let ticket = &found[0];
    let order = &ticket["orders"][0];
    assert_eq!(order["channel"], "shopify");
    assert_eq!(order["number"], "1001");
    assert_eq!(order["written"], "#1001");
    assert_eq!(order["status"], "paid");
    assert_eq!(order["total"], json!({"amount": "134.80", "currency": "EUR"}));
    assert_eq!(order["lines"][1]["title"], "靴下 (3足)");
    assert_eq!(
        order["customer"], ticket["customer"],
        "the buyer of the order wrote the mail"
    );
    let parcel = &order["shipments"][0];
    assert_eq!(parcel["tracking_number"], "JD014600006281");
    assert_eq!(parcel["status"], "delivered");
    assert_eq!(parcel["delivered_at"], "2026-11-23T12:00:00Z");
    assert_eq!(parcel["estimated_delivery"], "2026-11-23T18:00:00Z");
    let steps: Vec<&str> = parcel["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["in_transit", "out_for_delivery", "delivered"]);
    assert_eq!(parcel["history"][2]["detail"], "Zugestellt — 配達完了");

    let number = ticket["ticket"].as_i64().unwrap();
    let explained = weft_ok(&["explain", "ticket", &number.to_string()], db);
    for expected in [
        "order #1001 at shopify · paid · 134.80 EUR",
        "1 × Wanderschuhe „Alpen“ 42 (WS-42) at 129.90 EUR",
        "shipment DHL JD014600006281 · delivered · delivered 2026-11-23T12:00:00Z",
        "2026-11-21T08:00:00Z · in_transit · Ankunft im Paketzentrum",
    ] {
        assert!(explained.contains(expected), "{expected:?} in:\n{explained}");
    }

    let detail: Value = client
        .get(serve.url(&format!("/api/v1/tickets/{number}")))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_order = &detail["order_detail"]["orders"][0];
    assert_eq!(api_order["total"]["amount"], "134.80", "{detail:#}");
    assert_eq!(api_order["buyer"]["email"], "anna@example.de");
    assert_eq!(api_order["shipments"][0]["status"], "delivered");
    assert_eq!(api_order["shipments"][0]["history"].as_array().unwrap().len(), 3);

    // The same order reported again unchanged queues nothing; a cancellation updates it.
    let mut cancelled = order_line();
    cancelled["change"] = "cancelled".into();
    cancelled["order"]["status"] = Value::Null;
    cancelled["order"]["updated_at"] = "2026-11-24T10:00:00Z".into();
    assert_eq!(post(&client, &serve, "shop", &cancelled).await, 202);
    until_tickets(db, &serve, "the cancelled order", |tickets| {
        tickets[0]["orders"][0]["status"] == "cancelled" && tickets[0]["orders"][0]["last_change"] == "cancelled"
    })
    .await;
    serve.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn order_mail_and_parcel_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    order_mail_and_parcel(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn order_mail_and_parcel_on_postgres() {
    if let Some(db) = common::postgres_database("order_mail_and_parcel").await {
        order_mail_and_parcel(&db).await;
    }
}

/// A malformed order and shipment are kept as dead letters, each with the hook, the channel
/// and what was wrong; nothing else is lost.
async fn bad_orders_are_dead_letters(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), db, CHANNELS, &[]);
    let client = reqwest::Client::new();
    let mut comma = order_line();
    comma["order"]["total"]["amount"] = "134,80".into();
    let mut no_time = order_line();
    no_time["order"]["placed_at"] = "gestern".into();
    let mut lost = shipment("in_transit", "2026-11-21T08:00:00Z", "JD1", true, "");
    lost["shipment"]["status"] = "verloren".into();
    for body in [&comma, &no_time, &lost] {
        assert_eq!(post(&client, &serve, "shop", body).await, 202);
    }
    let start = Instant::now();
    let letters = loop {
        let out = weft_ok(&["dead-letters"], db);
        if out.lines().count() >= 3 {
            break out;
        }
        assert!(start.elapsed() < PATIENCE, "dead letters: {out}\nlog:\n{}", serve.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for expected in [
        "amount \"134,80\" is not a decimal number",
        "`placed_at` \"gestern\" is not an RFC 3339 time",
        "unknown variant `verloren`",
    ] {
        let line = letters.lines().find(|l| l.contains(expected));
        assert!(
            line.is_some_and(|l| l.contains("/hooks/shop") && l.contains("channel `shop` (json@")),
            "{expected:?} with the hook in:\n{letters}"
        );
    }
    assert!(tickets(db).is_empty());
    serve.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_orders_are_dead_letters_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    bad_orders_are_dead_letters(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_orders_are_dead_letters_on_postgres() {
    if let Some(db) = common::postgres_database("bad_orders_are_dead_letters").await {
        bad_orders_are_dead_letters(&db).await;
    }
}

/// A feed an integrator's system serves for polling: pages of lines by cursor, the next
/// cursor in `Weft-Cursor`, and answers scripted ahead (503 with `Retry-After`).
#[derive(Clone, Default)]
struct Feed {
    state: Arc<Mutex<FeedState>>,
}

#[derive(Default)]
struct FeedState {
    /// Each page's lines and the cursor after it, by the cursor it is asked with ("" first).
    pages: BTreeMap<String, (Vec<Value>, String)>,
    /// Answers given instead of a page, in turn, by the cursor asked with: (status,
    /// Retry-After).
    refusals: BTreeMap<String, VecDeque<(u16, Option<&'static str>)>>,
    /// The cursor of every request, in order ("" for none).
    asked: Vec<String>,
}

async fn feed_page(
    State(feed): State<Feed>,
    Query(query): Query<BTreeMap<String, String>>,
) -> axum::response::Response {
    let mut state = feed.state.lock().unwrap();
    let cursor = query.get("cursor").cloned().unwrap_or_default();
    state.asked.push(cursor.clone());
    if let Some((status, retry_after)) = state.refusals.get_mut(&cursor).and_then(VecDeque::pop_front) {
        let mut response = axum::response::Response::new(axum::body::Body::from(r#"{"error":"Wartung"}"#));
        *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
        if let Some(after) = retry_after {
            response.headers_mut().insert("retry-after", after.parse().unwrap());
        }
        return response;
    }
    let (lines, next) = state.pages.get(&cursor).cloned().unwrap_or((Vec::new(), cursor));
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    response.headers_mut().insert("weft-cursor", next.parse().unwrap());
    response
}

fn polled_channels(port: u16) -> String {
    format!(
        "\
version: 1
channels:
  - id: feed
    uses: json
    with: {{ default_channel: marketplace, poll_url: \"http://127.0.0.1:{port}/feed?shop=de\" }}
    allow: {{ http: [127.0.0.1] }}
    poll: 1s
"
    )
}

/// Waits until the feed was asked `n` times; returns the cursors asked with.
async fn until_asked(feed: &Feed, serve: &Serve, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let asked = feed.state.lock().unwrap().asked.clone();
        if asked.len() >= n {
            return asked;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the feed was asked {asked:?}; log:\n{}",
            serve.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The feed is read page by page from its cursor; a 503 with `Retry-After` keeps the cursor
/// and the page comes on the next try; after a restart the poll goes on from the cursor kept.
async fn polled_feed_resumes_from_its_cursor(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let feed = Feed::default();
    {
        let mut state = feed.state.lock().unwrap();
        state
            .pages
            .insert("".into(), (vec![order_line()], "seite 2/a+b".into()));
        state.pages.insert(
            "seite 2/a+b".into(),
            (
                vec![shipment(
                    "in_transit",
                    "2026-11-21T08:00:00Z",
                    "JD014600006281",
                    true,
                    "مركز الفرز",
                )],
                "seite 3".into(),
            ),
        );
        // The feed is down when the second page is first asked for, and says when to come back.
        state
            .refusals
            .insert("seite 2/a+b".into(), VecDeque::from([(503, Some("1"))]));
    }
    let app = axum::Router::new()
        .route("/feed", axum::routing::get(feed_page))
        .with_state(feed.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let serve = Serve::start(dir.path(), db, &polled_channels(port), &[]);
    let asked = until_asked(&feed, &serve, 4).await;
    assert_eq!(
        asked[..4],
        ["", "seite 2/a+b", "seite 2/a+b", "seite 3"],
        "{}",
        serve.log()
    );
    let log = serve.stop();
    assert!(log.contains("poll failed") && log.contains("Wartung"), "{log}");

    // The order and the parcel were kept once each.
    let store = weft::store::Store::open(db).await.unwrap();
    let orders = store.ticket_orders("#1001").await.unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order.order.total.as_ref().unwrap().amount, "134.80");
    assert_eq!(orders[0].shipments.len(), 1);
    assert_eq!(orders[0].shipments[0].history.len(), 1);
    assert_eq!(orders[0].shipments[0].history[0].detail.as_deref(), Some("مركز الفرز"));

    // Restarted, it asks from where it stopped, not from the start.
    let before = feed.state.lock().unwrap().asked.len();
    let serve = Serve::start(dir.path(), db, &polled_channels(port), &[]);
    let asked = until_asked(&feed, &serve, before + 1).await;
    assert_eq!(asked[before], "seite 3", "{asked:?}");
    serve.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn polled_feed_resumes_from_its_cursor_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    polled_feed_resumes_from_its_cursor(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn polled_feed_resumes_from_its_cursor_on_postgres() {
    if let Some(db) = common::postgres_database("polled_feed_resumes").await {
        polled_feed_resumes_from_its_cursor(&db).await;
    }
}

const CARRIER_CHANNELS: &str = "\
version: 1
channels:
  - id: shop
    uses: json
    with: { default_channel: email }
  - id: easypost
    uses: carriers
    with: { service: easypost, secret: easypost_webhook }
    allow: { secrets: [easypost_webhook] }
  - id: aftership
    uses: carriers
    with: { service: aftership, secret: aftership_webhook }
    allow: { secrets: [aftership_webhook] }
";

/// Posts raw bytes with headers; the status and the body as text.
async fn post_signed(
    client: &reqwest::Client,
    serve: &Serve,
    hook: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut request = client
        .post(serve.url(&format!("/hooks/{hook}")))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("post");
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A marketplace ships order #1001 under tracking number `1`; EasyPost's published webhook
/// (its fixture, signed with its published secret) and an AfterShip webhook signed with a key of
/// the test's own then tell where the parcel is: both land on the order by tracking number.
/// Tampered, wrongly signed and unsigned webhooks are refused with the service's reason.
async fn carriers_news_lands_on_the_order(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = weft_test_support::workspace_root();
    let easypost = std::fs::read(root.join("plugins/carriers/tests/vectors/easypost-event-body.json")).unwrap();
    let aftership_key = "schlüssel-鍵-مفتاح";
    let serve = Serve::start(
        dir.path(),
        db,
        CARRIER_CHANNELS,
        &[
            ("WEFT_SECRET_EASYPOST_WEBHOOK", "sécret"),
            ("WEFT_SECRET_AFTERSHIP_WEBHOOK", aftership_key),
        ],
    );
    let client = reqwest::Client::new();
    assert_eq!(post(&client, &serve, "shop", &order_line()).await, 202);
    let mut shipped = shipment("pending", "2024-07-31T15:00:00Z", "1", true, "Label erstellt");
    shipped["shipment"]["carrier"] = "FedEx".into();
    assert_eq!(post(&client, &serve, "shop", &shipped).await, 202);

    let easypost_sig = "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db";
    let mut tampered = easypost.clone();
    tampered[20] ^= 1;
    for (body, headers, status) in [
        (&tampered, vec![("x-hmac-signature", easypost_sig)], 401),
        (&easypost, vec![], 401),
        (&easypost, vec![("x-hmac-signature", "hmac-sha256-hex=00")], 401),
        (&easypost, vec![("x-hmac-signature", easypost_sig)], 202),
    ] {
        let (got, answer) = post_signed(&client, &serve, "easypost", body, &headers).await;
        assert_eq!(got, status, "{answer}");
    }

    let delivered =
        json!({"event": "tracking_update", "event_id": "7c0e4b1e-2f7a-4a44-9d1b-3f1f0d2b9a11", "ts": 1_722_700_000,
        "msg": {"tracking_number": "1", "slug": "fedex", "tag": "Delivered", "subtag": "Delivered_001",
                "checkpoints": [{"checkpoint_time": "2024-08-05T14:02:00-04:00", "message": "Delivered — 配達完了"}]}})
        .to_string();
    let own = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(aftership_key.as_bytes()).unwrap();
        mac.update(delivered.as_bytes());
        let digest = mac.finalize().into_bytes();
        // Standard base64, as AfterShip sends it.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in digest.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..4 {
                out.push(if i <= chunk.len() {
                    ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char
                } else {
                    '='
                });
            }
        }
        out
    };
    let (got, answer) = post_signed(
        &client,
        &serve,
        "aftership",
        delivered.as_bytes(),
        &[("aftership-hmac-sha256", "d3Jvbmc=")],
    )
    .await;
    assert_eq!(got, 401, "{answer}");
    let (got, answer) = post_signed(
        &client,
        &serve,
        "aftership",
        delivered.as_bytes(),
        &[("aftership-hmac-sha256", &own)],
    )
    .await;
    assert_eq!(got, 202, "{answer}");

    // Stopped, it has processed everything it acknowledged.
    let log = serve.stop();
    for reason in [
        "EasyPost: the X-Hmac-Signature header does not match the body",
        "EasyPost: the X-Hmac-Signature header is missing",
        "AfterShip: the aftership-hmac-sha256 header does not match the body",
    ] {
        assert!(log.contains(reason), "{reason:?} in:\n{log}");
    }
    let store = weft::store::Store::open(db).await.unwrap();
    let orders = store.ticket_orders("#1001").await.unwrap();
    assert_eq!(orders.len(), 1);
    let parcel = &orders[0].shipments;
    assert_eq!(parcel.len(), 1, "{parcel:?}");
    assert_eq!(parcel[0].status, weft_sdk::ShipmentStatus::Delivered);
    let steps: Vec<(&str, Option<&str>)> = parcel[0]
        .history
        .iter()
        .map(|s| (s.status.as_str(), s.detail.as_deref()))
        .collect();
    assert_eq!(
        steps,
        [
            ("pending", Some("Label erstellt")),
            ("in_transit", Some("Arrived at FedEx location")),
            ("delivered", Some("Delivered — 配達完了")),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn carriers_news_lands_on_the_order_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    carriers_news_lands_on_the_order(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn carriers_news_lands_on_the_order_on_postgres() {
    if let Some(db) = common::postgres_database("carriers_news").await {
        carriers_news_lands_on_the_order(&db).await;
    }
}
