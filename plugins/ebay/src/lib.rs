//! The `ebay` channel: buyers' messages from eBay's Commerce Message API (polled), replies
//! through it, and eBay's signed notifications (Notification API) on a webhook.
//!
//! One mount per seller account. Mounted with `poll:` in the channels file, `weft serve` asks
//! the Message API for new messages at that interval ([`messages`]); the same mount's hook
//! takes eBay's notifications ([`notification`]): each must carry a valid `X-EBAY-SIGNATURE`,
//! checked against eBay's public key of its key id, and the endpoint challenge eBay sends when
//! the endpoint is registered is answered. `MARKETPLACE_ACCOUNT_DELETION` erases what weft keeps
//! of that eBay user (a `customer.erase` fact); other topics are kept as facts.
//!
//! Messages carry the channel `ebay`, the conversation as their thread and the sender's eBay
//! user name as their buyer id, to which replies go. OAuth tokens and public keys are kept in
//! the mount's cache (the host's `cache` capability) until shortly before they expire.
//!
//! # What a real account still needs
//! - A production keyset (App ID, Cert ID) from the eBay Developers Program, granted to the
//!   mount as secrets, and `api.ebay.com` in `allow: { http: [...] }`.
//! - The seller's consent (authorization-code grant through the keyset's RuName) with the
//!   `commerce.message` scope; the refresh token it yields (valid 18 months) as a secret.
//! - The notification endpoint (`https://<public host>/hooks/<mount id>`, HTTPS on a public
//!   host) and the verification token entered under "Alerts & Notifications" of the keyset (for
//!   marketplace account deletion) or as a destination of the Notification API, with the topics
//!   subscribed; eBay then sends the challenge this plugin answers.
//! - Every keyset must honour marketplace account deletion, or apply for the exemption (only
//!   when it stores no eBay user data, which a support inbox does).
//! - Usernames are being replaced by immutable user ids for some developers: buyers are then
//!   known by the id eBay sends in `senderUsername`.
//!
//! # Layout
//! - [`config`]: the `with:` configuration ([`Config`]).
//! - [`api`]: OAuth tokens (cached) and what eBay's answers mean.
//! - [`notification`]: the signature, the challenge and the topics.
//! - [`messages`]: the poll of the Message API, its cursor, and replies.

pub mod api;
pub mod config;
pub mod messages;
pub mod notification;

pub use config::Config;

use weft_sdk::prelude::*;

/// The channel.
pub struct Ebay;

impl Channel for Ebay {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "eBay: buyer messages (Commerce Message API, polled), replies, signed notifications and account deletion";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        config.problems()
    }

    fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
        notification::verify(inbound, config, host)
    }

    fn handshake(
        request: &HandshakeRequest,
        config: &Config,
        host: &dyn Host,
    ) -> Result<Option<HandshakeResponse>, Error> {
        notification::answer_challenge(request, config, host)
    }

    fn parse_items(inbound: &Inbound, _config: &Config) -> Result<Vec<Item>, Error> {
        notification::parse(&inbound.body)
    }

    fn poll(cursor: Option<&str>, config: &Config, host: &dyn Host) -> Result<Option<Polled>, Error> {
        messages::poll(cursor, config, host).map(Some)
    }

    fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
        messages::deliver(outbound, config, host)
    }
}

weft_sdk::export_channel!(Ebay);
