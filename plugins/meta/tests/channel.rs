//! The meta channel natively: published signature vectors and the test's own, the
//! subscription check, the webhook fixtures of `tests/fixtures` (Meta's `\u` escapes kept as
//! sent), the 24-hour window and the Graph API's answers. Against a real server through the
//! real runtime: `engine/tests/meta.rs`.

use serde_json::json;
use std::path::Path;
use std::time::Duration;
use weft_plugin_meta::send::{Permit, answer, permit};
use weft_plugin_meta::webhook::sign;
use weft_plugin_meta::{Config, Meta, whatsapp};
use weft_sdk::prelude::*;
use weft_sdk::testing::{TestHost, channel_config};

const HOUR: i64 = 3_600_000;
const APP_SECRET: &str = "app-secret-秘密-سر";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

fn config(with: serde_json::Value) -> Config {
    let mut base = json!({
        "platform": "messenger", "sender_id": "104578926130574", "app_secret": "meta_app_secret",
        "access_token": "meta_token", "verify_token": "meta_verify",
    });
    for (k, v) in with.as_object().unwrap() {
        base[k] = v.clone();
    }
    channel_config::<Meta>(base).unwrap()
}

fn test_host(secret: &str) -> TestHost {
    TestHost::new()
        .with_secret("meta_app_secret", secret)
        .with_secret("meta_token", "EAAG-page-token")
        .with_secret("meta_verify", "verify-me-تحقق")
}

fn signed(body: &[u8], header: Option<String>) -> Inbound {
    Inbound {
        source: "/hooks/fb".into(),
        hook: Some("fb".into()),
        received_at: 0,
        content_type: Some("application/json".into()),
        headers: header
            .map(|h| ("x-hub-signature-256".to_owned(), h))
            .into_iter()
            .collect(),
        body: body.to_vec(),
    }
}

#[test]
fn published_vectors_and_our_own_secret_verify() {
    // (app secret, body, signature): CHANNELS.md vector 2 (WhatsApp's Node.js SDK tests),
    // vector 2b (the same scheme in GitHub's docs), then the test's own secret over a body
    // with Meta's `\u` escapes.
    let own = fixture("messenger_batch.json");
    let own_signature = sign(APP_SECRET.as_bytes(), &own);
    let vectors: [(&str, &[u8], &str); 3] = [
        (
            "TEST_APP_SECRET",
            b"test",
            "sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221",
        ),
        (
            "It's a Secret to Everybody",
            b"Hello, World!",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ),
        (APP_SECRET, &own, &own_signature),
    ];
    for (secret, body, signature) in vectors {
        assert_eq!(sign(secret.as_bytes(), body), signature);
        let inbound = signed(body, Some(signature.to_owned()));
        Meta::verify(&inbound, &config(json!({})), &test_host(secret)).unwrap();
    }
}

#[test]
fn tampered_unsigned_and_wrongly_signed_webhooks_fail_saying_why() {
    let body = fixture("whatsapp_batch.json");
    let good = sign(APP_SECRET.as_bytes(), &body);
    let mut tampered = body.clone();
    tampered[40] ^= 1;
    let wa = config(json!({"platform": "whatsapp", "sender_id": "106540352242922"}));
    // (body, header, secret the channel has, words of the error)
    let cases: [(&[u8], Option<String>, &str, &str); 6] = [
        (&tampered, Some(good.clone()), APP_SECRET, "does not match the body"),
        (&body, Some(good.clone()), "another-secret", "does not match the body"),
        (&body, None, APP_SECRET, "header is missing"),
        (
            &body,
            Some(good.replace("sha256=", "sha1=")),
            APP_SECRET,
            "does not start with `sha256=`",
        ),
        (&body, Some("sha256=zz".into()), APP_SECRET, "not hexadecimal"),
        (
            &body,
            Some("sha256=".to_owned() + &"0".repeat(64)),
            APP_SECRET,
            "does not match the body",
        ),
    ];
    for (body, header, secret, words) in cases {
        let error = Meta::verify(&signed(body, header.clone()), &wa, &test_host(secret)).unwrap_err();
        let Error::Permanent(message) = &error else {
            panic!("{error:?}")
        };
        assert!(message.starts_with("whatsapp webhook refused: "), "{message}");
        assert!(
            message.contains("X-Hub-Signature-256") && message.contains(words),
            "{header:?}: {message}"
        );
    }
    // A secret the mount was not granted is the configuration's fault: 503, not 401.
    let error = Meta::verify(&signed(&body, Some(good)), &wa, &TestHost::new()).unwrap_err();
    assert!(matches!(error, Error::BadConfig(_)), "{error:?}");
}

