//! The `meta` channel: Facebook Messenger, Instagram direct messages and WhatsApp (Cloud API),
//! live and both ways, one mount per account (`with: { platform: messenger | instagram |
//! whatsapp }`).
//!
//! - [`webhook`]: the subscription check (`hub.challenge`) and the `X-Hub-Signature-256` of
//!   every webhook, both shared by the three platforms;
//! - [`messenger`]: Messenger and Instagram webhooks into messages (batched entries, standby,
//!   echoes as the seller's outbound messages);
//! - [`whatsapp`]: WhatsApp webhooks into messages, and delivery statuses;
//! - [`send`]: replies through the Graph API, refused before sending outside Meta's 24-hour
//!   window (the human-agent tag and WhatsApp templates where configured);
//! - [`config`]: the `with:` of a mount.
//!
//! Messages carry the channel `messenger`, `instagram` or `whatsapp`; the buyer is known by the
//! platform's scoped id (`buyer_id`, to which replies go), and on WhatsApp by phone number too.

pub mod config;
pub mod messenger;
pub mod send;
pub mod webhook;
pub mod whatsapp;

pub use config::{Config, Platform, Template};
use weft_sdk::prelude::*;

/// The channel.
pub struct Meta;

impl Channel for Meta {
    type Config = Config;
    const DESCRIPTION: &'static str = "Messenger, Instagram and WhatsApp: Meta's webhooks in, Graph API replies out";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        config.problems()
    }

    fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
        // A refused or missing secret is the configuration's fault, not the sender's.
        let secret = host.secret(&config.app_secret).map_err(Error::bad_config)?;
        webhook::check_signature(config.platform.channel(), inbound, secret.as_bytes())
    }

    fn handshake(
        request: &HandshakeRequest,
        config: &Config,
        host: &dyn Host,
    ) -> Result<Option<HandshakeResponse>, Error> {
        let token = host.secret(&config.verify_token).map_err(Error::bad_config)?;
        Ok(webhook::answer_check(config.platform.channel(), request, &token))
    }

    fn parse(inbound: &Inbound, config: &Config) -> Result<Vec<Message>, Error> {
        match config.platform {
            Platform::Messenger | Platform::Instagram => messenger::parse(config.platform, &inbound.body),
            Platform::Whatsapp => whatsapp::parse(&inbound.body),
        }
    }

    fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
        send::deliver(outbound, config, host)
    }
}

/// A webhook body as JSON of type `T`, or why not: the error names the channel, and the line
/// and column where the JSON broke.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(channel: &str, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "is not JSON"
        } else {
            "is not the webhook format"
        };
        Error::permanent(format!("{channel} webhook: the body {what}: {e}"))
    })
}

weft_sdk::export_channel!(Meta);
