//! `weft serve` as an integrator runs it: the real binary on `127.0.0.1:0`, real plugins, a
//! real store (SQLite, and PostgreSQL when `WEFT_TEST_POSTGRES` is set), a real HTTP client.
//! Webhooks signed and forged, too large, unknown, repeated and malformed; a deadline breached
//! while the server runs; SIGTERM under load; `weft validate --channels`.

mod common;

use hmac::Mac;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weft::store::Store;

const SECRET: &str = "geheim-秘密-سر";
/// The body limit the tests serve with.
const MAX_BODY: usize = 64 * 1024;
/// How many refused requests a hook keeps as dead letters in the tests.
const MAX_REFUSED: usize = 3;
/// How long a poll waits for something the server does in the background.
const PATIENCE: Duration = Duration::from_secs(120);

const CHANNELS: &str = "\
version: 1
channels:
  # Integrators' own system: signed with X-Weft-Signature.
  - id: shop
    uses: json
    with: { signature_secret: shop_signing }
    allow: { secrets: [shop_signing] }
  # No signature; lines without a channel are chat.
  - id: open
    uses: json
    with: { default_channel: chat }
  # Names a secret the channels file does not grant it.
  - id: ungranted
    uses: json
    with: { signature_secret: shop_signing }
";

fn root() -> &'static Path {
    weft_test_support::workspace_root()
}

