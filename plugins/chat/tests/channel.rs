//! The chat channel natively: posts only through weft's conversation check, signed identities
//! (the documented bytes, good and bad), messages in several scripts, replies.

use serde_json::json;
use weft_plugin_chat::identity::{sign, signed_text};
use weft_plugin_chat::{Chat, Config};
use weft_sdk::prelude::*;
use weft_sdk::testing::{TestHost, channel_config, check_channel_config};

const SECRET: &str = "geheim-سر-秘密";
const NOW: i64 = 1_765_000_000_000;

fn config() -> Config {
    channel_config::<Chat>(json!({ "identity_secret": "chat_identity", "identity_lifetime": "1h" })).unwrap()
}

fn host() -> TestHost {
    TestHost::new().with_secret("chat_identity", SECRET)
}

fn post(body: serde_json::Value) -> Inbound {
    Inbound {
        source: "/chat/site/messages".into(),
        hook: Some("site".into()),
        received_at: NOW,
        content_type: Some("application/json".into()),
        headers: vec![("x-weft-chat-conversation".into(), "c42".into())],
        body: body.to_string().into_bytes(),
    }
}

fn identity(hook: &str, email: &str, customer: &str, expires_s: i64, secret: &str) -> serde_json::Value {
    let signature = sign(secret.as_bytes(), &signed_text(hook, email, customer, "", expires_s));
    json!({ "email": email, "customer_id": customer, "expires": expires_s, "signature": signature })
}

#[test]
fn visitors_write_in_any_script() {
    for (lang, text) in [
        ("de", "Wo bleibt meine Bestellung? Größe 42."),
        ("fr", "Où est ma commande ? Merci d'avance."),
        ("es", "¿Dónde está mi pedido?"),
        ("it", "Dov'è il mio ordine? Perché è in ritardo?"),
        ("ja", "注文した靴がまだ届きません。"),
        ("zh", "我的订单什么时候到？"),
        ("ar", "مرحبا، أين طلبي؟"),
        ("he", "שלום, איפה ההזמנה שלי?"),
    ] {
        let inbound = post(json!({ "id": format!("m-{lang}"), "text": format!("  {text}\n"), "lang": lang }));
        Chat::verify(&inbound, &config(), &host()).unwrap();
        let messages = Chat::parse(&inbound, &config()).unwrap();
        let message = &messages[0];
        assert_eq!(message.channel, "chat");
        assert_eq!(message.id, format!("chat:c42:m-{lang}"));
        assert_eq!(message.thread.as_deref(), Some("c42"));
        assert_eq!(message.body, text);
        assert_eq!(message.lang.as_deref(), Some(lang));
        assert_eq!(message.at, NOW);
        assert_eq!(message.from.handle.as_deref(), Some("chat:c42"));
        assert_eq!(
            (message.from.email.as_ref(), message.from.buyer_id.as_ref()),
            (None, None)
        );
    }
}

#[test]
fn only_posts_through_the_conversation_check() {
    let mut inbound = post(json!({ "id": "m", "text": "Hallo" }));
    inbound.source = "/hooks/site".into();
    let error = Chat::verify(&inbound, &config(), &host()).unwrap_err();
    assert!(error.message().contains("taken only at /chat/site/messages"), "{error}");
    let mut inbound = post(json!({ "id": "m", "text": "Hallo" }));
    inbound.headers.clear();
    let error = Chat::verify(&inbound, &config(), &host()).unwrap_err();
    assert!(error.message().contains("no x-weft-chat-conversation"), "{error}");
}

