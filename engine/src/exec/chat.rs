//! The live chat of the seller's website (the `chat` channel), without HTTP: conversations
//! opened with a token of their own, visitor posts checked against it before their channel
//! sees them, and each conversation's messages read from the live stream.
//!
//! **Tokens.** Opening a conversation makes a random id and a random 256-bit token; the store
//! keeps only the token's SHA-256 (`store::chat`), as for API tokens. Every post and every
//! read of the stream names the conversation and shows its token; a wrong token, or a
//! conversation of another mount, is refused. So a visitor reads and writes only their own
//! conversation, on any node.
//!
//! **Posts.** A post whose token holds goes to [`Live::receive`] like any webhook, with the
//! source `/chat/{hook}/messages` and the conversation in a header set here (the token header
//! removed, so it is never kept); the channel refuses anything that did not come this way
//! (a post to `/hooks/{hook}` cannot name a conversation of its choosing), checks a signed
//! identity, and parses the kept post later, as every channel does.
//!
//! **Replies, live.** An agent's reply to a chat ticket is an outbox row like any other; the
//! channel's `deliver` has no vendor to call, and the delivered row becomes the reply on the
//! ticket (`message.sent`), which writes a row of the change log. The visitor's stream is the
//! live stream ([`Feed`](super::Feed)) kept to the messages of one conversation (channel `chat`,
//! thread = the conversation), both ways: from rows, so a reply delivered by any node reaches a
//! widget open on any node, and a widget that reconnects with the last position it got (the
//! SSE `Last-Event-ID`) receives what it missed, as long as the change log keeps it.

use super::feed::{Change, Subscription};
use super::{HookError, Live, Receipt};
use crate::store::StoreError;
use crate::store::changes::Position;
use sha2::{Digest, Sha256};
use weft_sdk::{Inbound, Message};

/// The plugin that serves conversations at a mount.
pub const CHAT_PLUGIN: &str = "chat";
/// The channel name of chat messages.
pub const CHAT_CHANNEL: &str = "chat";
/// The header the channel reads the (checked) conversation from.
pub const CONVERSATION_HEADER: &str = "x-weft-chat-conversation";

/// Why a chat request was not served.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// No chat channel is mounted at this hook id.
    #[error("no chat channel is mounted at hook `{hook}`")]
    NotChat { hook: String },
    /// The conversation is unknown, of another mount, or the token is not its token.
    #[error("chat `{hook}`: {reason}")]
    Refused { hook: String, reason: String },
    /// The channel refused the post, or could not take it now.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// The store failed.
    #[error("chat `{hook}`: the conversation could not be read or kept: {source}")]
    Store { hook: String, source: StoreError },
}

/// A conversation just opened: its id and its token (shown once, to the visitor's browser),
/// and where the live stream stands, so that a stream started from there misses nothing of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: String,
    pub token: String,
    pub position: Position,
}

/// One message of a conversation on the visitor's stream, with its place in the change log.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatLine {
    pub position: Position,
    /// `in` (the visitor), `out` (an agent) or `auto` (an automatic reply).
    pub direction: String,
    pub message: Message,
}

/// A visitor's stream: the live stream kept to one conversation.
#[derive(Debug)]
pub struct ChatStream {
    subscription: Subscription,
    conversation: String,
}

impl ChatStream {
    /// Where it started: resuming from here misses nothing.
    pub fn start(&self) -> Position {
        self.subscription.start()
    }

    /// The conversation's next message; None once the server stops.
    pub async fn next(&mut self) -> Option<ChatLine> {
        loop {
            let published = self.subscription.next().await?;
            let Change::Message(head) = &published.change else {
                continue;
            };
            let message = &head.message;
            if message.channel == CHAT_CHANNEL && message.thread.as_deref() == Some(self.conversation.as_str()) {
                return Some(ChatLine {
                    position: published.position,
                    direction: head.direction.clone(),
                    message: message.clone(),
                });
            }
        }
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|e| StoreError::Invalid(format!("the operating system gave no random bytes: {e}")))?;
    Ok(hex::encode(buffer))
}

