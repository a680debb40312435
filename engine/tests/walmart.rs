//! Walmart end to end: the real `weft serve` on `127.0.0.1:0` with the real walmart and email
//! plugins, and a local server on `127.0.0.1:0` that speaks Walmart's Marketplace API: the
//! token endpoint (Basic auth of the API key, the form, Walmart's headers), and
//! `GET /v3/orders` checking every required header (`WM_SEC.ACCESS_TOKEN` against the token it
//! issued, `WM_SVC.NAME`, a fresh `WM_QOS.CORRELATION_ID` UUID per call, `Accept`), filtering by
//! creation and last modification as Walmart does (creation defaults to the last 7 days) and
//! paging with `list.meta.nextCursor`; a 429 with `Retry-After`, a 500, a revoked token (401)
//! and a 400 in Walmart's error format. SQLite, and PostgreSQL when `WEFT_TEST_POSTGRES` is set.
//!
//! The story: four orders (one placed 10 days ago and shipped now, one cancelled) are polled
//! two per page; an order shipped after the first poll comes again as `order.updated`; a
//! buyer's Spanish mail through Walmart's relay naming her order joins the customer and a
//! ticket that shows that order; Walmart's webhooks pass with Basic auth and the HMAC signature,
//! a second delivery of one event is dropped, an unknown event is recorded, and a tampered,
//! wrongly signed or unsigned delivery is refused naming walmart; a 400 surfaces Walmart's
//! words; `weft serve` is restarted in the middle, and the windows of change it read before
//! and after meet exactly: nothing skipped, nothing read twice.

mod common;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use common::serve::{Serve, hmac_sha256};
use serde_json::{Value, json};
use sha2::Digest as _;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use weft::store::Store;

const CLIENT_ID: &str = "8f2c1d7e-3b4a-4c5d-9e6f-0a1b2c3d4e5f";
const CLIENT_SECRET: &str = "AKc9-Geheimnis_秘密-x7Q";
const HOOK_USER: &str = "walmart-webhooks";
const HOOK_PASSWORD: &str = "contraseña-パス-42";
const HOOK_SECRET: &str = "wm-hook-secret-ü";
const SERVICE: &str = "Walmart Marketplace";

/// A purchase order as the local Walmart keeps it.
#[derive(Debug, Clone)]
struct WmOrder {
    purchase_order_id: String,
    created: i64,
    modified: i64,
    json: Value,
}

