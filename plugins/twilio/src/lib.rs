//! The `twilio` channel: SMS both ways through Twilio.
//!
//! Mounted in the channels file as a webhook (`weft serve`), it takes what Twilio posts to the
//! hook: buyers' messages (channel `sms`; the buyer known by their phone number in E.164, one
//! conversation per buyer's number and seller's number, pictures as attachments' metadata) and
//! the status callbacks of replies (a failed delivery shows on the ticket). Every request must
//! carry a valid `X-Twilio-Signature` ([`signature`]) over the URL Twilio called (`public_url`
//! behind a proxy) and the form parameters. Replies go out through the Messages API
//! ([`send`]) from the number the buyer wrote to.
//!
//! A buyer who texts `STOP` (or another of Twilio's opt-out words, [`webhook::OPT_OUT_WORDS`];
//! Twilio's own `OptOutType` when it sends one) is reported as opted out, and weft sends them
//! nothing more through the mount until they text `START` ([`webhook::OPT_IN_WORDS`]); a send
//! Twilio refuses with error 21610 counts as an opt-out too.
//!
//! # What a real account still needs
//! - The number's (or Messaging Service's) "A message comes in" webhook set to `public_url`,
//!   HTTP POST; status callbacks need nothing there, each reply asks for its own.
//! - The Account SID and auth token granted as secrets, and `api.twilio.com` for replies. An
//!   API key instead of the auth token is not supported: webhooks are signed with the token.
//! - For US numbers, A2P 10DLC registration of the long code (or a verified toll-free number,
//!   or a short code); unregistered traffic is filtered by the carriers (error 30034).
//! - Advanced Opt-Out keywords of its own, if the seller set any: the same words in
//!   `opt_out_keywords` and `opt_in_keywords` (Twilio's `OptOutType` is used when it is sent).
//! - MMS pictures stay at Twilio (their URLs are kept as attachments' names) and need the
//!   account's credentials to fetch.
//!
//! # Layout
//! - [`config`]: the `with:` configuration ([`Config`]).
//! - [`signature`]: `X-Twilio-Signature`, computed and checked.
//! - [`webhook`]: a request Twilio posts, read as a message or a status.
//! - [`send`]: a reply through the Messages API, and what Twilio's answer means.

pub mod config;
pub mod send;
pub mod signature;
pub mod webhook;

pub use config::Config;

use webhook::{Form, Request};
use weft_sdk::prelude::*;

/// The channel.
pub struct Twilio;

impl Channel for Twilio {
    type Config = Config;
    const DESCRIPTION: &'static str = "SMS through Twilio: signed webhooks, replies, status callbacks and STOP";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        config.problems()
    }

    fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
        let Some(given) = inbound.header(signature::HEADER) else {
            return Err(Error::permanent(format!(
                "twilio: the {} header is missing: the request is not from Twilio",
                signature::HEADER
            )));
        };
        // The configuration's fault, not the sender's: answered 503, so Twilio tries again.
        let token = host.secret(config.auth_token_secret()).map_err(Error::bad_config)?;
        let url = webhook::requested_url(inbound, config).map_err(|e| Error::permanent(format!("twilio: {e}")))?;
        let form = Form::parse(&inbound.body);
        if signature::matches(&token, &url, &form.0, given) {
            return Ok(());
        }
        let [bare, with_port] = signature::url_forms(&url);
        Err(Error::permanent(format!(
            "twilio: the {} does not match the request: it is not the signature of `{bare}` (nor `{with_port}`) and \
             the {} form parameters received, under the auth token in secret `{}`: the body was changed, the token \
             is another account's, or Twilio called another URL (behind a proxy, set `public_url`)",
            signature::HEADER,
            form.0.len(),
            config.auth_token_secret()
        )))
    }

    fn parse(inbound: &Inbound, config: &Config) -> Result<Vec<Message>, Error> {
        match webhook::read(inbound, config).map_err(Error::permanent)? {
            Request::Message(message, _) => Ok(vec![*message]),
            Request::Status(..) => Ok(Vec::new()),
        }
    }

    fn notices(inbound: &Inbound, config: &Config) -> Result<Vec<Notice>, Error> {
        Ok(match webhook::read(inbound, config).map_err(Error::permanent)? {
            Request::Message(_, consent) => consent.map(Notice::Consent).into_iter().collect(),
            Request::Status(status, consent) => std::iter::once(Notice::DeliveryStatus(status))
                .chain(consent.map(Notice::Consent))
                .collect(),
        })
    }

    fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
        send::deliver(outbound, config, host)
    }
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_channel!(Twilio);
