//! SMS through Twilio, end to end: the real `weft serve` on `127.0.0.1:0` with the real
//! twilio plugin, webhooks signed the way Twilio signs them (its published vector, and a token
//! of the test's own), agents' replies through the API, and a local server on `127.0.0.1:0`
//! that speaks Twilio's Messages API (HTTP Basic checked, form bodies, JSON answers and errors,
//! 429 with `Retry-After`). SQLite, and PostgreSQL when `WEFT_TEST_POSTGRES` is set.
//!
//! Buyers write in German, Japanese and Arabic (UCS-2 SMS); forged, tampered, misaddressed and
//! malformed requests are refused or dead-lettered with their reason; a reply waits out a 429;
//! a status callback marks a delivered reply failed on its ticket; a buyer's STOP (and
//! Twilio's 21610) stops further replies before they are sent, and START lifts it.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse as _;
use common::serve::{Serve, weft};
use serde_json::{Value, json};
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use weft::store::Store;
use weft_plugin_twilio::signature;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "weft-sms-test-token-çé-7f3a";
/// The URL Twilio calls, in front of the proxy.
const PUBLIC_URL: &str = "https://support.example.com/hooks/sms-us";
const SELLER: &str = "+14155550100";

/// What the Messages API stand-in got and answered.
#[derive(Debug, Clone)]
struct Sent {
    to: String,
    from: Option<String>,
    body: String,
    status_callback: Option<String>,
    status: u16,
}

#[derive(Default)]
struct TwilioState {
    /// Answers to give first: (status, Retry-After, error code, message).
    script: VecDeque<(u16, Option<&'static str>, u32, &'static str)>,
    /// Numbers Twilio knows opted out of the sender: 21610.
    unsubscribed: BTreeSet<String>,
    sent: Vec<Sent>,
}

type Twilio = Arc<Mutex<TwilioState>>;

fn twilio_error(status: u16, code: u32, message: &str) -> axum::response::Response {
    let body = json!({
        "code": code, "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status,
    });
    let mut response = axum::response::Response::new(axum::body::Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

/// `POST /2010-04-01/Accounts/{sid}/Messages.json`, as Twilio answers it.
async fn messages(
    State(twilio): State<Twilio>,
    axum::extract::Path(account): axum::extract::Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"))
    );
    if account != ACCOUNT || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return twilio_error(401, 20003, "Authenticate");
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-www-form-urlencoded") {
        return twilio_error(400, 21609, "Invalid Content-Type");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(to), Some(text)) = (field("To"), field("Body")) else {
        return twilio_error(400, 21604, "A 'To' phone number and a 'Body' are required.");
    };
    let mut state = twilio.lock().unwrap();
    let (status, retry_after, code, message) = match state.script.pop_front() {
        Some(answer) => answer,
        None if state.unsubscribed.contains(&to) => (400, None, 21610, "Attempt to send to unsubscribed recipient"),
        None => (201, None, 0, ""),
    };
    state.sent.push(Sent {
        to: to.clone(),
        from: field("From"),
        body: text.clone(),
        status_callback: field("StatusCallback"),
        status,
    });
    if status != 201 {
        let mut response = twilio_error(status, code, message);
        if let Some(after) = retry_after {
            response.headers_mut().insert("retry-after", after.parse().unwrap());
        }
        return response;
    }
    let sid = format!("SM{:032}", state.sent.len());
    let created = json!({
        "sid": sid, "account_sid": ACCOUNT, "to": to, "from": field("From"), "body": text,
        "status": "queued", "num_segments": "1", "api_version": "2010-04-01",
    });
    (StatusCode::CREATED, axum::Json(created)).into_response()
}

async fn twilio() -> (Twilio, u16) {
    let state = Twilio::default();
    let app = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            axum::routing::post(messages),
        )
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (state, port)
}

fn channels(port: u16) -> String {
    format!(
        "version: 1
channels:
  # Behind a proxy: Twilio calls the public URL, which is what it signs.
  - id: sms-us
    uses: twilio
    with:
      public_url: {PUBLIC_URL}
      api_base: http://127.0.0.1:{port}
    allow: {{ http: [127.0.0.1], secrets: [twilio_account_sid, twilio_auth_token] }}
  # Twilio's published example: token 12345, signed over this URL.
  - id: vector
    uses: twilio
    with:
      public_url: https://mycompany.com/myapp.php?foo=1&bar=2
      auth_token_secret: vector_token
    allow: {{ secrets: [vector_token] }}
"
    )
}

