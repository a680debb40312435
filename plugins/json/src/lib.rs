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

use serde::Deserialize;
use weft_sdk::prelude::*;

/// The channel.
pub struct JsonLines;

/// `with:` for the json channel.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The channel to assume for lines that leave `channel` empty. Example: `chat`.
    #[serde(default)]
    pub default_channel: Option<String>,
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
        match &config.default_channel {
            Some(channel) if channel.trim().is_empty() => vec![
                ConfigProblem::at(["default_channel"], "the default channel is blank")
                    .expected("a channel name such as `chat`"),
            ],
            _ => Vec::new(),
        }
    }

    fn parse(inbound: &Inbound, config: &Config) -> Result<Vec<Message>, Error> {
        let first_line = match inbound.header(FIRST_LINE_HEADER) {
            None => 1,
            Some(value) => value.trim().parse::<usize>().map_err(|_| {
                Error::permanent(format!(
                    "{}: the header {FIRST_LINE_HEADER} is {value:?}, not a line number",
                    inbound.source
                ))
            })?,
        };
        let mut messages = Vec::new();
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
            let parsed: Line = serde_json::from_str(line).map_err(|e| at(not_a_message(line, e)))?;
            messages.push(normalize(parsed, config).map_err(at)?);
        }
        Ok(messages)
    }
}

/// The inbound header that numbers a chunk's lines from a line of its file (see the module
/// docs); without it, the first line is line 1.
pub const FIRST_LINE_HEADER: &str = "weft-first-line";

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
}