#[test]
fn signed_identities_are_trusted_only_when_they_hold() {
    let expires = NOW / 1000 + 600;
    let good = identity("site", "anna@example.de", "kunde-4711", expires, SECRET);
    let inbound = post(json!({ "id": "m", "text": "Hallo", "identity": good }));
    Chat::verify(&inbound, &config(), &host()).unwrap();
    let message = &Chat::parse(&inbound, &config()).unwrap()[0];
    assert_eq!(message.from.email.as_deref(), Some("anna@example.de"));
    assert_eq!(message.from.buyer_id.as_deref(), Some("kunde-4711"));

    let mut tampered = good.clone();
    tampered["email"] = json!("eve@example.de");
    let mut no_hex = good.clone();
    no_hex["signature"] = json!("zz");
    let cases = [
        (
            identity("site", "anna@example.de", "", expires, "wrong"),
            "does not match",
        ),
        (
            identity("other", "anna@example.de", "", expires, SECRET),
            "does not match",
        ),
        (tampered, "does not match"),
        (no_hex, "not hexadecimal"),
        (
            identity("site", "anna@example.de", "", NOW / 1000 - 1, SECRET),
            "it expired 1 s ago",
        ),
        (
            identity("site", "anna@example.de", "", NOW / 1000, SECRET),
            "it expired 0 s ago",
        ),
        (
            identity("site", "anna@example.de", "", NOW / 1000 + 7200, SECRET),
            "identity_lifetime of 3600 s",
        ),
        (
            identity("site", "", "", expires, SECRET),
            "neither an email nor a customer id",
        ),
        (
            identity("site", "anna@example.de\nx", "", expires, SECRET),
            "line break",
        ),
    ];
    for (identity, words) in cases {
        let inbound = post(json!({ "id": "m", "text": "Hallo", "identity": identity }));
        let error = Chat::verify(&inbound, &config(), &host()).unwrap_err();
        assert!(matches!(error, Error::Permanent(_)), "{error:?}");
        assert!(
            error
                .message()
                .starts_with("chat: the visitor's signed identity is not trusted")
                && error.message().contains(words),
            "{words}: {error}"
        );
    }
    // A mount without a secret takes anonymous visitors only.
    let anonymous = channel_config::<Chat>(json!({})).unwrap();
    let inbound = post(json!({ "id": "m", "text": "Hallo", "identity": good }));
    let error = Chat::verify(&inbound, &anonymous, &TestHost::new()).unwrap_err();
    assert!(error.message().contains("no identity_secret"), "{error}");
}

#[test]
fn malformed_posts_are_refused_with_the_reason() {
    for (body, words) in [
        (b"{\"id\": \"m\", \"text\": \"Hal".to_vec(), "is not JSON"),
        (
            b"{\"text\": \"Hallo\"}".to_vec(),
            "does not have the shape of a visitor post",
        ),
        (
            b"{\"id\": \"m\", \"text\": \"Hallo\", \"extra\": 1}".to_vec(),
            "does not have the shape",
        ),
        (b"{\"id\": \"\", \"text\": \"Hallo\"}".to_vec(), "needs an `id`"),
        (b"{\"id\": \"m\", \"text\": \" \\n\"}".to_vec(), "has no text"),
        (
            format!("{{\"id\": \"m\", \"text\": \"{}\"}}", "あ".repeat(4001)).into_bytes(),
            "4001 characters",
        ),
    ] {
        let mut inbound = post(json!({}));
        inbound.body = body;
        // A body that is no post is verified (nothing to check) and dead-lettered by parse.
        Chat::verify(&inbound, &config(), &host()).unwrap();
        let error = Chat::parse(&inbound, &config()).unwrap_err();
        assert!(
            error.message().starts_with("chat: ") && error.message().contains(words),
            "{words}: {error}"
        );
    }
}

#[test]
fn replies_need_a_conversation() {
    let mut outbound = Outbound {
        key: "reply-1".into(),
        to: "chat:c42".into(),
        thread: Some("c42".into()),
        body: "Ihr Paket kommt morgen.".into(),
        lang: Some("de".into()),
        ..Default::default()
    };
    assert_eq!(Chat::deliver(&outbound, &config(), &host()).unwrap().external_id, None);
    outbound.thread = None;
    let error = Chat::deliver(&outbound, &config(), &host()).unwrap_err();
    assert!(error.message().contains("names no conversation"), "{error}");
}

#[test]
fn config_problems_are_named() {
    let problems = check_channel_config::<Chat>(&json!({ "identity_lifetime": "0s", "max_chars": 0 }));
    let pointers: Vec<_> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(pointers, ["/identity_lifetime", "/max_chars"], "{problems:?}");
}
