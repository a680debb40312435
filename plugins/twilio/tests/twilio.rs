//! The twilio channel, natively: Twilio's published signature vectors, requests read as
//! messages, statuses and opt-outs, and replies against canned answers in Twilio's format.

use std::time::Duration;
use weft_plugin_twilio::{Config, Twilio, signature};
use weft_sdk::prelude::*;
use weft_sdk::testing::TestHost;

/// The parameters of Twilio's documented example request.
fn example_params(caller: &str) -> Vec<(String, String)> {
    [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", caller),
        ("Digits", "1234"),
        ("From", caller),
        ("To", "+18005551212"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec()
}

const EXAMPLE_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

#[test]
fn published_vectors() {
    // (url, params, signature): twilio.com/docs/usage/security, and the validator suite of
    // twilio/twilio-python (tests/unit/test_request_validator.py), token `12345`.
    let duplicate = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    /// A URL, the form parameters, the signature Twilio published for them.
    type Vector<'a> = (&'a str, Vec<(String, String)>, &'a str);
    let table: &[Vector] = &[
        (
            EXAMPLE_URL,
            example_params("+14158675310"),
            "GvWf1cFY/Q7PnoempGyD5oXAezc=",
        ),
        (
            EXAMPLE_URL,
            example_params("+14158675309"),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
        ),
        (EXAMPLE_URL, duplicate, "IK+Dwps556ElfBT0I3Rgjkr1wJU="),
        (
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            example_params("+14158675309"),
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
        ),
        (
            "http://mycompany.com:80/myapp.php?foo=1&bar=2",
            example_params("+14158675309"),
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
        ),
        (
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            example_params("+14158675309"),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
    ];
    for (url, params, expected) in table {
        assert_eq!(signature::sign("12345", url, params), *expected, "{url} {params:?}");
        assert!(signature::matches("12345", url, params, expected), "{url}");
        assert!(!signature::matches("54321", url, params, expected), "{url}");
    }
    // A request to a URL without a port is accepted when Twilio signed it with the default
    // port, and one to a URL with a port when Twilio signed it without (as Twilio's validators
    // do); any other port is another URL.
    let params = example_params("+14158675309");
    assert!(signature::matches(
        "12345",
        EXAMPLE_URL,
        &params,
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    ));
    assert!(signature::matches(
        "12345",
        "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
        &params,
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    ));
    assert!(signature::matches(
        "12345",
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        &params,
        "0ZXoZLH/DfblKGATFgpif+LLRf4="
    ));
    assert!(!signature::matches(
        "12345",
        "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
        &params,
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    ));
    assert!(!signature::matches("12345", EXAMPLE_URL, &params, "not base64 at all!"));
}

const TOKEN: &str = "weft-test-token-7f3a";
const HOOK_URL: &str = "https://support.example.com/hooks/sms";

fn config() -> Config {
    Config {
        public_url: Some(HOOK_URL.into()),
        api_base: Some("http://127.0.0.1:9".into()),
        ..Config::default()
    }
}

fn form(params: &[(&str, &str)]) -> Vec<u8> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    form.finish().into_bytes()
}

/// A request as Twilio posts it to `url`, signed with `token`.
fn signed(url: &str, token: &str, params: &[(&str, &str)]) -> Inbound {
    let pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Inbound {
        source: "/hooks/sms".into(),
        hook: Some("sms".into()),
        received_at: 1_796_000_000_000,
        content_type: Some("application/x-www-form-urlencoded; charset=UTF-8".into()),
        headers: vec![
            ("host".into(), "127.0.0.1:8080".into()),
            ("x-twilio-signature".into(), signature::sign(token, url, &pairs)),
        ],
        body: form(params),
    }
}

fn sms(from: &str, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ToCountry", "US".into()),
        ("SmsMessageSid", "SM0123456789abcdef0123456789abcdef".into()),
        ("NumMedia", "0".into()),
        ("SmsSid", "SM0123456789abcdef0123456789abcdef".into()),
        ("SmsStatus", "received".into()),
        ("Body", body.into()),
        ("To", "+14155550100".into()),
        ("NumSegments", "1".into()),
        ("MessageSid", "SM0123456789abcdef0123456789abcdef".into()),
        ("AccountSid", "AC00000000000000000000000000000000".into()),
        ("From", from.into()),
        ("ApiVersion", "2010-04-01".into()),
    ]
}

fn pairs<'a>(params: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    params.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn verify_accepts_twilio_and_refuses_the_rest() {
    let host = TestHost::new().with_secret("twilio_auth_token", TOKEN);
    let params = sms("+4915112345678", "Wo bleibt meine Bestellung? Grüße, Jürgen");
    let good = signed(HOOK_URL, TOKEN, &pairs(&params));
    assert_eq!(Twilio::verify(&good, &config(), &host), Ok(()));
    // Signed with the default port: Twilio's validators accept it, so does the channel.
    let with_port = signed("https://support.example.com:443/hooks/sms", TOKEN, &pairs(&params));
    assert_eq!(Twilio::verify(&with_port, &config(), &host), Ok(()));
    // Without `public_url`, the URL is the one the request names.
    let direct = signed("http://127.0.0.1:8080/hooks/sms", TOKEN, &pairs(&params));
    assert_eq!(Twilio::verify(&direct, &Config::default(), &host), Ok(()));

    let mut tampered = good.clone();
    tampered.body = form(&pairs(&sms(
        "+4915112345678",
        "Wo bleibt meine Bestellung? Grüße, Jurgen",
    )));
    let mut missing = good.clone();
    missing.headers.retain(|(k, _)| k != "x-twilio-signature");
    let table = [
        (tampered, "does not match"),
        (signed(HOOK_URL, "another-token", &pairs(&params)), "does not match"),
        (missing, "header is missing"),
        (
            signed("https://support.example.com/hooks/other", TOKEN, &pairs(&params)),
            "Twilio called another URL",
        ),
    ];
    for (inbound, expected) in table {
        let err = Twilio::verify(&inbound, &config(), &host).unwrap_err();
        assert!(
            matches!(&err, Error::Permanent(m) if m.starts_with("twilio: ") && m.contains(expected)),
            "{err}"
        );
    }
    // A token the mount is not granted is the configuration's fault, not Twilio's.
    let err = Twilio::verify(&good, &config(), &TestHost::new()).unwrap_err();
    assert!(matches!(err, Error::BadConfig(_)), "{err}");
}

