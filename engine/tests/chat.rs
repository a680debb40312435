//! Live chat on the seller's website through the real `weft serve`: the `chat` plugin through
//! the real runtime, the widget's protocol spoken by a real HTTP client on 127.0.0.1 (the
//! visitor's stream read as Server-Sent Events by a parser that is not weft's), agents'
//! replies through the API and the outbox, and the widget itself driven in headless Chromium
//! through chromedriver. SQLite, and PostgreSQL when `WEFT_TEST_POSTGRES` is set. Nothing here
//! times speed.

mod common;

use common::serve::{Serve, Sse, SseEvent, hmac_sha256, weft};
use serde_json::{Value, json};
use std::path::Path;
use weft::store::Store;
use weft::store::outbox::OutboxState;

const IDENTITY_SECRET: &str = "geheim-سر-秘密-chat";
const SHOP_SECRET: &str = "shop-signing-κλειδί";

const CHANNELS: &str = "version: 1
channels:
  - id: site
    uses: chat
    with: { identity_secret: chat_identity, identity_lifetime: 1h }
    allow: { secrets: [chat_identity] }
  - id: chat
    uses: chat
  - id: shop
    uses: json
    with: { default_channel: shop, signature_secret: shop_signing }
    allow: { secrets: [shop_signing] }
";

const SECRETS: [(&str, &str); 2] = [
    ("WEFT_SECRET_CHAT_IDENTITY", IDENTITY_SECRET),
    ("WEFT_SECRET_SHOP_SIGNING", SHOP_SECRET),
];

/// A visitor's conversation: its id and token, as the widget keeps them.
#[derive(Debug, Clone)]
struct Visitor {
    conversation: String,
    token: String,
}

async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn open_conversation(client: &reqwest::Client, serve: &Serve) -> Visitor {
    let (status, answer) =
        status_and_json(client.post(serve.url("/chat/site/conversations")).send().await.unwrap()).await;
    assert_eq!(status, 201, "{answer}");
    Visitor {
        conversation: answer["conversation"].as_str().unwrap().to_owned(),
        token: answer["token"].as_str().unwrap().to_owned(),
    }
}