/// An answer to give to the next orders call instead of the page: status, `Retry-After`, body.
type Scripted = (u16, Option<&'static str>, Value);

#[derive(Default)]
struct WalmartState {
    orders: Vec<WmOrder>,
    /// Tokens granted, and the one valid now.
    grants: u32,
    token: Option<String>,
    /// Revoke the valid token at the next orders call (answered 401).
    revoke: bool,
    unauthorized: u32,
    /// Every correlation id seen, and calls that lacked a required header (what was wrong).
    correlation_ids: BTreeSet<String>,
    faults: Vec<String>,
    /// The query of every orders call, and of those answered with a page.
    calls: Vec<BTreeMap<String, String>>,
    served: Vec<BTreeMap<String, String>>,
    script: Vec<Scripted>,
}

#[derive(Clone)]
struct Walmart {
    state: Arc<Mutex<WalmartState>>,
}

fn walmart_error(status: u16, code: &str, field: &str, description: &str) -> axum::response::Response {
    let body = json!({"errors": [{"code": code, "field": field, "description": description,
                                 "info": description, "severity": "ERROR", "category": "DATA",
                                 "causes": [], "errorIdentifiers": {}}]});
    respond(status, body)
}

fn respond(status: u16, body: Value) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The headers Walmart requires of every call; what is wrong, if anything.
fn check_headers(state: &mut WalmartState, headers: &HeaderMap) -> Option<axum::response::Response> {
    if header(headers, "wm_svc.name") != Some(SERVICE) {
        state.faults.push("WM_SVC.NAME".into());
        return Some(walmart_error(
            400,
            "INVALID_REQUEST_HEADER.GMP_GATEWAY_API",
            "WM_SVC.NAME",
            "WM_SVC.NAME set null or invalid",
        ));
    }
    let correlation = header(headers, "wm_qos.correlation_id").unwrap_or_default();
    if !is_uuid(correlation) || !state.correlation_ids.insert(correlation.to_owned()) {
        state.faults.push(format!("WM_QOS.CORRELATION_ID {correlation:?}"));
        return Some(walmart_error(
            400,
            "INVALID_REQUEST_HEADER.GMP_GATEWAY_API",
            "WM_QOS.CORRELATION_ID",
            "WM_QOS.CORRELATION_ID set null, invalid or reused",
        ));
    }
    if header(headers, "accept") != Some("application/json") {
        state.faults.push("Accept".into());
        return Some(walmart_error(
            406,
            "NOT_ACCEPTABLE",
            "Accept",
            "only application/json is served here",
        ));
    }
    None
}

/// `POST /v3/token`: Basic auth of the API key, Walmart's headers, the client-credentials form.
async fn token(
    State(walmart): State<Walmart>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let mut state = walmart.state.lock().unwrap();
    if let Some(refused) = check_headers(&mut state, &headers) {
        return refused;
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if header(&headers, "authorization") != Some(expected.as_str()) {
        state.faults.push("token Basic auth".into());
        return walmart_error(401, "UNAUTHORIZED.GMP_GATEWAY_API", "UNAUTHORIZED", "Unauthorized");
    }
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if header(&headers, "content-type") != Some("application/x-www-form-urlencoded")
        || form.get("grant_type").map(String::as_str) != Some("client_credentials")
    {
        state.faults.push(format!("token form {form:?}"));
        return walmart_error(
            400,
            "INVALID_REQUEST_PARAM.GMP_GATEWAY_API",
            "grant_type",
            "grant_type is invalid",
        );
    }
    state.grants += 1;
    let token = format!("eyJraWQiOi-wm-{}", state.grants);
    state.token = Some(token.clone());
    respond(
        200,
        json!({"access_token": token, "token_type": "Bearer", "expires_in": 900}),
    )
}

/// The time of a query parameter, or the parameter's name when it is not ISO 8601.
fn time(query: &BTreeMap<String, String>, key: &str) -> Result<Option<i64>, String> {
    match query.get(key) {
        None => Ok(None),
        Some(text) => text
            .parse::<jiff::Timestamp>()
            .map(|t| Some(t.as_millisecond()))
            .map_err(|_| key.to_owned()),
    }
}

/// `GET /v3/orders`: the orders created since `createdStartDate` (by default the last 7 days)
/// and last modified between the two `lastModified` dates (both inclusive), oldest change first,
/// `limit` at a time from `soIndex`, with `list.meta.nextCursor` while more remain.
async fn orders(
    State(walmart): State<Walmart>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> axum::response::Response {
    let mut state = walmart.state.lock().unwrap();
    if let Some(refused) = check_headers(&mut state, &headers) {
        return refused;
    }
    let given = header(&headers, "wm_sec.access_token");
    if state.revoke {
        state.revoke = false;
        state.token = None;
    }
    if given.is_none() || given != state.token.as_deref() {
        state.unauthorized += 1;
        return respond(
            401,
            json!({"error": [{"code": "UNAUTHORIZED.GMP_GATEWAY_API", "field": "UNAUTHORIZED", "description": "Unauthorized",
                              "info": "Unauthorized token or credentials.", "severity": "ERROR", "category": "DATA", "causes": [], "errorIdentifiers": {}}]}),
        );
    }
    state.calls.push(query.clone());
    if !state.script.is_empty() {
        let (status, retry_after, body) = state.script.remove(0);
        let mut response = respond(status, body);
        if let Some(after) = retry_after {
            response.headers_mut().insert("retry-after", after.parse().unwrap());
        }
        return response;
    }
    let now = jiff::Timestamp::now().as_millisecond();
    let (created, from, to) = match (
        time(&query, "createdStartDate"),
        time(&query, "lastModifiedStartDate"),
        time(&query, "lastModifiedEndDate"),
    ) {
        (Ok(created), Ok(from), Ok(to)) => (created.unwrap_or(now - 7 * 86_400_000), from, to),
        (Err(key), _, _) | (_, Err(key), _) | (_, _, Err(key)) => {
            return walmart_error(
                400,
                "INVALID_REQUEST_PARAM.GMP_ORDER_API",
                &key,
                &format!("{key} no es una fecha ISO 8601 válida"),
            );
        }
    };
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    if limit > 200 {
        return walmart_error(
            400,
            "INVALID_REQUEST_PARAM.GMP_ORDER_API",
            "limit",
            "limit must not exceed 200",
        );
    }
    let offset: usize = query.get("soIndex").and_then(|o| o.parse().ok()).unwrap_or(0);
    let mut found: Vec<&WmOrder> = state
        .orders
        .iter()
        .filter(|o| o.created >= created)
        .filter(|o| from.is_none_or(|from| o.modified >= from) && to.is_none_or(|to| o.modified <= to))
        .collect();
    found.sort_by(|a, b| (a.modified, &a.purchase_order_id).cmp(&(b.modified, &b.purchase_order_id)));
    let total = found.len();
    let page: Vec<&WmOrder> = found.into_iter().skip(offset).take(limit).collect();
    let next = (offset + limit < total).then(|| {
        let mut cursor = form_urlencoded::Serializer::new(String::new());
        cursor
            .append_pair("limit", &limit.to_string())
            .append_pair("hasMoreElements", "true")
            .append_pair("soIndex", &(offset + limit).to_string())
            .append_pair("poIndex", &page.last().unwrap().purchase_order_id)
            .append_pair("sellerId", "101");
        for key in ["createdStartDate", "lastModifiedStartDate", "lastModifiedEndDate"] {
            if let Some(value) = query.get(key) {
                cursor.append_pair(key, value);
            }
        }
        format!("?{}", cursor.finish())
    });
    let elements: Vec<Value> = page.iter().map(|o| o.json.clone()).collect();
    state.served.push(query);
    respond(
        200,
        json!({"list": {"meta": {"totalCount": total, "limit": limit, "nextCursor": next},
                        "elements": {"order": elements}}}),
    )
}

async fn start_walmart(walmart: Walmart) -> u16 {
    let app = axum::Router::new()
        .route("/v3/token", axum::routing::post(token))
        .route("/v3/orders", axum::routing::get(orders))
        .with_state(walmart);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// One line of an order: sku, name, quantity, price, tax, status, when its status changed.
struct Line<'a>(&'a str, &'a str, u32, &'a str, &'a str, &'a str, i64);

/// A purchase order in the Orders API's format (amounts as JSON numbers, times in epoch ms).
fn order_json(po: &str, customer_order: &str, email: &str, created: i64, buyer: &str, lines: &[Line]) -> Value {
    let number = |text: &str| -> Value { serde_json::from_str(text).unwrap() };
    let lines: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, Line(sku, name, quantity, price, tax, status, at))| {
            let tracking = (*status == "Shipped" || *status == "Delivered").then(|| {
                json!({"shipDateTime": at, "carrierName": {"otherCarrier": null, "carrier": "UPS"}, "methodCode": "Value",
                       "trackingNumber": "1Z999AA10123456784", "trackingURL": "https://www.ups.com/track?tracknum=1Z999AA10123456784"})
            });
            json!({
                "lineNumber": (i + 1).to_string(),
                "item": {"productName": name, "sku": sku},
                "charges": {"charge": [{"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                                        "chargeAmount": {"currency": "USD", "amount": number(price)},
                                        "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": number(tax)}}}]},
                "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": quantity.to_string()},
                "statusDate": at,
                "orderLineStatuses": {"orderLineStatus": [{"status": status, "statusQuantity": {"unitOfMeasurement": "EACH", "amount": quantity.to_string()},
                                                           "cancellationReason": null, "trackingInfo": tracking}]},
            })
        })
        .collect();
    json!({
        "purchaseOrderId": po, "customerOrderId": customer_order, "customerEmailId": email,
        "orderType": "REGULAR", "orderDate": created,
        "shippingInfo": {"phone": "3155598681", "estimatedDeliveryDate": created + 4 * 86_400_000,
                         "estimatedShipDate": created + 86_400_000, "methodCode": "Value",
                         "postalAddress": {"name": buyer, "address1": "3258 Calle Peña", "address2": null, "city": "San Antonio",
                                           "state": "TX", "postalCode": "78205", "country": "USA", "addressType": "RESIDENTIAL"}},
        "orderLines": {"orderLine": lines},
    })
}

