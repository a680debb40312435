//! What the widget posts, and the message it becomes.
//!
//! `weft serve` takes visitor posts at `POST /chat/{hook}/messages` only after checking the
//! conversation's token, and hands them to this channel with the source
//! `/chat/{hook}/messages` and the conversation in [`CONVERSATION_HEADER`] (the token itself
//! is never kept). The body is JSON:
//!
//! ```json
//! {"id": "m-1712345678-1", "text": "Wo ist meine Bestellung?", "lang": "de",
//!  "page": "https://shop.example/de/konto",
//!  "identity": {"email": "anna@example.de", "expires": 1712349278, "signature": "…"}}
//! ```
//!
//! `id` is the widget's own id of the message (unique within the conversation; a post sent
//! twice is one message), `text` the visitor's words, `lang`, `page` and `identity` optional
//! (see [`crate::identity`]).

use crate::identity::SignedIdentity;
use serde::Deserialize;
use weft_sdk::{Error, Inbound, Message, Party};

/// The header `weft serve` sets to the conversation a post belongs to, once its token held.
pub const CONVERSATION_HEADER: &str = "x-weft-chat-conversation";

/// The channel name of every message.
pub const CHANNEL: &str = "chat";

/// A visitor's post.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub page: Option<String>,
    #[serde(default)]
    pub identity: Option<SignedIdentity>,
}

/// The conversation `weft serve` vouched for, or why the request is not a visitor post.
pub fn conversation(inbound: &Inbound) -> Result<&str, Error> {
    let hook = inbound.hook.as_deref().unwrap_or_default();
    let place = format!("/chat/{hook}/messages");
    if inbound.source != place {
        return Err(Error::permanent(format!(
            "chat: visitor messages are taken only at {place}, where weft checks the conversation's token; \
             this came to {}",
            inbound.source
        )));
    }
    inbound
        .header(CONVERSATION_HEADER)
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| Error::permanent(format!("chat: the post carries no {CONVERSATION_HEADER}")))
}

/// The post in `body`, or why it is not one; the error names the channel.
pub fn post(body: &[u8]) -> Result<Post, Error> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "is not JSON"
        } else {
            "does not have the shape of a visitor post ({\"id\", \"text\", ...})"
        };
        Error::permanent(format!("chat: the visitor's post {what}: {e}"))
    })
}

/// The post as a message of `conversation`, received at `inbound.received_at`. The identity
/// is taken as it stands: `verify` refused the post when its signature did not hold.
pub fn message(inbound: &Inbound, conversation: &str, max_chars: usize) -> Result<Message, Error> {
    let post = post(&inbound.body)?;
    let id = post.id.trim();
    if id.is_empty() || id.len() > 200 {
        return Err(Error::permanent(
            "chat: the visitor's post needs an `id` of 1 to 200 bytes",
        ));
    }
    let text = post.text.trim();
    if text.is_empty() {
        return Err(Error::permanent("chat: the visitor's post has no text"));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(Error::permanent(format!(
            "chat: the visitor's message has {chars} characters, more than this mount's max_chars of {max_chars}"
        )));
    }
    let mut message = Message::new(CHANNEL, format!("chat:{conversation}:{id}"), inbound.received_at);
    message.thread = Some(conversation.to_owned());
    message.body = text.to_owned();
    message.lang = post.lang.filter(|l| !l.trim().is_empty());
    // The conversation is the visitor's address: replies go back to it.
    let mut from = Party {
        handle: Some(format!("chat:{conversation}")),
        ..Party::default()
    };
    if let Some(identity) = post.identity {
        let present = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        from.email = present(identity.email);
        from.buyer_id = present(identity.customer_id);
        from.name = present(identity.name);
    }
    message.from = from;
    Ok(message)
}

/// Whether `body` carries a signed identity (`None` when it is no post at all: `parse` then
/// dead-letters it with its reason).
pub fn identity(body: &[u8]) -> Option<SignedIdentity> {
    post(body).ok()?.identity
}
