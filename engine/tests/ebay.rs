//! eBay end to end: the real `weft serve` on `127.0.0.1:0` with the real ebay plugin, and a
//! local server on `127.0.0.1:0` that speaks eBay's wire format: the OAuth token endpoint
//! (Basic auth and grant types checked), the Notification API's public keys by key id (a P-256
//! key pair of the test's own), and the Commerce Message API (every read must name its
//! conversation type; limit/offset pages; a 429 with `Retry-After` and a 500 once; eBay's
//! error format). SQLite, and PostgreSQL when `WEFT_TEST_POSTGRES` is set.
//!
//! Buyers write in German, Japanese and Arabic; their messages are polled onto tickets, the
//! agent's reply reaches the conversation, a reply eBay refuses fails with eBay's own words,
//! and after a restart the poll goes on from its cursor. Notifications signed with the test's
//! key pass (the key is fetched once), tampered, unknown-key and unsigned ones are refused with
//! a reason naming ebay; an account deletion and another topic are recorded as events, a
//! notification published again (same `notificationId`, another body) once; the endpoint
//! challenge answers CHANNELS.md's vector. The mount is `ebay-de`, not `ebay`: replies to
//! polled messages go back through the mount that polled them.

mod common;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use common::serve::{Serve, weft};
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{Value, json};
use sha1::Digest as _;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use weft::store::Store;
use weft::store::outbox::OutboxState;

const CLIENT_ID: &str = "Laden-weft-PRD-0123456789-abcdef";
const CLIENT_SECRET: &str = "PRD-0123456789ab-cdef-0123-4567";
const REFRESH_TOKEN: &str = "v^1.1#i^1#r^1#f^0#I^3#p^3#t^Ul4xMF8w";
const VERIFICATION_TOKEN: &str = "weft_test_verification_token_0123456789";
const ENDPOINT: &str = "https://example.com/ebay/notifications";
const KID: &str = "5d3c1c1e-6a0b-4e0c-9a54-6f1f6e2c0b17";
const SELLER: &str = "mein-laden";

/// One message of a conversation, as the Message API keeps it.
#[derive(Debug, Clone)]
struct Msg {
    id: String,
    at: jiff::Timestamp,
    sender: String,
    body: String,
}

impl Msg {
    fn json(&self) -> Value {
        let recipient = if self.sender == SELLER { "buyer" } else { SELLER };
        json!({"messageId": self.id, "createdDate": self.at.to_string(), "senderUsername": self.sender,
               "recipientUsername": recipient, "messageBody": self.body, "readStatus": false, "subject": null})
    }
}

#[derive(Debug, Clone)]
struct Conv {
    id: String,
    title: String,
    buyer: String,
    listing: String,
    messages: Vec<Msg>,
}

