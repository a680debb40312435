//! eBay end to end: the real `weft serve` on `127.0.0.1:0` with the real ebay plugin, and a
//! local server on `127.0.0.1:0` that speaks eBay's wire format (`common/ebay.rs`): the OAuth token endpoint
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

use base64::Engine as _;
use common::ebay::*;
use common::serve::{Serve, weft};
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{Value, json};
use sha1::Digest as _;
use std::sync::{Arc, Mutex};
use weft::store::Store;
use weft::store::outbox::OutboxState;

fn channels(port: u16) -> String {
    format!("version: 1\nchannels:\n{}", mount("ebay-de", port))
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
            let found = common::all_events(&store).await;
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
            let prices: Vec<Value> = common::all_events(&store)
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
