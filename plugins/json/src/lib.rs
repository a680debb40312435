//! The `json` channel: one normalized message per line, for integrators and tests.
//!
//! Each line is an object with `channel`, `id` and `at` (RFC 3339), and optionally `thread`,
//! `from {name, email, phone, handle, buyer_id}`, `address {line1, line2, city, postcode,
//! region, country}`, `order`, `subject`, `body`, `lang`, `marketplace`, `replies_to`,
//! `direction` (`inbound`, the default, or `outbound` for a reply the seller sent) and
//! `automatic` (`true` for an auto-acknowledgement or an out-of-office answer).
//! Blank lines are skipped. A bad line fails the whole batch with its line number, so that
//! nothing is half-imported; the engine then parses the batch again line by line and keeps
//! only the bad lines for replay. When the engine hands over a large file in chunks, the
//! inbound header `weft-first-line` says which line of the file a chunk starts on, and lines
//! are numbered from there. Each line is checked for UTF-8 on its own, so a bad byte names its
//! line and column.
//!
//! As a webhook channel (`weft serve`, mounted in the channels file), it checks a generic
//! signature for integrators' own systems when `signature_secret` names a secret granted to the
//! mount: `X-Weft-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, compared in constant
//! time. A `GET` on the hook with `?challenge=TEXT` answers `TEXT`, so a system can check the
//! URL before it sends anything.
//!
//! Besides messages, a line can be an order or a shipment update, which the engine keeps and
//! raises as events (`order.placed`, `order.updated`, `order.cancelled`, `shipment.updated`):
//! `{"order": ORDER, "change": "placed"}` (ORDER as a line of `weft import orders`, with
//! `status`, `updated_at`, `lines` and `total` when known; `change` is `placed` by default,
//! `updated` or `cancelled`), and `{"shipment": {"carrier", "tracking_number", "status",
//! "at", "order", "channel", "estimated_delivery", "detail"}}` (`status` one of `pending`,
//! `in_transit`, `out_for_delivery`, `delivered`, `exception`, `returned`).
//!
//! Mounted with `poll:` in the channels file and `poll_url` set, it is polled: each poll GETs
//! the URL (with `cursor=` the last cursor the feed gave, from the second poll on) and reads
//! its body as lines; the `Weft-Cursor` header of the answer is where the next poll starts.
//! 408, 429 and 5xx are tried again later (not before `Retry-After`), other statuses fail
//! the poll with the feed's reason; either way the cursor stays where it was.
//!
//! It delivers replies too, when `deliver_url` is set (its host granted to the mount in
//! `allow: { http: [...] }`): each outbound message is POSTed there as JSON,
//! `{"key", "to", "thread", "subject", "body", "lang"}`, signed the same way
//! (`X-Weft-Signature` over the raw body, with `signature_secret`), and with the message's key
//! as `Idempotency-Key`. The receiver must treat a key it has seen as the same message: a try
//! that timed out or got a 5xx is sent again with the same key. Its answer decides:
//! 2xx: delivered (with `id` or `message_id` of a JSON body as the id on the receiver's side);
//! 408, 429 and 5xx: tried again later, not before `Retry-After` when the answer has one
//! (seconds, or a date measured from the answer's own `Date`);
//! any other status: refused for good, with the reason the body gives (`error.message`,
//! `error`, `message` or `reason` of a JSON body, else its text) shown on the ticket.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use weft_sdk::prelude::*;

/// The header that carries the signature of a webhook's body.
pub const SIGNATURE_HEADER: &str = "X-Weft-Signature";
/// The header that carries an outbound message's key: the same key is the same message.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// How much of a refusal's body is kept as its reason.
const MAX_REASON_CHARS: usize = 500;

/// The channel.
pub struct JsonLines;

/// `with:` for the json channel.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The channel to assume for lines that leave `channel` empty. Example: `chat`.
    #[serde(default)]
    pub default_channel: Option<String>,
    /// The name of the secret that signs webhooks; it must be granted to the mount in the
    /// channels file (`allow: { secrets: [NAME] }`). With it set, every webhook must carry
    /// `X-Weft-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. Example:
    /// `signature_secret: shop_signing`
    #[serde(default)]
    pub signature_secret: Option<String>,
    /// Where replies are delivered: every outbound message is POSTed to this http(s) URL as
    /// JSON, signed with `signature_secret`. Its host must be granted to the mount
    /// (`allow: { http: [HOST] }`). Without it the channel delivers nothing. Example:
    /// `deliver_url: https://helpdesk.example.com/weft/replies`
    #[serde(default)]
    pub deliver_url: Option<String>,
    /// Where the channel is polled, when its mount sets `poll:` in the channels file: a GET
    /// to this http(s) URL (with `cursor=` the last cursor added to its query, after the
    /// first poll) answers lines as the webhook's body holds them, and the next cursor in the
    /// `Weft-Cursor` header. Its host must be granted to the mount (`allow: { http: [HOST] }`).
    /// Example: `poll_url: https://shop.example.com/weft/feed`
    #[serde(default)]
    pub poll_url: Option<String>,
}

