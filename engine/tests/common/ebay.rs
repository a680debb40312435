//! A local server that speaks eBay's wire format, for the tests that need eBay: the OAuth
//! token endpoint (Basic auth and grant types checked), the Notification API's public keys by
//! key id (a P-256 key pair of the test's own), and the Commerce Message API (every read must
//! name its conversation type; limit/offset pages; scripted 429s and 500s; eBay's error
//! format). Shared by `ebay.rs` and the cross-channel story of `amazon.rs`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "Laden-weft-PRD-0123456789-abcdef";
pub const CLIENT_SECRET: &str = "PRD-0123456789ab-cdef-0123-4567";
pub const REFRESH_TOKEN: &str = "v^1.1#i^1#r^1#f^0#I^3#p^3#t^Ul4xMF8w";
pub const VERIFICATION_TOKEN: &str = "weft_test_verification_token_0123456789";
pub const ENDPOINT: &str = "https://example.com/ebay/notifications";
pub const KID: &str = "5d3c1c1e-6a0b-4e0c-9a54-6f1f6e2c0b17";
pub const SELLER: &str = "mein-laden";

/// One message of a conversation, as the Message API keeps it.
#[derive(Debug, Clone)]
pub struct Msg {
    pub id: String,
    pub at: jiff::Timestamp,
    pub sender: String,
    pub body: String,
}

impl Msg {
    fn json(&self) -> Value {
        let recipient = if self.sender == SELLER { "buyer" } else { SELLER };
        json!({"messageId": self.id, "createdDate": self.at.to_string(), "senderUsername": self.sender,
               "recipientUsername": recipient, "messageBody": self.body, "readStatus": false, "subject": null})
    }
}

#[derive(Debug, Clone)]
pub struct Conv {
    pub id: String,
    pub title: String,
    pub buyer: String,
    pub listing: String,
    pub messages: Vec<Msg>,
}

#[derive(Default)]
pub struct EbayState {
    pub conversations: Vec<Conv>,
    /// Grants given, by grant type.
    pub grants: BTreeMap<String, u32>,
    /// Access tokens issued, by kind (`app`, `user`).
    pub tokens: BTreeMap<String, String>,
    /// How often the public key was asked for, by kid.
    pub key_fetches: BTreeMap<String, u32>,
    /// Every Message API read: its path and query.
    pub reads: Vec<(String, BTreeMap<String, String>)>,
    /// Answers to give first to the listing of conversations / a conversation's messages:
    /// (status, Retry-After).
    pub list_script: Vec<(u16, Option<&'static str>)>,
    pub read_script: Vec<(u16, Option<&'static str>)>,
    /// Conversations eBay refuses to take a message in.
    pub closed: Vec<String>,
    /// What `send_message` took.
    pub sent: Vec<Value>,
}

#[derive(Clone)]
pub struct Ebay {
    pub state: Arc<Mutex<EbayState>>,
    pub public_key_der: Arc<Vec<u8>>,
}

pub fn ebay_error(status: u16, id: u64, domain: &str, message: &str) -> axum::response::Response {
    let body = json!({"errors": [{"errorId": id, "domain": domain, "category": "REQUEST", "message": message,
                                 "longMessage": message, "parameters": []}]});
    let mut response = axum::response::Response::new(axum::body::Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

pub fn json_response(value: Value) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(value.to_string()));
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

pub fn scripted(script: &mut Vec<(u16, Option<&'static str>)>) -> Option<axum::response::Response> {
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
pub async fn token(State(ebay): State<Ebay>, headers: HeaderMap, body: axum::body::Bytes) -> axum::response::Response {
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

pub fn bearer(state: &EbayState, headers: &HeaderMap, kind: &str) -> bool {
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    state
        .tokens
        .get(kind)
        .is_some_and(|token| given == Some(format!("Bearer {token}").as_str()))
}

/// `GET /commerce/notification/v1/public_key/{kid}` with the application token.
pub async fn public_key(
    State(ebay): State<Ebay>,
    Path(kid): Path<String>,
    headers: HeaderMap,
) -> axum::response::Response {
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
pub fn page(items: Vec<Value>, query: &BTreeMap<String, String>, key: &str, href: &str) -> Value {
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
pub async fn conversations(
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
pub async fn conversation(
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
pub async fn send_message(
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

pub async fn start_ebay(ebay: Ebay) -> u16 {
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

/// The mount of an eBay channel under id `id` against the local server on `port`, polled
/// every second, as a list entry of a channels file.
pub fn mount(id: &str, port: u16) -> String {
    format!(
        "  - id: {id}
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

pub const SECRETS: [(&str, &str); 4] = [
    ("WEFT_SECRET_EBAY_CLIENT_ID", CLIENT_ID),
    ("WEFT_SECRET_EBAY_CLIENT_SECRET", CLIENT_SECRET),
    ("WEFT_SECRET_EBAY_REFRESH_TOKEN", REFRESH_TOKEN),
    ("WEFT_SECRET_EBAY_VERIFICATION_TOKEN", VERIFICATION_TOKEN),
];

/// The test's key pair: the private half signs, the public half is served by key id.
pub fn signing_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[0x5e; 32]).unwrap()
}

pub fn msg(id: &str, at: jiff::Timestamp, sender: &str, body: &str) -> Msg {
    Msg {
        id: id.into(),
        at,
        sender: sender.into(),
        body: body.into(),
    }
}
