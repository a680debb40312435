//! The `chat` channel: live chat on the seller's website.
//!
//! `weft serve` serves the widget (`/chat/{hook}/widget.js`) that the shop pastes as one
//! `<script>` tag, opens conversations (each with a token of its own, kept as its SHA-256),
//! checks that token on every post and every read of the live stream, and publishes the
//! conversation's messages to the open widget from the store's change log. This plugin does
//! what is the channel's to decide:
//!
//! - [`visitor`]: a post, taken only through `/chat/{hook}/messages`, into a message (channel
//!   `chat`, thread = the conversation, the visitor known by `chat:<conversation>`);
//! - [`identity`]: the shop's signed identity of a logged-in visitor, checked in `verify`
//!   (email → `party.email`, customer id → `party.buyer-id`), refused with its reason when the
//!   signature does not hold;
//! - `deliver`: an agent's reply to a conversation. There is no vendor to call: the reply is
//!   delivered by being recorded on the ticket, which `weft serve` publishes to the visitor's
//!   stream. The channel checks that the reply has a conversation and words.
//!
//! # What a real deployment still needs
//! `weft serve` reachable over HTTPS from the shop's pages (the widget posts to the origin of
//! its own script), and, for logged-in visitors, the shop's server signing the identity with
//! the mount's secret on each page.

pub mod config;
pub mod identity;
pub mod visitor;

pub use config::Config;
use weft_sdk::prelude::*;

/// The channel.
pub struct Chat;

impl Channel for Chat {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "Live chat on the seller's website: the widget's posts in, agents' replies out live";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        config.problems()
    }

    /// Only posts that came through weft's conversation check; a signed identity only when
    /// its signature holds (the body itself is judged by `parse`, which dead-letters what is
    /// malformed).
    fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
        visitor::conversation(inbound)?;
        let Some(identity) = visitor::identity(&inbound.body) else {
            return Ok(());
        };
        let Some(secret_name) = &config.identity_secret else {
            return Err(Error::permanent(
                "chat: the visitor's signed identity is not trusted: this mount has no identity_secret, so it \
                 takes anonymous visitors only",
            ));
        };
        let secret = host.secret(secret_name).map_err(Error::bad_config)?;
        let hook = inbound.hook.as_deref().unwrap_or_default();
        identity.check(
            hook,
            secret.as_bytes(),
            inbound.received_at,
            config.identity_lifetime.as_millis(),
        )
    }

    fn parse(inbound: &Inbound, config: &Config) -> Result<Vec<Message>, Error> {
        let conversation = visitor::conversation(inbound)?;
        Ok(vec![visitor::message(inbound, conversation, config.max_chars)?])
    }

    fn deliver(outbound: &Outbound, _config: &Config, _host: &dyn Host) -> Result<Delivery, Error> {
        if outbound.thread.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(Error::permanent(
                "chat: the reply names no conversation; reply on a ticket where the visitor wrote in the chat",
            ));
        }
        if outbound.body.trim().is_empty() {
            return Err(Error::permanent("chat: the reply is empty"));
        }
        Ok(Delivery { external_id: None })
    }
}

weft_sdk::export_channel!(Chat);
