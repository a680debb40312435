//! The `email` channel: raw RFC 5322 / MIME mail in, one normalized [`Message`] out; replies
//! out as rendered mail, submitted through the SMTP relay the channels file gives the mount.
//!
//! The inbound body is the whole raw mail, as bytes. The channel reads the header block itself
//! (so that a malformed one is reported with its line), leaves MIME structure, transfer
//! encodings, charsets and RFC 2047 encoded-words to `mail-parser`, and then decides what the
//! engine needs: the new text apart from the quoted history, the thread, the time, the order
//! number, and the marketplace that relayed the mail, if any.
//!
//! # Layout
//! - [`config`]: the `with:` configuration ([`Config`]).
//! - [`error`]: what can be wrong with a mail ([`MailError`]).
//! - `headers`: the raw header block, unfolded, with line numbers.
//! - `date`: RFC 5322 dates, obsolete forms and named zones included.
//! - `html`: HTML bodies as readable text.
//! - `quote`: the new text apart from quoted history and signature.
//! - `order`: Amazon, eBay, Shopify and Walmart order numbers.
//! - `sender`: who wrote the mail, and which marketplace relayed it.
//! - `mail`: the whole parse, tying the above together.
//! - [`reply`]: outbound mail rendered, checked (threading, RFC 3834, marketplace relays) and
//!   handed to the host's SMTP relay.

pub mod config;
mod date;
pub mod error;
mod headers;
mod html;
mod mail;
mod order;
mod quote;
pub mod reply;
mod sender;

pub use config::Config;
pub use error::MailError;
pub use mail::parse_mail;

use weft_sdk::prelude::*;

/// The channel.
pub struct Email;

impl Channel for Email {
    type Config = Config;
    const DESCRIPTION: &'static str = "raw RFC 5322 / MIME mail, with marketplace relays attributed";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        config.problems()
    }

    fn parse(inbound: &Inbound, config: &Config) -> Result<Vec<Message>, Error> {
        config.check().map_err(Error::bad_config)?;
        let message =
            parse_mail(&inbound.body, config).map_err(|e| Error::permanent(format!("{}: {e}", inbound.source)))?;
        Ok(vec![message])
    }

    fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
        config.check().map_err(Error::bad_config)?;
        reply::deliver(outbound, config, host)
    }
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_channel!(Email);