#[test]
fn messages_in_every_script() {
    let table = [
        ("+4915112345678", "Wo bleibt meine Bestellung? Grüße, Jürgen"),
        ("+819012345678", "注文した商品がまだ届きません。"),
        ("+971501234567", "مرحبا، أين طلبي؟"),
        ("+33612345678", "Bonjour, où est ma commande ?"),
    ];
    for (from, body) in table {
        let inbound = signed(HOOK_URL, TOKEN, &pairs(&sms(from, body)));
        let messages = Twilio::parse(&inbound, &config()).unwrap();
        assert_eq!(messages.len(), 1);
        let message = &messages[0];
        assert_eq!(message.channel, "sms");
        assert_eq!(message.id, "SM0123456789abcdef0123456789abcdef");
        assert_eq!(message.body, body);
        assert_eq!(message.from.phone.as_deref(), Some(from));
        assert_eq!(message.thread.as_deref(), Some(format!("{from}|+14155550100").as_str()));
        assert_eq!(message.at, 1_796_000_000_000);
        assert_eq!(Twilio::notices(&inbound, &config()), Ok(vec![]));
    }
}

#[test]
fn pictures_are_attachments() {
    let mut params = sms("+4915112345678", "");
    params.retain(|(k, _)| *k != "NumMedia");
    params.extend([
        ("NumMedia", "2".to_owned()),
        (
            "MediaUrl0",
            "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1".to_owned(),
        ),
        ("MediaContentType0", "image/jpeg".to_owned()),
        (
            "MediaUrl1",
            "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME2".to_owned(),
        ),
        ("MediaContentType1", "image/png".to_owned()),
    ]);
    let messages = Twilio::parse(&signed(HOOK_URL, TOKEN, &pairs(&params)), &config()).unwrap();
    let attachments = &messages[0].attachments;
    assert_eq!(
        attachments
            .iter()
            .map(|a| (
                a.content_type.as_str(),
                a.filename.as_deref().unwrap_or("").ends_with("ME1")
            ))
            .collect::<Vec<_>>(),
        [("image/jpeg", true), ("image/png", false)]
    );
}

