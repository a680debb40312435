//! The `example` channel, run natively against the SDK's test host: canned HTTP answers stand
//! in for the vendor, and every request the channel makes is checked.

use serde_json::json;
use weft_plugin_example::{Config, ExampleChannel, SIGNATURE_HEADER, sign};
use weft_sdk::prelude::*;
use weft_sdk::testing::{TestHost, channel_config};

const API: &str = "http://127.0.0.1:9";
const MESSAGES: &str = "http://127.0.0.1:9/v1/messages";

fn config() -> Config {
    channel_config::<ExampleChannel>(json!({
        "api_base": API,
        "signature_secret": "example_signing",
        "token_secret": "example_token",
    }))
    .unwrap()
}

fn host() -> TestHost {
    TestHost::new()
        .with_secret("example_signing", "geheim-秘密")
        .with_secret("example_token", "t0ken")
}

fn webhook(body: &str, signature: Option<String>) -> Inbound {
    Inbound {
        source: "/hooks/example".into(),
        hook: Some("example".into()),
        received_at: 1_796_000_000_000,
        content_type: Some("application/json".into()),
        headers: signature
            .map(|s| vec![(SIGNATURE_HEADER.to_lowercase(), s)])
            .unwrap_or_default(),
        body: body.as_bytes().to_vec(),
    }
}

fn reply() -> Outbound {
    Outbound {
        key: "ticket-7-reply-1".into(),
        to: "zoe@example.fr".into(),
        thread: Some("conv-9".into()),
        subject: None,
        body: "Votre colis arrive demain. 明日届きます。".into(),
        lang: Some("fr".into()),
        ..Default::default()
    }
}

#[test]
fn config_problems_name_their_key() {
    let problems = channel_config::<ExampleChannel>(json!({ "api_base": "api.example.com" })).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].pointer, "/api_base");
    let problems = channel_config::<ExampleChannel>(json!({ "api_base": API, "colour": "rot" })).unwrap_err();
    assert!(problems[0].message.contains("unknown field `colour`"), "{problems:?}");
}

#[test]
fn verify_checks_the_signature_over_the_raw_body() {
    let body = r#"{"id":"m-1","text":"Wo ist mein Paket?"}"#;
    let good = sign("geheim-秘密".as_bytes(), body.as_bytes());
    assert_eq!(
        ExampleChannel::verify(&webhook(body, Some(good.clone())), &config(), &host()),
        Ok(())
    );
    for (signature, why) in [
        (None, "missing"),
        (Some("sha256=zz".to_owned()), "not `sha256=<hex>`"),
        (Some(sign(b"another key", body.as_bytes())), "does not match"),
    ] {
        let error = ExampleChannel::verify(&webhook(body, signature), &config(), &host()).unwrap_err();
        assert!(matches!(&error, Error::Permanent(m) if m.contains(why)), "{error}");
    }
    // One byte more: no longer the body that was signed.
    let error = ExampleChannel::verify(&webhook(&format!("{body} "), Some(good)), &config(), &host()).unwrap_err();
    assert!(matches!(error, Error::Permanent(_)), "{error}");
    // A secret the host does not grant is the configuration's fault (503), not the sender's (401).
    let error = ExampleChannel::verify(&webhook(body, None), &config(), &TestHost::new()).unwrap_err();
    assert!(matches!(error, Error::BadConfig(_)), "{error}");
}

#[test]
fn parse_makes_one_message_per_webhook() {
    let body = json!({
        "id": "m-1", "conversation": "conv-9",
        "from": { "name": "محمد الأحمد", "email": "m@example.sa" },
        "text": "أين طلبي؟", "lang": "ar", "order": "1001",
    });
    let messages = ExampleChannel::parse(&webhook(&body.to_string(), None), &config()).unwrap();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!((message.channel.as_str(), message.id.as_str()), ("example", "m-1"));
    assert_eq!(message.thread.as_deref(), Some("conv-9"));
    assert_eq!(message.from.name.as_deref(), Some("محمد الأحمد"));
    assert_eq!(message.body, "أين طلبي؟");
    assert_eq!(message.order.as_deref(), Some("1001"));
    // No `sent_at`: when the engine received it.
    assert_eq!(message.at, 1_796_000_000_000);
    let error = ExampleChannel::parse(&webhook(r#"{"id":"m-2"}"#, None), &config()).unwrap_err();
    assert!(
        matches!(&error, Error::Permanent(m) if m.contains("missing field `text`")),
        "{error}"
    );
}

#[test]
fn deliver_posts_the_reply_with_token_and_idempotency_key() {
    let host = host().respond(
        "POST",
        MESSAGES,
        HttpResponse::new(201).with_json(&json!({ "id": "msg-42" })),
    );
    let delivery = ExampleChannel::deliver(&reply(), &config(), &host).unwrap();
    assert_eq!(delivery.external_id.as_deref(), Some("msg-42"));
    let requests = host.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.header("authorization"), Some("Bearer t0ken"));
    assert_eq!(request.header("idempotency-key"), Some("ticket-7-reply-1"));
    let sent: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(sent["conversation"], "conv-9");
    assert_eq!(sent["text"], "Votre colis arrive demain. 明日届きます。");
}

#[test]
fn deliver_says_whether_a_failure_is_worth_a_retry() {
    let host = host()
        .respond(
            "POST",
            MESSAGES,
            HttpResponse::new(429).with_header("Retry-After", "30"),
        )
        .respond("POST", MESSAGES, HttpResponse::new(503))
        .respond(
            "POST",
            MESSAGES,
            HttpResponse::new(422).with_json(&json!({ "error": "conversation closed" })),
        );
    let limited = ExampleChannel::deliver(&reply(), &config(), &host).unwrap_err();
    assert!(
        matches!(&limited, Error::RetryLater { after, reason } if after.as_secs() == 30 && reason.contains("HTTP 429, retry after 30s")),
        "{limited}"
    );
    let down = ExampleChannel::deliver(&reply(), &config(), &host).unwrap_err();
    assert!(matches!(down, Error::Retryable(_)), "{down}");
    let refused = ExampleChannel::deliver(&reply(), &config(), &host).unwrap_err();
    assert!(
        matches!(&refused, Error::Permanent(m) if m.contains("conversation closed")),
        "{refused}"
    );
    // Each attempt carried the same key, so the vendor can drop a repeat.
    assert!(
        host.requests()
            .iter()
            .all(|r| r.header("idempotency-key") == Some("ticket-7-reply-1"))
    );
    // No answer at all: retryable, and the reason says what was asked.
    let unreachable =
        ExampleChannel::deliver(&reply(), &config(), &TestHost::new().with_secret("example_token", "t")).unwrap_err();
    assert!(
        matches!(&unreachable, Error::Retryable(m) if m.contains("no canned response for POST")),
        "{unreachable}"
    );
}