#[derive(Default)]
struct EbayState {
    conversations: Vec<Conv>,
    /// Grants given, by grant type.
    grants: BTreeMap<String, u32>,
    /// Access tokens issued, by kind (`app`, `user`).
    tokens: BTreeMap<String, String>,
    /// How often the public key was asked for, by kid.
    key_fetches: BTreeMap<String, u32>,
    /// Every Message API read: its path and query.
    reads: Vec<(String, BTreeMap<String, String>)>,
    /// Answers to give first to the listing of conversations / a conversation's messages:
    /// (status, Retry-After).
    list_script: Vec<(u16, Option<&'static str>)>,
    read_script: Vec<(u16, Option<&'static str>)>,
    /// Conversations eBay refuses to take a message in.
    closed: Vec<String>,
    /// What `send_message` took.
    sent: Vec<Value>,
}

#[derive(Clone)]
struct Ebay {
    state: Arc<Mutex<EbayState>>,
    public_key_der: Arc<Vec<u8>>,
}

fn ebay_error(status: u16, id: u64, domain: &str, message: &str) -> axum::response::Response {
    let body = json!({"errors": [{"errorId": id, "domain": domain, "category": "REQUEST", "message": message,
                                 "longMessage": message, "parameters": []}]});
    let mut response = axum::response::Response::new(axum::body::Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn json_response(value: Value) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(value.to_string()));
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn scripted(script: &mut Vec<(u16, Option<&'static str>)>) -> Option<axum::response::Response> {
    if script.is_empty() {
        return None;
    }
    let (status, retry_after) = script.remove(0);
    let mut response = ebay_error(
        status,
        2001,
        "ACCESS",
        "Too many requests. The request limit has been reached",
    );
    if status >= 500 {
        response = ebay_error(
            status,
            355000,
            "API_MESSAGE",
            "There was a problem with an eBay internal system or process",
        );
    }
    if let Some(after) = retry_after {
        response.headers_mut().insert("retry-after", after.parse().unwrap());
    }
    Some(response)
}

/// `POST /identity/v1/oauth2/token`: Basic auth of the keyset, then the grant.
async fn token(State(ebay): State<Ebay>, headers: HeaderMap, body: axum::body::Bytes) -> axum::response::Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        let mut response =
            json_response(json!({"error": "invalid_client", "error_description": "client authentication failed"}));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
    }
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let mut state = ebay.state.lock().unwrap();
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    let kind = match grant.as_str() {
        "client_credentials"
            if form.get("scope").map(String::as_str) == Some("https://api.ebay.com/oauth/api_scope") =>
        {
            "app"
        }
        "refresh_token"
            if form.get("refresh_token").map(String::as_str) == Some(REFRESH_TOKEN)
                && form
                    .get("scope")
                    .is_some_and(|s| s.contains("https://api.ebay.com/oauth/api_scope/commerce.message")) =>
        {
            "user"
        }
        _ => {
            let mut response = json_response(
                json!({"error": "invalid_grant", "error_description": "the provided authorization grant is invalid"}),
            );
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
    };
    *state.grants.entry(grant).or_default() += 1;
    let token = format!("v^1.1#{kind}#{}", state.grants.values().sum::<u32>());
    state.tokens.insert(kind.into(), token.clone());
    let token_type = if kind == "app" {
        "Application Access Token"
    } else {
        "User Access Token"
    };
    json_response(json!({"access_token": token, "expires_in": 7200, "token_type": token_type}))
}

fn bearer(state: &EbayState, headers: &HeaderMap, kind: &str) -> bool {
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    state
        .tokens
        .get(kind)
        .is_some_and(|token| given == Some(format!("Bearer {token}").as_str()))
}

/// `GET /commerce/notification/v1/public_key/{kid}` with the application token.
async fn public_key(State(ebay): State<Ebay>, Path(kid): Path<String>, headers: HeaderMap) -> axum::response::Response {
    let mut state = ebay.state.lock().unwrap();
    if !bearer(&state, &headers, "app") {
        return ebay_error(401, 1001, "OAuth", "Invalid access token");
    }
    *state.key_fetches.entry(kid.clone()).or_default() += 1;
    if kid != KID {
        return ebay_error(404, 195000, "API_NOTIFICATION", "The specified key id was not found");
    }
    let key = base64::engine::general_purpose::STANDARD.encode(ebay.public_key_der.as_slice());
    json_response(json!({"algorithm": "ECDSA", "digest": "SHA1",
                         "key": format!("-----BEGIN PUBLIC KEY-----{key}-----END PUBLIC KEY-----")}))
}

/// The page `limit`/`offset` ask for, with eBay's paging fields.
fn page(items: Vec<Value>, query: &BTreeMap<String, String>, key: &str, href: &str) -> Value {
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25);
    let offset: usize = query.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let total = items.len();
    let slice: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let mut answer = json!({key: slice, "href": href, "limit": limit, "offset": offset, "total": total});
    if offset + limit < total {
        answer["next"] = format!("{href}?limit={limit}&offset={}", offset + limit).into();
    }
    answer
}

/// `GET /commerce/message/v1/conversation`: the conversations with a message since
/// `start_time` (or with `other_party_username`).
async fn conversations(
    State(ebay): State<Ebay>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> axum::response::Response {
    let mut state = ebay.state.lock().unwrap();
    if !bearer(&state, &headers, "user") {
        return ebay_error(401, 1001, "OAuth", "Invalid access token");
    }
    state.reads.push(("/conversation".into(), query.clone()));
    if query.get("conversation_type").map(String::as_str) != Some("FROM_MEMBERS") {
        return ebay_error(
            400,
            355001,
            "API_MESSAGE",
            "The conversation_type query parameter is required",
        );
    }
    if let Some(response) = scripted(&mut state.list_script) {
        return response;
    }
    let since = query
        .get("start_time")
        .map(|s| s.parse::<jiff::Timestamp>().expect("start_time is ISO 8601"));
    let other = query.get("other_party_username");
    let items: Vec<Value> = state
        .conversations
        .iter()
        .filter(|c| other.is_none_or(|o| *o == c.buyer))
        .filter(|c| since.is_none_or(|s| c.messages.iter().any(|m| m.at >= s)))
        .map(|c| {
            json!({"conversationId": c.id, "conversationStatus": "ACTIVE", "conversationTitle": c.title,
                   "conversationType": "FROM_MEMBERS", "createdDate": c.messages[0].at.to_string(),
                   "referenceId": c.listing, "referenceType": "LISTING", "unreadCount": 1,
                   "latestMessage": c.messages.last().unwrap().json()})
        })
        .collect();
    json_response(page(
        items,
        &query,
        "conversations",
        "/commerce/message/v1/conversation",
    ))
}

/// `GET /commerce/message/v1/conversation/{id}`: its messages.
async fn conversation(
    State(ebay): State<Ebay>,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> axum::response::Response {
    let mut state = ebay.state.lock().unwrap();
    if !bearer(&state, &headers, "user") {
        return ebay_error(401, 1001, "OAuth", "Invalid access token");
    }
    state.reads.push((format!("/conversation/{id}"), query.clone()));
    if query.get("conversation_type").map(String::as_str) != Some("FROM_MEMBERS") {
        return ebay_error(
            400,
            355001,
            "API_MESSAGE",
            "The conversation_type query parameter is required",
        );
    }
    if let Some(response) = scripted(&mut state.read_script) {
        return response;
    }
    let Some(conv) = state.conversations.iter().find(|c| c.id == id) else {
        return ebay_error(404, 355002, "API_MESSAGE", "The conversation was not found");
    };
    let items: Vec<Value> = conv.messages.iter().map(Msg::json).collect();
    let mut answer = page(
        items,
        &query,
        "messages",
        &format!("/commerce/message/v1/conversation/{id}"),
    );
    answer["conversationId"] = id.into();
    answer["conversationType"] = "FROM_MEMBERS".into();
    json_response(answer)
}

/// `POST /commerce/message/v1/send_message`: the seller's message joins the conversation.
async fn send_message(
    State(ebay): State<Ebay>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let mut state = ebay.state.lock().unwrap();
    if !bearer(&state, &headers, "user") {
        return ebay_error(401, 1001, "OAuth", "Invalid access token");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return ebay_error(400, 355003, "API_MESSAGE", "The request payload is malformed");
    };
    let Some(text) = request["messageText"].as_str().map(str::to_owned) else {
        return ebay_error(400, 355004, "API_MESSAGE", "The messageText field is required");
    };
    let Some(id) = request["conversationId"].as_str().map(str::to_owned) else {
        return ebay_error(
            400,
            355005,
            "API_MESSAGE",
            "Starting new conversations is not supported here",
        );
    };
    if state.closed.contains(&id) {
        return ebay_error(
            400,
            355010,
            "API_MESSAGE",
            "Die Konversation ist geschlossen: messaging is not allowed for this conversation",
        );
    }
    state.sent.push(request);
    let number = state.sent.len();
    let Some(conv) = state.conversations.iter_mut().find(|c| c.id == id) else {
        return ebay_error(404, 355002, "API_MESSAGE", "The conversation was not found");
    };
    let message = Msg {
        id: format!("seller-{number}"),
        at: jiff::Timestamp::now(),
        sender: SELLER.into(),
        body: text,
    };
    conv.messages.push(message.clone());
    json_response(
        json!({"messageId": message.id, "createdDate": message.at.to_string(), "messageBody": message.body,
                         "readStatus": false, "senderUserName": SELLER, "recipientUserName": conv.buyer}),
    )
}

async fn start_ebay(ebay: Ebay) -> u16 {
    let app = axum::Router::new()
        .route("/identity/v1/oauth2/token", axum::routing::post(token))
        .route(
            "/commerce/notification/v1/public_key/{kid}",
            axum::routing::get(public_key),
        )
        .route("/commerce/message/v1/conversation", axum::routing::get(conversations))
        .route(
            "/commerce/message/v1/conversation/{id}",
            axum::routing::get(conversation),
        )
        .route("/commerce/message/v1/send_message", axum::routing::post(send_message))
        .with_state(ebay);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

fn channels(port: u16) -> String {
    format!(
        "\
version: 1
channels:
  - id: ebay-de
    uses: ebay
    with:
      api_url: \"http://127.0.0.1:{port}\"
      client_id: ebay_client_id
      client_secret: ebay_client_secret
      refresh_token: ebay_refresh_token
      verification_token: ebay_verification_token
      endpoint: \"{ENDPOINT}\"
      seller: {SELLER}
      page_size: 2
    allow: {{ http: [127.0.0.1], secrets: [ebay_client_id, ebay_client_secret, ebay_refresh_token, ebay_verification_token] }}
    poll: 1s
"
    )
}

const SECRETS: [(&str, &str); 4] = [
    ("WEFT_SECRET_EBAY_CLIENT_ID", CLIENT_ID),
    ("WEFT_SECRET_EBAY_CLIENT_SECRET", CLIENT_SECRET),
    ("WEFT_SECRET_EBAY_REFRESH_TOKEN", REFRESH_TOKEN),
    ("WEFT_SECRET_EBAY_VERIFICATION_TOKEN", VERIFICATION_TOKEN),
];

/// The test's key pair: the private half signs, the public half is served by key id.
fn signing_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[0x5e; 32]).unwrap()
}

/// `X-EBAY-SIGNATURE` for `body`, as eBay builds it.
fn sign(body: &[u8], kid: &str) -> String {
    let digest = sha1::Sha1::digest(body);
    let signature: p256::ecdsa::Signature = signing_key().sign_prehash(&digest).unwrap();
    let header = json!({"alg": "ecdsa", "kid": kid,
                        "signature": base64::engine::general_purpose::STANDARD.encode(signature.to_der().as_bytes()),
                        "digest": "SHA1"});
    base64::engine::general_purpose::STANDARD.encode(header.to_string())
}

fn notification(topic: &str, id: &str, data: Value) -> Vec<u8> {
    json!({"metadata": {"topic": topic, "schemaVersion": "1.0", "deprecated": false},
           "notification": {"notificationId": id, "eventDate": "2026-11-30T10:00:00.000Z",
                            "publishDate": "2026-11-30T10:00:01.000Z", "publishAttemptCount": 1, "data": data}})
    .to_string()
    .into_bytes()
}

async fn post_hook(client: &reqwest::Client, serve: &Serve, body: &[u8], signature: Option<&str>) -> (u16, String) {
    let mut request = client
        .post(serve.url("/hooks/ebay-de"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-ebay-signature", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Every event the store holds, by id.
async fn events(store: &Store) -> Vec<weft::store::queue::QueuedEvent> {
    let mut found = Vec::new();
    let mut missing = 0;
    let mut id = 1;
    while missing < 50 {
        match store.event(id).await.unwrap() {
            Some(event) => {
                found.push(event);
                missing = 0;
            }
            None => missing += 1,
        }
        id += 1;
    }
    found
}

fn msg(id: &str, at: jiff::Timestamp, sender: &str, body: &str) -> Msg {
    Msg {
        id: id.into(),
        at,
        sender: sender.into(),
        body: body.into(),
    }
}

async fn ebay_end_to_end(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    let hours = |h: i64| now - jiff::SignedDuration::from_hours(h);
    let conversations = vec![
        Conv {
            id: "c-de".into(),
            title: "Wanderschuhe „Alpen“ 42".into(),
            buyer: "anna_de".into(),
            listing: "110553072411".into(),
            messages: vec![
                msg(
                    "m-de-1",
                    hours(50),
                    "anna_de",
                    "Guten Tag, zu Bestellung 12-34567-89012: gibt es den Schuh auch in Größe 43?",
                ),
                msg("m-de-2", hours(49), SELLER, "Ja, ab nächster Woche."),
                msg(
                    "m-de-3",
                    hours(30),
                    "anna_de",
                    "Meine Bestellung 12-34567-89012 ist noch nicht da. Können Sie nachsehen?",
                ),
            ],
        },
        Conv {
            id: "c-ja".into(),
            title: "靴下 (3足)".into(),
            buyer: "taro_jp".into(),
            listing: "110553072999".into(),
            messages: vec![msg("m-ja-1", hours(20), "taro_jp", "注文した靴下はいつ届きますか？")],
        },
        Conv {
            id: "c-ar".into(),
            title: "حقيبة ظهر".into(),
            buyer: "ahmad_eg".into(),
            listing: "110553073000".into(),
            messages: vec![msg(
                "m-ar-1",
                hours(10),
                "ahmad_eg",
                "مرحبا، هل يمكن الشحن إلى القاهرة؟ شكرا",
            )],
        },
    ];
    let public_key_der = signing_key()
        .verifying_key()
        .to_public_key_der()
        .unwrap()
        .as_bytes()
        .to_vec();
    let ebay = Ebay {
        state: Arc::new(Mutex::new(EbayState {
            conversations,
            // The first listing is refused with a 429 and Retry-After, the first read with a 500.
            list_script: vec![(429, Some("1"))],
            read_script: vec![(500, None)],
            closed: vec!["c-ar".into()],
            ..EbayState::default()
        })),
        public_key_der: Arc::new(public_key_der),
    };
    let port = start_ebay(ebay.clone()).await;
    let serve = Serve::start(dir.path(), db, &channels(port), &SECRETS);
    let store = Store::open(db).await.unwrap();
    let client = reqwest::Client::new();

    // The buyers' messages are polled onto tickets; the seller's own is not a buyer's message.
    let de = serve.processed_ticket_of(&store, "m-de-3").await;
    let ja = serve.processed_ticket_of(&store, "m-ja-1").await;
    let ar = serve.processed_ticket_of(&store, "m-ar-1").await;
    assert_eq!(
        serve.ticket_of(&store, "m-de-1").await,
        de,
        "one conversation, one ticket"
    );
    assert!(de != ja && ja != ar);
    let tickets = store.export_tickets().await.unwrap();
    let all_messages: Vec<&Value> = tickets.iter().flat_map(|t| t["messages"].as_array().unwrap()).collect();
    assert!(!all_messages.iter().any(|m| *m == "m-de-2"), "{tickets:#?}");
    let ticket_de = tickets.iter().find(|t| t["ticket"] == de).unwrap();
    let order = ticket_de["order"].as_str().unwrap_or_default().replace('-', "");
    assert_eq!(order, "123456789012", "the order named in the message: {ticket_de:#}");
    {
        let state = ebay.state.lock().unwrap();
        assert!(
            state.list_script.is_empty() && state.read_script.is_empty(),
            "the 429 and the 500 were served"
        );
        assert_eq!(
            state.grants.get("refresh_token"),
            Some(&1),
            "the user token is cached: {:?}",
            state.grants
        );
        assert!(
            state
                .reads
                .iter()
                .all(|(_, q)| q.get("conversation_type").map(String::as_str) == Some("FROM_MEMBERS")),
            "every read names its conversation type"
        );
        let pages: Vec<&str> = state
            .reads
            .iter()
            .filter(|(path, _)| path == "/conversation")
            .map(|(_, q)| q["offset"].as_str())
            .collect();
        assert!(
            pages.windows(2).any(|w| w == ["0", "2"]),
            "the listing was paged: {pages:?}"
        );
        assert!(
            state
                .reads
                .iter()
                .any(|(path, q)| path == "/conversation/c-de" && q["offset"] == "2"),
            "a conversation's messages were paged"
        );
    }
    let log = serve.log();
    assert!(
        log.contains("poll failed") && log.contains("HTTP 429") && log.contains("error 2001 (ACCESS/REQUEST)"),
        "{log}"
    );

    // The endpoint challenge (CHANNELS.md's vector).
    let challenge = client
        .get(serve.url("/hooks/ebay-de?challenge_code=71745723-d031-455c-bfa5-f90d11b4f20a"))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status().as_u16(), 200);
    let answer: Value = challenge.json().await.unwrap();
    assert_eq!(
        answer,
        json!({"challengeResponse": "b98bf5b352f960ed5efebc27dbbcc48cdccd1cdeae5b06f9a5f8ea8ec932a520"})
    );

    // Notifications: signed ones pass (the key is fetched once), bad ones are refused.
    let deletion = notification(
        "MARKETPLACE_ACCOUNT_DELETION",
        "n-del-1",
        json!({"username": "taro_jp", "userId": "ma8vp1jySJC", "eiasToken": "nY+sHZ2PrBmdj6wVnY+sEZ2PrA2dj6wJnY+gAZGEpwmdj6x9nY+seQ=="}),
    );
    let revision = notification(
        "ITEM_PRICE_REVISION",
        "n-price-1",
        json!({"itemId": "110553072411", "price": {"value": "119.90", "currency": "EUR"}}),
    );
    // eBay publishes a notification again until it is acknowledged (`publishAttemptCount`
    // counts up): another body, the same notificationId, queued once; another id is not dropped.
    let retried = String::from_utf8(revision.clone())
        .unwrap()
        .replace("\"publishAttemptCount\":1", "\"publishAttemptCount\":2")
        .into_bytes();
    assert_ne!(retried, revision);
    let second = notification(
        "ITEM_PRICE_REVISION",
        "n-price-2",
        json!({"itemId": "110553072411", "price": {"value": "129.90", "currency": "EUR"}}),
    );
    for body in [&deletion, &revision, &retried, &second] {
        let (status, text) = post_hook(&client, &serve, body, Some(&sign(body, KID))).await;
        assert_eq!(status, 202, "{text}");
    }
    let mut tampered = deletion.clone();
    let at = tampered.windows(7).position(|w| w == b"taro_jp").unwrap();
    tampered[at] = b'T';
    for (body, signature) in [
        (&tampered, Some(sign(&deletion, KID))),
        (&deletion, Some(sign(&deletion, "00000000-0000-4000-8000-000000000000"))),
        (&deletion, None),
    ] {
        let (status, text) = post_hook(&client, &serve, body, signature.as_deref()).await;
        assert_eq!(status, 401, "{text}");
    }
    {
        let state = ebay.state.lock().unwrap();
        assert_eq!(
            state.key_fetches.get(KID),
            Some(&1),
            "the key is cached: {:?}",
            state.key_fetches
        );
        assert_eq!(
            state.grants.get("client_credentials"),
            Some(&1),
            "the app token is cached"
        );
    }
    let recorded = serve
        .eventually("the notifications' events", async || {
            let found = events(&store).await;
            let erase = found
                .iter()
                .find(|e| e.kind == "customer.erase" || e.kind == "customer.erased")?
                .clone();
            let price = found.iter().find(|e| e.kind == "ebay.item_price_revision")?.clone();
            Some((erase, price))
        })
        .await;
    if recorded.0.kind == "customer.erase" {
        assert_eq!(
            recorded.0.payload,
            json!({"channel": "ebay", "identities": [{"kind": "buyer-id", "value": "ma8vp1jySJC"}, {"kind": "buyer-id", "value": "taro_jp"}],
                   "reason": "ebay marketplace account deletion", "request": "n-del-1"})
        );
    }
    assert_eq!(recorded.1.payload["data"]["price"]["value"], "119.90");
    let prices = serve
        .eventually("the second price revision", async || {
            let prices: Vec<Value> = events(&store)
                .await
                .into_iter()
                .filter(|e| e.kind == "ebay.item_price_revision")
                .map(|e| e.payload["data"]["price"]["value"].clone())
                .collect();
            prices.contains(&json!("129.90")).then_some(prices)
        })
        .await;
    assert_eq!(
        prices,
        [json!("119.90"), json!("129.90")],
        "n-price-1 once, n-price-2 once"
    );

    // The agent's reply reaches the conversation; a reply eBay refuses fails in eBay's words.
    let (ok, out, err) = weft(&["token", "create", "--name", "agent", "--role", "agent", "--db", db]);
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap().to_owned();
    let reply = serve
        .reply(
            &client,
            &token,
            de,
            "Ihr Paket ist unterwegs — Sendungsnummer folgt. Grüße!",
        )
        .await;
    let key = reply["key"].as_str().unwrap().to_owned();
    let row = serve
        .settled(&store, &key, "the reply delivered", |row| {
            row.state == OutboxState::Delivered
        })
        .await;
    assert_eq!(row.external_id.as_deref(), Some("seller-1"));
    {
        let state = ebay.state.lock().unwrap();
        assert_eq!(
            state.sent,
            [
                json!({"conversationId": "c-de", "messageText": "Ihr Paket ist unterwegs — Sendungsnummer folgt. Grüße!"})
            ]
        );
    }
    let refused = serve.reply(&client, &token, ar, "شكرا لرسالتك").await;
    let key = refused["key"].as_str().unwrap().to_owned();
    let row = serve
        .settled(&store, &key, "the refused reply failed", |row| {
            row.state == OutboxState::Failed
        })
        .await;
    let error = row.error.clone().unwrap_or_default();
    assert!(
        error.contains("ebay")
            && error.contains("HTTP 400")
            && error.contains("error 355010 (API_MESSAGE/REQUEST): Die Konversation ist geschlossen"),
        "{error}"
    );
    serve.stop();

    // A new message while weft is down arrives once after the restart; nothing is repeated.
    let before: usize = store
        .export_tickets()
        .await
        .unwrap()
        .iter()
        .map(|t| t["messages"].as_array().unwrap().len())
        .sum();
    let reads_before = {
        let mut state = ebay.state.lock().unwrap();
        let conv = state.conversations.iter_mut().find(|c| c.id == "c-ja").unwrap();
        conv.messages.push(msg(
            "m-ja-2",
            jiff::Timestamp::now(),
            "taro_jp",
            "ありがとうございます。追跡番号を教えてください。",
        ));
        state.reads.len()
    };
    let serve = Serve::start(dir.path(), db, &channels(port), &SECRETS);
    assert_eq!(serve.ticket_of(&store, "m-ja-2").await, ja);
    {
        let state = ebay.state.lock().unwrap();
        let (_, first) = state.reads[reads_before..]
            .iter()
            .find(|(path, _)| path == "/conversation")
            .unwrap();
        let since: jiff::Timestamp = first["start_time"].parse().unwrap();
        assert!(
            since > now - jiff::SignedDuration::from_hours(11),
            "the poll went on from its cursor: {since}"
        );
    }
    let after: usize = serve
        .eventually("the ticket export after the restart", async || {
            let tickets = store.export_tickets().await.ok()?;
            Some(tickets.iter().map(|t| t["messages"].as_array().unwrap().len()).sum())
        })
        .await;
    assert_eq!(after, before + 1, "one new message, none repeated");
    serve.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn ebay_end_to_end_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    ebay_end_to_end(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ebay_end_to_end_on_postgres() {
    if let Some(db) = common::postgres_database("ebay_end_to_end").await {
        ebay_end_to_end(&db).await;
    }
}