#[test]
fn stop_and_start() {
    /// The body, extra parameters, and whether it opts out (true), back in (false) or neither.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Option<bool>);
    let table: &[Case] = &[
        ("STOP", &[], Some(true)),
        ("  stop \n", &[], Some(true)),
        ("Unsubscribe.", &[], Some(true)),
        ("stopall", &[], Some(true)),
        ("quit", &[], Some(true)),
        ("START", &[], Some(false)),
        ("unstop", &[], Some(false)),
        ("Please stop sending me these", &[], None),
        ("Stopp", &[], None),
        // Twilio's Advanced Opt-Out says it itself, whatever the words.
        ("HALT", &[("OptOutType", "STOP")], Some(true)),
        ("ARRÊT", &[("OptOutType", "STOP")], Some(true)),
        ("weiter", &[("OptOutType", "START")], Some(false)),
        ("HELP", &[("OptOutType", "HELP")], None),
    ];
    for (body, extra, expected) in table {
        let base = sms("+4915112345678", "");
        let mut params = pairs(&base)
            .into_iter()
            .filter(|(k, _)| *k != "Body")
            .collect::<Vec<_>>();
        params.push(("Body", *body));
        params.extend_from_slice(extra);
        let inbound = signed(HOOK_URL, TOKEN, &params);
        // The message itself always lands on the ticket.
        assert_eq!(Twilio::parse(&inbound, &config()).unwrap()[0].body, *body);
        let notices = Twilio::notices(&inbound, &config()).unwrap();
        let got = notices.iter().find_map(|n| match n {
            Notice::Consent(c) => {
                assert_eq!(c.address, "+4915112345678");
                assert!(c.reason.contains("+14155550100"), "{}", c.reason);
                Some(c.opted_out)
            }
            Notice::DeliveryStatus(_) => None,
        });
        assert_eq!(got, *expected, "{body:?}");
    }
    // A seller's own words replace Twilio's defaults.
    let custom = Config {
        opt_out_keywords: Some(vec!["ABMELDEN".into()]),
        ..config()
    };
    let inbound = signed(HOOK_URL, TOKEN, &pairs(&sms("+4915112345678", "abmelden")));
    assert!(matches!(&Twilio::notices(&inbound, &custom).unwrap()[..], [Notice::Consent(c)] if c.opted_out));
    let inbound = signed(HOOK_URL, TOKEN, &pairs(&sms("+4915112345678", "STOP")));
    assert_eq!(Twilio::notices(&inbound, &custom), Ok(vec![]));
}

#[test]
fn status_callbacks() {
    let callback = |status: &str, extra: &[(&str, &str)]| {
        let mut params = vec![
            ("SmsSid", "SM00000000000000000000000000000001"),
            ("SmsStatus", status),
            ("MessageStatus", status),
            ("To", "+4915112345678"),
            ("MessageSid", "SM00000000000000000000000000000001"),
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("From", "+14155550100"),
            ("ApiVersion", "2010-04-01"),
        ];
        params.extend_from_slice(extra);
        signed(HOOK_URL, TOKEN, &params)
    };
    /// `MessageStatus`, extra parameters, the state and reason it means.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], DeliveryState, Option<&'a str>);
    let table: &[Case] = &[
        ("queued", &[], DeliveryState::Queued, None),
        ("sent", &[], DeliveryState::Sent, None),
        ("delivered", &[], DeliveryState::Delivered, None),
        ("read", &[], DeliveryState::Read, None),
        (
            "undelivered",
            &[("ErrorCode", "30007")],
            DeliveryState::Failed,
            Some("Twilio reports it undelivered, error 30007 (https://www.twilio.com/docs/errors/30007)"),
        ),
        (
            "failed",
            &[("ErrorCode", "30008"), ("ErrorMessage", "Unknown error")],
            DeliveryState::Failed,
            Some("Twilio reports it failed, error 30008: Unknown error (https://www.twilio.com/docs/errors/30008)"),
        ),
    ];
    for (status, extra, state, reason) in table {
        let inbound = callback(status, extra);
        assert_eq!(Twilio::parse(&inbound, &config()), Ok(vec![]), "{status}");
        let notices = Twilio::notices(&inbound, &config()).unwrap();
        assert_eq!(
            notices,
            [Notice::DeliveryStatus(DeliveryStatus {
                external_id: "SM00000000000000000000000000000001".into(),
                state: *state,
                at: 1_796_000_000_000,
                reason: reason.map(str::to_owned),
            })],
            "{status}"
        );
    }
    // 21610 in a callback is an opt-out of the recipient as well.
    let notices = Twilio::notices(&callback("failed", &[("ErrorCode", "21610")]), &config()).unwrap();
    assert!(
        matches!(&notices[..], [Notice::DeliveryStatus(_), Notice::Consent(c)] if c.opted_out && c.address == "+4915112345678"),
        "{notices:?}"
    );
    let err = Twilio::parse(&callback("teleported", &[]), &config()).unwrap_err();
    assert!(err.message().contains("\"teleported\""), "{err}");
}

