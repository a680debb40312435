//! The vendors that `weft serve` polls in the demo's second story, standing in on
//! `127.0.0.1:0` inside the demo's own process: the seller's Amazon SQS queue of SP-API
//! notifications (the SQS JSON protocol's `ReceiveMessage` and `DeleteMessageBatch`) and eBay's
//! OAuth token endpoint with its Commerce Message API (the conversations, their messages).
//!
//! The child `weft serve` reaches them over HTTP exactly as it reaches AWS and eBay; the demo
//! only chooses the base URLs in the mounts it writes. They hold what the story puts in them and
//! refuse what a broken client would send (an unsigned SQS call, a wrong keyset, a missing
//! bearer token, a read without its conversation type); the connectors' own tests
//! (`engine/tests/amazon.rs`, `engine/tests/common/ebay.rs`) check signatures, paging, rate
//! limits and errors in full.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The AWS account and queue the demo's SP-API destination delivers to.
pub const ACCOUNT: &str = "123456789012";
pub const QUEUE: &str = "sp-api-notifications";
pub const REGION: &str = "eu-south-1";

/// The credentials the demo grants the mounts (as `WEFT_SECRET_*`); the stand-ins check them.
pub const AWS_ACCESS_KEY_ID: &str = "AKIADEMO0000000WEFT1";
pub const AWS_SECRET_ACCESS_KEY: &str = "demo/secret/access/key/of/the/sellers/queue";
pub const EBAY_CLIENT_ID: &str = "Negozio-weft-PRD-demo";
pub const EBAY_CLIENT_SECRET: &str = "PRD-demo-client-secret";
pub const EBAY_REFRESH_TOKEN: &str = "v^1.1#i^1#demo-refresh-token";
pub const EBAY_VERIFICATION_TOKEN: &str = "weft_demo_verification_token_0123456789";
/// The seller's eBay user.
pub const EBAY_SELLER: &str = "negozio-demo";

/// An SQS message: its body, and the receipt handle of its latest receive.
struct Queued {
    id: String,
    body: String,
    handle: Option<String>,
    deleted: bool,
}

/// An eBay conversation with a buyer about a listing.
pub struct Conversation {
    pub id: String,
    pub title: String,
    pub buyer: String,
    pub listing: String,
    /// (message id, when, body), all from the buyer.
    pub messages: Vec<(String, jiff::Timestamp, String)>,
}

#[derive(Default)]
struct Held {
    queue: Vec<Queued>,
    receipts: u64,
    conversations: Vec<Conversation>,
    /// The user access token issued last.
    token: Option<String>,
}