/// One line as it is written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    channel: String,
    id: String,
    at: String,
    #[serde(default)]
    thread: Option<String>,
    #[serde(default)]
    from: Party,
    #[serde(default)]
    address: Option<Address>,
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    marketplace: Option<String>,
    #[serde(default)]
    replies_to: Vec<String>,
    #[serde(default)]
    direction: Direction,
    #[serde(default)]
    automatic: bool,
}

impl Channel for JsonLines {
    type Config = Config;
    const DESCRIPTION: &'static str = "one normalized message per line of JSON";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if let Some(channel) = &config.default_channel
            && channel.trim().is_empty()
        {
            problems.push(
                ConfigProblem::at(["default_channel"], "the default channel is blank")
                    .expected("a channel name such as `chat`"),
            );
        }
        if let Some(url) = &config.poll_url
            && let Err(problem) = deliver_host(url)
        {
            problems.push(
                ConfigProblem::at(["poll_url"], problem)
                    .expected("an http or https URL such as `https://shop.example.com/weft/feed`"),
            );
        }
        if let Some(url) = &config.deliver_url {
            if let Err(problem) = deliver_host(url) {
                problems.push(
                    ConfigProblem::at(["deliver_url"], problem)
                        .expected("an http or https URL such as `https://helpdesk.example.com/weft/replies`"),
                );
            }
            if config.signature_secret.is_none() {
                problems.push(
                    ConfigProblem::at(["deliver_url"], "replies are signed, but no `signature_secret` is set")
                        .expected("`signature_secret: NAME`, with NAME granted in `allow: { secrets: [NAME] }`"),
                );
            }
        }
        problems
    }

    fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
        let Some(url) = &config.deliver_url else {
            return Err(Error::permanent(
                "this json mount has no `deliver_url` in its `with:`, so it cannot deliver replies",
            ));
        };
        let Some(secret_name) = &config.signature_secret else {
            return Err(Error::bad_config(
                "`deliver_url` is set but no `signature_secret` signs replies",
            ));
        };
        let secret = host.secret(secret_name).map_err(Error::bad_config)?;
        let body = serde_json::to_vec(&serde_json::json!({
            "key": outbound.key,
            "to": outbound.to,
            "thread": outbound.thread,
            "subject": outbound.subject,
            "body": outbound.body,
            "lang": outbound.lang,
        }))
        .map_err(|e| Error::permanent(format!("the reply cannot be written as JSON: {e}")))?;
        let request = HttpRequest {
            method: "POST".into(),
            url: url.clone(),
            headers: vec![
                ("Content-Type".into(), "application/json; charset=utf-8".into()),
                (SIGNATURE_HEADER.into(), sign(secret.as_bytes(), &body)),
                (IDEMPOTENCY_HEADER.into(), outbound.key.clone()),
            ],
            body,
        };
        // The key makes a second try harmless: the receiver takes it as the same message.
        let response = host
            .fetch(&request)
            .map_err(|e| Error::retryable(format!("the reply did not get an answer: {e}")))?;
        delivery_of(&response)
    }

    fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
        let Some(name) = &config.signature_secret else {
            return Ok(());
        };
        // A refused or missing secret is the configuration's fault, not the sender's.
        let secret = host.secret(name).map_err(Error::bad_config)?;
        check_signature(secret.as_bytes(), &inbound.body, inbound.header(SIGNATURE_HEADER))
    }

    fn handshake(request: &HandshakeRequest, _: &Config, _: &dyn Host) -> Result<Option<HandshakeResponse>, Error> {
        Ok(request.param("challenge").map(|challenge| HandshakeResponse {
            status: 200,
            content_type: "text/plain; charset=utf-8".into(),
            body: challenge.as_bytes().to_vec(),
        }))
    }

    fn parse(inbound: &Inbound, config: &Config) -> Result<Vec<Message>, Error> {
        Ok(Self::parse_items(inbound, config)?
            .into_iter()
            .filter_map(|item| match item {
                Item::Message(message) => Some(message),
                _ => None,
            })
            .collect())
    }

    fn parse_items(inbound: &Inbound, config: &Config) -> Result<Vec<Item>, Error> {
        let first_line = match inbound.header(FIRST_LINE_HEADER) {
            None => 1,
            Some(value) => value.trim().parse::<usize>().map_err(|_| {
                Error::permanent(format!(
                    "{}: the header {FIRST_LINE_HEADER} is {value:?}, not a line number",
                    inbound.source
                ))
            })?,
        };
        let mut items = Vec::new();
        for (index, line) in inbound.body.split(|&b| b == b'\n').enumerate() {
            let number = first_line + index;
            let at = |what: String| Error::permanent(format!("{}:{number}: {what}", inbound.source));
            let line = std::str::from_utf8(line).map_err(|e| {
                let column = String::from_utf8_lossy(&line[..e.valid_up_to()]).chars().count() + 1;
                at(format!(
                    "not UTF-8 at column {column} (byte {} of the line)",
                    e.valid_up_to() + 1
                ))
            })?;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            items.push(item(line, config).map_err(at)?);
        }
        Ok(items)
    }

    fn poll(cursor: Option<&str>, config: &Config, host: &dyn Host) -> Result<Option<Polled>, Error> {
        let Some(url) = &config.poll_url else {
            return Ok(None);
        };
        let url = match cursor {
            Some(cursor) => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}cursor={}", percent_encode(cursor))
            }
            None => url.clone(),
        };
        let response = host
            .fetch(&HttpRequest::new("GET", &url).with_header("Accept", "application/x-ndjson"))
            .map_err(|e| Error::retryable(format!("the poll of {url} got no answer: {e}")))?;
        if !response.is_success() {
            let reason = format!(
                "the poll of {url} was answered {}: {}",
                response.status,
                reason_of(&response.body)
            );
            return Err(if retryable_status(response.status) {
                match response.retry_after() {
                    Some(after) => Error::retry_later(after, reason),
                    None => Error::retryable(reason),
                }
            } else {
                Error::permanent(reason)
            });
        }
        let inbound = Inbound {
            source: url.clone(),
            body: response.body.clone(),
            ..Inbound::default()
        };
        Ok(Some(Polled {
            items: Self::parse_items(&inbound, config)?,
            cursor: response
                .header(CURSOR_HEADER)
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
        }))
    }
}

