//! Outbound mail: rendering, threading, RFC 3834 refusals, marketplace relays, the relay's
//! answers; and mail from the seller's own addresses read as outbound.

use weft_plugin_email::{Config, Email, parse_mail};
use weft_sdk::prelude::*;
use weft_sdk::testing::TestHost;

fn config() -> Config {
    serde_json::from_value(serde_json::json!({
        "from": "Laden Müller <support@shop.example>",
        "own_addresses": ["@shop.example", "verkauf@mueller-handel.de"],
        "relay_senders": { "amazon": "amazon-seller@shop.example" },
        "message_id_domain": "mail.shop.example"
    }))
    .unwrap()
}

fn inbound(raw: &str) -> Inbound {
    Inbound {
        source: "new/1.eml".into(),
        hook: Some("support".into()),
        body: raw.replace('\n', "\r\n").into_bytes(),
        ..Inbound::default()
    }
}

const BUYER: &str = "From: Jürgen Groß <juergen@example.de>
To: support@shop.example
Subject: =?UTF-8?Q?Wo_ist_mein_Paket=3F?=
Date: Mon, 7 Dec 2026 10:00:00 +0100
Message-ID: <b2@example.de>
In-Reply-To: <b1@example.de>
References: <root@example.de> <b1@example.de>
Content-Type: text/plain; charset=utf-8

Hallo, wo bleibt meine Bestellung?
";

fn reply_to(raw: &str, automatic: bool) -> Outbound {
    Outbound {
        key: "reply:7:v3".into(),
        to: "juergen@example.de".into(),
        subject: None,
        body: "Grüße aus Köln — お問い合わせありがとうございます — شكرا لك".into(),
        lang: Some("de".into()),
        automatic,
        replying_to: Some(inbound(raw)),
        ..Outbound::default()
    }
}

/// The header fields of a rendered mail, as parsed back.
fn reparse(bytes: &[u8]) -> Message {
    parse_mail(bytes, &Config::default()).unwrap()
}

#[test]
fn a_reply_threads_and_keeps_its_unicode() {
    let host = TestHost::new();
    let delivery = Email::deliver(&reply_to(BUYER, false), &config(), &host).unwrap();
    let id = delivery.external_id.unwrap();
    assert!(id.starts_with("weft.") && id.ends_with("@mail.shop.example"), "{id}");
    let sent = host.submitted();
    assert_eq!(sent.len(), 1);
    let (envelope, bytes) = &sent[0];
    assert_eq!(envelope.sender, "support@shop.example");
    assert_eq!(envelope.recipients, ["juergen@example.de"]);
    let text = String::from_utf8_lossy(bytes);
    assert!(text.contains(&format!("Message-ID: <{id}>")), "{text}");
    assert!(text.contains("In-Reply-To: <b2@example.de>"), "{text}");
    assert!(!text.contains("Auto-Submitted"), "{text}");
    // Every header line is ASCII: the subject and name are RFC 2047 encoded words.
    let head = text.split("\r\n\r\n").next().unwrap();
    assert!(head.is_ascii(), "{head}");
    let back = reparse(bytes);
    assert_eq!(back.id, id);
    assert_eq!(back.subject.as_deref(), Some("Re: Wo ist mein Paket?"));
    assert_eq!(back.body, "Grüße aus Köln — お問い合わせありがとうございます — شكرا لك");
    // Nearest first: In-Reply-To, then References from the newest.
    assert_eq!(back.replies_to, ["b2@example.de", "b1@example.de", "root@example.de"]);
    assert_eq!(back.from.name.as_deref(), Some("Laden Müller"));
    // The same key is the same Message-ID.
    let again = Email::deliver(&reply_to(BUYER, false), &config(), &host).unwrap();
    assert_eq!(again.external_id.as_deref(), Some(id.as_str()));
}

#[test]
fn automatic_mail_is_marked_and_refused_where_rfc_3834_says() {
    let host = TestHost::new();
    Email::deliver(&reply_to(BUYER, true), &config(), &host).unwrap();
    let text = String::from_utf8_lossy(&host.submitted()[0].1).into_owned();
    assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");

    // (header added to the buyer's mail, what the refusal names)
    let table = [
        ("Auto-Submitted: auto-replied", "auto-submitted"),
        (
            "Auto-Submitted: auto-generated; owner-email=\"x@y.example\"",
            "auto-submitted",
        ),
        ("Return-Path: <>", "return path is empty"),
        ("List-Id: Käufer-Forum <forum.example.de>", "mailing list"),
        ("List-Unsubscribe: <mailto:leave@example.de>", "mailing list"),
        ("Precedence: bulk", "bulk mail"),
        ("Precedence: junk", "bulk mail"),
        ("X-Auto-Response-Suppress: OOF, AutoReply", "asks for none"),
    ];
    for (header, reason) in table {
        let raw = format!("{header}\n{BUYER}");
        let host = TestHost::new();
        let err = Email::deliver(&reply_to(&raw, true), &config(), &host).unwrap_err();
        assert!(
            matches!(&err, Error::Permanent(m) if m.contains(reason) && m.contains("RFC 3834") && m.contains("by hand")),
            "{header}: {err}"
        );
        assert!(host.submitted().is_empty(), "{header}");
        // An agent's own reply goes out all the same.
        Email::deliver(&reply_to(&raw, false), &config(), &host).unwrap();
        assert_eq!(host.submitted().len(), 1, "{header}");
    }
    // `Auto-Submitted: no` and `Precedence: first-class` are a person's mail.
    for header in ["Auto-Submitted: no", "Precedence: first-class"] {
        let raw = format!("{header}\n{BUYER}");
        Email::deliver(&reply_to(&raw, true), &config(), &TestHost::new()).unwrap();
    }
}