/// The running stand-ins; they stop when this is dropped.
pub struct Vendors {
    held: Arc<Mutex<Held>>,
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Vendors {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Vendors {
    pub async fn start() -> anyhow::Result<Vendors> {
        let held = Arc::new(Mutex::new(Held::default()));
        let app = axum::Router::new()
            .route("/", axum::routing::post(sqs))
            .route("/identity/v1/oauth2/token", axum::routing::post(ebay_token))
            .route("/commerce/message/v1/conversation", axum::routing::get(conversations))
            .route(
                "/commerce/message/v1/conversation/{id}",
                axum::routing::get(conversation),
            )
            .with_state(held.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            // The demo ends with the process; an error here shows as a story that does not
            // complete, with weft serve's log.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Vendors { held, base, task })
    }

    pub fn queue_url(&self) -> String {
        format!("{}/{ACCOUNT}/{QUEUE}", self.base)
    }

    /// Amazon delivers a notification to the seller's queue.
    pub fn notify(&self, id: &str, notification: &Value) {
        self.held.lock().expect("vendors' state").queue.push(Queued {
            id: id.into(),
            body: notification.to_string(),
            handle: None,
            deleted: false,
        });
    }

    /// A buyer writes to the seller on eBay.
    pub fn converse(&self, conversation: Conversation) {
        self.held
            .lock()
            .expect("vendors' state")
            .conversations
            .push(conversation);
    }

    /// Whether the queue is empty: every notification received and deleted.
    pub fn queue_drained(&self) -> bool {
        self.held
            .lock()
            .expect("vendors' state")
            .queue
            .iter()
            .all(|m| m.deleted)
    }
}

fn answer(status: StatusCode, content_type: &'static str, body: Value) -> Response {
    (status, [("content-type", content_type)], body.to_string()).into_response()
}

const SQS_JSON: &str = "application/x-amz-json-1.0";

fn sqs_error(status: StatusCode, kind: &str, message: &str) -> Response {
    answer(status, SQS_JSON, json!({"__type": kind, "message": message}))
}

/// SQS's JSON protocol: the action in `X-Amz-Target`, every call signed (Signature Version 4,
/// whose `Authorization` names the access key; the connector's tests verify the signature).
async fn sqs(State(held): State<Arc<Mutex<Held>>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let credential = format!("AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY_ID}/");
    if !header("authorization").starts_with(&credential) {
        return sqs_error(
            StatusCode::FORBIDDEN,
            "com.amazon.coral.service#MissingAuthenticationTokenException",
            "Request is missing Authentication Token",
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return sqs_error(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.sqs#InvalidParameterValue",
            "The request body is not JSON",
        );
    };
    if !request["QueueUrl"]
        .as_str()
        .is_some_and(|url| url.ends_with(&format!("/{ACCOUNT}/{QUEUE}")))
    {
        return sqs_error(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.sqs#QueueDoesNotExist",
            "The specified queue does not exist.",
        );
    }
    let mut held = held.lock().expect("vendors' state");
    match header("x-amz-target") {
        "AmazonSQS.ReceiveMessage" => {
            let max = request["MaxNumberOfMessages"].as_u64().unwrap_or(1) as usize;
            let mut receipts = held.receipts;
            let mut messages = Vec::new();
            // A message received but not deleted is received again: the demo's visibility
            // timeout is zero, which SQS allows.
            for queued in held.queue.iter_mut().filter(|m| !m.deleted).take(max) {
                receipts += 1;
                let handle = format!("AQEBdemo{receipts:06}+{}", queued.id);
                messages.push(json!({"MessageId": queued.id, "ReceiptHandle": handle, "Body": queued.body}));
                queued.handle = Some(handle);
            }
            held.receipts = receipts;
            let body = if messages.is_empty() {
                json!({})
            } else {
                json!({ "Messages": messages })
            };
            answer(StatusCode::OK, SQS_JSON, body)
        }
        "AmazonSQS.DeleteMessageBatch" => {
            let (mut successful, mut failed) = (Vec::new(), Vec::new());
            for entry in request["Entries"].as_array().into_iter().flatten() {
                let handle = entry["ReceiptHandle"].as_str();
                match held.queue.iter_mut().find(|m| m.handle.as_deref() == handle) {
                    Some(queued) => {
                        queued.deleted = true;
                        successful.push(json!({"Id": entry["Id"]}));
                    }
                    None => failed.push(
                        json!({"Id": entry["Id"], "SenderFault": true, "Code": "ReceiptHandleIsInvalid",
                        "Message": "The input receipt handle is not a valid receipt handle."}),
                    ),
                }
            }
            answer(
                StatusCode::OK,
                SQS_JSON,
                json!({"Successful": successful, "Failed": failed}),
            )
        }
        other => sqs_error(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.sqs#InvalidAction",
            &format!("The action {other} is not valid for this endpoint."),
        ),
    }
}

fn ebay_error(status: StatusCode, id: u64, domain: &str, message: &str) -> Response {
    answer(
        status,
        "application/json",
        json!({"errors": [{"errorId": id, "domain": domain, "category": "REQUEST", "message": message}]}),
    )
}

/// eBay's token endpoint: the keyset in Basic auth, then a client-credentials or refresh-token
/// grant.
async fn ebay_token(State(held): State<Arc<Mutex<Held>>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let keyset = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{EBAY_CLIENT_ID}:{EBAY_CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(keyset.as_str()) {
        return answer(
            StatusCode::UNAUTHORIZED,
            "application/json",
            json!({"error": "invalid_client", "error_description": "client authentication failed"}),
        );
    }
    let grant = form.get("grant_type").map(String::as_str);
    let refresh_ok = form.get("refresh_token").map(String::as_str) == Some(EBAY_REFRESH_TOKEN);
    let (kind, token_type) = match grant {
        Some("client_credentials") => ("app", "Application Access Token"),
        Some("refresh_token") if refresh_ok => ("user", "User Access Token"),
        _ => {
            return answer(
                StatusCode::BAD_REQUEST,
                "application/json",
                json!({"error": "invalid_grant", "error_description": "the provided authorization grant is invalid"}),
            );
        }
    };
    let token = format!("v^1.1#demo-{kind}-token");
    if kind == "user" {
        held.lock().expect("vendors' state").token = Some(token.clone());
    }
    answer(
        StatusCode::OK,
        "application/json",
        json!({"access_token": token, "expires_in": 7200, "token_type": token_type}),
    )
}

/// Whether the call carries the user token and names its conversation type, as the Message
/// API requires; the error to answer otherwise.
fn message_api_refusal(held: &Held, headers: &HeaderMap, query: &BTreeMap<String, String>) -> Option<Response> {
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    let expected = held.token.as_ref().map(|t| format!("Bearer {t}"));
    if expected.is_none() || given != expected.as_deref() {
        return Some(ebay_error(
            StatusCode::UNAUTHORIZED,
            1001,
            "OAuth",
            "Invalid access token",
        ));
    }
    if query.get("conversation_type").map(String::as_str) != Some("FROM_MEMBERS") {
        return Some(ebay_error(
            StatusCode::BAD_REQUEST,
            355001,
            "API_MESSAGE",
            "The conversation_type query parameter is required",
        ));
    }
    None
}

fn message_json(id: &str, at: jiff::Timestamp, sender: &str, body: &str) -> Value {
    json!({"messageId": id, "createdDate": at.to_string(), "senderUsername": sender,
           "recipientUsername": EBAY_SELLER, "messageBody": body, "readStatus": false})
}

/// `GET /commerce/message/v1/conversation`: the conversations with a message since
/// `start_time`, in one page.
async fn conversations(
    State(held): State<Arc<Mutex<Held>>>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let held = held.lock().expect("vendors' state");
    if let Some(refusal) = message_api_refusal(&held, &headers, &query) {
        return refusal;
    }
    let since = query.get("start_time").and_then(|s| s.parse::<jiff::Timestamp>().ok());
    let listed: Vec<Value> = held
        .conversations
        .iter()
        .filter(|c| since.is_none_or(|since| c.messages.iter().any(|(_, at, _)| *at >= since)))
        .filter_map(|c| {
            let (id, at, body) = c.messages.last()?;
            Some(
                json!({"conversationId": c.id, "conversationStatus": "ACTIVE", "conversationTitle": c.title,
                "conversationType": "FROM_MEMBERS", "createdDate": c.messages[0].1.to_string(),
                "referenceId": c.listing, "referenceType": "LISTING", "unreadCount": c.messages.len(),
                "latestMessage": message_json(id, *at, &c.buyer, body)}),
            )
        })
        .collect();
    let total = listed.len();
    answer(
        StatusCode::OK,
        "application/json",
        json!({"conversations": listed, "href": "/commerce/message/v1/conversation", "limit": total.max(1),
               "offset": 0, "total": total}),
    )
}

/// `GET /commerce/message/v1/conversation/{id}`: its messages, in one page.
async fn conversation(
    State(held): State<Arc<Mutex<Held>>>,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let held = held.lock().expect("vendors' state");
    if let Some(refusal) = message_api_refusal(&held, &headers, &query) {
        return refusal;
    }
    let Some(found) = held.conversations.iter().find(|c| c.id == id) else {
        return ebay_error(
            StatusCode::NOT_FOUND,
            355002,
            "API_MESSAGE",
            "The conversation was not found",
        );
    };
    let messages: Vec<Value> = found
        .messages
        .iter()
        .map(|(message, at, body)| message_json(message, *at, &found.buyer, body))
        .collect();
    let total = messages.len();
    answer(
        StatusCode::OK,
        "application/json",
        json!({"conversationId": id, "conversationType": "FROM_MEMBERS", "messages": messages,
               "href": format!("/commerce/message/v1/conversation/{id}"), "limit": total.max(1), "offset": 0, "total": total}),
    )
}