/// The header of a poll's answer that holds the cursor of the next poll.
pub const CURSOR_HEADER: &str = "Weft-Cursor";

/// Statuses worth another try: the receiver was busy or down.
fn retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// A cursor as a query parameter value: unreserved characters as they are, the rest as `%XX`
/// of their UTF-8 bytes (RFC 3986). Hand-written: eight lines, against a crate in the plugin.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// One line as an item: an order (`{"order": {...}, "change": "updated"}`), a shipment update
/// (`{"shipment": {...}}`) or a message.
fn item(line: &str, config: &Config) -> Result<Item, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    if value.get("order").is_some_and(serde_json::Value::is_object) {
        let line: OrderLine = serde_json::from_value(value).map_err(|e| format!("not an order line: {e}"))?;
        return Ok(Item::Order {
            change: line.change.into(),
            order: line.order,
            id: None,
        });
    }
    if value.get("shipment").is_some() {
        let line: ShipmentLine = serde_json::from_value(value).map_err(|e| format!("not a shipment line: {e}"))?;
        return Ok(Item::Shipment(line.shipment));
    }
    let parsed: Line = serde_json::from_str(line).map_err(|e| not_a_message(line, e))?;
    normalize(parsed, config).map(Item::Message)
}

/// An order line: the order as `weft import orders` reads it, and what happened to it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderLine {
    #[serde(default)]
    change: Change,
    order: Order,
}

/// What happened to an order, as a line writes it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Change {
    #[default]
    Placed,
    Updated,
    Cancelled,
}

impl From<Change> for OrderChange {
    fn from(change: Change) -> Self {
        match change {
            Change::Placed => OrderChange::Placed,
            Change::Updated => OrderChange::Updated,
            Change::Cancelled => OrderChange::Cancelled,
        }
    }
}

/// A shipment line: a carrier's news about a parcel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShipmentLine {
    shipment: ShipmentUpdate,
}

/// The inbound header that numbers a chunk's lines from a line of its file (see the module
/// docs); without it, the first line is line 1.
pub const FIRST_LINE_HEADER: &str = "weft-first-line";

