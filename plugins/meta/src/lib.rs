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
//!
//! # What a real account still needs
//! Tested against a local server speaking the Graph API's wire format; a live account needs:
//! - a Meta app with the webhook URL `https://<public host>/hooks/<id>` (Meta calls only HTTPS
//!   on a public host), the verify token and app secret granted to the mount, and the fields
//!   subscribed: `messages`, `message_echoes`, `standby`, `messaging_postbacks` (Messenger),
//!   `messages` (Instagram, WhatsApp);
//! - App Review for `pages_messaging` (Messenger), `instagram_manage_messages` (Instagram) or
//!   `whatsapp_business_messaging` (WhatsApp), a Page or system-user token, and for
//!   `human_agent` the Human Agent permission;
//! - for WhatsApp, a template approved under the name and language of `with: template`;
//! - Instagram accounts without a Page use `graph_url: https://graph.instagram.com`.
//!
//! Delivery statuses (WhatsApp `statuses[]`) are read by [`whatsapp::statuses`]; recording them
//! on the ticket waits for the contract's `notices` export.

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

    /// WhatsApp's `statuses[]` (sent, delivered, read, failed with WhatsApp's reason) about the
    /// replies this channel delivered, matched by the `wamid` its `deliver` returned. Messenger
    /// and Instagram receipts are not read.
    fn notices(inbound: &Inbound, config: &Config) -> Result<Vec<Notice>, Error> {
        if config.platform != Platform::Whatsapp {
            return Ok(Vec::new());
        }
        Ok(whatsapp::statuses(&inbound.body)?
            .into_iter()
            .filter_map(|s| {
                Some(Notice::DeliveryStatus(DeliveryStatus {
                    state: DeliveryState::parse(&s.status)?,
                    external_id: s.message_id,
                    at: s.at,
                    reason: s.reason,
                }))
            })
            .collect())
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