fn encode(params: &[(&str, &str)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    form.finish()
}

fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Posts a form to `/hooks/{hook}` with this signature (none: no header); the status and the
/// body as JSON.
async fn post(
    client: &reqwest::Client,
    serve: &Serve,
    hook: &str,
    body: String,
    signature: Option<String>,
) -> (u16, Value) {
    let mut request = client
        .post(serve.url(&format!("/hooks/{hook}")))
        .header("content-type", "application/x-www-form-urlencoded; charset=UTF-8")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("X-Twilio-Signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// An incoming SMS, as Twilio posts it.
fn sms<'a>(sid: &'a str, from: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", SELLER),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ]
}

/// Posts `params` to the `sms-us` hook signed as Twilio signs them; must be accepted.
async fn twilio_posts(client: &reqwest::Client, serve: &Serve, params: &[(&str, &str)]) {
    let signature = signature::sign(TOKEN, PUBLIC_URL, &owned(params));
    let (status, body) = post(client, serve, "sms-us", encode(params), Some(signature)).await;
    assert_eq!(status, 202, "{body}");
}

/// An agent's reply to ticket `number` through the API; returns its outbox key.
async fn reply(client: &reqwest::Client, serve: &Serve, agent: &str, number: i64, body: &str) -> String {
    let reply = serve.reply(client, agent, number, body).await;
    assert_eq!(reply["channel"], "sms", "{reply}");
    reply["key"].as_str().unwrap().to_owned()
}

fn sent(twilio: &Twilio) -> Vec<Sent> {
    twilio.lock().unwrap().sent.clone()
}

async fn sms_end_to_end(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (twilio, port) = twilio().await;
    let serve = Serve::start(
        dir.path(),
        db,
        &channels(port),
        &[
            ("WEFT_SECRET_TWILIO_ACCOUNT_SID", ACCOUNT),
            ("WEFT_SECRET_TWILIO_AUTH_TOKEN", TOKEN),
            ("WEFT_SECRET_VECTOR_TOKEN", "12345"),
        ],
    );
    let client = reqwest::Client::new();
    let store = Store::open(db).await.unwrap();
    let (ok, out, err) = weft(&["token", "create", "--name", "anna", "--role", "agent", "--db", db]);
    assert!(ok, "{err}");
    let agent = out.lines().last().unwrap().to_owned();

    // Buyers write, each in their script; Twilio signs over the public URL.
    let buyers = [
        (
            "SMde000000000000000000000000000001",
            "+4915112345678",
            "Wo bleibt meine Bestellung? Grüße, Jürgen",
        ),
        (
            "SMja000000000000000000000000000001",
            "+819012345678",
            "注文した商品がまだ届きません。",
        ),
        (
            "SMar000000000000000000000000000001",
            "+971501234567",
            "مرحبا، أين طلبي؟",
        ),
        (
            "SMfr000000000000000000000000000001",
            "+33612345678",
            "Bonjour, où est ma commande ?",
        ),
    ];
    for (sid, from, body) in buyers {
        twilio_posts(&client, &serve, &sms(sid, from, body)).await;
    }

    // Refused with a reason that names the channel and what was wrong; nothing kept.
    let german = sms(
        "SMforged00000000000000000000000001",
        "+4915112345678",
        "Bitte erstatten Sie 500 €",
    );
    let good = signature::sign(TOKEN, PUBLIC_URL, &owned(&german));
    let mut tampered = german.clone();
    tampered[5] = ("Body", "Bitte erstatten Sie 900 €");
    let direct_url = serve.url("/hooks/sms-us");
    let cases = [
        (encode(&tampered), Some(good.clone()), "does not match"),
        (
            encode(&german),
            Some(signature::sign("another-accounts-token", PUBLIC_URL, &owned(&german))),
            "does not match",
        ),
        (encode(&german), None, "the X-Twilio-Signature header is missing"),
        // Signed over the URL as the request reached weft, not the public one Twilio calls.
        (
            encode(&german),
            Some(signature::sign(TOKEN, &direct_url, &owned(&german))),
            "Twilio called another URL",
        ),
    ];
    for (body, signature, expected) in cases {
        let (status, answer) = post(&client, &serve, "sms-us", body, signature).await;
        let message = answer["error"]["message"].as_str().unwrap_or_default().to_owned();
        assert_eq!(status, 401, "{answer}");
        assert!(
            message.contains("hook `sms-us`") && message.contains("twilio: ") && message.contains(expected),
            "{message}"
        );
    }

    // Twilio's published example passes the signature check through serve; having no
    // MessageSid it is no message: kept as a dead letter that says so.
    let example = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675310"),
        ("Digits", "1234"),
        ("From", "+14158675310"),
        ("To", "+18005551212"),
    ];
    let (status, answer) = post(
        &client,
        &serve,
        "vector",
        encode(&example),
        Some("GvWf1cFY/Q7PnoempGyD5oXAezc=".into()),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let letter = serve
        .eventually("the example dead-lettered", async || {
            store
                .dead_letters(true)
                .await
                .unwrap()
                .into_iter()
                // Refused deliveries (bad signatures) are dead letters too.
                .find(|l| {
                    l.inbound.is_some()
                        && l.error
                            .contains("/hooks/vector: the Twilio request has no `MessageSid` parameter")
                })
        })
        .await;
    assert_eq!(letter.plugin.as_deref(), Some("twilio"));

    // One ticket per buyer, the phone number as who they are, the text as written.
    let tickets: Vec<i64> = {
        let mut numbers = Vec::new();
        for (sid, _, _) in buyers {
            numbers.push(serve.processed_ticket_of(&store, sid).await);
        }
        numbers
    };
    assert_eq!(tickets.iter().collect::<BTreeSet<_>>().len(), 4, "{tickets:?}");
    let export = store.export_tickets().await.unwrap();
    assert!(!export.iter().any(|t| {
        t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "SMforged00000000000000000000000001")
    }));

    // A reply goes out from the number the buyer wrote to, after Twilio's 429 is waited out.
    twilio
        .lock()
        .unwrap()
        .script
        .push_back((429, Some("1"), 20429, "Too Many Requests"));
    let german_reply = "Ihr Paket ist unterwegs und kommt morgen an. Grüße aus Köln!";
    let key = reply(&client, &serve, &agent, tickets[0], german_reply).await;
    let row = serve
        .settled(&store, &key, "the German reply delivered", |r| {
            r.state.as_str() == "delivered"
        })
        .await;
    let attempts = sent(&twilio);
    assert_eq!(attempts.iter().map(|s| s.status).collect::<Vec<_>>(), [429, 201]);
    assert!(attempts.iter().all(|s| s.to == "+4915112345678"
        && s.from.as_deref() == Some(SELLER)
        && s.body == german_reply
        && s.status_callback.as_deref() == Some(PUBLIC_URL)));
    assert_eq!(row.attempts, 2);
    let german_sid = row.external_id.clone().unwrap();

    // Its status callbacks, out of order: `delivered` stays, a late `sent` does not undo it.
    for status in ["delivered", "sent"] {
        let callback = [
            ("SmsSid", german_sid.as_str()),
            ("SmsStatus", status),
            ("MessageStatus", status),
            ("To", "+4915112345678"),
            ("MessageSid", german_sid.as_str()),
            ("AccountSid", ACCOUNT),
            ("From", SELLER),
            ("ApiVersion", "2010-04-01"),
        ];
        twilio_posts(&client, &serve, &callback).await;
    }
    serve
        .settled(&store, &key, "the German reply's status recorded", |r| {
            r.delivery_state == Some(weft_sdk::DeliveryState::Delivered)
        })
        .await;
    // Agents see it on the ticket.
    let ticket: Value = client
        .get(serve.url(&format!("/api/v1/tickets/{}", tickets[0])))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        ticket["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "reply"
                && e["key"] == key.as_str()
                && e["state"] == "delivered"
                && e["delivery_state"] == "delivered"),
        "{ticket}"
    );

    // A reply in Japanese is delivered, then Twilio reports it undelivered: failed on the
    // ticket, with Twilio's error.
    let key = reply(
        &client,
        &serve,
        &agent,
        tickets[1],
        "ご注文の商品は明日届きます。ご迷惑をおかけしました。",
    )
    .await;
    let row = serve
        .settled(&store, &key, "the Japanese reply delivered", |r| {
            r.state.as_str() == "delivered"
        })
        .await;
    let sid = row.external_id.unwrap();
    let callback = [
        ("SmsSid", sid.as_str()),
        ("SmsStatus", "undelivered"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30007"),
        ("To", "+819012345678"),
        ("MessageSid", sid.as_str()),
        ("AccountSid", ACCOUNT),
        ("From", SELLER),
        ("ApiVersion", "2010-04-01"),
    ];
    twilio_posts(&client, &serve, &callback).await;
    let row = serve
        .settled(&store, &key, "the Japanese reply failed", |r| {
            r.state.as_str() == "failed"
        })
        .await;
    assert_eq!(
        row.error.as_deref(),
        Some("Twilio reports it undelivered, error 30007 (https://www.twilio.com/docs/errors/30007)")
    );
    let ticket: Value = client
        .get(serve.url(&format!("/api/v1/tickets/{}", tickets[1])))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let timeline = ticket["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().any(|e| e["type"] == "reply"
            && e["state"] == "failed"
            && e["error"].as_str().unwrap_or("").contains("30007")),
        "{ticket}"
    );
    assert!(
        timeline.iter().any(|e| e["type"] == "decision"
            && e["reason"].as_str().unwrap_or("").contains("reported")
            && e["reason"].as_str().unwrap_or("").contains("30007")),
        "{ticket}"
    );

    // STOP: the Arabic buyer opts out; a reply is refused before it is sent, saying so.
    twilio_posts(
        &client,
        &serve,
        &sms("SMar000000000000000000000000000002", "+971501234567", "STOP"),
    )
    .await;
    serve
        .eventually("the opt-out recorded", async || {
            store.opt_out("sms-us", "+971501234567").await.unwrap()
        })
        .await;
    serve
        .processed_ticket_of(&store, "SMar000000000000000000000000000002")
        .await;
    let before = sent(&twilio).len();
    let key = reply(&client, &serve, &agent, tickets[2], "سيصل طلبك غدا").await;
    let row = serve
        .settled(&store, &key, "the reply to an opted-out buyer refused", |r| {
            r.state.as_str() == "failed"
        })
        .await;
    let error = row.error.unwrap();
    assert!(
        error.contains("+971501234567 opted out of messages through mount `sms-us`") && error.contains("STOP"),
        "{error}"
    );
    assert_eq!(sent(&twilio).len(), before, "nothing may reach Twilio");
    // START lifts it.
    twilio_posts(
        &client,
        &serve,
        &sms("SMar000000000000000000000000000003", "+971501234567", "START"),
    )
    .await;
    serve
        .processed_ticket_of(&store, "SMar000000000000000000000000000003")
        .await;
    serve
        .eventually("the opt-in recorded", async || {
            store
                .opt_out("sms-us", "+971501234567")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
    let key = reply(&client, &serve, &agent, tickets[2], "شكرا لك، سيصل طلبك غدا").await;
    serve
        .settled(&store, &key, "the reply after START delivered", |r| {
            r.state.as_str() == "delivered"
        })
        .await;

    // Twilio's 21610: an opt-out weft had not seen; the next reply is not even tried.
    twilio.lock().unwrap().unsubscribed.insert("+33612345678".into());
    let key = reply(&client, &serve, &agent, tickets[3], "Votre commande arrive demain.").await;
    let row = serve
        .settled(&store, &key, "the reply Twilio refused with 21610", |r| {
            r.state.as_str() == "failed"
        })
        .await;
    assert!(row.error.as_deref().unwrap_or("").contains("error 21610"), "{row:?}");
    let before = sent(&twilio).len();
    let key = reply(&client, &serve, &agent, tickets[3], "Pardon, encore une chose.").await;
    let row = serve
        .settled(&store, &key, "the next reply refused before sending", |r| {
            r.state.as_str() == "failed"
        })
        .await;
    assert!(row.error.as_deref().unwrap_or("").contains("opted out"), "{row:?}");
    assert_eq!(sent(&twilio).len(), before, "nothing may reach Twilio");

    let log = serve.stop();
    assert!(log.contains("webhook refused"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    sms_end_to_end(&db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_on_postgres() {
    let Some(db) = common::postgres_database("sms").await else {
        return;
    };
    sms_end_to_end(&db).await;
}
