//! Messenger and WhatsApp through the real `weft serve`: the `meta` plugin through the real
//! runtime, Meta's webhooks signed with an app secret of the test's own (bodies with Meta's
//! `\u` escapes), and a local server on `127.0.0.1:0` speaking the Graph API's wire format
//! (`POST /v25.0/{sender}/messages`, bearer token, the Send API's and the Cloud API's JSON,
//! Meta's error objects, 429 with `Retry-After`). SQLite, and PostgreSQL when
//! `WEFT_TEST_POSTGRES` is set. Nothing here times speed.

mod common;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use common::serve::{Serve, hmac_sha256, weft};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use weft::store::Store;
use weft::store::outbox::OutboxState;

const APP_SECRET: &str = "meta-app-secret-سر-秘密";
const TOKEN: &str = "EAAGm0PX4ZCpsBAKZCtest0token";
const VERIFY: &str = "verify-me-تحقق";
const PAGE: &str = "104578926130574";
const PHONE_ID: &str = "106540352242922";
const IG_ID: &str = "17841400000000001";
const HOUR: i64 = 3_600_000;

fn sign(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), body)))
}

/// JSON as Meta writes it: every character past ASCII as `\uXXXX` (UTF-16 units).
fn meta_json(value: &Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// One request the Graph API got: the path, the bearer token, the JSON body.
#[derive(Debug, Clone)]
struct GraphRequest {
    path: String,
    token: Option<String>,
    body: Value,
}

#[derive(Default)]
struct Graph {
    requests: Vec<GraphRequest>,
    /// Answers for a recipient, in order, before the default 200.
    script: Vec<(String, u16, Option<&'static str>, Value)>,
}

type Shared = Arc<Mutex<Graph>>;

/// `POST /{version}/{sender}/messages`, answered as the Graph API does.
async fn messages(
    State(graph): State<Shared>,
    UrlPath((version, sender)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let recipient = body["to"]
        .as_str()
        .or(body["recipient"]["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let mut graph = graph.lock().unwrap();
    graph.requests.push(GraphRequest {
        path: format!("/{version}/{sender}/messages"),
        token: token.clone(),
        body: body.clone(),
    });
    let n = graph.requests.len();
    let (status, retry_after, answer) = if token.as_deref() != Some(TOKEN) {
        let error = json!({"error": {"message": "Invalid OAuth access token - Cannot parse access token", "type": "OAuthException", "code": 190, "fbtrace_id": "A1b2"}});
        (401, None, error)
    } else if let Some(at) = graph.script.iter().position(|(to, ..)| *to == recipient) {
        let (_, status, retry_after, answer) = graph.script.remove(at);
        (status, retry_after, answer)
    } else if body["messaging_product"] == "whatsapp" {
        let answer = json!({"messaging_product": "whatsapp", "contacts": [{"input": recipient, "wa_id": recipient}], "messages": [{"id": format!("wamid.OUT{n}")}]});
        (200, None, answer)
    } else {
        (
            200,
            None,
            json!({"recipient_id": recipient, "message_id": format!("m_OUT{n}")}),
        )
    };
    let mut response = axum::response::Response::new(axum::body::Body::from(answer.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    if let Some(value) = retry_after {
        response.headers_mut().insert("retry-after", value.parse().unwrap());
    }
    response
}

async fn graph_server() -> (Shared, u16) {
    let graph = Shared::default();
    let app = axum::Router::new()
        .route("/{version}/{sender}/messages", axum::routing::post(messages))
        .with_state(graph.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (graph, port)
}

fn channels(port: u16) -> String {
    let grants = "allow: { http: [127.0.0.1], secrets: [meta_app_secret, meta_token, meta_verify] }";
    let common = format!(
        "app_secret: meta_app_secret, access_token: meta_token, verify_token: meta_verify, graph_url: \"http://127.0.0.1:{port}\""
    );
    format!(
        "version: 1
channels:
  - id: fb
    uses: meta
    with: {{ platform: messenger, sender_id: \"{PAGE}\", {common} }}
    {grants}
  - id: ig
    uses: meta
    with: {{ platform: instagram, sender_id: \"{IG_ID}\", human_agent: true, {common} }}
    {grants}
  - id: wa
    uses: meta
    with:
      {{ platform: whatsapp, sender_id: \"{PHONE_ID}\", {common},
        template: {{ name: order_update, language: ar, parameters: [\"{{body}}\"] }} }}
    {grants}
"
    )
}

async fn post(client: &reqwest::Client, url: &str, body: &str, signature: Option<String>) -> (u16, Value) {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("X-Hub-Signature-256", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// An agent's reply through the API; its outbox key.
async fn reply(client: &reqwest::Client, serve: &Serve, token: &str, ticket: i64, body: &str) -> String {
    serve.reply(client, token, ticket, body).await["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The outbox row of `key` once it has left `pending` and `sending`.
async fn settled(serve: &Serve, store: &Store, key: &str) -> weft::store::outbox::OutboundRow {
    serve
        .settled(store, key, "settled", |row| {
            !matches!(row.state, OutboxState::Pending | OutboxState::Sending)
        })
        .await
}

async fn meta_channels(db: &str, dir: &Path) {
    let (graph, port) = graph_server().await;
    let secrets = [
        ("WEFT_SECRET_META_APP_SECRET", APP_SECRET),
        ("WEFT_SECRET_META_TOKEN", TOKEN),
        ("WEFT_SECRET_META_VERIFY", VERIFY),
    ];
    let serve = Serve::start(dir, db, &channels(port), &secrets);
    let client = reqwest::Client::new();

    // The subscription check: the challenge for the verify token, 403 for another.
    for hook in ["fb", "ig", "wa"] {
        let url = serve.url(&format!("/hooks/{hook}"));
        let query = [
            ("hub.mode", "subscribe"),
            ("hub.verify_token", VERIFY),
            ("hub.challenge", "1158201444"),
        ];
        let answer = client.get(&url).query(&query).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        assert_eq!(answer.text().await.unwrap(), "1158201444");
        let query = [
            ("hub.mode", "subscribe"),
            ("hub.verify_token", "guess"),
            ("hub.challenge", "1"),
        ];
        let answer = client.get(&url).query(&query).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 403);
        assert!(answer.text().await.unwrap().contains("not the verify token"));
    }

    let now = jiff::Timestamp::now().as_millisecond();
    let event = |buyer: &str, mid: &str, at: i64, text: &str| json!({"sender": {"id": buyer}, "recipient": {"id": PAGE}, "timestamp": at, "message": {"mid": mid, "text": text}});
    let messenger = meta_json(&json!({"object": "page", "entry": [
        {"id": PAGE, "time": now, "messaging": [
            event("psid-amira", "m_amira", now - 2 * HOUR, "مرحبا، أين طلبي؟ لم يصل بعد."),
            {"sender": {"id": PAGE}, "recipient": {"id": "psid-amira"}, "timestamp": now - HOUR,
             "message": {"mid": "m_suite", "is_echo": true, "app_id": 263902037430900_u64, "text": "Wir prüfen das. 我们正在查。"}},
        ]},
        {"id": PAGE, "time": now, "standby": [
            event("psid-kenji", "m_kenji", now - 72 * HOUR, "靴のサイズを交換したいです。"),
        ]},
    ]}));
    assert!(messenger.contains("\\u0645") && messenger.is_ascii());
    let fb = serve.url("/hooks/fb");

    // Forged: another app secret, a changed body, no signature: 401, naming the channel.
    let mut tampered = messenger.clone().into_bytes();
    tampered[30] ^= 1;
    let tampered = String::from_utf8(tampered).unwrap();
    for (body, signature, words) in [
        (
            &messenger,
            Some(sign("another-secret", messenger.as_bytes())),
            "does not match the body",
        ),
        (
            &tampered,
            Some(sign(APP_SECRET, messenger.as_bytes())),
            "does not match the body",
        ),
        (&messenger, None, "header is missing"),
    ] {
        let (status, answer) = post(&client, &fb, body, signature).await;
        assert_eq!(status, 401, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("messenger webhook refused") && message.contains(words),
            "{message}"
        );
    }
    // Authentic but malformed: kept, then a dead letter with its reason.
    let broken = r#"{"object":"page","entry":[{"id":"1","messaging":["#;
    let (status, answer) = post(&client, &fb, broken, Some(sign(APP_SECRET, broken.as_bytes()))).await;
    assert_eq!(status, 202, "{answer}");

    let (status, answer) = post(&client, &fb, &messenger, Some(sign(APP_SECRET, messenger.as_bytes()))).await;
    assert_eq!(status, 202, "{answer}");

    let wa_message = |from: &str, id: &str, at: i64, body: Value| {
        let mut message = json!({"from": from, "id": id, "timestamp": (at / 1000).to_string()});
        for (k, v) in body.as_object().unwrap() {
            message[k] = v.clone();
        }
        message
    };
    let whatsapp = meta_json(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "王芳"}, "wa_id": "8613800138000"}, {"profile": {"name": "فاطمة"}, "wa_id": "971501234567"}, {"profile": {"name": "Jürgen"}, "wa_id": "4915112345678"}],
            "messages": [
                wa_message("8613800138000", "wamid.wang", now - HOUR, json!({"type": "text", "text": {"body": "你好，我的订单什么时候到？"}})),
                wa_message("971501234567", "wamid.fatima", now - 50 * HOUR, json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "refund", "title": "استرداد المبلغ"}}})),
                wa_message("4915112345678", "wamid.juergen", now - HOUR, json!({"type": "image", "image": {"caption": "Das Paket ist beschädigt", "mime_type": "image/jpeg", "sha256": "x", "id": "777"}})),
            ],
        }}]}]}),
    );
    let wa = serve.url("/hooks/wa");
    let (status, answer) = post(&client, &wa, &whatsapp, Some(sign(APP_SECRET, whatsapp.as_bytes()))).await;
    assert_eq!(status, 202, "{answer}");

    // Instagram: the buyer's message and the seller's echo come in the same field.
    let instagram = meta_json(
        &json!({"object": "instagram", "entry": [{"id": IG_ID, "time": now, "messaging": [
            {"sender": {"id": "igsid-lucia"}, "recipient": {"id": IG_ID}, "timestamp": now - 30 * HOUR,
             "message": {"mid": "ig_lucia", "text": "¿Dónde está mi pedido? 我的包裹在哪里？"}},
        ]}]}),
    );
    let ig = serve.url("/hooks/ig");
    let (status, answer) = post(&client, &ig, &instagram, Some(sign(APP_SECRET, instagram.as_bytes()))).await;
    assert_eq!(status, 202, "{answer}");

    let store = Store::open(db).await.unwrap();
    let lucia = serve.ticket_of(&store, "ig_lucia").await;
    let amira = serve.ticket_of(&store, "m_amira").await;
    let kenji = serve.ticket_of(&store, "m_kenji").await;
    let wang = serve.ticket_of(&store, "wamid.wang").await;
    let fatima = serve.ticket_of(&store, "wamid.fatima").await;
    let juergen = serve.ticket_of(&store, "wamid.juergen").await;
    let mut numbers = vec![amira, kenji, wang, fatima, juergen, lucia];
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 6, "one ticket per buyer: {numbers:?}");
    // The echo of a reply typed in Meta Business Suite: the seller's message on Amira's ticket.
    assert_eq!(serve.ticket_of(&store, "m_suite").await, amira);
    let timeline = store.ticket_timeline(amira).await.unwrap();
    let echo = timeline.iter().find(|e| e.message.id == "m_suite").unwrap();
    assert_eq!(echo.message.direction, weft_sdk::Direction::Outbound);
    assert_eq!(echo.message.body, "Wir prüfen das. 我们正在查。");
    // When Amira last wrote, as the outbox tells the channel: by channel name or by the mount
    // she wrote through; the page's echo an hour later is not hers.
    for channel in ["messenger", "fb"] {
        assert_eq!(
            store.last_inbound_at(amira, channel).await.unwrap(),
            Some(now - 2 * HOUR),
            "{channel}"
        );
    }
    assert_eq!(store.last_inbound_at(amira, "whatsapp").await.unwrap(), None);
    let letter = serve
        .eventually("the malformed webhook dead-lettered", async || {
            store
                .dead_letters(true)
                .await
                .unwrap()
                .into_iter()
                // Refused deliveries (bad signatures above) are dead letters too.
                .find(|l| l.inbound.is_some() && l.error.contains("messenger webhook: the body is not JSON"))
        })
        .await;
    assert_eq!(letter.plugin.as_deref(), Some("meta"));
    assert!(
        graph.lock().unwrap().requests.is_empty(),
        "nothing answers a buyer by itself"
    );

    // Replies. Wang's first try meets WhatsApp's throughput limit (429, code 130429), the
    // second goes through; Jürgen's is refused by WhatsApp for good.
    graph.lock().unwrap().script = vec![
        (
            "8613800138000".into(),
            429,
            Some("1"),
            json!({"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429, "fbtrace_id": "Rl1"}}),
        ),
        (
            "4915112345678".into(),
            400,
            None,
            json!({"error": {"message": "(#131026) Message undeliverable", "type": "OAuthException", "code": 131026, "error_subcode": 2494010, "fbtrace_id": "Un2"}}),
        ),
    ];
    let (ok, out, err) = weft(&["token", "create", "--name", "amal", "--role", "agent", "--db", db]);
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap().to_owned();
    let to_amira = reply(&client, &serve, &token, amira, "شكراً، سيصل طلبك غداً.").await;
    let to_kenji = reply(&client, &serve, &token, kenji, "サイズ交換を承りました。").await;
    let to_wang = reply(&client, &serve, &token, wang, "您的订单明天到。").await;
    let to_fatima = reply(&client, &serve, &token, fatima, "تمت إعادة المبلغ.").await;
    let to_lucia = reply(&client, &serve, &token, lucia, "Tu pedido llega mañana. 明天到。").await;
    let to_juergen = reply(&client, &serve, &token, juergen, "Wir senden Ersatz.").await;

    let row = settled(&serve, &store, &to_amira).await;
    assert_eq!(row.state, OutboxState::Delivered, "{row:?}");
    let row = settled(&serve, &store, &to_wang).await;
    assert_eq!((row.state, row.attempts), (OutboxState::Delivered, 2), "{row:?}");
    assert!(row.external_id.as_deref().unwrap().starts_with("wamid.OUT"), "{row:?}");
    let row = settled(&serve, &store, &to_lucia).await;
    assert_eq!(row.state, OutboxState::Delivered, "{row:?}");
    let row = settled(&serve, &store, &to_fatima).await;
    assert_eq!(row.state, OutboxState::Delivered, "{row:?}");

    // WhatsApp reports on what was delivered: Fatima read hers; Wang's failed after all, and
    // the ticket says so in WhatsApp's words. A status for a message weft never sent is
    // acknowledged and changes nothing.
    let wamid = |row: &weft::store::outbox::OutboundRow| row.external_id.clone().unwrap();
    let wang_wamid = wamid(&store.outbound_by_key(&to_wang).await.unwrap().unwrap());
    let fatima_wamid = wamid(&store.outbound_by_key(&to_fatima).await.unwrap().unwrap());
    let seconds = (now / 1000).to_string();
    let statuses = meta_json(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
            "statuses": [
                {"id": fatima_wamid, "status": "read", "timestamp": seconds, "recipient_id": "971501234567"},
                {"id": wang_wamid, "status": "failed", "timestamp": seconds, "recipient_id": "8613800138000",
                 "errors": [{"code": 131049, "title": "This message was not delivered to maintain healthy ecosystem engagement.",
                             "message": "This message was not delivered to maintain healthy ecosystem engagement.",
                             "error_data": {"details": "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."}}]},
                {"id": "wamid.NEVER-SENT", "status": "delivered", "timestamp": seconds, "recipient_id": "8613800138000"}
            ]
        }}]}]}),
    );
    let (status, answer) = post(&client, &wa, &statuses, Some(sign(APP_SECRET, statuses.as_bytes()))).await;
    assert_eq!(status, 202, "{answer}");
    let failed = serve
        .eventually("Wang's reply reported failed", async || {
            let row = store.outbound_by_key(&to_wang).await.unwrap()?;
            (row.delivery_state == Some(weft_sdk::DeliveryState::Failed)).then_some(row)
        })
        .await;
    assert!(
        failed.error.as_deref().unwrap_or_default().contains("(code 131049)"),
        "{failed:?}"
    );
    serve
        .eventually("Fatima's reply reported read", async || {
            let row = store.outbound_by_key(&to_fatima).await.unwrap()?;
            (row.delivery_state == Some(weft_sdk::DeliveryState::Read)).then_some(())
        })
        .await;
    // Kenji wrote 3 days ago: refused before sending, and the ticket says why.
    let row = settled(&serve, &store, &to_kenji).await;
    assert_eq!(row.state, OutboxState::Failed, "{row:?}");
    let error = row.error.unwrap_or_default();
    assert!(
        error.contains("messenger: the reply was not sent: the buyer last wrote 3 days ago"),
        "{error}"
    );
    assert!(
        error.contains("outside Meta's 24-hour window a free-form reply is refused"),
        "{error}"
    );
    // The agents' view of the ticket shows the failure and its reason.
    let url = serve.url(&format!("/api/v1/tickets/{kenji}"));
    let shown = client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("not delivered: messenger: the reply was not sent"),
        "{shown}"
    );
    let (ok, explained, err) = weft(&["explain", "ticket", &kenji.to_string(), "--db", db]);
    assert!(ok, "{err}");
    assert!(explained.contains("24-hour window"), "{explained}");
    let row = settled(&serve, &store, &to_juergen).await;
    assert_eq!(row.state, OutboxState::Failed, "{row:?}");
    let error = row.error.unwrap_or_default();
    assert!(
        error.contains("(#131026) Message undeliverable") && error.contains("fbtrace_id Un2"),
        "{error}"
    );

    let requests = graph.lock().unwrap().requests.clone();
    assert!(
        requests.iter().all(|r| r.token.as_deref() == Some(TOKEN)),
        "{requests:#?}"
    );
    let to = |r: &GraphRequest| {
        r.body["to"]
            .as_str()
            .or(r.body["recipient"]["id"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(!requests.iter().any(|r| to(r) == "psid-kenji"), "{requests:#?}");
    let amira_sent = requests.iter().find(|r| to(r) == "psid-amira").unwrap();
    assert_eq!(amira_sent.path, format!("/v25.0/{PAGE}/messages"));
    assert_eq!(
        amira_sent.body,
        json!({"recipient": {"id": "psid-amira"}, "messaging_type": "RESPONSE",
               "message": {"text": "شكراً، سيصل طلبك غداً.", "metadata": format!("weft:{to_amira}")}})
    );
    // Lucía wrote 30 hours ago on Instagram, whose mount allows the human-agent tag: a
    // person's reply goes out tagged.
    let lucia_sent = requests.iter().find(|r| to(r) == "igsid-lucia").unwrap();
    assert_eq!(lucia_sent.path, format!("/v25.0/{IG_ID}/messages"));
    assert_eq!(
        (&lucia_sent.body["messaging_type"], &lucia_sent.body["tag"]),
        (&json!("MESSAGE_TAG"), &json!("HUMAN_AGENT"))
    );
    let wang_sent: Vec<&GraphRequest> = requests.iter().filter(|r| to(r) == "8613800138000").collect();
    assert_eq!(wang_sent.len(), 2);
    assert_eq!(wang_sent[1].path, format!("/v25.0/{PHONE_ID}/messages"));
    assert_eq!(wang_sent[1].body["text"]["body"], "您的订单明天到。");
    // Fatima wrote 50 hours ago: only the approved template, with the reply as its parameter.
    let fatima_sent = requests.iter().find(|r| to(r) == "971501234567").unwrap();
    assert_eq!(fatima_sent.body["type"], "template");
    assert_eq!(
        fatima_sent.body["template"],
        json!({"name": "order_update", "language": {"code": "ar"},
               "components": [{"type": "body", "parameters": [{"type": "text", "text": "تمت إعادة المبلغ."}]}]})
    );

    // Meta echoes weft's own reply back: it is on the ticket once, not twice.
    let echo = meta_json(
        &json!({"object": "page", "entry": [{"id": PAGE, "time": now, "messaging": [
            {"sender": {"id": PAGE}, "recipient": {"id": "psid-amira"}, "timestamp": now,
             "message": {"mid": "m_OUT1", "is_echo": true, "app_id": 1517776481860111_u64, "metadata": format!("weft:{to_amira}"), "text": "شكراً، سيصل طلبك غداً."}},
            event("psid-amira", "m_amira_2", now, "شكراً جزيلاً!"),
        ]}]}),
    );
    let (status, answer) = post(&client, &fb, &echo, Some(sign(APP_SECRET, echo.as_bytes()))).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(serve.ticket_of(&store, "m_amira_2").await, amira);
    let timeline = store.ticket_timeline(amira).await.unwrap();
    let bodies: Vec<&str> = timeline.iter().map(|e| e.message.body.as_str()).collect();
    assert_eq!(
        bodies.iter().filter(|b| **b == "شكراً، سيصل طلبك غداً.").count(),
        1,
        "{bodies:?}"
    );
    serve.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_channels_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    meta_channels(
        &format!("sqlite://{}", dir.path().join("weft.db").display()),
        dir.path(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_channels_on_postgres() {
    let Some(db) = common::postgres_database("meta_channels").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    meta_channels(&db, dir.path()).await;
}