/// Checks `header` (`sha256=<hex>`) against the HMAC-SHA256 of `body` under `secret`; the
/// comparison takes the same time wherever the bytes differ.
pub fn check_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), Error> {
    let Some(header) = header else {
        return Err(Error::permanent(format!("the {SIGNATURE_HEADER} header is missing")));
    };
    let Some(hex_digest) = header.trim().strip_prefix("sha256=") else {
        return Err(Error::permanent(format!(
            "the {SIGNATURE_HEADER} header does not start with `sha256=`"
        )));
    };
    let expected = hex::decode(hex_digest).map_err(|_| {
        Error::permanent(format!(
            "the {SIGNATURE_HEADER} header is not hexadecimal after `sha256=`"
        ))
    })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| Error::bad_config(e.to_string()))?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| Error::permanent(format!("the {SIGNATURE_HEADER} header does not match the body")))
}

/// The `X-Weft-Signature` value of `body` under `secret`: what a sender computes.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The host of a `deliver_url`, or why it is not a URL the channel can post to.
fn deliver_host(url: &str) -> Result<&str, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` is not an http or https URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return Err(format!("`{url}` names no host"));
    }
    if url.chars().any(char::is_whitespace) {
        return Err(format!("`{url}` contains white space"));
    }
    Ok(host)
}

/// What the receiver's answer means for the reply: delivered, worth another try (not before
/// its `Retry-After`, in seconds or as a date measured from the answer's `Date`: the SDK's
/// [`HttpResponse::retry_after`]), or refused for good with its reason.
pub fn delivery_of(response: &HttpResponse) -> Result<Delivery, Error> {
    let status = response.status;
    if (200..300).contains(&status) {
        return Ok(Delivery {
            external_id: external_id(&response.body),
        });
    }
    let reason = format!("the receiver answered {status}: {}", reason_of(&response.body));
    if status == 408 || status == 429 || (500..600).contains(&status) {
        return Err(match response.retry_after() {
            Some(after) => Error::retry_later(after, reason),
            None => Error::retryable(reason),
        });
    }
    Err(Error::permanent(reason))
}

/// The receiver's id of a delivered message: `id` or `message_id` of a JSON object body.
fn external_id(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["id", "message_id"].iter().find_map(|key| match &value[*key] {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Why the receiver refused: what its JSON body says, else its text, shortened.
fn reason_of(body: &[u8]) -> String {
    let said = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            [
                &value["error"]["message"],
                &value["error"],
                &value["message"],
                &value["reason"],
            ]
            .into_iter()
            .find_map(|v| v.as_str().filter(|s| !s.trim().is_empty()).map(str::to_owned))
        });
    let text = said.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    if text.is_empty() {
        return "no reason given".into();
    }
    let mut shown: String = text.chars().take(MAX_REASON_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

/// Why a line is not a message, with a hint when it is a line of an order export (those are
/// brought in with `weft import orders`, not as traffic).
fn not_a_message(line: &str, error: serde_json::Error) -> String {
    if serde_json::from_str::<Order>(line).is_ok() {
        format!("this line is an order, not a message ({error}): bring order exports in with `weft import orders FILE`")
    } else {
        error.to_string()
    }
}

fn normalize(line: Line, config: &Config) -> Result<Message, String> {
    let channel = match (line.channel.trim(), &config.default_channel) {
        ("", Some(default)) => default.clone(),
        ("", None) => return Err("`channel` is empty and no default_channel is configured".into()),
        (channel, _) => channel.to_owned(),
    };
    if line.id.trim().is_empty() {
        return Err("`id` is empty".into());
    }
    let at: jiff::Timestamp = line
        .at
        .parse()
        .map_err(|e| format!("`at` is not an RFC 3339 time ({:?}): {e}", line.at))?;
    let mut message = Message::new(channel, line.id, at.as_millisecond());
    message.thread = line.thread.filter(|t| !t.is_empty());
    message.from = line.from;
    message.address = line.address;
    message.order = line.order.filter(|o| !o.is_empty());
    message.subject = line.subject;
    message.body = line.body;
    message.lang = line.lang;
    message.marketplace = line.marketplace;
    message.replies_to = line.replies_to;
    message.direction = line.direction;
    message.automatic = line.automatic;
    Ok(message)
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_channel!(JsonLines);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Message>, Error> {
        let inbound = Inbound {
            source: "in.jsonl".into(),
            body: text.as_bytes().to_vec(),
            ..Inbound::default()
        };
        JsonLines::parse(&inbound, &Config::default())
    }

    /// A host that knows one secret and refuses the rest, as the engine does.
    struct Secrets(&'static str, &'static str);

    impl Host for Secrets {
        fn fetch(&self, _: &HttpRequest) -> Result<HttpResponse, String> {
            Err("no http".into())
        }
        fn secret(&self, name: &str) -> Result<String, String> {
            if name == self.0 {
                Ok(self.1.to_owned())
            } else {
                Err(format!("secret `{name}` is not granted"))
            }
        }
        fn log(&self, _: LogLevel, _: &str) {}
        fn embed(&self, _: &[String]) -> Result<Vec<Vec<f32>>, String> {
            Err("no embeddings".into())
        }
    }

    fn signed(body: &str, signature: Option<String>) -> Inbound {
        Inbound {
            source: "/hooks/shop".into(),
            hook: Some("shop".into()),
            headers: signature
                .map(|s| vec![("x-weft-signature".to_owned(), s)])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
            ..Inbound::default()
        }
    }

    #[test]
    fn signatures() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let config = Config {
            signature_secret: Some("shop_signing".into()),
            ..Config::default()
        };
        let host = Secrets("shop_signing", "s3cr3t-schlüssel");
        let body = r#"{"channel":"chat","id":"c1","at":"2026-11-20T09:30:00Z","body":"مرحبا، أين طلبي؟"}"#;
        let good = sign("s3cr3t-schlüssel".as_bytes(), body.as_bytes());
        assert_eq!(
            JsonLines::verify(&signed(body, Some(good.clone())), &config, &host),
            Ok(())
        );
        let upper = format!("sha256={}", good["sha256=".len()..].to_uppercase());
        assert_eq!(JsonLines::verify(&signed(body, Some(upper)), &config, &host), Ok(()));
        let table = [
            (None, "header is missing"),
            (Some("md5=abc".to_owned()), "does not start with `sha256=`"),
            (Some("sha256=xyz".to_owned()), "not hexadecimal"),
            (Some(sign(b"other", body.as_bytes())), "does not match the body"),
        ];
        for (signature, expected) in table {
            let err = JsonLines::verify(&signed(body, signature.clone()), &config, &host).unwrap_err();
            assert!(
                matches!(&err, Error::Permanent(m) if m.contains(expected)),
                "{signature:?}: {err}"
            );
        }
        // One byte more in the body: the signature no longer matches.
        let err = JsonLines::verify(&signed(&format!("{body} "), Some(good)), &config, &host).unwrap_err();
        assert!(err.message().contains("does not match"), "{err}");
        // Without a secret named, nothing is checked; a secret the host refuses is bad config.
        assert_eq!(
            JsonLines::verify(&signed(body, None), &Config::default(), &host),
            Ok(())
        );
        let elsewhere = Config {
            signature_secret: Some("other".into()),
            ..Config::default()
        };
        let err = JsonLines::verify(&signed(body, None), &elsewhere, &host).unwrap_err();
        assert!(matches!(err, Error::BadConfig(_)), "{err}");
    }

    /// A host that grants one secret and answers every request with `response`, keeping what
    /// was sent.
    struct Receiver {
        response: Result<HttpResponse, String>,
        sent: std::cell::RefCell<Vec<HttpRequest>>,
    }

    impl Host for Receiver {
        fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
            self.sent.borrow_mut().push(request.clone());
            self.response.clone()
        }
        fn secret(&self, name: &str) -> Result<String, String> {
            Secrets("out", "clé-鍵-مفتاح").secret(name)
        }
        fn log(&self, _: LogLevel, _: &str) {}
        fn embed(&self, _: &[String]) -> Result<Vec<Vec<f32>>, String> {
            Err("no embeddings".into())
        }
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Result<HttpResponse, String> {
        Ok(HttpResponse {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn deliver_posts_signed_json_and_reads_the_answer() {
        let config = Config {
            signature_secret: Some("out".into()),
            deliver_url: Some("http://127.0.0.1:9/replies".into()),
            ..Config::default()
        };
        let reply = Outbound {
            key: "ticket-7-reply-1".into(),
            to: "lea@example.de".into(),
            thread: Some("conv-1".into()),
            subject: None,
            body: "Ihr Paket kommt morgen. 明日届きます。".into(),
            lang: Some("de".into()),
            ..Default::default()
        };
        /// What the receiver answers, and the id delivered or the error it makes.
        type Case = (Result<HttpResponse, String>, Result<Option<&'static str>, &'static str>);
        let table: &[Case] = &[
            (answer(200, &[], r#"{"id":"m-17"}"#), Ok(Some("m-17"))),
            (answer(201, &[], r#"{"message_id":42}"#), Ok(Some("42"))),
            (answer(204, &[], ""), Ok(None)),
            (
                answer(500, &[], "boom"),
                Err("retryable: the receiver answered 500: boom"),
            ),
            (
                answer(429, &[("Retry-After", "7")], r#"{"error":"slow down"}"#),
                Err("retryable after 7000 ms: the receiver answered 429: slow down"),
            ),
            // A date is measured from the answer's own Date; without one it is no floor.
            (
                answer(
                    503,
                    &[
                        ("Date", "Mon, 07 Dec 2026 08:00:00 GMT"),
                        ("Retry-After", "Mon, 07 Dec 2026 08:01:30 GMT"),
                    ],
                    "maintenance",
                ),
                Err("retryable after 90000 ms: the receiver answered 503: maintenance"),
            ),
            (
                answer(503, &[("Retry-After", "Mon, 07 Dec 2026 08:01:30 GMT")], "maintenance"),
                Err("retryable: the receiver answered 503: maintenance"),
            ),
            (
                answer(422, &[], r#"{"error":{"message":"le destinataire est inconnu"}}"#),
                Err("permanent: the receiver answered 422: le destinataire est inconnu"),
            ),
            (
                answer(404, &[], ""),
                Err("permanent: the receiver answered 404: no reason given"),
            ),
            (
                Err("connection refused".into()),
                Err("retryable: the reply did not get an answer: connection refused"),
            ),
        ];
        for (response, expected) in table {
            let host = Receiver {
                response: response.clone(),
                sent: Default::default(),
            };
            let got = JsonLines::deliver(&reply, &config, &host)
                .map(|d| d.external_id)
                .map_err(|e| e.to_string());
            assert_eq!(
                got,
                expected.map(|id| id.map(str::to_owned)).map_err(str::to_owned),
                "{response:?}"
            );
            let sent = host.sent.borrow();
            let request = &sent[0];
            assert_eq!(
                (request.method.as_str(), request.url.as_str()),
                ("POST", "http://127.0.0.1:9/replies")
            );
            let header = |name: &str| {
                request
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            };
            assert_eq!(header(IDEMPOTENCY_HEADER).as_deref(), Some("ticket-7-reply-1"));
            check_signature(
                "clé-鍵-مفتاح".as_bytes(),
                &request.body,
                header(SIGNATURE_HEADER).as_deref(),
            )
            .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(body["body"], "Ihr Paket kommt morgen. 明日届きます。");
            assert_eq!(body["thread"], "conv-1");
        }
        // Not configured to deliver, or a secret the host refuses: nothing is sent.
        let host = Receiver {
            response: answer(200, &[], ""),
            sent: Default::default(),
        };
        let err = JsonLines::deliver(&reply, &Config::default(), &host).unwrap_err();
        assert!(
            matches!(&err, Error::Permanent(m) if m.contains("deliver_url")),
            "{err}"
        );
        let ungranted = Config {
            signature_secret: Some("other".into()),
            ..config
        };
        let err = JsonLines::deliver(&reply, &ungranted, &host).unwrap_err();
        assert!(matches!(err, Error::BadConfig(_)), "{err}");
        assert!(host.sent.borrow().is_empty());
    }

    #[test]
    fn deliver_settings_are_checked() {
        let check = |url: &str, secret: Option<&str>| -> Vec<String> {
            JsonLines::check_config(&Config {
                deliver_url: Some(url.into()),
                signature_secret: secret.map(str::to_owned),
                ..Config::default()
            })
            .iter()
            .map(ToString::to_string)
            .collect()
        };
        assert!(check("https://helpdesk.example.com/weft/replies", Some("out")).is_empty());
        assert!(check("http://[::1]:8080/r", Some("out")).is_empty());
        assert_eq!(
            check("ftp://example.com/r", Some("out")),
            [
                "/deliver_url: `ftp://example.com/r` is not an http or https URL, expected an http or https URL such as `https://helpdesk.example.com/weft/replies`"
            ]
        );
        assert_eq!(
            check("https:///nohost", Some("out"))[0],
            "/deliver_url: `https:///nohost` names no host, expected an http or https URL such as `https://helpdesk.example.com/weft/replies`"
        );
        assert_eq!(
            check("https://example.com/r", None),
            [
                "/deliver_url: replies are signed, but no `signature_secret` is set, expected `signature_secret: NAME`, with NAME granted in `allow: { secrets: [NAME] }`"
            ]
        );
    }

    #[test]
    fn handshake_echoes_the_challenge() {
        let request = HandshakeRequest {
            hook: "shop".into(),
            query: vec![("challenge".into(), "prüfung-確認".into())],
            ..HandshakeRequest::default()
        };
        let host = Secrets("x", "y");
        let answer = JsonLines::handshake(&request, &Config::default(), &host)
            .unwrap()
            .unwrap();
        assert_eq!((answer.status, answer.body), (200, "prüfung-確認".as_bytes().to_vec()));
        let none = HandshakeRequest::default();
        assert_eq!(JsonLines::handshake(&none, &Config::default(), &host), Ok(None));
    }

    #[test]
    fn minimal_and_full_lines() {
        let messages = parse(concat!(
            r#"{"channel":"chat","id":"c1","at":"2026-11-20T09:30:00+01:00"}"#,
            "\n\n",
            r#"{"channel":"amazon","id":"a1","at":"2026-11-20T08:00:00Z","from":{"name":"Jürgen Groß","buyer_id":"A1B2"},"order":"302-1234567-7654321","body":"Wo ist mein Paket?","lang":"de"}"#,
        ))
        .unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].at, 1_795_163_400_000);
        assert_eq!(messages[1].from.name.as_deref(), Some("Jürgen Groß"));
        assert_eq!(messages[1].order.as_deref(), Some("302-1234567-7654321"));
    }

    #[test]
    fn replies_and_automatic_messages() {
        let messages = parse(concat!(
            r#"{"channel":"chat","id":"r1","at":"2026-11-20T10:00:00Z","direction":"outbound","body":"Ihr Paket ist unterwegs."}"#,
            "\n",
            r#"{"channel":"email","id":"o1","at":"2026-11-20T10:05:00Z","automatic":true,"body":"Je suis absent jusqu'au lundi."}"#,
        ))
        .unwrap();
        assert_eq!(messages[0].direction, Direction::Outbound);
        assert!(!messages[0].automatic);
        assert_eq!(messages[1].direction, Direction::Inbound);
        assert!(messages[1].automatic);
        let err =
            parse(r#"{"channel":"chat","id":"r2","at":"2026-11-20T10:00:00Z","direction":"sideways"}"#).unwrap_err();
        assert!(err.message().contains("unknown variant `sideways`"), "{err}");
    }

    #[test]
    fn bad_lines_name_their_line() {
        let err = parse("{\"channel\":\"chat\",\"id\":\"c1\",\"at\":\"2026-11-20T09:30:00Z\"}\n{\"channel\":\"chat\",\"id\":\"c2\",\"at\":\"yesterday\"}").unwrap_err();
        assert!(
            err.message().starts_with("in.jsonl:2: `at` is not an RFC 3339 time"),
            "{err}"
        );
        let err = parse(r#"{"channel":"chat","id":"c1","at":"2026-11-20T09:30:00Z","colour":"red"}"#).unwrap_err();
        assert!(err.message().contains("unknown field `colour`"), "{err}");
        assert!(!err.message().contains("weft import orders"), "{err}");
    }

    #[test]
    fn a_chunk_numbers_its_lines_from_its_first_line_in_the_file() {
        let body = "{\"channel\":\"chat\",\"id\":\"c1\",\"at\":\"2026-11-20T09:30:00Z\",\"body\":\"Grüße\"}\n\n{\"channel\":\"chat\",\"id\":\"c2\",\"at\":\"später\"}";
        let inbound = Inbound {
            source: "big.jsonl".into(),
            headers: vec![(FIRST_LINE_HEADER.into(), "4097".into())],
            body: body.as_bytes().to_vec(),
            ..Inbound::default()
        };
        let err = JsonLines::parse(&inbound, &Config::default()).unwrap_err();
        assert!(err.message().starts_with("big.jsonl:4099: `at` is not"), "{err}");
    }

    #[test]
    fn invalid_utf8_names_its_line_and_column() {
        let mut body = b"{\"channel\":\"chat\",\"id\":\"c1\",\"at\":\"2026-11-20T09:30:00Z\"}\n".to_vec();
        body.extend_from_slice(b"{\"channel\":\"chat\",\"id\":\"c2\",\"at\":\"2026-11-20T09:30:00Z\"}\n");
        body.extend_from_slice("{\"body\":\"日本".as_bytes());
        body.extend_from_slice(b"\xff\"}\n");
        let inbound = Inbound {
            source: "in.jsonl".into(),
            body,
            ..Inbound::default()
        };
        let err = JsonLines::parse(&inbound, &Config::default()).unwrap_err();
        assert_eq!(
            err.message(),
            "in.jsonl:3: not UTF-8 at column 12 (byte 16 of the line)"
        );
    }

    #[test]
    fn an_order_line_says_where_orders_go() {
        let err = parse(concat!(
            r##"{"number":"#1001","channel":"shopify","placed_at":"2026-11-20T10:00:00Z","##,
            r#""buyer":{"name":"Zoé Lefèvre","email":"zoe@example.fr"}}"#
        ))
        .unwrap_err();
        assert!(err.message().starts_with("in.jsonl:1: this line is an order"), "{err}");
        assert!(err.message().contains("unknown field `number`"), "{err}");
        assert!(err.message().contains("weft import orders FILE"), "{err}");
    }

    #[test]
    fn order_and_shipment_lines_are_items() {
        let text = [
            r##"{"order": {"number": "#1001", "channel": "shopify", "placed_at": "2026-11-20T10:00:00Z", "buyer": {"name": "Léa Dubois", "email": "lea@example.fr"}, "total": {"amount": "59.90", "currency": "EUR"}}}"##,
            r##"{"change": "cancelled", "order": {"number": "#1001", "channel": "shopify", "placed_at": "2026-11-20T10:00:00Z"}}"##,
            r##"{"shipment": {"carrier": "Colissimo", "tracking_number": "6A123", "status": "out_for_delivery", "at": "2026-11-21T08:00:00Z", "detail": "En cours de livraison"}}"##,
            r##"{"channel": "chat", "id": "c-1", "at": "2026-11-21T09:00:00Z", "order": "#1001", "body": "¿Dónde está mi pedido?"}"##,
        ]
        .join("\n");
        let inbound = Inbound {
            source: "in.jsonl".into(),
            body: text.into_bytes(),
            ..Inbound::default()
        };
        let items = JsonLines::parse_items(&inbound, &Config::default()).unwrap();
        assert!(
            matches!(&items[0], Item::Order { change: OrderChange::Placed, order, .. } if order.total.as_ref().unwrap().amount == "59.90")
        );
        assert!(matches!(
            &items[1],
            Item::Order {
                change: OrderChange::Cancelled,
                ..
            }
        ));
        assert!(matches!(&items[2], Item::Shipment(update) if update.status == ShipmentStatus::OutForDelivery));
        assert!(matches!(&items[3], Item::Message(message) if message.order.as_deref() == Some("#1001")));
        // `parse` answers the messages alone.
        assert_eq!(JsonLines::parse(&inbound, &Config::default()).unwrap().len(), 1);

        for (line, problem) in [
            (
                r##"{"change": "shipped", "order": {"number": "1", "channel": "x", "placed_at": "2026-11-20T10:00:00Z"}}"##,
                "not an order line: unknown variant `shipped`",
            ),
            (
                r##"{"shipment": {"carrier": "DHL", "status": "delivered", "at": "2026-11-21T08:00:00Z"}}"##,
                "not a shipment line: missing field `tracking_number`",
            ),
        ] {
            let err = parse(line).unwrap_err();
            assert!(err.message().starts_with(&format!("in.jsonl:1: {problem}")), "{err}");
        }
    }

    #[test]
    fn a_poll_reads_the_feed_from_its_cursor() {
        let config = Config {
            poll_url: Some("https://shop.example.com/feed?shop=de".into()),
            ..Config::default()
        };
        let first = "https://shop.example.com/feed?shop=de";
        let next = "https://shop.example.com/feed?shop=de&cursor=p%202%2F%C3%BC";
        let line = r#"{"channel": "chat", "id": "c-1", "at": "2026-11-21T09:00:00Z", "body": "注文はいつ届きますか"}"#;
        let host = weft_sdk::testing::TestHost::new()
            .respond(
                "GET",
                first,
                HttpResponse::new(200)
                    .with_header("Weft-Cursor", "p 2/ü")
                    .with_body(line),
            )
            .respond(
                "GET",
                next,
                HttpResponse::new(503)
                    .with_header("Retry-After", "30")
                    .with_body(r#"{"error": "Wartung"}"#),
            )
            .respond(
                "GET",
                next,
                HttpResponse::new(400).with_body(r#"{"error": "cursor unknown"}"#),
            );
        let polled = JsonLines::poll(None, &config, &host).unwrap().unwrap();
        assert_eq!(polled.cursor.as_deref(), Some("p 2/ü"));
        assert_eq!(polled.items.len(), 1);
        let busy = JsonLines::poll(Some("p 2/ü"), &config, &host).unwrap_err();
        assert_eq!(
            busy,
            Error::retry_later(
                std::time::Duration::from_secs(30),
                format!("the poll of {next} was answered 503: Wartung")
            )
        );
        let refused = JsonLines::poll(Some("p 2/ü"), &config, &host).unwrap_err();
        assert_eq!(
            refused,
            Error::permanent(format!("the poll of {next} was answered 400: cursor unknown"))
        );
        // A mount without `poll_url` is not polled.
        assert_eq!(JsonLines::poll(None, &Config::default(), &host), Ok(None));
    }
}
