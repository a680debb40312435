//! Amazon through the real `weft serve` (the binary on `127.0.0.1:0`, the real `amazon`,
//! `email` and `ebay` plugins through the real runtime, the shipped workflows; SQLite, and
//! PostgreSQL when `WEFT_TEST_POSTGRES` is set), against a local server on `127.0.0.1:0` that
//! speaks Amazon's wire formats:
//! - **SQS** (the JSON protocol: `POST /`, `X-Amz-Target: AmazonSQS.*`): every call's AWS
//!   Signature Version 4 is recomputed here from the request as received (an implementation of
//!   the test's own, not the plugin's) and a wrong one is refused; messages become invisible
//!   when received and visible again after the visibility timeout unless deleted; long polling
//!   waits; `DeleteMessageBatch` deletes by the current receipt handle; one `ReceiveMessage`
//!   fails with a 500;
//! - **Login with Amazon**: the refresh-token grant, form fields checked;
//! - **the Messaging API**: the permitted actions of an order (HAL `_links.actions`), sending
//!   one with `x-amz-access-token` (a revoked token, a 429 with `Retry-After`, a 500 and a 400
//!   in SP-API's error format).
//!
//! `amazon_through_serve`: SP-API notifications in PascalCase and camelCase, one delivered
//! twice, a malformed one and one of a type weft has no use for, through the queue; an
//! EventBridge event on the webhook (and refused without its API key); orders kept once each,
//! the malformed one a dead letter with its reason, the unknown type recorded; every message
//! deleted from the queue, those received by a poll that failed received again; Messaging
//! actions sent, refused when not permitted, failed in Amazon's words.
//!
//! `story_two`: an Amazon buyer's relayed mail (through the email channel's Maildir), the same
//! buyer's eBay message (through the eBay plugin against `common/ebay.rs`) and the SP-API
//! `ORDER_CHANGE` of the order: one customer, one ticket, linked to the order. The buyer
//! names the Amazon order number in the eBay message, as a buyer who bought on Amazon and
//! writes on eBay would; nothing else connects an eBay user to an Amazon buyer.

mod common;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use common::serve::{Serve, hmac_sha256};
use serde_json::{Value, json};
use sha2::Digest as _;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weft::store::Store;
use weft::store::outbox::OutboxState;

const ACCOUNT: &str = "123456789012";
const QUEUE: &str = "sp-api-notifications";
const REGION: &str = "eu-west-1";
const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEBQaCWV1LXdlc3QtMSJHMEUCIQ-Sitzung";
const LWA_CLIENT_ID: &str = "amzn1.application-oa2-client.5f1e2d3c4b5a69788796a5b4c3d2e1f0";
const LWA_CLIENT_SECRET: &str = "amzn1.oa2-cs.v1.9f8e7d6c5b4a39281706f5e4d3c2b1a0-geheim";
const LWA_REFRESH_TOKEN: &str = "Atzr|IwEBIJ-Verkäufer-トークン";
const EVENTBRIDGE_KEY: &str = "eb-schlüssel-鍵-0123456789";
const MARKETPLACE: &str = "A1PA6795UKMFR9";
/// How long a received message stays invisible.
const VISIBILITY: Duration = Duration::from_secs(2);

/// One message of the local queue.
#[derive(Debug, Clone)]
struct Queued {
    id: String,
    body: String,
    /// The receipt handle of its latest receive.
    handle: Option<String>,
    visible_at: Instant,
    receives: u32,
    deleted: bool,
}

#[derive(Default)]
struct AmazonState {
    queue: Vec<Queued>,
    /// Handles issued so far (each receive a new one).
    handles: u64,
    /// `ReceiveMessage` calls so far, and the one (1-based) to answer with a 500.
    receive_calls: u32,
    fail_receive_call: Option<u32>,
    /// SQS calls whose signature checked out, and the reasons of those refused.
    signed_ok: u32,
    refused: Vec<String>,
    /// LWA grants given, the access tokens issued, and those revoked.
    grants: u32,
    tokens: Vec<String>,
    revoked: Vec<String>,
    /// Revoke the token of the first Messaging call (Amazon revoked it early).
    revoke_first: bool,
    /// Messaging API calls so far.
    messaging_calls: u32,
    /// The actions each order permits now.
    actions: BTreeMap<String, Vec<String>>,
    /// Answers to give first to the POSTs of an order: (status, Retry-After).
    post_script: BTreeMap<String, Vec<(u16, Option<&'static str>)>>,
    /// Orders whose messages Amazon refuses (400).
    refuse: Vec<String>,
    /// What was sent: (order, action, body, status answered).
    posts: Vec<(String, String, Value, u16)>,
}

#[derive(Clone)]
struct Amazon {
    state: Arc<Mutex<AmazonState>>,
    port: u16,
}

fn respond(status: u16, content_type: &str, body: Value) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    response
}

/// An SQS error in the JSON protocol.
fn sqs_error(status: u16, kind: &str, message: &str) -> axum::response::Response {
    respond(
        status,
        "application/x-amz-json-1.0",
        json!({"__type": kind, "message": message}),
    )
}