#[test]
fn malformed_requests_say_what_is_wrong() {
    let table: &[(Option<&str>, &[u8], &str)] = &[
        (
            Some("application/x-www-form-urlencoded"),
            b"",
            "no `MessageSid` parameter (no form parameters at all)",
        ),
        (
            Some("application/x-www-form-urlencoded"),
            b"MessageSid=SM1&To=%2B14155550100&Body=hi",
            "no `From` parameter",
        ),
        (
            Some("application/json"),
            br#"{"MessageSid":"SM1"}"#,
            "is `application/json`, not a form",
        ),
        (
            None,
            b"MessageSid=SM1&From=%2B4915112345678&To=%2B14155550100&NumMedia=zwei",
            "`NumMedia` is \"zwei\"",
        ),
    ];
    for (kind, body, expected) in table {
        let inbound = Inbound {
            source: "/hooks/sms".into(),
            hook: Some("sms".into()),
            content_type: kind.map(str::to_owned),
            body: body.to_vec(),
            ..Inbound::default()
        };
        let err = Twilio::parse(&inbound, &config()).unwrap_err();
        assert!(
            matches!(&err, Error::Permanent(m) if m.starts_with("/hooks/sms: ") && m.contains(expected)),
            "{err}"
        );
    }
}

const MESSAGES_URL: &str = "http://127.0.0.1:9/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json";

fn sending_host() -> TestHost {
    TestHost::new()
        .with_secret("twilio_account_sid", "AC00000000000000000000000000000000")
        .with_secret("twilio_auth_token", TOKEN)
}

fn reply(body: &str) -> Outbound {
    Outbound {
        key: "ticket-7-reply-1".into(),
        to: "+4915112345678".into(),
        thread: Some("+4915112345678|+14155550100".into()),
        body: body.into(),
        lang: Some("de".into()),
        ..Outbound::default()
    }
}

fn twilio_error(status: u16, code: u32, message: &str) -> HttpResponse {
    HttpResponse::new(status).with_json(&serde_json::json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    }))
}

#[test]
fn replies_go_through_the_messages_api() {
    let body = "Ihr Paket kommt morgen. 明日届きます。 سيصل طلبك غدا";
    let host = sending_host().respond(
        "POST",
        MESSAGES_URL,
        HttpResponse::new(201).with_json(&serde_json::json!({
            "sid": "SM11111111111111111111111111111111", "status": "queued", "body": body,
        })),
    );
    let delivery = Twilio::deliver(&reply(body), &config(), &host).unwrap();
    assert_eq!(
        delivery.external_id.as_deref(),
        Some("SM11111111111111111111111111111111")
    );
    let request = &host.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.header("Authorization"),
        Some("Basic QUMwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDp3ZWZ0LXRlc3QtdG9rZW4tN2YzYQ==")
    );
    assert_eq!(
        request.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    let sent: Vec<(String, String)> = form_urlencoded::parse(&request.body).into_owned().collect();
    let field = |name: &str| sent.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(field("To"), Some("+4915112345678"));
    // From the number the buyer wrote to.
    assert_eq!(field("From"), Some("+14155550100"));
    assert_eq!(field("Body"), Some(body));
    assert_eq!(field("StatusCallback"), Some(HOOK_URL));

    // Without a conversation: the configured number, else the Messaging Service.
    let mut fresh = reply("Hallo");
    fresh.thread = None;
    for (config, expected) in [
        (
            Config {
                from: Some("+14155550199".into()),
                ..config()
            },
            ("From", "+14155550199"),
        ),
        (
            Config {
                messaging_service_sid: Some("MG00000000000000000000000000000000".into()),
                ..config()
            },
            ("MessagingServiceSid", "MG00000000000000000000000000000000"),
        ),
    ] {
        let host = sending_host().respond(
            "POST",
            MESSAGES_URL,
            HttpResponse::new(201).with_json(&serde_json::json!({"sid": "SM2"})),
        );
        Twilio::deliver(&fresh, &config, &host).unwrap();
        let sent: Vec<(String, String)> = form_urlencoded::parse(&host.requests()[0].body).into_owned().collect();
        assert!(
            sent.iter().any(|(k, v)| (k.as_str(), v.as_str()) == expected),
            "{sent:?}"
        );
    }
    let err = Twilio::deliver(&fresh, &config(), &sending_host()).unwrap_err();
    assert!(matches!(err, Error::BadConfig(_)), "{err}");
}