/// The visitor's post of `body` (JSON) to `conversation` with `token`.
async fn post_raw(
    client: &reqwest::Client,
    serve: &Serve,
    conversation: &str,
    token: &str,
    body: &str,
) -> (u16, Value) {
    let response = client
        .post(serve.url("/chat/site/messages"))
        .query(&[("conversation", conversation)])
        .header("content-type", "application/json")
        .header("x-weft-chat-token", token)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

/// The visitor says `text` as message `id`, with a signed identity when given; the answer, and
/// the message's id in weft.
async fn say(
    client: &reqwest::Client,
    serve: &Serve,
    visitor: &Visitor,
    id: &str,
    text: &str,
    identity: Option<Value>,
) -> (u16, Value, String) {
    let mut body = json!({ "id": id, "text": text, "page": "https://shop.example/konto" });
    if let Some(identity) = identity {
        body["identity"] = identity;
    }
    let (status, answer) = post_raw(client, serve, &visitor.conversation, &visitor.token, &body.to_string()).await;
    (status, answer, format!("chat:{}:{id}", visitor.conversation))
}

/// What the shop's server puts on the page for a logged-in visitor (the scheme of
/// `plugins/chat/src/identity.rs`, written out here on purpose: the test checks the documented
/// bytes, not the plugin's own function).
fn signed(secret: &str, hook: &str, email: &str, customer_id: &str, name: &str, expires: i64) -> Value {
    let text = format!("weft-chat-identity:v1\n{hook}\n{email}\n{customer_id}\n{name}\n{expires}");
    let signature = hex::encode(hmac_sha256(secret.as_bytes(), text.as_bytes()));
    let mut identity = json!({ "expires": expires, "signature": signature });
    for (key, value) in [("email", email), ("customer_id", customer_id), ("name", name)] {
        if !value.is_empty() {
            identity[key] = json!(value);
        }
    }
    identity
}

fn stream_request(client: &reqwest::Client, serve: &Serve, visitor: &Visitor) -> reqwest::RequestBuilder {
    client
        .get(serve.url("/chat/site/stream"))
        .query(&[("conversation", &visitor.conversation), ("token", &visitor.token)])
}

/// The visitor's live stream, past its `ready` event.
async fn listen(client: &reqwest::Client, serve: &Serve, visitor: &Visitor, last_event_id: Option<&str>) -> Sse {
    let mut request = stream_request(client, serve, visitor);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let mut stream = Sse::open(request, &format!("stream of {}", visitor.conversation))
        .await
        .unwrap_or_else(|(status, answer)| panic!("the stream answered {status}: {answer}"));
    let ready = stream.next().await.unwrap();
    assert_eq!(ready.event, "ready", "{ready:?}");
    assert_eq!(ready.data["conversation"], visitor.conversation.as_str());
    stream
}

fn is_message(event: &SseEvent, direction: &str, body: &str) -> bool {
    event.event == "message" && event.data["direction"] == direction && event.data["body"] == body
}

/// The customer of the ticket holding message `id`.
async fn customer_of(serve: &Serve, store: &Store, id: &str) -> i64 {
    let ticket = serve.ticket_of(store, id).await;
    let tickets = store.export_tickets().await.unwrap();
    tickets.iter().find(|t| t["ticket"] == ticket).unwrap()["customer"]
        .as_i64()
        .unwrap()
}

/// The message `id` as weft keeps it.
async fn stored(serve: &Serve, store: &Store, id: &str) -> weft_sdk::Message {
    let ticket = serve.ticket_of(store, id).await;
    let timeline = store.ticket_timeline(ticket).await.unwrap();
    timeline.into_iter().find(|e| e.message.id == id).unwrap().message
}

async fn delivered(serve: &Serve, store: &Store, key: &str) {
    let row = serve
        .settled(store, key, "delivered", |row| {
            !matches!(row.state, OutboxState::Pending | OutboxState::Sending)
        })
        .await;
    assert_eq!(row.state, OutboxState::Delivered, "{row:?}");
}

fn agent_token(db: &str) -> String {
    let (ok, out, err) = weft(&["token", "create", "--name", "amal", "--role", "agent", "--db", db]);
    assert!(ok, "{err}");
    out.lines().last().unwrap().to_owned()
}

async fn chat_over_weft_serve(db: &str, dir: &Path) {
    let serve = Serve::start(dir, db, CHANNELS, &SECRETS);
    let client = reqwest::Client::new();
    let store = Store::open(db).await.unwrap();
    let agent = agent_token(db);

    // The widget: served at chat mounts only, readable from the shop's origin.
    let response = client.get(serve.url("/chat/site/widget.js")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(response.text().await.unwrap().contains("EventSource"));
    let (status, answer) = status_and_json(client.get(serve.url("/chat/shop/widget.js")).send().await.unwrap()).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("unknown_chat")),
        "{answer}"
    );
    let preflight = client
        .request(reqwest::Method::OPTIONS, serve.url("/chat/site/messages"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-weft-chat-token")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("x-weft-chat-token")
    );

    // Three anonymous visitors write; each sees their message, then the agent's reply, live.
    let visitors = [
        (
            "de",
            "Hallo! Wo bleibt meine Bestellung? Größe 42, bitte.",
            "Ihr Paket kommt morgen an.",
        ),
        ("ja", "注文した靴がまだ届きません。", "明日お届けします。"),
        ("ar", "مرحبا، أين طلبي؟ لم يصل بعد.", "سيصل طلبك غداً إن شاء الله."),
    ];
    let mut open = Vec::new();
    for (lang, text, _) in &visitors {
        let visitor = open_conversation(&client, &serve).await;
        let mut stream = listen(&client, &serve, &visitor, None).await;
        let (status, answer, id) = say(&client, &serve, &visitor, &format!("m-{lang}-1"), text, None).await;
        assert_eq!(status, 202, "{answer}");
        let (event, _) = stream
            .until("the visitor's own message", |e| is_message(e, "in", text))
            .await;
        assert_eq!(event.data["id"], id.as_str());
        open.push((visitor, stream, id));
    }
    let mut tickets = Vec::new();
    for (_, _, id) in &open {
        tickets.push(serve.ticket_of(&store, id).await);
    }
    let mut distinct = tickets.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "one ticket per conversation: {tickets:?}");
    let mut last_ids = Vec::new();
    for (((visitor, stream, id), (_, _, reply)), ticket) in open.iter_mut().zip(&visitors).zip(&tickets) {
        let message = stored(&serve, &store, id).await;
        assert_eq!(message.channel, "chat");
        assert_eq!(message.thread.as_deref(), Some(visitor.conversation.as_str()));
        assert_eq!(message.from.email, None);
        let key = serve.reply(&client, &agent, *ticket, reply).await["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let (event, before) = stream.until("the agent's reply", |e| is_message(e, "out", reply)).await;
        // A visitor is shown their conversation only.
        for other in visitors.iter().filter(|v| v.2 != *reply) {
            assert!(
                before
                    .iter()
                    .all(|e| e.data["body"] != other.1 && e.data["body"] != other.2),
                "{before:?}"
            );
        }
        delivered(&serve, &store, &key).await;
        last_ids.push(event.id);
    }

    // The German visitor's page is closed; two replies come meanwhile; on reconnect
    // (`Last-Event-ID`, as the browser sends it, or `after` for a page loaded afresh) both
    // arrive, in order.
    let (german, stream, _) = open.remove(0);
    drop(stream);
    let missed = [
        "Sie wurde heute verschickt.",
        "Danke für Ihre Geduld! 🙏 Sendungsnummer folgt.",
    ];
    for text in missed {
        let key = serve.reply(&client, &agent, tickets[0], text).await["key"]
            .as_str()
            .unwrap()
            .to_owned();
        delivered(&serve, &store, &key).await;
    }
    let mut again = listen(&client, &serve, &german, Some(&last_ids[0])).await;
    let first = again.next().await.unwrap();
    let second = again.next().await.unwrap();
    assert!(is_message(&first, "out", missed[0]), "{first:?}");
    assert!(is_message(&second, "out", missed[1]), "{second:?}");
    let after = Sse::open(
        stream_request(&client, &serve, &german).query(&[("after", &last_ids[0])]),
        "resumed with after",
    )
    .await
    .map_err(|e| format!("{e:?}"))
    .unwrap();
    let mut after = after;
    assert_eq!(after.next().await.unwrap().event, "ready");
    assert!(is_message(&after.next().await.unwrap(), "out", missed[0]));

    // Nobody reads or writes another's conversation: another's token, no token, no such
    // conversation.
    let (japanese, arabic) = (&open[0].0, &open[1].0);
    for (conversation, token, words) in [
        (&japanese.conversation, &arabic.token, "not this conversation's token"),
        (&japanese.conversation, &String::new(), "not this conversation's token"),
        (&"c0000".to_owned(), &japanese.token, "no such conversation"),
    ] {
        let stranger = Visitor {
            conversation: conversation.clone(),
            token: token.clone(),
        };
        let (status, answer) = Sse::open(stream_request(&client, &serve, &stranger), "a stranger's stream")
            .await
            .err()
            .expect("a stranger is refused");
        assert_eq!(status, 401, "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains(words), "{answer}");
        let (status, answer, _) = say(&client, &serve, &stranger, "m-intruder", "Ich lese mit.", None).await;
        assert_eq!(status, 401, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("chat `site`") && message.contains(words), "{message}");
    }

    // A signed identity joins the customer who has that email from another channel.
    let now_s = jiff::Timestamp::now().as_second();
    let line = json!({
        "channel": "shop", "id": "shop-anna-1", "at": jiff::Timestamp::now().to_string(), "lang": "fr",
        "body": "Bonjour, où est ma commande ? Je l'attends depuis lundi.",
        "from": { "name": "Anna Müller", "email": "anna@example.de" },
    })
    .to_string();
    let response = client
        .post(serve.url("/hooks/shop"))
        .header("content-type", "application/x-ndjson")
        .header(
            "X-Weft-Signature",
            format!(
                "sha256={}",
                hex::encode(hmac_sha256(SHOP_SECRET.as_bytes(), line.as_bytes()))
            ),
        )
        .body(line)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let anna = customer_of(&serve, &store, "shop-anna-1").await;
    let logged_in = open_conversation(&client, &serve).await;
    let identity = signed(
        IDENTITY_SECRET,
        "site",
        "anna@example.de",
        "",
        "Anna Müller",
        now_s + 600,
    );
    let (status, answer, id) = say(
        &client,
        &serve,
        &logged_in,
        "m-anna-1",
        "Ich bin es wieder: ist das Paket unterwegs?",
        Some(identity),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(customer_of(&serve, &store, &id).await, anna);
    let message = stored(&serve, &store, &id).await;
    assert_eq!(message.from.email.as_deref(), Some("anna@example.de"));
    assert_eq!(message.from.name.as_deref(), Some("Anna Müller"));
    // A customer id alone becomes the buyer id.
    let by_id = open_conversation(&client, &serve).await;
    let identity = signed(IDENTITY_SECRET, "site", "", "kunde-4711", "", now_s + 600);
    let (status, answer, id) = say(
        &client,
        &serve,
        &by_id,
        "m-4711",
        "¿Tienen la talla 38?",
        Some(identity),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let message = stored(&serve, &store, &id).await;
    assert_eq!(message.from.buyer_id.as_deref(), Some("kunde-4711"));
    assert_eq!(message.from.email, None);

    // Forged, expired, too long-lived or signed for another mount: refused with the reason,
    // naming the channel; the same words sent anonymously still reach an agent.
    let forger = open_conversation(&client, &serve).await;
    let cases = [
        (
            signed("another-secret", "site", "anna@example.de", "", "", now_s + 600),
            "the signature does not match",
        ),
        (
            signed(IDENTITY_SECRET, "site", "anna@example.de", "", "", now_s - 60),
            "it expired",
        ),
        (
            signed(IDENTITY_SECRET, "site", "anna@example.de", "", "", now_s + 2 * 86_400),
            "beyond this mount's identity_lifetime",
        ),
        (
            signed(IDENTITY_SECRET, "other", "anna@example.de", "", "", now_s + 600),
            "the signature does not match",
        ),
        (
            {
                let mut tampered = signed(IDENTITY_SECRET, "site", "eve@example.de", "", "", now_s + 600);
                tampered["email"] = json!("anna@example.de");
                tampered
            },
            "the signature does not match",
        ),
    ];
    for (n, (identity, words)) in cases.into_iter().enumerate() {
        let text = format!("Bonjour, c'est Anna ({n}).");
        let (status, answer, _) = say(
            &client,
            &serve,
            &forger,
            &format!("m-forged-{n}"),
            &text,
            Some(identity),
        )
        .await;
        assert_eq!(status, 401, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("chat: the visitor's signed identity is not trusted") && message.contains(words),
            "case {n}: {message}"
        );
        let (status, answer, id) = say(&client, &serve, &forger, &format!("m-forged-{n}"), &text, None).await;
        assert_eq!(status, 202, "{answer}");
        let message = stored(&serve, &store, &id).await;
        assert_eq!(message.from.email, None);
        assert_ne!(customer_of(&serve, &store, &id).await, anna);
    }

    // Malformed posts: kept, then dead-lettered with a reason naming the channel; a post that
    // did not come through the conversation check is refused.
    let (german_conv, german_token) = (&german.conversation, &german.token);
    for (body, words) in [
        (
            "{\"id\": \"m-broken\", \"text\": \"Hallo",
            "chat: the visitor's post is not JSON",
        ),
        (
            "{\"id\": \"m-notext\"}",
            "chat: the visitor's post does not have the shape of a visitor post",
        ),
        (
            "{\"id\": \"m-blank\", \"text\": \"  \\n \"}",
            "chat: the visitor's post has no text",
        ),
    ] {
        let (status, answer) = post_raw(&client, &serve, german_conv, german_token, body).await;
        assert_eq!(status, 202, "{answer}");
        serve
            .eventually(&format!("a dead letter saying {words}"), async || {
                store
                    .dead_letters(true)
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|l| l.inbound.is_some() && l.error.contains(words))
            })
            .await;
    }
    let (status, answer) = status_and_json(
        client
            .post(serve.url("/hooks/site"))
            .header("x-weft-chat-conversation", german_conv.as_str())
            .body(json!({"id": "m-sneak", "text": "Ich schreibe in fremde Gespräche."}).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("chat: visitor messages are taken only at /chat/site/messages"),
        "{answer}"
    );
    let response = client
        .post(serve.url("/chat/shop/messages"))
        .query(&[("conversation", german_conv.as_str())])
        .header("x-weft-chat-token", german_token.as_str())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    serve.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    chat_over_weft_serve(&db, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_on_postgres() {
    let Some(db) = common::postgres_database("chat").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    chat_over_weft_serve(&db, dir.path()).await;
}

/// Where chromium and chromedriver are, installing Debian's packages when they are missing;
/// None (after a loud SKIPPED) when they cannot be had.
fn chromium() -> Option<(String, String)> {
    let find = |names: &[&str]| {
        names.iter().find_map(|name| {
            let output = std::process::Command::new("which").arg(name).output().ok()?;
            output
                .status
                .success()
                .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        })
    };
    let found = || Some((find(&["chromium", "chromium-browser"])?, find(&["chromedriver"])?));
    if let Some(both) = found() {
        return Some(both);
    }
    eprintln!("chromium or chromedriver missing: installing Debian's `chromium` and `chromium-driver`");
    let installed = std::process::Command::new("apt-get")
        .args([
            "install",
            "-y",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ])
        .status()
        .is_ok_and(|s| s.success());
    match found() {
        Some(both) => Some(both),
        None => {
            eprintln!(
                "SKIPPED widget_in_chromium: no chromium and chromedriver (apt-get install {}); \
                 install the Debian packages `chromium` and `chromium-driver` to run it",
                if installed { "ran but found none" } else { "failed" }
            );
            None
        }
    }
}

/// chromedriver on a port of its own, killed (by its pid) when dropped.
struct Driver {
    child: std::process::Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver command (W3C WebDriver over HTTP, as chromedriver speaks it): its `value`.
async fn webdriver(client: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let (status, answer) = status_and_json(request.send().await.unwrap()).await;
    assert_eq!(status, 200, "WebDriver {url}: {answer}");
    answer["value"].clone()
}

/// Runs `script` in the page; what it returns.
async fn in_page(client: &reqwest::Client, session: &str, script: &str) -> Value {
    webdriver(
        client,
        reqwest::Method::POST,
        &format!("{session}/execute/sync"),
        Some(json!({ "script": script, "args": [] })),
    )
    .await
}

/// The key of an element reference in WebDriver's answers (W3C WebDriver, "web element
/// identifier").
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The element `css` once the page has it.
async fn element(serve: &Serve, client: &reqwest::Client, session: &str, css: &str) -> String {
    serve
        .eventually(&format!("{css} on the page"), async || {
            let answer = client
                .post(format!("{session}/element"))
                .json(&json!({ "using": "css selector", "value": css }))
                .send()
                .await
                .unwrap();
            if !answer.status().is_success() {
                return None;
            }
            let value: Value = answer.json().await.unwrap();
            value["value"][ELEMENT].as_str().map(str::to_owned)
        })
        .await
}

/// A shop's page with the one script tag, in headless Chromium: the visitor types, the agent's
/// reply (Arabic, so shown right to left) appears. The mount's id is the channel's name
/// (`chat`), so the reply finds its conversation by the ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_in_chromium() {
    let Some((browser, chromedriver)) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let serve = Serve::start(dir.path(), &db, CHANNELS, &SECRETS);
    let store = Store::open(&db).await.unwrap();
    let agent = agent_token(&db);

    // The shop's page, on an origin of its own: nothing but the one tag the seller pastes.
    let page = format!(
        "<!doctype html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Schuhladen Müller</title></head>\
         <body><h1>Schuhladen Müller</h1>\
         <script src=\"{}/chat/chat/widget.js\" async></script></body></html>",
        serve.base
    );
    let shop = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(page) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop_url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, shop).await.unwrap() });

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Driver {
        child: std::process::Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromedriver"),
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    serve
        .eventually("chromedriver ready", async || {
            let answer = client.get(format!("{}/status", driver.base)).send().await.ok()?;
            let status: Value = answer.json().await.ok()?;
            status["value"]["ready"].as_bool().filter(|ready| *ready)
        })
        .await;
    let capabilities = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
        "binary": browser,
        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=de-DE"],
    }}}});
    let created = webdriver(
        &client,
        reqwest::Method::POST,
        &format!("{}/session", driver.base),
        Some(capabilities),
    )
    .await;
    let session = format!("{}/session/{}", driver.base, created["sessionId"].as_str().unwrap());
    webdriver(
        &client,
        reqwest::Method::POST,
        &format!("{session}/url"),
        Some(json!({ "url": shop_url })),
    )
    .await;

    let open = element(&serve, &client, &session, "#weft-chat-open").await;
    webdriver(
        &client,
        reqwest::Method::POST,
        &format!("{session}/element/{open}/click"),
        Some(json!({})),
    )
    .await;
    let input = element(&serve, &client, &session, "#weft-chat-input").await;
    let text = "Hallo! Wo ist mein Paket? Größe 42 — شكراً";
    webdriver(
        &client,
        reqwest::Method::POST,
        &format!("{session}/element/{input}/value"),
        Some(json!({ "text": text })),
    )
    .await;
    let send = element(&serve, &client, &session, "#weft-chat-send").await;
    webdriver(
        &client,
        reqwest::Method::POST,
        &format!("{session}/element/{send}/click"),
        Some(json!({})),
    )
    .await;

    // The visitor's message, confirmed by the stream once it is on a ticket.
    let id = serve
        .eventually("the visitor's message confirmed in the widget", async || {
            let found = in_page(
                &client,
                &session,
                "var n = document.querySelector('.weft-chat-msg[data-direction=in]:not(.pending)'); \
                 return n ? [n.id, n.textContent] : null;",
            )
            .await;
            let found = found.as_array()?;
            Some((found[0].as_str()?.to_owned(), found[1].as_str()?.to_owned()))
        })
        .await;
    assert_eq!(id.1, text);
    let message_id = id.0.strip_prefix("weft-chat-").unwrap().to_owned();
    let ticket = serve.ticket_of(&store, &message_id).await;
    let message = stored(&serve, &store, &message_id).await;
    assert_eq!((message.channel.as_str(), message.body.as_str()), ("chat", text));

    let reply = "شكراً لك! سيصل طردك غداً.";
    serve.reply(&client, &agent, ticket, reply).await;
    let shown = serve
        .eventually("the agent's reply in the widget", async || {
            let found = in_page(
                &client,
                &session,
                "var n = document.querySelector('.weft-chat-msg[data-direction=out]'); \
                 return n ? [n.textContent, getComputedStyle(n).direction] : null;",
            )
            .await;
            let found = found.as_array()?;
            Some((found[0].as_str()?.to_owned(), found[1].as_str()?.to_owned()))
        })
        .await;
    assert_eq!(
        shown,
        (reply.to_owned(), "rtl".to_owned()),
        "Arabic is shown right to left"
    );
    // The German text stays left to right.
    let direction = in_page(
        &client,
        &session,
        "return getComputedStyle(document.querySelector('.weft-chat-msg[data-direction=in]')).direction;",
    )
    .await;
    assert_eq!(direction, "ltr");
    webdriver(&client, reqwest::Method::DELETE, &session, None).await;
    drop(driver);
    serve.stop();
}