/// An SP-API error.
fn sp_error(status: u16, code: &str, message: &str, details: &str) -> axum::response::Response {
    respond(
        status,
        "application/json",
        json!({"errors": [{"code": code, "message": message, "details": details}]}),
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Checks a request's AWS Signature Version 4 as AWS does: the credential's key, date, region
/// and service; the signed headers (`host`, `x-amz-date`, `x-amz-target`, `content-type` and
/// the session token at least); the time (at most 15 minutes off); and the signature,
/// recomputed from the request as it arrived.
fn check_sigv4(method: &str, path: &str, query: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| {
                v.to_str()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    let authorization = header("authorization").ok_or("no Authorization header")?;
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let mut parts: BTreeMap<&str, &str> = BTreeMap::new();
    for field in fields.split(", ") {
        let (name, value) = field.split_once('=').ok_or("a malformed Authorization field")?;
        parts.insert(name, value);
    }
    let credential: Vec<&str> = parts.get("Credential").ok_or("no Credential")?.split('/').collect();
    let [key, date, region, service, terminator] = credential.as_slice() else {
        return Err("a malformed Credential".into());
    };
    if *key != ACCESS_KEY_ID {
        return Err(format!("unknown access key {key}"));
    }
    if (*region, *service, *terminator) != (REGION, "sqs", "aws4_request") {
        return Err(format!("the scope {region}/{service}/{terminator} is not this queue's"));
    }
    let amz_date = header("x-amz-date").ok_or("no X-Amz-Date")?;
    if !amz_date.starts_with(date) {
        return Err("the credential's date is not X-Amz-Date's".into());
    }
    let at = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", &amz_date)
        .map_err(|e| format!("X-Amz-Date: {e}"))?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    if jiff::Timestamp::now().duration_since(at).abs() > jiff::SignedDuration::from_mins(15) {
        return Err("the signature is more than 15 minutes old".into());
    }
    let signed: Vec<&str> = parts
        .get("SignedHeaders")
        .ok_or("no SignedHeaders")?
        .split(';')
        .collect();
    for needed in [
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-target",
    ] {
        if !signed.contains(&needed) {
            return Err(format!("{needed} is not signed"));
        }
    }
    if header("x-amz-security-token").as_deref() != Some(SESSION_TOKEN) {
        return Err("the session token is not the one issued".into());
    }
    let mut canonical_headers = String::new();
    for name in &signed {
        let value = header(name).ok_or_else(|| format!("the signed header {name} was not sent"))?;
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort();
    let canonical = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{}\n{}",
        pairs.join("&"),
        signed.join(";"),
        sha256_hex(body)
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{REGION}/sqs/aws4_request\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let mut key = hmac_sha256(format!("AWS4{SECRET_ACCESS_KEY}").as_bytes(), date.as_bytes());
    for part in [REGION, "sqs", "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let expected = hex::encode(hmac_sha256(&key, to_sign.as_bytes()));
    if parts.get("Signature") != Some(&expected.as_str()) {
        return Err("the signature does not match".into());
    }
    Ok(())
}

/// `POST /`: SQS's JSON protocol.
async fn sqs(
    State(amazon): State<Amazon>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    if let Err(reason) = check_sigv4("POST", uri.path(), uri.query().unwrap_or(""), &headers, &body) {
        amazon.state.lock().unwrap().refused.push(reason.clone());
        return sqs_error(
            403,
            "com.amazon.coral.service#InvalidSignatureException",
            &format!("The request signature we calculated does not match the signature you provided. ({reason})"),
        );
    }
    amazon.state.lock().unwrap().signed_ok += 1;
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-amz-json-1.0") {
        return sqs_error(
            400,
            "com.amazonaws.sqs#InvalidParameterValue",
            "Content-Type must be application/x-amz-json-1.0",
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return sqs_error(
            400,
            "com.amazonaws.sqs#InvalidParameterValue",
            "The request body is not JSON",
        );
    };
    let queue_url = format!("http://127.0.0.1:{}/{ACCOUNT}/{QUEUE}", amazon.port);
    if request["QueueUrl"].as_str() != Some(queue_url.as_str()) {
        return sqs_error(
            400,
            "com.amazonaws.sqs#QueueDoesNotExist",
            "The specified queue does not exist.",
        );
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match target {
        "AmazonSQS.ReceiveMessage" => receive(&amazon, &request).await,
        "AmazonSQS.DeleteMessageBatch" => delete(&amazon, &request),
        other => sqs_error(
            400,
            "com.amazonaws.sqs#InvalidAction",
            &format!("The action {other} is not valid for this endpoint."),
        ),
    }
}

/// `ReceiveMessage`: up to `MaxNumberOfMessages` visible messages, each hidden for
/// [`VISIBILITY`] under a new receipt handle; waits up to `WaitTimeSeconds` for one.
async fn receive(amazon: &Amazon, request: &Value) -> axum::response::Response {
    let max = request["MaxNumberOfMessages"].as_u64().unwrap_or(1);
    let wait = request["WaitTimeSeconds"].as_u64().unwrap_or(0);
    if !(1..=10).contains(&max) || wait > 20 {
        return sqs_error(
            400,
            "com.amazonaws.sqs#InvalidParameterValue",
            "Value for parameter MaxNumberOfMessages or WaitTimeSeconds is invalid.",
        );
    }
    {
        let mut state = amazon.state.lock().unwrap();
        state.receive_calls += 1;
        if state.fail_receive_call == Some(state.receive_calls) {
            return sqs_error(
                500,
                "com.amazon.coral.service#InternalFailure",
                "We encountered an internal error. Please try again.",
            );
        }
    }
    let until = Instant::now() + Duration::from_secs(wait);
    loop {
        {
            let mut state = amazon.state.lock().unwrap();
            let now = Instant::now();
            let mut taken = Vec::new();
            let mut handles = state.handles;
            for message in state
                .queue
                .iter_mut()
                .filter(|m| !m.deleted && m.visible_at <= now)
                .take(max as usize)
            {
                handles += 1;
                message.handle = Some(format!("AQEB{handles:08}+{}", message.id));
                message.visible_at = now + VISIBILITY;
                message.receives += 1;
                taken.push(
                    json!({"MessageId": message.id, "ReceiptHandle": message.handle, "Body": message.body,
                                  "Attributes": {"ApproximateReceiveCount": message.receives.to_string()}}),
                );
            }
            state.handles = handles;
            if !taken.is_empty() || Instant::now() >= until {
                let answer = if taken.is_empty() {
                    json!({})
                } else {
                    json!({"Messages": taken})
                };
                return respond(200, "application/x-amz-json-1.0", answer);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `DeleteMessageBatch`: deletes the messages whose current receipt handle is given.
fn delete(amazon: &Amazon, request: &Value) -> axum::response::Response {
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() || entries.len() > 10 {
        return sqs_error(
            400,
            "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
            "Maximum number of entries per request are 10.",
        );
    }
    let mut state = amazon.state.lock().unwrap();
    let (mut successful, mut failed) = (Vec::new(), Vec::new());
    for entry in entries {
        let handle = entry["ReceiptHandle"].as_str().unwrap_or_default();
        match state.queue.iter_mut().find(|m| m.handle.as_deref() == Some(handle)) {
            Some(message) => {
                message.deleted = true;
                successful.push(json!({"Id": entry["Id"]}));
            }
            None => failed.push(json!({"Id": entry["Id"], "SenderFault": true, "Code": "ReceiptHandleIsInvalid",
                                       "Message": format!("The input receipt handle \"{handle}\" is not a valid receipt handle.")})),
        }
    }
    respond(
        200,
        "application/x-amz-json-1.0",
        json!({"Successful": successful, "Failed": failed}),
    )
}

/// `POST /auth/o2/token`: the refresh-token grant of the app's keys.
async fn lwa(State(amazon): State<Amazon>, body: axum::body::Bytes) -> axum::response::Response {
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("client_id") != Some(LWA_CLIENT_ID) || field("client_secret") != Some(LWA_CLIENT_SECRET) {
        return respond(
            401,
            "application/json",
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        );
    }
    if field("grant_type") != Some("refresh_token") || field("refresh_token") != Some(LWA_REFRESH_TOKEN) {
        return respond(
            400,
            "application/json",
            json!({"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"}),
        );
    }
    let mut state = amazon.state.lock().unwrap();
    state.grants += 1;
    let token = format!("Atza|IwEBI-{}", state.grants);
    state.tokens.push(token.clone());
    respond(
        200,
        "application/json",
        json!({"access_token": token, "refresh_token": LWA_REFRESH_TOKEN, "token_type": "bearer", "expires_in": 3600}),
    )
}

/// Amazon's refusal of a Messaging call's access token, if it refuses it.
fn unauthorized(state: &mut AmazonState, headers: &HeaderMap) -> Option<axum::response::Response> {
    let token = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    state.messaging_calls += 1;
    if state.revoke_first {
        state.revoke_first = false;
        state.revoked.push(token.clone());
    }
    if !state.tokens.contains(&token) || state.revoked.contains(&token) {
        return Some(sp_error(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The access token you provided is revoked, malformed or invalid.",
        ));
    }
    None
}

/// `GET /messaging/v1/orders/{id}?marketplaceIds=`: the actions permitted now, as HAL.
async fn actions(
    State(amazon): State<Amazon>,
    Path(order): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> axum::response::Response {
    let mut state = amazon.state.lock().unwrap();
    if let Some(response) = unauthorized(&mut state, &headers) {
        return response;
    }
    if query.get("marketplaceIds").map(String::as_str) != Some(MARKETPLACE) {
        return sp_error(400, "InvalidInput", "Invalid Input", "marketplaceIds");
    }
    let links: Vec<Value> = state
        .actions
        .get(&order)
        .into_iter()
        .flatten()
        .map(|name| json!({"href": format!("/messaging/v1/orders/{order}/messages/{name}?marketplaceIds={MARKETPLACE}"), "name": name}))
        .collect();
    respond(
        200,
        "application/hal+json",
        json!({
        "_links": {"self": {"href": format!("/messaging/v1/orders/{order}?marketplaceIds={MARKETPLACE}")}, "actions": links},
        "_embedded": {"actions": []}}),
    )
}

/// `POST /messaging/v1/orders/{id}/messages/{action}?marketplaceIds=`: sends it, if permitted.
async fn send(
    State(amazon): State<Amazon>,
    Path((order, action)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let mut state = amazon.state.lock().unwrap();
    if let Some(response) = unauthorized(&mut state, &headers) {
        return response;
    }
    if query.get("marketplaceIds").map(String::as_str) != Some(MARKETPLACE) {
        return sp_error(400, "InvalidInput", "Invalid Input", "marketplaceIds");
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let record = |state: &mut AmazonState, status: u16| {
        state
            .posts
            .push((order.clone(), action.clone(), request.clone(), status))
    };
    if let Some((status, retry_after)) = state
        .post_script
        .get_mut(&order)
        .filter(|s| !s.is_empty())
        .map(|s| s.remove(0))
    {
        record(&mut state, status);
        let mut response = match status {
            429 => sp_error(
                429,
                "QuotaExceeded",
                "You exceeded your quota for the requested resource.",
                "",
            ),
            _ => sp_error(
                status,
                "InternalFailure",
                "We encountered an internal error. Please try again.",
                "",
            ),
        };
        if let Some(after) = retry_after {
            response.headers_mut().insert("retry-after", after.parse().unwrap());
        }
        return response;
    }
    if !state.actions.get(&order).is_some_and(|a| a.contains(&action)) {
        record(&mut state, 403);
        return sp_error(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "This action is not available for the order.",
        );
    }
    if request["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
        record(&mut state, 400);
        return sp_error(400, "InvalidInput", "Invalid Input", "text is required");
    }
    if state.refuse.contains(&order) {
        record(&mut state, 400);
        return sp_error(
            400,
            "InvalidInput",
            "Die Nachricht enthält unzulässige Inhalte: externe Links sind nicht erlaubt.",
            "text",
        );
    }
    record(&mut state, 201);
    respond(201, "application/hal+json", json!({}))
}

async fn start_amazon(state: AmazonState) -> Amazon {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let amazon = Amazon {
        state: Arc::new(Mutex::new(state)),
        port,
    };
    let app = axum::Router::new()
        .route("/", axum::routing::post(sqs))
        .route("/auth/o2/token", axum::routing::post(lwa))
        .route("/messaging/v1/orders/{order}", axum::routing::get(actions))
        .route(
            "/messaging/v1/orders/{order}/messages/{action}",
            axum::routing::post(send),
        )
        .with_state(amazon.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    amazon
}

impl Amazon {
    fn push(&self, id: &str, body: String) {
        self.state.lock().unwrap().queue.push(Queued {
            id: id.into(),
            body,
            handle: None,
            visible_at: Instant::now(),
            receives: 0,
            deleted: false,
        });
    }
}

/// The Amazon mount against the local server, as a list entry of a channels file.
fn amazon_mount(port: u16) -> String {
    format!(
        "  - id: amazon-sp
    uses: amazon
    with:
      sqs:
        queue_url: \"http://127.0.0.1:{port}/{ACCOUNT}/{QUEUE}\"
        region: {REGION}
        endpoint: \"http://127.0.0.1:{port}\"
        access_key_id: aws_access_key_id
        secret_access_key: aws_secret_access_key
        session_token: aws_session_token
        wait_seconds: 1
        batches: 2
      eventbridge: {{ header: x-weft-api-key, api_key: amazon_eventbridge_key }}
      sp_api:
        endpoint: \"http://127.0.0.1:{port}\"
        lwa_url: \"http://127.0.0.1:{port}/auth/o2/token\"
        marketplace_id: {MARKETPLACE}
        client_id: lwa_client_id
        client_secret: lwa_client_secret
        refresh_token: lwa_refresh_token
    allow: {{ http: [127.0.0.1], secrets: [aws_access_key_id, aws_secret_access_key, aws_session_token, amazon_eventbridge_key, lwa_client_id, lwa_client_secret, lwa_refresh_token] }}
    poll: 1s
"
    )
}

const SECRETS: [(&str, &str); 7] = [
    ("WEFT_SECRET_AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
    ("WEFT_SECRET_AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
    ("WEFT_SECRET_AWS_SESSION_TOKEN", SESSION_TOKEN),
    ("WEFT_SECRET_AMAZON_EVENTBRIDGE_KEY", EVENTBRIDGE_KEY),
    ("WEFT_SECRET_LWA_CLIENT_ID", LWA_CLIENT_ID),
    ("WEFT_SECRET_LWA_CLIENT_SECRET", LWA_CLIENT_SECRET),
    ("WEFT_SECRET_LWA_REFRESH_TOKEN", LWA_REFRESH_TOKEN),
];

/// An `ORDER_CHANGE` notification as SP-API sends it (PascalCase keys).
fn order_change(id: &str, order: &str, status: &str, items: Value) -> Value {
    json!({"NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
        "EventTime": "2026-11-30T01:35:06.382Z",
        "Payload": {"OrderChangeNotification": {"NotificationLevel": "OrderLevel", "SellerId": "A3TH9S8BH6GOGM",
            "AmazonOrderId": order, "OrderChangeType": "OrderStatusChange",
            "OrderChangeTrigger": {"TimeOfOrderChange": "2026-11-30T01:35:05.000Z", "ChangeReason": "Order status changed"},
            "Summary": {"MarketplaceId": MARKETPLACE, "OrderStatus": status, "PurchaseDate": "2026-11-29T20:11:01.000Z",
                "DestinationPostalCode": "10115", "FulfillmentType": "MFN", "OrderType": "StandardOrder",
                "OrderPrograms": [], "ShippingPrograms": [], "OrderItems": items}}},
        "NotificationMetadata": {"ApplicationId": "amzn1.sp.solution.2b2e5e27-3f1d-4f1b-8f5e-1234567890ab",
            "SubscriptionId": "6d2b2e3a-1234-4c5d-9e8f-0a1b2c3d4e5f", "PublishTime": "2026-11-30T01:35:06.500Z",
            "NotificationId": id}})
}

/// The same notification with camelCase keys, as newer notification types write them.
fn camel(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key: String = chars
                        .next()
                        .into_iter()
                        .flat_map(char::to_lowercase)
                        .chain(chars)
                        .collect();
                    (key, camel(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(camel).collect()),
        other => other.clone(),
    }
}

fn item(sku: &str, quantity: u32) -> Value {
    json!({"OrderItemId": format!("2347076644{quantity:04}"), "SupplySourceId": null, "SellerSKU": sku, "Quantity": quantity})
}

const ORDER_A: &str = "028-1111111-1111111";
const ORDER_B: &str = "028-2222222-2222222";
const ORDER_C: &str = "028-3333333-3333333";
const FILLERS: [(&str, &str); 6] = [
    ("028-4444444-4444444", "Shipped"),
    ("028-5555555-5555555", "PartiallyShipped"),
    ("028-6666666-6666666", "Unshipped"),
    ("028-7777777-7777777", "Canceled"),
    ("028-8888888-8888888", "Pending"),
    ("028-9999999-9999999", "Unshipped"),
];

/// The order events the store holds for `number`.
async fn order_events(store: &Store, number: &str) -> Vec<weft::store::queue::QueuedEvent> {
    common::all_events(store)
        .await
        .into_iter()
        .filter(|e| e.kind.starts_with("order.") && e.payload["number"] == number)
        .collect()
}

async fn post_hook(client: &reqwest::Client, serve: &Serve, body: &Value, key: Option<&str>) -> (u16, String) {
    let mut request = client
        .post(serve.url("/hooks/amazon-sp"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(key) = key {
        request = request.header("x-weft-api-key", key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn amazon_through_serve(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut state = AmazonState {
        // The second receive (of the first poll) fails: its poll keeps nothing, and the ten
        // messages the first receive took come back after the visibility timeout.
        fail_receive_call: Some(2),
        revoke_first: true,
        ..AmazonState::default()
    };
    state.actions.insert(
        ORDER_A.into(),
        vec!["confirmDeliveryDetails".into(), "unexpectedProblem".into()],
    );
    state.actions.insert(ORDER_B.into(), vec!["unexpectedProblem".into()]);
    state
        .actions
        .insert(ORDER_C.into(), vec!["confirmDeliveryDetails".into()]);
    state
        .post_script
        .insert(ORDER_A.into(), vec![(429, Some("1")), (500, None)]);
    state.refuse.push(ORDER_C.into());
    let amazon = start_amazon(state).await;

    // The queue: A (PascalCase), B (camelCase), C, A again (SP-API delivered it twice), a
    // malformed one, a type weft has no use for, and six more orders.
    let a = order_change(
        "nid-a",
        ORDER_A,
        "Unshipped",
        json!([item("WANDERSCHUH-42", 1), item("SOCKEN-3", 15)]),
    );
    amazon.push("sqs-1", a.to_string());
    amazon.push(
        "sqs-2",
        camel(&order_change("nid-b", ORDER_B, "Pending", json!([item("靴下-3足", 2)]))).to_string(),
    );
    amazon.push(
        "sqs-3",
        order_change("nid-c", ORDER_C, "Shipped", json!([item("حقيبة-ظهر", 1)])).to_string(),
    );
    amazon.push("sqs-4", a.to_string());
    amazon.push(
        "sqs-5",
        order_change("nid-bad", "bitte-keine-Nummer", "Unshipped", json!([])).to_string(),
    );
    amazon.push("sqs-6", json!({"notificationVersion": "1.0", "notificationType": "FBA_INVENTORY_AVAILABILITY_CHANGES",
        "payloadVersion": "1.0", "eventTime": "2026-11-30T02:00:00.000Z",
        "payload": {"sellerId": "A3TH9S8BH6GOGM", "fnSku": "X0ÜBER-1", "asin": "B07XJ8C8F5", "marketplaceId": MARKETPLACE},
        "notificationMetadata": {"applicationId": "amzn1.sp.solution.2b2e5e27", "subscriptionId": "s-1",
            "publishTime": "2026-11-30T02:00:01.000Z", "notificationId": "nid-fba"}}).to_string());
    for (i, (number, status)) in FILLERS.iter().enumerate() {
        amazon.push(
            &format!("sqs-{}", 7 + i),
            order_change(&format!("nid-f{i}"), number, status, json!([item("ZUBEHÖR", 1)])).to_string(),
        );
    }

    let notify = dir.path().join("notify.yaml");
    std::fs::write(
        &notify,
        "version: 1\nname: notify\non: [order.placed, order.updated]\nsteps:\n  - id: notify\n    uses: weft-test-faulty\n    with: { fault: notify, channel: amazon-sp, subject: confirmDeliveryDetails }\n",
    )
    .unwrap();
    let channels = format!("version: 1\nchannels:\n{}", amazon_mount(amazon.port));
    let serve = Serve::start_with_workflows(dir.path(), db, &channels, &SECRETS, std::slice::from_ref(&notify));
    let store = Store::open(db).await.unwrap();
    let client = reqwest::Client::new();

    // Every order is kept once; A, delivered twice and received twice, once.
    let mut orders = vec![ORDER_A, ORDER_B, ORDER_C];
    orders.extend(FILLERS.iter().map(|(n, _)| *n));
    for number in &orders {
        serve
            .eventually(&format!("order {number} kept"), async || {
                (!order_events(&store, number).await.is_empty()).then_some(())
            })
            .await;
    }
    let kept = store.ticket_orders(ORDER_A).await.unwrap();
    let order_a = &kept[0].order.order;
    assert_eq!(order_a.channel, "amazon");
    assert_eq!(order_a.status, Some(weft_sdk::OrderStatus::Paid));
    assert_eq!(order_a.placed_at, "2026-11-29T20:11:01Z");
    let lines: Vec<(Option<&str>, u32)> = order_a.lines.iter().map(|l| (l.sku.as_deref(), l.quantity)).collect();
    assert_eq!(lines, [(Some("WANDERSCHUH-42"), 1), (Some("SOCKEN-3"), 15)]);
    let b = store.ticket_orders(ORDER_B).await.unwrap();
    assert_eq!(
        b[0].order.order.lines[0].sku.as_deref(),
        Some("靴下-3足"),
        "camelCase read"
    );
    assert_eq!(b[0].order.last_change, "placed");

    // The unknown type is recorded; the malformed one is a dead letter naming what is wrong.
    let fba = serve
        .eventually("the FBA notification recorded", async || {
            common::all_events(&store)
                .await
                .into_iter()
                .find(|e| e.kind == "amazon.fba_inventory_availability_changes")
        })
        .await;
    assert_eq!(fba.payload["payload"]["fnSku"], "X0ÜBER-1");
    let letter = serve
        .eventually("the malformed notification dead-lettered", async || {
            store
                .dead_letters(true)
                .await
                .unwrap()
                .into_iter()
                .find(|l| l.error.contains("bitte-keine-Nummer"))
        })
        .await;
    assert_eq!(letter.plugin.as_deref(), Some("amazon"));
    assert!(
        letter.error.contains("amazon notification: ORDER_CHANGE nid-bad: `AmazonOrderId` \"bitte-keine-Nummer\" is not an Amazon order number")
            && letter.error.contains("sqs message sqs-5"),
        "{}",
        letter.error
    );

    // Everything kept is deleted from the queue; what the failed poll took came back.
    serve
        .eventually("the queue drained", async || {
            amazon
                .state
                .lock()
                .unwrap()
                .queue
                .iter()
                .all(|m| m.deleted)
                .then_some(())
        })
        .await;
    for number in &orders {
        let events = order_events(&store, number).await;
        assert_eq!(events.len(), 1, "order {number}: {events:#?}");
    }
    {
        let state = amazon.state.lock().unwrap();
        let received_twice = state.queue.iter().filter(|m| m.receives >= 2).count();
        assert!(
            received_twice >= 10,
            "the first receive's ten came back: {:?}",
            state.queue
        );
        assert!(
            state.refused.is_empty(),
            "every SQS call was signed right: {:?}",
            state.refused
        );
        assert!(state.signed_ok >= 4, "{}", state.signed_ok);
    }
    let dead = store.dead_letters(true).await.unwrap();
    assert_eq!(
        dead.iter().filter(|l| l.error.contains("bitte-keine-Nummer")).count(),
        1,
        "{dead:#?}"
    );
    assert!(serve.log().contains("InternalFailure"), "the failed receive is logged");

    // A wrong signature is refused by the local SQS (it checks for real).
    let forged = client
        .post(format!("http://127.0.0.1:{}/", amazon.port))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "AmazonSQS.ReceiveMessage")
        .header("x-amz-date", jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string())
        .header("x-amz-security-token", SESSION_TOKEN)
        .header("authorization", format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/{}/{REGION}/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature={}", jiff::Timestamp::now().strftime("%Y%m%d"), "0".repeat(64)))
        .body(json!({"QueueUrl": format!("http://127.0.0.1:{}/{ACCOUNT}/{QUEUE}", amazon.port)}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert!(forged.text().await.unwrap().contains("InvalidSignatureException"));

    // EventBridge on the webhook: with its API key, kept; without or with another, refused.
    let listing = json!({"version": "0", "id": "0b8a9c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "detail-type": "LISTINGS_ITEM_STATUS_CHANGE",
        "source": "aws.partner/sellingpartnerapi.amazon.com/amzn1.sellerapps.app.2b2e5e27", "account": ACCOUNT,
        "time": "2026-11-30T03:00:00Z", "region": REGION, "resources": [],
        "detail": {"notificationVersion": "1.0", "notificationType": "LISTINGS_ITEM_STATUS_CHANGE", "payloadVersion": "1.0",
            "eventTime": "2026-11-30T03:00:00.000Z",
            "payload": {"sellerId": "A3TH9S8BH6GOGM", "marketplaceId": MARKETPLACE, "asin": "B07XJ8C8F5", "sku": "WANDERSCHUH-42",
                "createdDate": "2026-11-01T00:00:00Z", "status": ["BUYABLE"]},
            "notificationMetadata": {"applicationId": "amzn1.sp.solution.2b2e5e27", "subscriptionId": "s-2",
                "publishTime": "2026-11-30T03:00:01.000Z", "notificationId": "nid-listing"}}});
    for (key, expected) in [(None, 401), (Some("falsch"), 401), (Some(EVENTBRIDGE_KEY), 202)] {
        let (status, text) = post_hook(&client, &serve, &listing, key).await;
        assert_eq!(status, expected, "{key:?}: {text}");
        if expected == 401 {
            assert!(text.contains("amazon webhook"), "{text}");
        }
    }
    let bad_event = json!({"version": "0", "detail-type": "ORDER_CHANGE", "source": "aws.partner/sellingpartnerapi.amazon.com/x", "detail": "kein Objekt"});
    let (status, text) = post_hook(&client, &serve, &bad_event, Some(EVENTBRIDGE_KEY)).await;
    assert_eq!(status, 202, "kept first: {text}");
    let listed = serve
        .eventually("the EventBridge notification recorded", async || {
            common::all_events(&store)
                .await
                .into_iter()
                .find(|e| e.kind == "amazon.listings_item_status_change")
        })
        .await;
    assert_eq!(listed.payload["payload"]["status"], json!(["BUYABLE"]));
    serve
        .eventually("the malformed EventBridge event dead-lettered", async || {
            store
                .dead_letters(true)
                .await
                .unwrap()
                .into_iter()
                .find(|l| l.error.contains("`detail` is not an object"))
        })
        .await;

    // Messaging: A's action goes out after a revoked token, a 429 and a 500; B's is not
    // permitted; C's is refused by Amazon in its own words.
    let a_row = serve
        .settled(
            &store,
            &format!("notify:{ORDER_A}:confirmDeliveryDetails"),
            "A's message delivered",
            |row| row.state == OutboxState::Delivered,
        )
        .await;
    assert_eq!(
        a_row.external_id.as_deref(),
        Some(&*format!("{ORDER_A}/confirmDeliveryDetails"))
    );
    let b_row = serve
        .settled(
            &store,
            &format!("notify:{ORDER_B}:confirmDeliveryDetails"),
            "B's message refused",
            |row| row.state == OutboxState::Failed,
        )
        .await;
    assert_eq!(
        b_row.error.as_deref().unwrap_or_default(),
        format!(
            "amazon messaging: `confirmDeliveryDetails` is not permitted for order {ORDER_B} now; Amazon permits: unexpectedProblem"
        )
    );
    let c_row = serve
        .settled(
            &store,
            &format!("notify:{ORDER_C}:confirmDeliveryDetails"),
            "C's message failed",
            |row| row.state == OutboxState::Failed,
        )
        .await;
    let error = c_row.error.clone().unwrap_or_default();
    assert!(
        error.contains(&format!("amazon: sending confirmDeliveryDetails for order {ORDER_C}: HTTP 400: InvalidInput: Die Nachricht enthält unzulässige Inhalte"))
            && !error.contains("weft outbox retry"),
        "{error}"
    );
    {
        let state = amazon.state.lock().unwrap();
        let a_posts: Vec<u16> = state.posts.iter().filter(|p| p.0 == ORDER_A).map(|p| p.3).collect();
        assert_eq!(a_posts, [429, 500, 201], "{:?}", state.posts);
        let sent = state.posts.iter().find(|p| p.0 == ORDER_A && p.3 == 201).unwrap();
        assert_eq!(
            (sent.1.as_str(), &sent.2),
            (
                "confirmDeliveryDetails",
                &json!({"text": "Ihre Bestellung kommt am Dienstag — 火曜日にお届けします"})
            )
        );
        assert!(
            !state.posts.iter().any(|p| p.0 == ORDER_B),
            "B was refused before anything was sent"
        );
        // Deliveries run side by side, so two may ask for a token before the first is cached.
        assert!(
            state.grants >= 2 && state.grants < state.messaging_calls / 2,
            "a new token after Amazon revoked one, and tokens reused: {} grants for {} calls",
            state.grants,
            state.messaging_calls
        );
    }
    serve.stop();

    // A notification while weft is down is read after the restart; nothing is repeated.
    let late = "028-1212121-1212121";
    amazon.push(
        "sqs-13",
        order_change("nid-late", late, "Unshipped", json!([item("ZUBEHÖR", 2)])).to_string(),
    );
    let serve = Serve::start_with_workflows(dir.path(), db, &channels, &SECRETS, std::slice::from_ref(&notify));
    serve
        .eventually("the late order kept", async || {
            (!order_events(&store, late).await.is_empty()).then_some(())
        })
        .await;
    serve
        .eventually("the queue drained again", async || {
            amazon
                .state
                .lock()
                .unwrap()
                .queue
                .iter()
                .all(|m| m.deleted)
                .then_some(())
        })
        .await;
    for number in &orders {
        assert_eq!(
            order_events(&store, number).await.len(),
            1,
            "order {number} after the restart"
        );
    }
    serve.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn amazon_through_serve_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    amazon_through_serve(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn amazon_through_serve_on_postgres() {
    if let Some(db) = common::postgres_database("amazon_through_serve").await {
        amazon_through_serve(&db).await;
    }
}

/// A mail delivered into the Maildir as a mail server does: written to `tmp/`, renamed into
/// `new/`.
fn deliver_mail(maildir: &std::path::Path, name: &str, mail: &str) {
    let tmp = maildir.join("tmp").join(name);
    std::fs::write(&tmp, mail).unwrap();
    std::fs::rename(&tmp, maildir.join("new").join(name)).unwrap();
}

const STORY_ORDER: &str = "302-1234567-7654321";

async fn story_two(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let amazon = start_amazon(AmazonState::default()).await;
    let ebay = common::ebay::Ebay {
        state: Arc::new(Mutex::new(common::ebay::EbayState::default())),
        public_key_der: Arc::new(Vec::new()),
    };
    let ebay_port = common::ebay::start_ebay(ebay.clone()).await;
    let channels = format!(
        "version: 1\nchannels:\n  - id: support\n    uses: email\n    with: {{ from: \"Laden Support <support@laden.example>\", own_addresses: [\"@laden.example\"], relay_senders: {{ amazon: amazon@laden.example }}, message_id_domain: laden.example }}\n    maildir: [{}]\n{}{}",
        maildir.display(),
        common::ebay::mount("ebay", ebay_port),
        amazon_mount(amazon.port),
    );
    let mut secrets: Vec<(&str, &str)> = SECRETS.to_vec();
    secrets.extend(common::ebay::SECRETS);
    let serve = Serve::start(dir.path(), db, &channels, &secrets);
    let store = Store::open(db).await.unwrap();

    // 1. The buyer writes through Amazon: a relayed mail from her alias, the order in the
    //    subject as Amazon writes it.
    let date = jiff::fmt::rfc2822::to_string(&jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC)).unwrap();
    deliver_mail(
        &maildir,
        "1765100000.story-amazon-1.mx",
        &format!(
            "From: =?UTF-8?Q?Anna_M=C3=BCller?= <6bmcx2l1t7cwrwb@marketplace.amazon.de>\r\nTo: support@laden.example\r\n\
             Subject: =?UTF-8?Q?Anfrage_von_Amazon-Kundin_Anna_M=C3=BCller_(Bestellung:_302-1234567-7654321)?=\r\nDate: {date}\r\n\
             Message-ID: <story-amazon-1@marketplace.amazon.de>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
             Guten Tag, meine Wanderschuhe sind noch nicht angekommen. Wann werden sie geliefert?\r\nAnna\r\n"
        ),
    );
    let ticket = serve.ticket_of(&store, "story-amazon-1@marketplace.amazon.de").await;

    // 2. The same buyer writes on eBay, naming her Amazon order.
    ebay.state.lock().unwrap().conversations.push(common::ebay::Conv {
        id: "c-anna".into(),
        title: "Wanderschuhe „Alpen“ 42".into(),
        buyer: "anna_mueller_de".into(),
        listing: "110553072411".into(),
        messages: vec![common::ebay::msg(
            "m-anna-1",
            jiff::Timestamp::now() - jiff::SignedDuration::from_mins(5),
            "anna_mueller_de",
            "Hallo, ich habe die Schuhe bei Ihnen auf Amazon gekauft (Bestellung 302-1234567-7654321) und warte noch. Können Sie nachsehen?",
        )],
    });
    assert_eq!(
        serve.ticket_of(&store, "m-anna-1").await,
        ticket,
        "the eBay message joins the ticket"
    );

    // 3. SP-API reports the order.
    amazon.push(
        "sqs-story-1",
        order_change(
            "nid-story",
            STORY_ORDER,
            "Unshipped",
            json!([item("WANDERSCHUH-42", 1)]),
        )
        .to_string(),
    );
    let shown = serve
        .eventually("the ticket linked to the order and its buyer", async || {
            let tickets = store.export_tickets().await.unwrap();
            tickets.into_iter().find(|t| {
                t["ticket"] == ticket
                    && t["orders"][0]["status"] == "paid"
                    && t["orders"][0]["customer"] == t["customer"]
            })
        })
        .await;
    assert_eq!(shown["orders"][0]["channel"], "amazon");
    assert_eq!(shown["orders"][0]["written"], STORY_ORDER);
    let mut messages: Vec<&str> = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    messages.sort();
    assert_eq!(messages, ["m-anna-1", "story-amazon-1@marketplace.amazon.de"]);
    let tickets = store.export_tickets().await.unwrap();
    assert_eq!(tickets.len(), 1, "one ticket: {tickets:#?}");
    let customers: Vec<Value> = store
        .export_customers()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c["merged_into"].is_null())
        .collect();
    assert_eq!(customers.len(), 1, "one customer: {customers:#?}");
    let identities: Vec<(&str, &str)> = customers[0]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["value"].as_str().unwrap()))
        .collect();
    for expected in [
        ("buyer-id", "amazon:6bmcx2l1t7cwrwb"),
        ("buyer-id", "ebay:anna_mueller_de"),
        ("order", "30212345677654321"),
    ] {
        assert!(identities.contains(&expected), "{expected:?} in {identities:?}");
    }
    serve.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn story_two_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    story_two(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn story_two_on_postgres() {
    if let Some(db) = common::postgres_database("story_two").await {
        story_two(&db).await;
    }
}
