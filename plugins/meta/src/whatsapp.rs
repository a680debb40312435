//! WhatsApp Cloud API webhooks (`"object": "whatsapp_business_account"`), into messages.
//!
//! Each entry's `changes` with `"field": "messages"` carry a `value` with the business number
//! (`metadata.phone_number_id`), the senders' profiles (`contacts`), the buyers' `messages`
//! and the `statuses` of messages the business sent. Per message (`timestamp` is a decimal
//! string of seconds; every id is a string):
//! - `text`: its `body`; `interactive`: the title of the button or list row chosen;
//!   `button` (a template's quick reply): its text;
//! - `image`, `video`, `audio`, `document`, `sticker`: an attachment (its `mime_type`, a
//!   document's `filename`; WhatsApp gives no size) with the caption as the body;
//! - `location`: its name and address; `contacts`: the names shared; other types: no text;
//! - `reaction`: no message.
//!
//! `context.id` is the message it answers. The buyer is known by `wa_id` (`buyer_id`), the
//! phone number it is (`phone`, with `+`) and the profile name. The conversation (`thread`) is
//! `<phone number id>/<wa_id>`. Statuses are not messages: [`statuses`] reads them.

use serde::Deserialize;
use weft_sdk::{Attachment, Error, Message, Party};

const CHANNEL: &str = "whatsapp";

#[derive(Debug, Deserialize)]
struct Body {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    field: String,
    value: Value,
}

#[derive(Debug, Deserialize)]
struct Value {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<WaMessage>,
    #[serde(default)]
    statuses: Vec<WaStatus>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Debug, Deserialize)]
struct Contact {
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WaMessage {
    id: String,
    #[serde(default)]
    from: Option<String>,
    timestamp: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    context: Option<Context>,
    #[serde(default)]
    text: Option<Text>,
    #[serde(default)]
    interactive: Option<Interactive>,
    #[serde(default)]
    button: Option<Button>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    contacts: Vec<SharedContact>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Context {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Text {
    body: String,
}

#[derive(Debug, Deserialize)]
struct Interactive {
    #[serde(default)]
    button_reply: Option<Choice>,
    #[serde(default)]
    list_reply: Option<Choice>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Button {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Location {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SharedContact {
    #[serde(default)]
    name: Option<SharedName>,
}

#[derive(Debug, Deserialize)]
struct SharedName {
    #[serde(default)]
    formatted_name: Option<String>,
}

/// A media object: `image`, `video`, `audio`, `document`, `sticker`.
#[derive(Debug, Deserialize)]
struct Media {
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    filename: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WaStatus {
    id: String,
    status: String,
    timestamp: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Debug, Deserialize)]
struct StatusError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_data: Option<ErrorData>,
}

#[derive(Debug, Deserialize)]
struct ErrorData {
    #[serde(default)]
    details: Option<String>,
}

/// What became of a message the business sent, as a status webhook says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The message's id (`wamid…`), as the Cloud API answered when it was sent.
    pub message_id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// Why it failed, in WhatsApp's words.
    pub reason: Option<String>,
}

fn body(raw: &[u8]) -> Result<Body, Error> {
    let body: Body = crate::json_body(CHANNEL, raw)?;
    if body.object != "whatsapp_business_account" {
        return Err(Error::permanent(format!(
            "{CHANNEL} webhook: `object` is `{}`, expected `whatsapp_business_account` \
             (is this hook mounted with the right platform?)",
            body.object
        )));
    }
    Ok(body)
}

/// The messages of one WhatsApp webhook body.
pub fn parse(raw: &[u8]) -> Result<Vec<Message>, Error> {
    let mut out = Vec::new();
    for entry in body(raw)?.entry {
        for change in entry.changes.into_iter().filter(|c| c.field == "messages") {
            let value = change.value;
            let business = value
                .metadata
                .as_ref()
                .map(|m| m.phone_number_id.as_str())
                .unwrap_or("");
            // A reaction (an emoji on an earlier message) says nothing to answer.
            for message in value.messages.into_iter().filter(|m| m.kind != "reaction") {
                out.push(message_of(business, &value.contacts, message)?);
            }
        }
    }
    Ok(out)
}

/// The delivery statuses of one WhatsApp webhook body.
pub fn statuses(raw: &[u8]) -> Result<Vec<Status>, Error> {
    let mut out = Vec::new();
    for entry in body(raw)?.entry {
        for change in entry.changes.into_iter().filter(|c| c.field == "messages") {
            for status in change.value.statuses {
                let reason = status.errors.first().map(|e| {
                    let words = e.error_data.as_ref().and_then(|d| d.details.clone());
                    let words = words.or_else(|| e.message.clone()).or_else(|| e.title.clone());
                    match e.code {
                        Some(code) => format!("{} (code {code})", words.unwrap_or_default()),
                        None => words.unwrap_or_default(),
                    }
                });
                out.push(Status {
                    at: seconds(&status.timestamp, &status.id)?,
                    message_id: status.id,
                    status: status.status,
                    reason,
                });
            }
        }
    }
    Ok(out)
}

fn seconds(timestamp: &str, id: &str) -> Result<i64, Error> {
    timestamp
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| s.checked_mul(1000))
        .ok_or_else(|| {
            Error::permanent(format!(
                "{CHANNEL} webhook: message {id} has the timestamp {timestamp:?}, not seconds since 1970"
            ))
        })
}

fn message_of(business: &str, contacts: &[Contact], message: WaMessage) -> Result<Message, Error> {
    let at = seconds(&message.timestamp, &message.id)?;
    let mut out = Message::new(CHANNEL, message.id.clone(), at);
    let wa_id = message.from.clone().unwrap_or_default();
    let name = contacts
        .iter()
        .find(|c| c.wa_id.as_deref() == Some(wa_id.as_str()))
        .or(contacts.first())
        .and_then(|c| c.profile.as_ref())
        .and_then(|p| p.name.clone());
    out.from = Party {
        name,
        phone: (!wa_id.is_empty() && wa_id.bytes().all(|b| b.is_ascii_digit())).then(|| format!("+{wa_id}")),
        buyer_id: (!wa_id.is_empty()).then(|| wa_id.clone()),
        ..Party::default()
    };
    out.thread = (!wa_id.is_empty()).then(|| format!("{business}/{wa_id}"));
    out.replies_to = message.context.and_then(|c| c.id).into_iter().collect();
    out.body = match message.kind.as_str() {
        "text" => message.text.map(|t| t.body).unwrap_or_default(),
        "interactive" => message
            .interactive
            .and_then(|i| i.button_reply.or(i.list_reply))
            .and_then(|c| c.title.or(c.id))
            .unwrap_or_default(),
        "button" => message.button.and_then(|b| b.text.or(b.payload)).unwrap_or_default(),
        "location" => message
            .location
            .map(|l| [l.name, l.address].into_iter().flatten().collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
        "contacts" => message
            .contacts
            .into_iter()
            .filter_map(|c| c.name.and_then(|n| n.formatted_name))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    if let Some(media) = message.rest.get(&message.kind) {
        let media: Media = serde_json::from_value(media.clone()).map_err(|e| {
            Error::permanent(format!(
                "{CHANNEL} webhook: the {} of message {} is not a media object: {e}",
                message.kind, message.id
            ))
        })?;
        if let Some(mime_type) = media.mime_type {
            out.attachments.push(Attachment {
                filename: media.filename,
                content_type: mime_type,
                size: 0,
            });
            if out.body.is_empty() {
                out.body = media.caption.unwrap_or_default();
            }
        }
    }
    Ok(out)
}