fn wm_order(po: &str, customer_order: &str, email: &str, created: i64, buyer: &str, lines: &[Line]) -> WmOrder {
    WmOrder {
        purchase_order_id: po.into(),
        created,
        modified: lines.iter().map(|l| l.6).max().unwrap_or(created),
        json: order_json(po, customer_order, email, created, buyer, lines),
    }
}

fn channels(port: u16) -> String {
    format!(
        "\
version: 1
channels:
  - id: walmart
    uses: walmart
    with:
      api_url: \"http://127.0.0.1:{port}\"
      client_id: walmart_client_id
      client_secret: walmart_client_secret
      page_size: 2
      pages_per_poll: 1
      settle_seconds: 1
      webhook:
        basic: {{ user: walmart_hook_user, password: walmart_hook_password }}
        hmac_secret: walmart_hook_secret
    allow: {{ http: [127.0.0.1], secrets: [walmart_client_id, walmart_client_secret, walmart_hook_user, walmart_hook_password, walmart_hook_secret] }}
    poll: 1s
  - id: support
    uses: email
    with:
      from: Tienda <support@shop.example>
      own_addresses: ['@shop.example']
      relay_senders: {{ walmart: walmart@shop.example }}
    maildir: [inbox]
"
    )
}

const SECRETS: [(&str, &str); 5] = [
    ("WEFT_SECRET_WALMART_CLIENT_ID", CLIENT_ID),
    ("WEFT_SECRET_WALMART_CLIENT_SECRET", CLIENT_SECRET),
    ("WEFT_SECRET_WALMART_HOOK_USER", HOOK_USER),
    ("WEFT_SECRET_WALMART_HOOK_PASSWORD", HOOK_PASSWORD),
    ("WEFT_SECRET_WALMART_HOOK_SECRET", HOOK_SECRET),
];