#[test]
fn twilio_refusals() {
    let table: &[(HttpResponse, Error)] = &[
        (
            twilio_error(429, 20429, "Too Many Requests").with_header("Retry-After", "17"),
            Error::retry_later(
                Duration::from_secs(17),
                "Twilio answered 429, error 20429: Too Many Requests (https://www.twilio.com/docs/errors/20429)",
            ),
        ),
        (
            HttpResponse::new(503).with_body("Service Unavailable"),
            Error::retryable("Twilio answered 503: Service Unavailable"),
        ),
        (
            twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"),
            Error::opted_out(
                "+4915112345678 has replied STOP to this sender: Twilio answered 400, error 21610: Attempt to send to \
                 unsubscribed recipient (https://www.twilio.com/docs/errors/21610)",
            ),
        ),
        (
            twilio_error(
                400,
                21211,
                "The 'To' number +4915112345678 is not a valid phone number.",
            ),
            Error::permanent(
                "Twilio answered 400, error 21211: The 'To' number +4915112345678 is not a valid phone number. \
                 (https://www.twilio.com/docs/errors/21211)",
            ),
        ),
        (
            twilio_error(401, 20003, "Authenticate"),
            Error::permanent(
                "Twilio answered 401, error 20003: Authenticate (https://www.twilio.com/docs/errors/20003)",
            ),
        ),
        (
            HttpResponse::new(500).with_body("oops"),
            Error::permanent(
                "Twilio answered 500: oops; the message may have been created all the same: check the Twilio console \
                 before sending it again",
            ),
        ),
    ];
    for (response, expected) in table {
        let host = sending_host().respond("POST", MESSAGES_URL, response.clone());
        assert_eq!(
            Twilio::deliver(&reply("Hallo"), &config(), &host).unwrap_err(),
            *expected
        );
    }
    // No answer at all: perhaps created, so not tried again by itself.
    let err = Twilio::deliver(&reply("Hallo"), &config(), &sending_host()).unwrap_err();
    assert!(
        matches!(&err, Error::Permanent(m) if m.contains("may have been created")),
        "{err}"
    );
}

#[test]
fn what_is_refused_before_sending() {
    let host = sending_host();
    // 1,600 characters go as one message (Twilio segments it); one more is refused here.
    let longest = "ü".repeat(1600);
    let ok = sending_host().respond(
        "POST",
        MESSAGES_URL,
        HttpResponse::new(201).with_json(&serde_json::json!({"sid": "SM3"})),
    );
    assert!(Twilio::deliver(&reply(&longest), &config(), &ok).is_ok());
    let table = [
        (reply(&"ü".repeat(1601)), "1601 characters long"),
        (reply("  "), "empty"),
        (
            Outbound {
                to: "lea@example.de".into(),
                ..reply("Hallo")
            },
            "not a phone number",
        ),
    ];
    for (outbound, expected) in table {
        let err = Twilio::deliver(&outbound, &config(), &host).unwrap_err();
        assert!(matches!(&err, Error::Permanent(m) if m.contains(expected)), "{err}");
    }
    assert!(host.requests().is_empty());
}

#[test]
fn configuration_checks() {
    let problems = |with: serde_json::Value| -> Vec<String> {
        weft_sdk::testing::check_channel_config::<Twilio>(&with)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert!(problems(serde_json::json!({"public_url": HOOK_URL, "from": "+14155550100"})).is_empty());
    assert_eq!(
        problems(serde_json::json!({"public_url": "support.example.com/hooks/sms"})),
        [
            "/public_url: `support.example.com/hooks/sms` is not an http or https URL, expected the URL Twilio calls, such as `https://support.example.com/hooks/sms`"
        ]
    );
    assert_eq!(
        problems(serde_json::json!({"from": "0151 1234"})),
        ["/from: `0151 1234` is not a phone number in E.164, expected `+` and 8 to 15 digits, such as `+14155550100`"]
    );
    assert_eq!(
        problems(serde_json::json!({"opt_out_keywords": ["STOP", "bitte nicht"]})),
        ["/opt_out_keywords/1: a keyword is one word, expected a word such as `STOP`"]
    );
}