#[test]
fn the_subscription_check_answers_the_challenge_only_for_the_verify_token() {
    let check = |query: &[(&str, &str)]| {
        let request = HandshakeRequest {
            hook: "fb".into(),
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..HandshakeRequest::default()
        };
        Meta::handshake(&request, &config(json!({})), &test_host(APP_SECRET)).unwrap()
    };
    let token = "verify-me-تحقق";
    let ok = check(&[
        ("hub.mode", "subscribe"),
        ("hub.verify_token", token),
        ("hub.challenge", "1158201444"),
    ])
    .unwrap();
    assert_eq!((ok.status, ok.body.as_slice()), (200, b"1158201444".as_slice()));
    for (query, words) in [
        (
            vec![
                ("hub.mode", "subscribe"),
                ("hub.verify_token", "guess"),
                ("hub.challenge", "1"),
            ],
            "not the verify token",
        ),
        (
            vec![
                ("hub.mode", "unsubscribe"),
                ("hub.verify_token", token),
                ("hub.challenge", "1"),
            ],
            "not `subscribe`",
        ),
        (
            vec![("hub.mode", "subscribe"), ("hub.challenge", "1")],
            "hub.verify_token is missing",
        ),
        (
            vec![("hub.mode", "subscribe"), ("hub.verify_token", token)],
            "hub.challenge is missing",
        ),
    ] {
        let answer = check(&query).unwrap();
        let text = String::from_utf8(answer.body).unwrap();
        assert_eq!(answer.status, 403, "{query:?}");
        assert!(text.starts_with("messenger: ") && text.contains(words), "{text}");
    }
    assert_eq!(check(&[("challenge", "1")]), None);
}

fn parse(platform: &str, fixture_name: &str) -> Vec<Message> {
    let config = config(json!({"platform": platform}));
    Meta::parse(&signed(&fixture(fixture_name), None), &config).unwrap()
}

#[test]
fn messenger_batches_standby_echoes_and_attachments() {
    let messages = parse("messenger", "messenger_batch.json");
    let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    // Read and delivery receipts are no messages; weft's own echo is on its ticket already.
    assert_eq!(ids, ["m_AR1", "m_ECHO_SUITE", "m_JA1", "m_PB1"]);
    let [arabic, suite, japanese, postback] = &messages[..] else {
        unreachable!()
    };
    assert_eq!(arabic.body, "مرحبا، أين طلبي رقم 1042؟");
    assert_eq!(arabic.channel, "messenger");
    assert_eq!(arabic.at, 1_765_099_990_000);
    assert_eq!(arabic.from.buyer_id.as_deref(), Some("7390012345678901"));
    assert_eq!(arabic.thread.as_deref(), Some("104578926130574/7390012345678901"));
    assert_eq!(arabic.direction, Direction::Inbound);
    // An echo of a reply typed in Meta Business Suite: the seller's, in the buyer's conversation.
    assert_eq!(suite.direction, Direction::Outbound);
    assert_eq!(suite.thread, arabic.thread);
    assert_eq!(suite.body, "Ihre Bestellung ist unterwegs. 您的订单已发货。");
    assert_eq!(suite.from, Party::default());
    // From the standby channel of the handover protocol: kept all the same.
    assert_eq!(japanese.body, "注文した靴のサイズを交換できますか？");
    assert_eq!(japanese.replies_to, ["m_EARLIER"]);
    let kinds: Vec<(&str, Option<&str>)> = japanese
        .attachments
        .iter()
        .map(|a| (a.content_type.as_str(), a.filename.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [("image/*", None), ("application/octet-stream", Some("receipt.pdf"))]
    );
    assert_eq!(postback.body, "Sprechen Sie mit einer Person");
    assert_eq!(postback.from.buyer_id.as_deref(), Some("7390098765432109"));
}

#[test]
fn instagram_messages_and_echoes_in_one_field() {
    let messages = parse("instagram", "instagram_echo.json");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].body, "¿Dónde está mi pedido? 我的包裹在哪里？");
    assert_eq!(messages[0].channel, "instagram");
    assert_eq!(messages[1].direction, Direction::Outbound);
    assert_eq!(messages[1].thread.as_deref(), Some("17841400000000001/IGSID-9912"));
}