/// A running `weft serve`, stopped (killed) when dropped.
struct Serve {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path, db: &str) -> Serve {
        let channels = dir.join("channels.yaml");
        std::fs::write(&channels, CHANNELS).unwrap();
        let log = dir.join(format!("serve-{}.log", std::process::id()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
            .arg("--workflows")
            .arg(root().join("workflows"))
            .arg("--channels")
            .arg(&channels)
            .arg("--plugins")
            .arg(weft_test_support::plugins_dir())
            .arg("--models")
            .arg(dir.join("no-models"))
            .args(["--max-body-bytes", &MAX_BODY.to_string()])
            .args(["--max-refused-per-hook", &MAX_REFUSED.to_string()])
            .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"))
            .env("WEFT_SECRET_SHOP_SIGNING", SECRET)
            .env("WEFT_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start weft serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let base = match line.trim().strip_prefix("listening on ") {
            Some(base) => base.to_owned(),
            None => panic!(
                "weft serve printed {line:?}; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        };
        assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"), "{base}");
        Serve { child, base, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Sends SIGTERM and waits for the exit, which must be a success.
    fn stop(mut self) -> String {
        self.terminate();
        let status = self.child.wait().unwrap();
        let log = self.log();
        assert!(status.success(), "weft serve exited with {status}; its log:\n{log}");
        log
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sign(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn line(id: &str, channel: &str, name: &str, email: &str, body: &str, lang: &str) -> String {
    serde_json::json!({
        "channel": channel, "id": id, "at": now(), "lang": lang, "body": body,
        "from": { "name": name, "email": email },
    })
    .to_string()
}

/// The status, and the body as JSON (or as a string when it is not JSON).
async fn post(client: &reqwest::Client, url: &str, body: &str, signature: Option<&str>) -> (u16, serde_json::Value) {
    let mut request = client
        .post(url)
        .header("content-type", "application/x-ndjson")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("X-Weft-Signature", signature);
    }
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().await.expect("get");
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Polls `check` on the store until it gives a value or [`PATIENCE`] runs out.
async fn eventually<T>(serve: &Serve, what: &str, store: &Store, mut check: impl AsyncFnMut(&Store) -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check(store).await {
            return value;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{what} did not happen; the server's log:\n{}",
            serve.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Message ids on tickets, as many times as they are there.
async fn ticket_messages(store: &Store) -> Vec<String> {
    let tickets = store.export_tickets().await.unwrap();
    tickets
        .iter()
        .flat_map(|t| t["messages"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect()
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

async fn webhooks(db: &str, dir: &Path) {
    let serve = Serve::start(dir, db);
    let client = reqwest::Client::new();
    let store = Store::open(db).await.unwrap();

    let (status, body) = get(&client, &serve.url("/healthz")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&client, &serve.url("/readyz")).await;
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["channels"], serde_json::json!(["shop", "open", "ungranted"]));
    assert_eq!(ready["workflows"], serde_json::json!(["escalation", "inbound"]));

    // Forged: no signature, a wrong one, one for another body. 401, the body kept once as a
    // dead letter with the first reason, never parsed.
    let forged = line("forged-1", "shop", "Mallory", "m@example.com", "Refund me", "en");
    for signature in [None, Some("sha256=00".to_owned()), Some(sign(b"something else"))] {
        let (status, body) = post(&client, &serve.url("/hooks/shop"), &forged, signature.as_deref()).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "unauthenticated", "{body}");
        assert_eq!(body["error"]["details"]["hook"], "shop", "{body}");
    }
    let refused = store.dead_letters(true).await.unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].error.starts_with("/hooks/shop: refused by channel json: ")
            && refused[0].error.contains("the X-Weft-Signature header is missing"),
        "{}",
        refused[0].error
    );
    // Junk on a public hook: kept up to the cap of open refusals, then only counted.
    for n in 0..MAX_REFUSED {
        let junk = format!("{{\"junk\": {n}, \"text\": \"Müll — ゴミ\"}}");
        let (status, body) = post(&client, &serve.url("/hooks/shop"), &junk, Some("sha256=00")).await;
        assert_eq!(status, 401, "{body}");
    }
    assert_eq!(store.dead_letters(true).await.unwrap().len(), MAX_REFUSED);
    // Unknown hook: 404, whatever the body.
    let (status, body) = post(&client, &serve.url("/hooks/nope"), "{}", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unknown_hook")),
        "{body}"
    );
    // Too large: 413 before the channel sees it.
    let big = "x".repeat(MAX_BODY + 1);
    let (status, body) = post(&client, &serve.url("/hooks/shop"), &big, Some(&sign(big.as_bytes()))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    // A secret the channels file does not grant: the channel cannot check, and says what to add.
    let (status, body) = post(
        &client,
        &serve.url("/hooks/ungranted"),
        &forged,
        Some(&sign(forged.as_bytes())),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("add `allow: { secrets: [shop_signing] }` to channel `ungranted` in the channels file"),
        "{message}"
    );

    // Signed messages in seven languages, two of them in one delivery.
    let lines = [
        line(
            "de-1",
            "shop",
            "Jürgen Groß",
            "juergen@example.de",
            "Wo bleibt meine Bestellung? Die Lieferung ist überfällig.",
            "de",
        ),
        line(
            "fr-1",
            "shop",
            "Zoé Lefèvre",
            "zoe@example.fr",
            "Où est ma commande ? Je l’attends depuis une semaine.",
            "fr",
        ),
        line(
            "es-1",
            "shop",
            "Begoña Muñoz",
            "begona@example.es",
            "¿Dónde está mi pedido? Quiero una devolución.",
            "es",
        ),
        line(
            "it-1",
            "shop",
            "Niccolò Rossi",
            "niccolo@example.it",
            "Dov'è il mio ordine? È già passata una settimana.",
            "it",
        ),
        line(
            "ja-1",
            "shop",
            "山田 花子",
            "hanako@example.jp",
            "注文した商品がまだ届きません。",
            "ja",
        ),
        line(
            "zh-1",
            "shop",
            "王 小明",
            "xiaoming@example.cn",
            "我的订单还没有到，请帮我查一下。",
            "zh",
        ),
    ];
    let rtl = line(
        "ar-1",
        "shop",
        "ليلى حداد",
        "layla@example.com",
        "أين طلبي؟ لم يصل بعد.",
        "ar",
    );
    let mut inbound_ids = Vec::new();
    for body in lines.iter().take(5) {
        let (status, answer) = post(&client, &serve.url("/hooks/shop"), body, Some(&sign(body.as_bytes()))).await;
        assert_eq!(status, 202, "{answer}");
        inbound_ids.push(answer["inbound"].as_i64().unwrap());
    }
    let two = format!("{}\n{rtl}\n", lines[5]);
    let (status, answer) = post(&client, &serve.url("/hooks/shop"), &two, Some(&sign(two.as_bytes()))).await;
    assert_eq!(status, 202, "{answer}");

    // The same delivery again (a vendor's retry): acknowledged, kept once.
    let (status, answer) = post(
        &client,
        &serve.url("/hooks/shop"),
        &lines[0],
        Some(&sign(lines[0].as_bytes())),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["duplicate"].as_bool(), answer["inbound"].as_i64()),
        (Some(true), Some(inbound_ids[0]))
    );
    // The same message in another delivery (other bytes, same message id): processed once.
    let again = format!("{}\n", lines[0]);
    let (status, answer) = post(
        &client,
        &serve.url("/hooks/shop"),
        &again,
        Some(&sign(again.as_bytes())),
    )
    .await;
    assert_eq!(status, 202, "{answer}");

    // Authentic but malformed: acknowledged, then kept as a dead letter with its reason.
    let malformed = r#"{"channel":"shop","id":"bad-1","at":"gestern"}"#;
    let (status, answer) = post(
        &client,
        &serve.url("/hooks/shop"),
        malformed,
        Some(&sign(malformed.as_bytes())),
    )
    .await;
    assert_eq!(status, 202, "{answer}");

    // The open hook: no signature needed; its `with:` gives lines without a channel `chat`.
    let chat = serde_json::json!({"id": "chat-1", "at": now(), "body": "Hallo, ist mein Paket unterwegs?", "from": {"name": "Anna Schmidt", "email": "anna@example.de"}}).to_string();
    let (status, answer) = post(&client, &serve.url("/hooks/open"), &chat, None).await;
    assert_eq!(status, 202, "{answer}");

    let expected = ["de-1", "fr-1", "es-1", "it-1", "ja-1", "zh-1", "ar-1", "chat-1"];
    let on_tickets = eventually(&serve, "every message on a ticket", &store, async |store| {
        let ids = ticket_messages(store).await;
        expected.iter().all(|e| ids.iter().any(|i| i == e)).then_some(ids)
    })
    .await;
    assert_eq!(on_tickets.iter().filter(|i| *i == "de-1").count(), 1, "{on_tickets:?}");
    assert!(!on_tickets.iter().any(|i| i == "forged-1"), "{on_tickets:?}");
    let letter = eventually(&serve, "the malformed webhook dead-lettered", &store, async |store| {
        let letters = store.dead_letters(true).await.unwrap();
        letters.into_iter().find(|l| !l.error.contains("refused by channel"))
    })
    .await;
    assert!(
        letter.error.contains("/hooks/shop:1: `at` is not an RFC 3339 time"),
        "{}",
        letter.error
    );
    assert_eq!(letter.plugin.as_deref(), Some("json"));
    let tickets = store.export_tickets().await.unwrap();
    let chat_ticket = tickets
        .iter()
        .find(|t| t["messages"].as_array().unwrap().iter().any(|m| m == "chat-1"))
        .unwrap();
    assert!(
        !chat_ticket["deadlines"].as_array().unwrap().is_empty(),
        "{chat_ticket}"
    );

    // Subscription checks go through the channel.
    let (status, body) = get(
        &client,
        &serve.url("/hooks/open?challenge=pr%C3%BCfung-%E7%A2%BA%E8%AA%8D"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "prüfung-確認"));
    let (status, body) = get(&client, &serve.url("/hooks/open")).await;
    assert_eq!(status, 405, "{body}");

    let (status, text) = get(&client, &serve.url("/metrics")).await;
    assert_eq!(status, 200);
    let counted = [
        (
            r#"weft_webhooks_rejected_total{channel="shop",reason="unauthenticated"}"#,
            (3 + MAX_REFUSED) as f64,
        ),
        (
            r#"weft_webhooks_rejected_total{channel="shop",reason="refused_not_kept"}"#,
            1.0,
        ),
        (
            r#"weft_webhooks_rejected_total{channel="shop",reason="too_large"}"#,
            1.0,
        ),
        (
            r#"weft_webhooks_rejected_total{channel="_unknown",reason="unknown_hook"}"#,
            1.0,
        ),
        (
            r#"weft_webhooks_rejected_total{channel="ungranted",reason="channel_unavailable"}"#,
            1.0,
        ),
        (r#"weft_webhooks_accepted_total{channel="shop"}"#, 8.0),
        (r#"weft_webhooks_duplicate_total{channel="shop"}"#, 1.0),
        (r#"weft_webhooks_accepted_total{channel="open"}"#, 1.0),
        // The malformed one, and the refused ones kept.
        (
            r#"weft_webhooks_dead_lettered_total{channel="shop"}"#,
            1.0 + MAX_REFUSED as f64,
        ),
        ("weft_messages_parsed_total", 8.0),
    ];
    for (series, value) in counted {
        assert_eq!(metric(&text, series), value, "{series} in\n{text}");
    }
    assert!(metric(&text, "weft_events_processed_total") >= 8.0, "{text}");
    assert!(text.contains("# TYPE weft_queue_depth gauge"), "{text}");

    let log = serve.stop();
    assert!(log.contains("webhook refused"), "{log}");
    assert!(log.contains("the X-Weft-Signature header is missing"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    webhooks(&db, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_on_postgres() {
    let Some(db) = common::postgres_database("serve_webhooks").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    webhooks(&db, dir.path()).await;
}

/// A first answer due a few seconds after the message arrives is breached while the server
/// runs: nobody runs a command, the timer row fires and the escalation workflow acts on it.
#[tokio::test(flavor = "multi_thread")]
async fn deadlines_fall_due_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let serve = Serve::start(dir.path(), &db);
    let client = reqwest::Client::new();
    // Amazon's 24-hour clock, for a message written 24 hours less 5 seconds ago.
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(24 * 3600 - 5);
    let body = serde_json::json!({
        "channel": "amazon", "id": "amz-1", "at": at.to_string(), "order": "302-1234567-7654321",
        "body": "Où est mon colis ? Il devait arriver hier.", "lang": "fr",
        "from": { "name": "Pierre Dubois", "buyer_id": "A2B3C4D5" },
    })
    .to_string();
    let (status, answer) = post(&client, &serve.url("/hooks/open"), &body, None).await;
    assert_eq!(status, 202, "{answer}");
    let store = Store::open(&db).await.unwrap();
    let ticket = eventually(&serve, "the first response deadline breached", &store, async |store| {
        let tickets = store.export_tickets().await.unwrap();
        tickets.into_iter().find(|t| {
            t["deadlines"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["kind"] == "first-response" && d["state"] == "breached")
        })
    })
    .await;
    assert_eq!(ticket["messages"], serde_json::json!(["amz-1"]));
    let ticket = eventually(&serve, "the escalation of the breach", &store, async |store| {
        let tickets = store.export_tickets().await.unwrap();
        tickets.into_iter().find(|t| t["priority"] == "urgent")
    })
    .await;
    assert_eq!(ticket["assignee"], "marie", "{ticket}");
    let (_, text) = get(&client, &serve.url("/metrics")).await;
    // The breach at least (and the warnings before it).
    assert!(metric(&text, "weft_timers_fired_total") >= 1.0, "{text}");
    serve.stop();
}

/// SIGTERM while clients post as fast as they can: every webhook that got a 2xx is a message
/// on a ticket once the process has exited (with 0).
async fn shutdown_under_load(db: &str, dir: &Path) {
    let serve = Serve::start(dir, db);
    let client = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for sender in 0..6 {
        let (client, url, acknowledged) = (client.clone(), serve.url("/hooks/shop"), Arc::clone(&acknowledged));
        senders.push(tokio::spawn(async move {
            for n in 0..2_000 {
                let id = format!("load-{sender}-{n}");
                let body = line(
                    &id,
                    "shop",
                    &format!("Kundin {sender}-{n}"),
                    &format!("k{sender}x{n}@example.de"),
                    "Wo ist mein Paket?",
                    "de",
                );
                let sent = client
                    .post(&url)
                    .header("X-Weft-Signature", sign(body.as_bytes()))
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => acknowledged.lock().unwrap().push(id),
                    Ok(response) => panic!("{id}: {}", response.status()),
                    // The server stopped accepting.
                    Err(_) => return,
                }
            }
        }));
    }
    let start = Instant::now();
    while acknowledged.lock().unwrap().len() < 60 {
        assert!(start.elapsed() < PATIENCE, "too few acknowledged:\n{}", serve.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    serve.terminate();
    for sender in senders {
        sender.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let log = serve.stop();
    let store = Store::open(db).await.unwrap();
    let stored: BTreeSet<String> = ticket_messages(&store).await.into_iter().collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged are not on tickets: {lost:?}\n{log}",
        lost.len(),
        acknowledged.len()
    );
    eprintln!(
        "{} webhooks acknowledged before and during shutdown, all on tickets",
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_under_load_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    shutdown_under_load(&db, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_under_load_on_postgres() {
    let Some(db) = common::postgres_database("serve_shutdown").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    shutdown_under_load(&db, dir.path()).await;
}

#[test]
fn validate_reports_a_broken_channels_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("channels.yaml");
    std::fs::write(
        &file,
        "version: 1\nchannels:\n  - id: shop-de\n    uses: jsno\n  - id: shop-de\n    uses: json\n    with: { default_chanel: chat }\n    allow: { secrets: [shop_signing], hosts: [a.example] }\n",
    )
    .unwrap();
    let run = |channels: &Path| {
        Command::new(env!("CARGO_BIN_EXE_weft"))
            .arg("validate")
            .arg("--channels")
            .arg(channels)
            .arg("--plugins")
            .arg(weft_test_support::plugins_dir())
            .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"))
            .output()
            .unwrap()
    };
    let output = run(&file);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let name = file.display().to_string();
    let expected = [
        format!(
            "{name}:4:11: unknown plugin `jsno` in channel `shop-de` (did you mean `json`?), expected one of the channel plugins: amazon, carriers, chat, ebay, email, json, meta, shopify, twilio, walmart"
        ),
        format!("{name}:5:9: duplicate hook id `shop-de`, first defined at line 3"),
        format!(
            "{name}:7:13: unknown key `default_chanel` in `with:` of channel `shop-de`, expected one of: default_channel, deliver_url, poll_url, signature_secret"
        ),
        format!("{name}:8:39: unknown key `hosts` in `allow` of channel `shop-de`, expected one of: http, secrets"),
        "4 problems in 1 file".to_owned(),
    ];
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected, "{stderr}");

    std::fs::write(&file, CHANNELS).unwrap();
    let output = run(&file);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "ok: 3 channels\n");
}