/// Equal bytes, compared in a time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Live {
    /// Whether a chat channel is mounted at `hook`.
    fn chat_mount(&self, hook: &str) -> Result<(), ChatError> {
        match self.pipeline().channels.get(hook) {
            Some(mount) if mount.uses.as_str() == CHAT_PLUGIN => Ok(()),
            _ => Err(ChatError::NotChat { hook: hook.to_owned() }),
        }
    }

    /// Whether a chat channel is mounted at `hook` (the widget is served only there).
    pub fn serves_chat(&self, hook: &str) -> Result<(), ChatError> {
        self.chat_mount(hook)
    }

    /// Opens a conversation at chat mount `hook`.
    pub async fn open_conversation(&self, hook: &str) -> Result<Conversation, ChatError> {
        self.chat_mount(hook)?;
        let store_error = |source| ChatError::Store {
            hook: hook.to_owned(),
            source,
        };
        let id = format!("c{}", random_hex(16).map_err(store_error)?);
        let token = format!("wct_{}", random_hex(32).map_err(store_error)?);
        let position = self.store().change_start().await.map_err(store_error)?;
        self.store()
            .create_chat_conversation(&id, hook, &sha256_hex(&token), crate::store::now_ms())
            .await
            .map_err(store_error)?;
        tracing::info!(hook, conversation = %id, "chat conversation opened");
        Ok(Conversation { id, token, position })
    }

    /// Checks that `token` is the token of `conversation` at mount `hook`.
    async fn check_token(&self, hook: &str, conversation: &str, token: &str) -> Result<(), ChatError> {
        self.chat_mount(hook)?;
        let refused = |reason: &str| {
            self.refused(hook, "chat_token", reason);
            ChatError::Refused {
                hook: hook.to_owned(),
                reason: reason.to_owned(),
            }
        };
        let known = self
            .store()
            .chat_conversation(conversation)
            .await
            .map_err(|source| ChatError::Store {
                hook: hook.to_owned(),
                source,
            })?;
        match known {
            None => Err(refused(
                "no such conversation; open one with POST /chat/{hook}/conversations",
            )),
            Some((owner, _)) if owner != hook => Err(refused("the conversation belongs to another chat mount")),
            Some((_, hash)) if !same(hash.as_bytes(), sha256_hex(token).as_bytes()) => {
                Err(refused("the token is not this conversation's token"))
            }
            Some(_) => Ok(()),
        }
    }

    /// A visitor's post to `conversation`, shown with `token`: checked, then verified by the
    /// channel and kept like a webhook. `inbound` is the request as received; its token
    /// header (`token_header`) is dropped before anything is kept.
    pub async fn visitor_post(
        &self,
        hook: &str,
        conversation: &str,
        token: &str,
        token_header: &str,
        mut inbound: Inbound,
    ) -> Result<Receipt, ChatError> {
        self.check_token(hook, conversation, token).await?;
        inbound.headers.retain(|(name, _)| {
            !name.eq_ignore_ascii_case(token_header) && !name.eq_ignore_ascii_case(CONVERSATION_HEADER)
        });
        inbound
            .headers
            .push((CONVERSATION_HEADER.to_owned(), conversation.to_owned()));
        inbound.source = format!("/chat/{hook}/messages");
        inbound.hook = Some(hook.to_owned());
        Ok(self.receive(hook, inbound).await?)
    }

    /// The visitor's stream of `conversation`, shown with `token`, from `after` (the last
    /// position the widget got) or from now. None when the server is stopping.
    pub async fn visitor_stream(
        &self,
        hook: &str,
        conversation: &str,
        token: &str,
        after: Option<Position>,
    ) -> Result<Option<ChatStream>, ChatError> {
        self.check_token(hook, conversation, token).await?;
        Ok(self.feed().subscribe(after, None).await.map(|subscription| ChatStream {
            subscription,
            conversation: conversation.to_owned(),
        }))
    }
}