#[test]
fn whatsapp_text_choices_media_and_statuses() {
    let messages = parse("whatsapp", "whatsapp_batch.json");
    let seen: Vec<(&str, &str)> = messages.iter().map(|m| (m.id.as_str(), m.body.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("wamid.ZH1", "你好，我的订单什么时候到？"),
            ("wamid.AR2", "استرداد المبلغ"),
            ("wamid.AR3", "サイズ 42"),
            ("wamid.ZH4", "包裹破了"),
            ("wamid.ZH5", ""),
        ]
    );
    let first = &messages[0];
    assert_eq!(first.at, 1_765_099_990_000);
    assert_eq!(first.from.name.as_deref(), Some("王芳"));
    assert_eq!(first.from.phone.as_deref(), Some("+8613800138000"));
    assert_eq!(first.from.buyer_id.as_deref(), Some("8613800138000"));
    assert_eq!(first.thread.as_deref(), Some("106540352242922/8613800138000"));
    assert_eq!(messages[1].from.name.as_deref(), Some("فاطمة"));
    assert_eq!(messages[1].replies_to, ["wamid.OUT1"]);
    assert_eq!(messages[3].attachments[0].content_type, "image/jpeg");
    assert_eq!(messages[4].attachments[0].filename.as_deref(), Some("发票.pdf"));

    let statuses = whatsapp::statuses(&fixture("whatsapp_batch.json")).unwrap();
    assert_eq!(statuses.len(), 2);
    assert_eq!(
        (statuses[0].status.as_str(), statuses[0].reason.as_deref()),
        ("delivered", None)
    );
    let failed = &statuses[1];
    assert_eq!(
        (failed.message_id.as_str(), failed.at),
        ("wamid.OUT2", 1_765_099_997_000)
    );
    assert!(
        failed.reason.as_deref().unwrap().contains("more than 24 hours")
            && failed.reason.as_deref().unwrap().ends_with("(code 131047)")
    );
}

#[test]
fn malformed_and_misrouted_bodies_fail_naming_the_channel() {
    // (platform, body, words of the error)
    let cases: [(&str, &[u8], &str); 5] = [
        ("whatsapp", b"{\"object\":\"whatsapp_business_account\",\"entry\":[", "whatsapp webhook: the body is not JSON"),
        ("messenger", b"not json at all", "messenger webhook: the body is not JSON"),
        ("instagram", br#"{"object":"page","entry":[]}"#, "instagram webhook: `object` is `page`, expected `instagram`"),
        ("messenger", br#"{"object":"page","entry":[{"messaging":[{"sender":{}}]}]}"#, "messenger webhook: the body is not the webhook format"),
        (
            "whatsapp",
            br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"w1","from":"1","timestamp":"soon","type":"text","text":{"body":"x"}}]}}]}]}"#,
            "message w1 has the timestamp \"soon\"",
        ),
    ];
    for (platform, body, words) in cases {
        let error = Meta::parse(&signed(body, None), &config(json!({"platform": platform}))).unwrap_err();
        let Error::Permanent(message) = &error else {
            panic!("{error:?}")
        };
        assert!(message.contains(words), "{platform}: {message}");
    }
}

