//! Messenger and Instagram webhooks (`"object": "page"` or `"instagram"`), into messages.
//!
//! One body may batch several entries (pages), each with events in `messaging` (the app owns
//! the conversation) or `standby` (another app of the handover protocol owns it; the messages
//! are the buyer's all the same, and kept). Per event:
//! - `message`: the buyer wrote. Its `mid` is the id, `text` the body, `reply_to.mid` what it
//!   answers, `attachments` kept as metadata (their type; Meta gives no size).
//! - `message` with `is_echo`: the page wrote, from this app or from Meta Business Suite. It is
//!   an outbound message (it answers the buyer; no new ticket, nothing sent back), except an
//!   echo whose `metadata` is `weft:<key>`: weft sent it, and its outbox already put it on the
//!   ticket.
//! - `postback`: the buyer tapped a button; its title is the body.
//! - `read`, `delivery`, `reaction`, `message_edit` and anything else: no message.
//!
//! The conversation (`thread`) is `<page or account id>/<buyer's scoped id>`, the same for the
//! buyer's messages and the page's echoes.

use crate::config::Platform;
use serde::Deserialize;
use weft_sdk::{Attachment, Direction, Error, Message, Party};

/// The `metadata` prefix of the messages weft sends, so that their echoes are known.
pub const WEFT_METADATA: &str = "weft:";

#[derive(Debug, Deserialize)]
struct Body {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    messaging: Vec<Event>,
    #[serde(default)]
    standby: Vec<Event>,
}

#[derive(Debug, Deserialize)]
struct Event {
    sender: Id,
    recipient: Id,
    timestamp: i64,
    #[serde(default)]
    message: Option<Msg>,
    #[serde(default)]
    postback: Option<Postback>,
}

#[derive(Debug, Deserialize)]
struct Id {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Msg {
    mid: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    metadata: Option<String>,
    #[serde(default)]
    reply_to: Option<ReplyTo>,
    #[serde(default)]
    attachments: Vec<MetaAttachment>,
}

#[derive(Debug, Deserialize)]
struct ReplyTo {
    #[serde(default)]
    mid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MetaAttachment {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Postback {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

/// The messages of one Messenger or Instagram webhook body.
pub fn parse(platform: Platform, body: &[u8]) -> Result<Vec<Message>, Error> {
    let channel = platform.channel();
    let body: Body = crate::json_body(channel, body)?;
    if body.object != platform.object() {
        return Err(Error::permanent(format!(
            "{channel} webhook: `object` is `{}`, expected `{}` (is this hook mounted with the right platform?)",
            body.object,
            platform.object()
        )));
    }
    let mut messages = Vec::new();
    for entry in body.entry {
        for event in entry.messaging.into_iter().chain(entry.standby) {
            messages.extend(message_of(channel, event));
        }
    }
    Ok(messages)
}

fn message_of(channel: &str, event: Event) -> Option<Message> {
    if let Some(message) = event.message {
        let echo = message.is_echo;
        if echo
            && message
                .metadata
                .as_deref()
                .is_some_and(|m| m.starts_with(WEFT_METADATA))
        {
            return None;
        }
        // An echo goes from the page to the buyer: the conversation is named the same way.
        let (page, buyer) = if echo {
            (&event.sender.id, &event.recipient.id)
        } else {
            (&event.recipient.id, &event.sender.id)
        };
        let mut out = Message::new(channel, message.mid, event.timestamp);
        out.thread = Some(format!("{page}/{buyer}"));
        out.body = message.text.unwrap_or_default();
        out.replies_to = message.reply_to.and_then(|r| r.mid).into_iter().collect();
        out.attachments = message
            .attachments
            .into_iter()
            .map(|a| Attachment {
                filename: a.title.filter(|t| !t.is_empty()),
                content_type: content_type(&a.kind),
                size: 0,
            })
            .collect();
        if echo {
            out.direction = Direction::Outbound;
        } else {
            out.from = buyer_party(buyer);
        }
        return Some(out);
    }
    let postback = event.postback?;
    let id = postback
        .mid
        .unwrap_or_else(|| format!("postback:{}:{}", event.sender.id, event.timestamp));
    let mut out = Message::new(channel, id, event.timestamp);
    out.thread = Some(format!("{}/{}", event.recipient.id, event.sender.id));
    out.body = postback.title.or(postback.payload).unwrap_or_default();
    out.from = buyer_party(&event.sender.id);
    Some(out)
}

fn buyer_party(id: &str) -> Party {
    Party {
        buyer_id: Some(id.to_owned()),
        ..Party::default()
    }
}

/// A media type for an attachment of Meta's `type`: Meta names the kind, not the format.
fn content_type(kind: &str) -> String {
    match kind {
        "image" | "sticker" => "image/*".into(),
        "video" | "ig_reel" | "reel" => "video/*".into(),
        "audio" => "audio/*".into(),
        "file" => "application/octet-stream".into(),
        other => format!("application/x-meta-{other}"),
    }
}