const AMAZON: &str = "From: \"Jane - Amazon Marketplace\" <6bmcx2l1t7cwrwb@marketplace.amazon.de>
To: amazon-seller@shop.example
Subject: Anfrage von Amazon-Kunde Jane (Bestellung: 302-1234567-7654321)
Date: Mon, 7 Dec 2026 09:00:00 +0000
Message-ID: <0102018c.amz@email.amazonses.com>
Content-Type: text/plain; charset=utf-8

Wann kommt mein Paket?
";

#[test]
fn relayed_mail_goes_back_to_the_relay_from_the_authorized_sender() {
    let host = TestHost::new();
    // The engine addresses the buyer by the relay's buyer id.
    let mut outbound = reply_to(AMAZON, false);
    outbound.to = "6bmcx2l1t7cwrwb".into();
    Email::deliver(&outbound, &config(), &host).unwrap();
    let (envelope, bytes) = &host.submitted()[0];
    assert_eq!(envelope.recipients, ["6bmcx2l1t7cwrwb@marketplace.amazon.de"]);
    assert_eq!(envelope.sender, "amazon-seller@shop.example");
    let text = String::from_utf8_lossy(bytes);
    assert!(
        text.contains("From: <amazon-seller@shop.example>") || text.contains("From: amazon-seller@shop.example"),
        "{text}"
    );
    assert!(
        text.contains("In-Reply-To: <0102018c.amz@email.amazonses.com>"),
        "{text}"
    );

    // Walmart relays too, and no sender is authorized for it here.
    let walmart = AMAZON.replace("6bmcx2l1t7cwrwb@marketplace.amazon.de", "c0ffee42@relay.walmart.com");
    let err = Email::deliver(&reply_to(&walmart, false), &config(), &TestHost::new()).unwrap_err();
    assert!(
        matches!(&err, Error::Permanent(m) if m.contains("walmart-relayed") && m.contains("relay_senders")),
        "{err}"
    );
}

#[test]
fn the_relays_answers_become_retries_and_refusals() {
    let host = TestHost::new().answer_mail(Err(SubmitError::Transient(
        "SMTP relay 127.0.0.1:25: transient error (451): 4.3.0 Try again later".into(),
    )));
    let err = Email::deliver(&reply_to(BUYER, false), &config(), &host).unwrap_err();
    assert!(matches!(&err, Error::Retryable(m) if m.contains("451")), "{err}");
    let host = TestHost::new().answer_mail(Err(SubmitError::Permanent(
        "SMTP relay 127.0.0.1:25: permanent error (550): 5.1.1 Postfach unbekannt".into(),
    )));
    let err = Email::deliver(&reply_to(BUYER, false), &config(), &host).unwrap_err();
    assert!(
        matches!(&err, Error::Permanent(m) if m.contains("5.1.1 Postfach unbekannt")),
        "{err}"
    );
}

#[test]
fn a_channel_without_a_sender_address_cannot_send() {
    let err = Email::deliver(&reply_to(BUYER, false), &Config::default(), &TestHost::new()).unwrap_err();
    assert!(
        matches!(&err, Error::BadConfig(m) if m.contains("`from` is not set")),
        "{err}"
    );
    let bad: Config = serde_json::from_value(serde_json::json!({
        "from": "nobody",
        "own_addresses": ["@", "ok@shop.example"],
        "relay_senders": { "amazon": "not an address" },
    }))
    .unwrap();
    let problems: Vec<String> = Email::check_config(&bad).iter().map(|p| p.pointer.clone()).collect();
    assert_eq!(problems, ["/from", "/own_addresses/0", "/relay_senders/amazon"]);
}

#[test]
fn mail_from_the_sellers_own_addresses_is_outbound_to_its_recipient() {
    // A copy of a reply sent from a mail program, to a buyer and to an Amazon relay alias.
    let table = [
        (
            "support@shop.example",
            "juergen@example.de",
            "email",
            Some("juergen@example.de"),
            None,
        ),
        (
            "verkauf@mueller-handel.de",
            "fatima@example.ae",
            "email",
            Some("fatima@example.ae"),
            None,
        ),
        (
            "amazon-seller@shop.example",
            "6bmcx2l1t7cwrwb@marketplace.amazon.de",
            "amazon",
            None,
            Some("6bmcx2l1t7cwrwb"),
        ),
    ];
    for (from, to, channel, email, buyer_id) in table {
        let raw = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: Re: Paket\r\nDate: Mon, 7 Dec 2026 11:00:00 +0100\r\nMessage-ID: <s1@shop.example>\r\n\r\nשלום, Ihr Paket ist unterwegs.\r\n"
        );
        let message = parse_mail(raw.as_bytes(), &config()).unwrap();
        assert_eq!(message.direction, Direction::Outbound, "{from}");
        assert_eq!(message.channel, channel, "{from}");
        assert_eq!(message.from.email.as_deref(), email, "{from}");
        assert_eq!(message.from.buyer_id.as_deref(), buyer_id, "{from}");
    }
    // The buyer's own mail stays inbound.
    let message = parse_mail(BUYER.as_bytes(), &config()).unwrap();
    assert_eq!(message.direction, Direction::Inbound);
}