/// The order events of each order number, in order: `placed`, `updated`, `cancelled`.
async fn order_events(store: &Store) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in common::all_events(store).await {
        if let Some(change) = event.kind.strip_prefix("order.") {
            let number = event.payload["number"].as_str().unwrap_or_default().to_owned();
            found.entry(number).or_default().push(change.to_owned());
        }
    }
    found
}

/// A delivery to refuse: what is wrong, the body, the Authorization header, the HMAC headers,
/// and the reason weft must give.
type Refusal<'a> = (&'a str, &'a [u8], Option<String>, Option<(String, String)>, &'a str);

/// A webhook delivery as Walmart sends it: Basic auth and the HMAC headers over the path.
async fn deliver_hook(
    client: &reqwest::Client,
    serve: &Serve,
    body: &[u8],
    auth: Option<&str>,
    signature: Option<(String, String)>,
) -> (u16, String) {
    let mut request = client
        .post(serve.url("/hooks/walmart"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some((timestamp, signature)) = signature {
        request = request
            .header("WM_SEC.TIMESTAMP", timestamp)
            .header("WM_SEC.SIGNATURE", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// `WM_SEC.TIMESTAMP` and `WM_SEC.SIGNATURE` for `body` posted to `/hooks/walmart`, signed with
/// `secret`.
fn sign(secret: &str, body: &[u8]) -> (String, String) {
    let timestamp = jiff::Timestamp::now().as_second().to_string();
    let signed = format!(
        "POST\n/hooks/walmart\n{timestamp}\n{}",
        hex::encode(sha2::Sha256::digest(body))
    );
    let signature = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(secret.as_bytes(), signed.as_bytes()));
    (timestamp, signature)
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn maildir(dir: &Path) -> PathBuf {
    let inbox = dir.join("inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    inbox
}

/// The windows (`lastModifiedStartDate`, `lastModifiedEndDate`) of the first pages served, in
/// milliseconds, in order.
fn windows(state: &WalmartState) -> Vec<(i64, i64)> {
    state
        .served
        .iter()
        .filter(|q| !q.contains_key("soIndex") && q.contains_key("lastModifiedStartDate"))
        .map(|q| {
            let at = |key: &str| q[key].parse::<jiff::Timestamp>().unwrap().as_millisecond();
            (at("lastModifiedStartDate"), at("lastModifiedEndDate"))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

async fn walmart_end_to_end(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let inbox = maildir(dir.path());
    let now = jiff::Timestamp::now().as_millisecond();
    let ago = |minutes: i64| now - minutes * 60_000;
    let jose = "3A31739D8B0A45A1B23F7F8C81C8747F";
    let walmart = Walmart {
        state: Arc::new(Mutex::new(WalmartState {
            orders: vec![
                // José's order: placed two hours ago, acknowledged.
                wm_order(
                    "1796277083022",
                    "5281956426648",
                    &format!("{jose}@relay.walmart.com"),
                    ago(120),
                    "José Núñez",
                    &[
                        Line(
                            "WM-KAFFEE-250",
                            "Café molido «Altura» 250 g",
                            1,
                            "8.99",
                            "0.72",
                            "Acknowledged",
                            ago(118),
                        ),
                        Line(
                            "WM-TASSE-2",
                            "Tazas de cerámica, 2 piezas",
                            2,
                            "21.0",
                            "1.68",
                            "Acknowledged",
                            ago(118),
                        ),
                    ],
                ),
                // Placed ten days ago (before Walmart's default 7 days), shipped an hour ago.
                wm_order(
                    "2575693098967",
                    "4021603941547",
                    "7C1F0E5B2D9A4E8F9B3A6D2C1E0F4A5B@relay.walmart.com",
                    ago(10 * 24 * 60),
                    "Mary O'Neil",
                    &[Line(
                        "WM-MUG-1",
                        "Stoneware mug, blue",
                        1,
                        "12.5",
                        "1.03",
                        "Shipped",
                        ago(60),
                    )],
                ),
                // Placed three hours ago, cancelled half an hour ago.
                wm_order(
                    "1802345678001",
                    "3912345678901",
                    "nocxemail@walmartone.com",
                    ago(180),
                    "Nguyễn Văn An",
                    &[Line(
                        "WM-TEA-50",
                        "Trà xanh 50 túi",
                        1,
                        "6.49",
                        "0.55",
                        "Cancelled",
                        ago(30),
                    )],
                ),
                // Placed five hours ago.
                wm_order(
                    "1802345678002",
                    "3912345678902",
                    "5D6E7F8091A2B3C4D5E6F708192A3B4C@relay.walmart.com",
                    ago(300),
                    "Fatima Al-Sayed",
                    &[Line(
                        "WM-DATES-1",
                        "تمر مجدول 1 كغ",
                        1,
                        "15.0",
                        "1.2",
                        "Created",
                        ago(299),
                    )],
                ),
            ],
            // The first orders call is refused with a 429 and Retry-After, the next with a 500.
            script: vec![
                (
                    429,
                    Some("1"),
                    json!({"errors": [{"code": "TOO_MANY_REQUESTS", "description": "Request limit exceeded, retry later"}]}),
                ),
                (
                    500,
                    None,
                    json!({"errors": [{"code": "INTERNAL_SERVER_ERROR.GMP_ORDER_API", "description": "Internal error, please retry"}]}),
                ),
            ],
            ..WalmartState::default()
        })),
    };
    let port = start_walmart(walmart.clone()).await;
    let serve = Serve::start(dir.path(), db, &channels(port), &SECRETS);
    let store = Store::open(db).await.unwrap();
    let client = reqwest::Client::new();

    // Every order arrives, two a page over two polls, each as its change.
    let seen = serve
        .eventually("the four orders' events", async || {
            let found = order_events(&store).await;
            (found.len() == 4).then_some(found)
        })
        .await;
    assert_eq!(
        seen,
        BTreeMap::from([
            ("3912345678901".into(), vec!["cancelled".into()]),
            ("3912345678902".into(), vec!["placed".into()]),
            ("4021603941547".into(), vec!["updated".into()]),
            ("5281956426648".into(), vec!["placed".into()]),
        ])
    );
    let first_seen = jiff::Timestamp::now().as_millisecond();
    let kept = store.ticket_orders("5281956426648").await.unwrap();
    let order = &kept[0].order.order;
    assert_eq!(order.channel, "walmart");
    assert_eq!(order.buyer.name.as_deref(), Some("José Núñez"));
    assert_eq!(order.buyer.buyer_id.as_deref(), Some(jose));
    assert_eq!(
        order.total.as_ref().map(|m| m.to_string()).as_deref(),
        Some("32.39 USD")
    );
    assert_eq!(order.status, Some(weft_sdk::OrderStatus::Paid));
    let cancelled = store.ticket_orders("3912345678901").await.unwrap();
    assert_eq!(
        cancelled[0].order.order.buyer.email, None,
        "Walmart's placeholder is no one's address"
    );
    {
        let state = walmart.state.lock().unwrap();
        assert!(
            state.faults.is_empty(),
            "every call carried Walmart's headers: {:?}",
            state.faults
        );
        assert!(state.script.is_empty(), "the 429 and the 500 were served");
        assert_eq!(state.grants, 1, "the token is cached");
        assert!(
            state.calls.iter().any(|q| q.contains_key("soIndex")),
            "the second page came by nextCursor: {:?}",
            state.calls
        );
        for query in &state.calls {
            let created = query["createdStartDate"]
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_millisecond();
            assert!(
                created <= ago(179 * 24 * 60),
                "not only orders created lately: {query:?}"
            );
        }
    }
    let log = serve.log();
    assert!(
        log.contains("poll failed")
            && log.contains("HTTP 429")
            && log.contains("TOO_MANY_REQUESTS: Request limit exceeded"),
        "{log}"
    );
    assert!(
        log.contains("HTTP 500") && log.contains("Internal error, please retry"),
        "{log}"
    );

    // José writes through Walmart's relay in Spanish, naming his order: his mail joins the
    // customer of the order, on a ticket that shows it.
    let mail = format!(
        "From: =?utf-8?q?Jos=C3=A9_N=C3=BA=C3=B1ez?= <{jose}@relay.walmart.com>\r\nTo: walmart@shop.example\r\n\
         Subject: =?utf-8?q?Pregunta_sobre_mi_pedido?=\r\nDate: Mon, 7 Dec 2026 14:02:00 -0600\r\n\
         Message-ID: <wm-relay-es-5281@relay.walmart.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Hola, mi número de pedido: 5281956426648. ¿Cuándo llegan las tazas?\r\n\r\nGracias,\r\nJosé\r\n"
    );
    std::fs::write(inbox.join("tmp").join("1.wm.local"), &mail).unwrap();
    std::fs::rename(
        inbox.join("tmp").join("1.wm.local"),
        inbox.join("new").join("1.wm.local"),
    )
    .unwrap();
    let ticket = serve
        .processed_ticket_of(&store, "wm-relay-es-5281@relay.walmart.com")
        .await;
    let shown = serve
        .eventually("the ticket showing José's order with its customer", async || {
            let tickets = store.export_tickets().await.ok()?;
            let shown = tickets.into_iter().find(|t| t["ticket"] == ticket)?;
            let order = shown["orders"].as_array()?.first()?.clone();
            (!order["customer"].is_null()).then_some(shown)
        })
        .await;
    let order = &shown["orders"][0];
    assert_eq!(
        (order["channel"].as_str(), order["written"].as_str()),
        (Some("walmart"), Some("5281956426648")),
        "{shown:#}"
    );
    assert_eq!(
        order["customer"], shown["customer"],
        "one buyer, one customer: {shown:#}"
    );
    assert_eq!(order["total"]["amount"], "32.39");

    // José's order ships after the first poll: it comes again, as updated.
    {
        let mut state = walmart.state.lock().unwrap();
        let at = jiff::Timestamp::now().as_millisecond();
        let shipped = wm_order(
            "1796277083022",
            "5281956426648",
            &format!("{jose}@relay.walmart.com"),
            ago(120),
            "José Núñez",
            &[
                Line(
                    "WM-KAFFEE-250",
                    "Café molido «Altura» 250 g",
                    1,
                    "8.99",
                    "0.72",
                    "Shipped",
                    at,
                ),
                Line(
                    "WM-TASSE-2",
                    "Tazas de cerámica, 2 piezas",
                    2,
                    "21.0",
                    "1.68",
                    "Shipped",
                    at,
                ),
            ],
        );
        let kept = state
            .orders
            .iter_mut()
            .find(|o| o.purchase_order_id == "1796277083022")
            .unwrap();
        *kept = shipped;
        // And the token is revoked: the next call is answered 401, and a fresh one is asked for.
        state.revoke = true;
    }
    serve
        .eventually("José's order updated", async || {
            let found = order_events(&store).await;
            (found.get("5281956426648")? == &["placed", "updated"]).then_some(())
        })
        .await;
    assert_eq!(
        store.ticket_orders("5281956426648").await.unwrap()[0]
            .order
            .order
            .status,
        Some(weft_sdk::OrderStatus::Shipped)
    );
    {
        let state = walmart.state.lock().unwrap();
        assert!(
            state.unauthorized >= 1 && state.grants == 2,
            "one 401, one fresh token: {} {}",
            state.unauthorized,
            state.grants
        );
    }

    // Walmart's webhooks: a new purchase order, authenticated both ways, is placed once though
    // delivered twice; an unknown event is recorded; bad deliveries are refused.
    let po_created = json!({
        "source": {"eventType": "PO_CREATED", "eventId": "0b2b8f5a-3c7e-4f0e-9a51-7d2d1f6c9e10", "eventTime": "2026-12-07T08:15:31.204Z"},
        "eventType": "PO_CREATED", "eventTime": "2026-12-07T08:15:31.204Z", "eventId": "0b2b8f5a-3c7e-4f0e-9a51-7d2d1f6c9e10",
        "payload": {"partnerId": "10001234567", "purchaseOrderId": "1802345678003", "customerOrderId": "3912345678903",
                    "orderDate": "2026-12-07T08:15:30.000Z", "estimatedDeliveryDate": "2026-12-11T22:00:00.000Z",
                    "estimatedShipDate": "2026-12-08T22:00:00.000Z",
                    "orderLines": [{"lineNumber": "1", "sku": "WM-KAFFEE-250", "productName": "Café molido «Altura» 250 g",
                                    "quantity": {"unitOfMeasure": "EACH", "measurementValue": "3"}, "orderLineStatus": "Created"}]}
    })
    .to_string()
    .into_bytes();
    let buy_box = json!({"source": {"eventType": "BUY_BOX_CHANGED", "eventId": "c3d4e5f6-0000-4000-8000-0000000000bb", "eventTime": "2026-12-07T09:00:00.000Z"},
                         "eventType": "BUY_BOX_CHANGED", "eventId": "c3d4e5f6-0000-4000-8000-0000000000bb", "eventTime": "2026-12-07T09:00:00.000Z",
                         "payload": {"itemId": "WM-KAFFEE-250", "sellerId": "101", "currentBuyBoxPrice": {"amount": 8.49, "currency": "USD"}}})
    .to_string()
    .into_bytes();
    let right = basic(HOOK_USER, HOOK_PASSWORD);
    // Walmart delivering the event again, its JSON laid out anew: only the eventId says so.
    let again = serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&po_created).unwrap()).unwrap();
    for body in [&po_created, &again, &buy_box] {
        let (status, text) = deliver_hook(&client, &serve, body, Some(&right), Some(sign(HOOK_SECRET, body))).await;
        assert!((200..300).contains(&status), "{status} {text}");
    }
    let mut tampered = po_created.clone();
    let at = tampered.windows(4).position(|w| w == b"3912").unwrap();
    tampered[at] = b'4';
    let refused: [Refusal; 5] = [
        (
            "tampered",
            &tampered,
            Some(right.clone()),
            Some(sign(HOOK_SECRET, &po_created)),
            "WM_SEC.SIGNATURE does not match",
        ),
        (
            "another secret",
            &po_created,
            Some(right.clone()),
            Some(sign("not-the-secret", &po_created)),
            "WM_SEC.SIGNATURE does not match",
        ),
        (
            "unsigned",
            &po_created,
            Some(right.clone()),
            None,
            "the WM_SEC.TIMESTAMP header is missing",
        ),
        (
            "wrong password",
            &po_created,
            Some(basic(HOOK_USER, "password")),
            Some(sign(HOOK_SECRET, &po_created)),
            "Basic credentials are not the subscription's",
        ),
        (
            "no Authorization",
            &po_created,
            None,
            Some(sign(HOOK_SECRET, &po_created)),
            "the Authorization header is missing",
        ),
    ];
    for (what, body, auth, signature, reason) in refused {
        let (status, text) = deliver_hook(&client, &serve, body, auth.as_deref(), signature).await;
        assert_eq!(status, 401, "{what}: {text}");
        assert!(
            text.contains("walmart webhook: ") && text.contains(reason),
            "{what}: {text}"
        );
    }
    let recorded = serve
        .eventually("the webhook's order and fact", async || {
            let found = common::all_events(&store).await;
            let placed: Vec<_> = found
                .iter()
                .filter(|e| e.kind == "order.placed" && e.payload["number"] == "3912345678903")
                .collect();
            let fact = found.iter().find(|e| e.kind == "walmart.buy_box_changed")?.clone();
            (!placed.is_empty()).then_some((placed.len(), fact))
        })
        .await;
    assert_eq!(recorded.0, 1, "the second delivery of one event is dropped");
    assert_eq!(
        recorded.1.payload["payload"]["currentBuyBoxPrice"]["amount"],
        json!(8.49)
    );

    // A 400 surfaces Walmart's own words; the cursor stays, and the poll goes on once it passes.
    {
        let mut state = walmart.state.lock().unwrap();
        state.script.push((
            400,
            None,
            json!({"errors": [{"code": "INVALID_REQUEST_PARAM.GMP_ORDER_API", "field": "lastModifiedStartDate",
                               "description": "Solo se admiten pedidos de los últimos 180 días", "severity": "ERROR", "category": "DATA"}]}),
        ));
    }
    serve
        .eventually("Walmart's 400 in the log", async || {
            serve
                .log()
                .contains("walmart: listing orders: HTTP 400: INVALID_REQUEST_PARAM.GMP_ORDER_API (lastModifiedStartDate): Solo se admiten pedidos de los últimos 180 días")
                .then_some(())
        })
        .await;

    // Two more orders change; weft is stopped in the middle and started again.
    let calls_before = {
        let mut state = walmart.state.lock().unwrap();
        let at = jiff::Timestamp::now().as_millisecond();
        let delivered = wm_order(
            "1802345678002",
            "3912345678902",
            "5D6E7F8091A2B3C4D5E6F708192A3B4C@relay.walmart.com",
            ago(300),
            "Fatima Al-Sayed",
            &[Line("WM-DATES-1", "تمر مجدول 1 كغ", 1, "15.0", "1.2", "Delivered", at)],
        );
        let kept = state
            .orders
            .iter_mut()
            .find(|o| o.purchase_order_id == "1802345678002")
            .unwrap();
        *kept = delivered;
        state.orders.push(wm_order(
            "1802345678004",
            "3912345678904",
            "9E8D7C6B5A4938271605F4E3D2C1B0A9@relay.walmart.com",
            at - 1000,
            "Анна Петрова",
            &[Line(
                "WM-MUG-1",
                "Stoneware mug, blue",
                1,
                "12.5",
                "1.03",
                "Created",
                at,
            )],
        ));
        state.calls.len()
    };
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    serve.stop();
    let serve = Serve::start(dir.path(), db, &channels(port), &SECRETS);
    let after = serve
        .eventually("the orders changed around the restart", async || {
            let found = order_events(&store).await;
            (found.get("3912345678902")?.len() == 2 && found.contains_key("3912345678904")).then_some(found)
        })
        .await;
    // A few more polls: nothing comes twice.
    serve
        .eventually("two more polls", async || {
            (walmart.state.lock().unwrap().calls.len() >= calls_before + 4).then_some(())
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let settled = order_events(&store).await;
    assert_eq!(settled, after);
    assert_eq!(
        settled,
        BTreeMap::from([
            ("3912345678901".into(), vec!["cancelled".into()]),
            ("3912345678902".into(), vec!["placed".into(), "updated".into()]),
            ("3912345678903".into(), vec!["placed".into()]),
            ("3912345678904".into(), vec!["placed".into()]),
            ("4021603941547".into(), vec!["updated".into()]),
            ("5281956426648".into(), vec!["placed".into(), "updated".into()]),
        ])
    );
    // The windows read, before the restart and after it, follow one another to the
    // millisecond: none overlaps (nothing read twice), none leaves a gap (nothing skipped).
    // (A window asked for again after a failure, or by a poll cut off by the stop, has the
    // same start and a later end; the one the next window starts after is the one kept.)
    let state = walmart.state.lock().unwrap();
    let read = windows(&state);
    let starts: Vec<i64> = read.iter().map(|w| w.0).collect::<BTreeSet<_>>().into_iter().collect();
    assert!(starts.len() >= 4, "{read:?}");
    assert!(
        starts[0] >= now - 7 * 86_400_000 && starts[0] <= first_seen - 7 * 86_400_000,
        "the first window starts 7 days before the first poll: {read:?}"
    );
    for pair in starts.windows(2) {
        assert!(
            read.iter().any(|w| w.0 == pair[0] && w.1 + 1 == pair[1]),
            "the window from {} ends where the next starts: {read:?}",
            pair[0]
        );
    }
    assert!(
        read.iter().all(|w| w.0 < w.1),
        "every window is read after its changes settled: {read:?}"
    );
    assert!(state.faults.is_empty(), "{:?}", state.faults);
    drop(state);
    serve.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn walmart_end_to_end_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    walmart_end_to_end(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn walmart_end_to_end_on_postgres() {
    if let Some(db) = common::postgres_database("walmart_end_to_end").await {
        walmart_end_to_end(&db).await;
    }
}
