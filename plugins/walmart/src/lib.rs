//! The `walmart` channel: Walmart Marketplace orders, from the Orders API (polled) and from
//! Walmart's order webhooks, so a Walmart order is in every ticket about it.
//!
//! One mount per seller account. Mounted with `poll:` in the channels file, `weft serve` asks
//! the Orders API for the purchase orders changed since the last poll at that interval
//! ([`poll`]); the same mount's hook takes the webhook deliveries of the seller's
//! subscriptions ([`webhook`]), authenticated as the subscription was set up (Basic auth, or
//! Walmart's HMAC signature with a replay window).
//!
//! Walmart has no buyer-messaging API: buyers write through Walmart's relay, and their mail
//! reaches weft through the `email` channel, which attributes mail from `@relay.walmart.com`
//! to the channel `walmart` with the relay address's local part as the buyer id. Orders carry
//! the same: the buyer's relay address (`customerEmailId`) and its local part as buyer id, and
//! the `customerOrderId` (the number on the buyer's receipt) as the order number, so a relayed
//! mail naming the order joins the customer and the ticket that show the order. Replies go by
//! mail to the relay address from the seller's authorized sender (`relay_senders` of the email
//! channel).
//!
//! # What a real account still needs
//! - A Walmart Marketplace seller account (Seller Center), approved for the US marketplace.
//! - An API key (Client ID and Client Secret) from the Developer Portal
//!   (developer.walmart.com, "API Key Management", production keys), with the Orders scope
//!   allowed, granted to the mount as secrets; `marketplace.walmartapis.com` in
//!   `allow: { http: [...] }`.
//! - A Solution Provider acting for sellers: its channel type id from Walmart's onboarding as
//!   `channel_type` (`WM_CONSUMER.CHANNEL.TYPE`), and each seller's delegated access.
//! - Webhooks (optional, the poll alone brings every order): a subscription per event type
//!   (`POST /v3/webhooks/subscriptions`: `PO_CREATED`, `PO_LINE_AUTOCANCELLED`, ...) with the
//!   event URL `https://<public host>/hooks/<mount id>` and `authDetails` matching `webhook:`
//!   here (Basic user name and password, or the HMAC secret), then `POST /v3/webhooks/test`.
//! - The seller's customer-care address registered in Seller Center, with its mail read by an
//!   `email` mount whose `relay_senders` names it for `walmart`: Walmart accepts replies to
//!   relay addresses only from it, and expects an answer within 48 hours.
//!
//! # Layout
//! - [`config`]: the `with:` configuration ([`Config`]).
//! - [`api`]: the access token (cached), Walmart's headers, and what its answers mean.
//! - [`order`]: a purchase order as Walmart writes it, and the order it becomes.
//! - [`poll`]: the Orders API poll and its cursor.
//! - [`webhook`]: the webhook authentication and the events.

pub mod api;
pub mod config;
pub mod order;
pub mod poll;
pub mod webhook;

pub use config::Config;

use weft_sdk::prelude::*;

/// The channel.
pub struct Walmart;

impl Channel for Walmart {
    type Config = Config;
    const DESCRIPTION: &'static str = "Walmart Marketplace: orders from the Orders API (polled) and order webhooks; buyers' mail comes through the email channel";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        config.problems()
    }

    fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
        webhook::verify(inbound, config, host)
    }

    fn parse_items(inbound: &Inbound, _config: &Config) -> Result<Vec<Item>, Error> {
        webhook::parse(&inbound.body)
    }

    fn poll(cursor: Option<&str>, config: &Config, host: &dyn Host) -> Result<Option<Polled>, Error> {
        poll::poll(cursor, config, host).map(Some)
    }
}

weft_sdk::export_channel!(Walmart);