#[test]
fn the_window_decides_before_anything_is_sent() {
    let now = 1_765_100_000_000;
    let template = json!({"name": "order_update", "language": "ar"});
    // (with:, hours since the buyer last wrote (None: never), permit or words of the refusal);
    // a person's reply, unless the case says `automatic`.
    let cases: Vec<(serde_json::Value, Option<i64>, Result<Permit, &str>)> = vec![
        (json!({}), Some(0), Ok(Permit::Response)),
        (json!({}), Some(24), Ok(Permit::Response)),
        (
            json!({}),
            Some(25),
            Err("outside Meta's 24-hour window a free-form reply is refused; `human_agent: true`"),
        ),
        (
            json!({}),
            Some(24 * 8),
            Err("the buyer last wrote 8 days ago (2025-11-29T09:33:20Z)"),
        ),
        (json!({}), None, Err("the buyer has not written on messenger")),
        (json!({"human_agent": true}), Some(25), Ok(Permit::HumanAgent)),
        (json!({"human_agent": true}), Some(24 * 7), Ok(Permit::HumanAgent)),
        (
            json!({"human_agent": true}),
            Some(24 * 7 + 1),
            Err("7 days only, and they have passed"),
        ),
        (
            json!({"human_agent": true, "automatic": true}),
            Some(25),
            Err("the human-agent tag is for a person's reply, and this one is automatic"),
        ),
        (
            json!({"human_agent": true, "automatic": true}),
            Some(23),
            Ok(Permit::Response),
        ),
        (
            json!({"platform": "instagram", "human_agent": true}),
            Some(30),
            Ok(Permit::HumanAgent),
        ),
        (json!({"platform": "whatsapp"}), Some(23), Ok(Permit::Response)),
        (
            json!({"platform": "whatsapp"}),
            Some(30),
            Err("only an approved template may be sent, and this channel's `with:` names no `template`"),
        ),
        (
            json!({"platform": "whatsapp"}),
            None,
            Err("or with an approved template"),
        ),
        (
            json!({"platform": "whatsapp", "template": template}),
            Some(30),
            Ok(Permit::Template),
        ),
        (
            json!({"platform": "whatsapp", "template": template}),
            None,
            Ok(Permit::Template),
        ),
        (
            json!({"platform": "whatsapp", "template": template}),
            Some(1),
            Ok(Permit::Response),
        ),
    ];
    for (mut with, hours, expected) in cases {
        let automatic = with.as_object_mut().unwrap().remove("automatic").is_some();
        let config = config(with.clone());
        let got = permit(&config, hours.map(|h| now - h * HOUR), automatic, now);
        match (&got, &expected) {
            (Ok(got), Ok(expected)) => assert_eq!(got, expected, "{with} {hours:?}"),
            (Err(reason), Err(words)) => {
                assert!(reason.contains(words), "{with} {hours:?}: {reason}");
                assert!(reason.contains("the reply was not sent"), "{reason}");
            }
            _ => panic!("{with} {hours:?}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn graph_answers_are_delivered_retried_or_refused_with_metas_words() {
    let error = |status: u16, code: i64, message: &str| {
        HttpResponse::new(status).with_json(&json!({"error": {
            "message": message, "type": "OAuthException", "code": code, "error_subcode": 2018278, "fbtrace_id": "AbC-xyz"
        }}))
    };
    enum Want {
        Delivered(&'static str),
        Retry(Option<u64>),
        Refused(&'static str),
    }
    let cases = [
        (HttpResponse::new(200).with_json(&json!({"recipient_id": "739", "message_id": "m_OUT"})), Want::Delivered("m_OUT")),
        (
            HttpResponse::new(200).with_json(&json!({"messaging_product": "whatsapp", "contacts": [{"input": "86", "wa_id": "86"}], "messages": [{"id": "wamid.OUT"}]})),
            Want::Delivered("wamid.OUT"),
        ),
        (
            error(400, 10, "(#10) This message is sent outside of allowed window."),
            Want::Refused("(HTTP 400): (#10) This message is sent outside of allowed window. (type OAuthException, code 10, subcode 2018278, fbtrace_id AbC-xyz)"),
        ),
        (error(400, 551, "(#551) Cette personne n'est pas disponible"), Want::Refused("Cette personne n'est pas disponible")),
        (error(401, 190, "Invalid OAuth access token."), Want::Refused("Invalid OAuth access token.")),
        (error(400, 613, "Calls to this api have exceeded the rate limit."), Want::Retry(None)),
        (error(400, 131056, "(#131056) Pair rate limit hit"), Want::Retry(None)),
        (error(429, 130429, "Rate limit hit").with_header("Retry-After", "30"), Want::Retry(Some(30))),
        (error(500, 2, "Service temporarily unavailable"), Want::Retry(None)),
        (HttpResponse::new(502).with_body("<html>Bad Gateway</html>"), Want::Retry(None)),
        (HttpResponse::new(404).with_body("no such page"), Want::Refused("no such page")),
    ];
    for (response, want) in cases {
        let got = answer("instagram", &response);
        match (got, want) {
            (Ok(delivery), Want::Delivered(id)) => assert_eq!(delivery.external_id.as_deref(), Some(id)),
            (Err(Error::Permanent(reason)), Want::Refused(words)) => {
                assert!(
                    reason.starts_with("instagram: the Graph API refused the reply"),
                    "{reason}"
                );
                assert!(reason.contains(words), "{reason}");
            }
            (Err(Error::Retryable(reason)), Want::Retry(None)) => assert!(reason.contains("Graph API"), "{reason}"),
            (Err(Error::RetryLater { after, .. }), Want::Retry(Some(seconds))) => {
                assert_eq!(after, Duration::from_secs(seconds))
            }
            (got, _) => panic!("{} {:?}: got {got:?}", response.status, response.text()),
        }
    }
}

#[test]
fn deliver_sends_the_documented_requests() {
    let now = jiff::Timestamp::now().as_millisecond();
    let reply = |to: &str, hours: i64| Outbound {
        key: "reply:7:v3".into(),
        to: to.into(),
        body: "شكراً! 明日発送します。".into(),
        last_inbound_at: Some(now - hours * HOUR),
        ..Default::default()
    };
    // Messenger with the human-agent tag on day 3.
    let url = "https://graph.facebook.com/v25.0/104578926130574/messages";
    let host = test_host(APP_SECRET).respond(
        "POST",
        url,
        HttpResponse::new(200).with_json(&json!({"recipient_id": "739", "message_id": "m_1"})),
    );
    let delivery = Meta::deliver(&reply("739", 50), &config(json!({"human_agent": true})), &host).unwrap();
    assert_eq!(delivery.external_id.as_deref(), Some("m_1"));
    let sent = &host.requests()[0];
    assert!(
        sent.headers
            .contains(&("Authorization".into(), "Bearer EAAG-page-token".into()))
    );
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        body,
        json!({"recipient": {"id": "739"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
               "message": {"text": "شكراً! 明日発送します。", "metadata": "weft:reply:7:v3"}})
    );

    // WhatsApp outside the window: the template, with the reply as its parameter.
    let wa = config(
        json!({"platform": "whatsapp", "sender_id": "106540352242922", "graph_url": "http://127.0.0.1:9",
        "template": {"name": "order_update", "language": "ar", "parameters": ["#1042", "{body}"]}}),
    );
    let url = "http://127.0.0.1:9/v25.0/106540352242922/messages";
    let host = test_host(APP_SECRET).respond(
        "POST",
        url,
        HttpResponse::new(200).with_json(&json!({"messages": [{"id": "wamid.T"}]})),
    );
    Meta::deliver(&reply("971501234567", 30), &wa, &host).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&host.requests()[0].body).unwrap();
    assert_eq!(body["type"], "template");
    assert_eq!(body["template"]["language"]["code"], "ar");
    assert_eq!(
        body["template"]["components"][0]["parameters"][1]["text"],
        "شكراً! 明日発送します。"
    );

    // Refused before sending: no request leaves. (reply, with:, words of the refusal)
    let long = |n: usize| Outbound {
        body: "ü".repeat(n),
        ..reply("739", 1)
    };
    let cases = [
        (reply("739", 30), json!({}), "24-hour window"),
        (
            long(2001),
            json!({}),
            "its text is 2001 characters long, and messenger takes at most 2000",
        ),
        (
            long(1001),
            json!({"platform": "instagram"}),
            "instagram takes at most 1000",
        ),
        (
            long(4097),
            json!({"platform": "whatsapp"}),
            "whatsapp takes at most 4096",
        ),
        (
            Outbound {
                body: " \n ".into(),
                ..reply("739", 1)
            },
            json!({}),
            "its text is empty",
        ),
    ];
    for (outbound, with, words) in cases {
        let host = test_host(APP_SECRET);
        let error = Meta::deliver(&outbound, &config(with), &host).unwrap_err();
        assert!(
            matches!(&error, Error::Permanent(m) if m.contains(words) && m.contains("the reply was not sent")),
            "{error:?}"
        );
        assert!(host.requests().is_empty());
    }
    // The longest text each takes goes out.
    for (n, with) in [
        (2000, json!({})),
        (1000, json!({"platform": "instagram"})),
        (4096, json!({"platform": "whatsapp"})),
    ] {
        let config = config(with);
        let host = test_host(APP_SECRET).respond(
            "POST",
            &config.messages_url(),
            HttpResponse::new(200).with_json(&json!({"message_id": "m"})),
        );
        Meta::deliver(&long(n), &config, &host).unwrap();
        assert_eq!(host.requests().len(), 1);
    }
}

#[test]
fn configurations_that_cannot_work_are_refused_when_the_file_loads() {
    let base = json!({"sender_id": "1", "app_secret": "a", "access_token": "t", "verify_token": "v"});
    let with = |extra: serde_json::Value| {
        let mut with = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            with[k] = v.clone();
        }
        weft_sdk::testing::check_channel_config::<Meta>(&with)
            .into_iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
    };
    assert!(with(json!({"platform": "messenger"})).is_empty());
    let problems = with(
        json!({"platform": "whatsapp", "human_agent": true, "api_version": "25", "template": {"name": "", "language": "en"}}),
    );
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with("/api_version: `25` is not a Graph API version"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("/human_agent: whatsapp has no human-agent tag"),
        "{problems:?}"
    );
    assert!(problems[2].starts_with("/template/name"), "{problems:?}");
    let problems = with(
        json!({"platform": "instagram", "template": {"name": "x", "language": "en"}, "graph_url": "graph.facebook.com"}),
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(with(json!({"platform": "telegram"}))[0].contains("unknown variant `telegram`"));
}

#[test]
fn every_prefix_and_corruption_of_every_fixture_parses_or_fails_cleanly() {
    for (platform, name) in [
        ("messenger", "messenger_batch.json"),
        ("instagram", "instagram_echo.json"),
        ("whatsapp", "whatsapp_batch.json"),
    ] {
        let config = config(json!({"platform": platform}));
        let raw = fixture(name);
        for len in 0..=raw.len() {
            let _ = Meta::parse(&signed(&raw[..len], None), &config);
        }
        // Deterministic corruptions: one byte at a time set to something JSON cares about.
        for (i, nasty) in (0..raw.len())
            .step_by(7)
            .zip([b'"', b'{', b']', b'\\', 0xff, b'0', b',', b'-'].iter().cycle())
        {
            let mut bad = raw.clone();
            bad[i] = *nasty;
            if let Err(error) = Meta::parse(&signed(&bad, None), &config) {
                assert!(matches!(error, Error::Permanent(_)), "{error:?}");
                assert!(error.message().starts_with(&format!("{platform} webhook")), "{error:?}");
            }
        }
    }
}
