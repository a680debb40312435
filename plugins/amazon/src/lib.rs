//! The `amazon` channel: Selling Partner API notifications (`ORDER_CHANGE` and the rest) as
//! order events and facts, read from the seller's SQS queue (polled) or received from an
//! EventBridge API destination (a webhook), and the Messaging API (with Login with Amazon
//! tokens) to send the buyer of an order one of the messages Amazon permits for it.
//!
//! Buyers' *messages* to the seller do not come through here: Amazon relays them as email,
//! which the `email` channel reads and answers (to the relay address, from the sender address
//! Amazon authorized). The Messaging API cannot answer a buyer's message; it sends the
//! messages Amazon allows per order (delivery details, an unexpected problem, …).
//!
//! One mount per seller account and region. Mounted with `poll:` and `with: { sqs: … }`,
//! `weft serve` drains the queue at that interval ([`sqs`]); with `with: { eventbridge: … }`,
//! the mount's hook takes EventBridge's events, authenticated by an API key header
//! ([`Amazon::verify`]); with `with: { sp_api: … }`, the mount delivers Messaging actions
//! ([`messaging`]). Mount it under an id other than `amazon` (say `amazon-sp`): a reply to an
//! Amazon buyer's mail carries the channel `amazon` and must go back by mail, not through this
//! mount.
//!
//! **Sending a Messaging action.** A workflow's `send-message` (or a notifier) addresses the
//! mount (`channel: amazon-sp`), the order (`to: 302-1234567-7654321`) and the action
//! (`subject: confirmDeliveryDetails`); the body is the text. It is refused, with the actions
//! Amazon permits, when the action is not among them.
//!
//! # What a real account still needs
//! - Registration as an SP-API developer (Solution Provider Portal or Seller Central →
//!   Develop Apps), an app with the **Buyer Communication** role (Messaging) and, for
//!   notifications, the roles of the notification types (ORDER_CHANGE: Inventory and Order
//!   Tracking, or Direct-to-Consumer Shipping).
//! - The app's LWA client id and client secret, and the seller's authorization of the app
//!   (self-authorization for a private app, or the website OAuth flow), which yields the
//!   refresh token; all three as secrets of the mount, with `api.amazon.com` and the region's
//!   `sellingpartnerapi-{na,eu,fe}.amazon.com` in `allow: { http: [...] }`.
//! - An SQS standard queue whose access policy lets principal `437568002678` (Amazon's SP-API
//!   notification account) `sqs:SendMessage` and `sqs:GetQueueAttributes`; a visibility
//!   timeout longer than the poll interval; an IAM user or role allowed `sqs:ReceiveMessage` and
//!   `sqs:DeleteMessage` on it, whose keys are secrets of the mount, and the queue's
//!   `sqs.<region>.amazonaws.com` in `allow: { http: [...] }`.
//! - `createDestination` (a grantless call, scope `sellingpartnerapi::notifications`) with the
//!   queue's ARN, then `createSubscription` for `ORDER_CHANGE` (payload version `1.0`) and each
//!   other type wanted, with that destination id.
//! - For EventBridge (only some types are delivered there): an EventBridge destination, a
//!   rule on the partner event bus, and an API destination to `https://<host>/hooks/<mount id>`
//!   whose connection authorizes with an API key in the header named in `eventbridge.header`.
//!
//! # Layout
//! - [`config`]: the `with:` configuration ([`Config`]).
//! - [`notification`]: what a notification says, in either envelope and either key case.
//! - [`sigv4`]: AWS Signature Version 4 for the SQS calls.
//! - [`sqs`]: the poll of the queue, its cursor, and deleting what is kept.
//! - [`messaging`]: LWA tokens and the Messaging API.

pub mod config;
pub mod messaging;
pub mod notification;
pub mod sigv4;
pub mod sqs;

pub use config::Config;

use subtle::ConstantTimeEq as _;
use weft_sdk::prelude::*;

/// The channel.
pub struct Amazon;

impl Channel for Amazon {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "Amazon: SP-API notifications (SQS, polled; EventBridge webhook) as order events, and Messaging API actions";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        config.problems()
    }

    /// An EventBridge API destination's request must carry the configured API key header.
    fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
        let Some(eventbridge) = &config.eventbridge else {
            return Err(Error::permanent(
                "amazon webhook: this mount takes no webhooks (no `eventbridge` in its configuration)",
            ));
        };
        let expected = host
            .secret(&eventbridge.api_key)
            .map_err(|e| Error::bad_config(format!("amazon: {e}")))?;
        let Some(given) = inbound.header(&eventbridge.header) else {
            return Err(Error::permanent(format!(
                "amazon webhook: the {} header is missing: the request is not from the EventBridge API destination",
                eventbridge.header
            )));
        };
        if !bool::from(given.trim().as_bytes().ct_eq(expected.as_bytes())) {
            return Err(Error::permanent(format!(
                "amazon webhook: the {} header does not hold the API key",
                eventbridge.header
            )));
        }
        Ok(())
    }

    fn parse_items(inbound: &Inbound, _config: &Config) -> Result<Vec<Item>, Error> {
        notification::parse(&inbound.body)
    }

    fn poll(cursor: Option<&str>, config: &Config, host: &dyn Host) -> Result<Option<Polled>, Error> {
        match &config.sqs {
            Some(sqs) => sqs::poll(cursor, sqs, host).map(Some),
            None => Err(Error::bad_config(
                "amazon: the mount sets `poll:` but names no SQS queue (`sqs` in its configuration)",
            )),
        }
    }

    fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
        match &config.sp_api {
            Some(sp_api) => messaging::deliver(outbound, sp_api, host),
            None => Err(Error::bad_config(
                "amazon: the mount cannot send: no Selling Partner API (`sp_api`) in its configuration",
            )),
        }
    }
}

weft_sdk::export_channel!(Amazon);

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::testing::TestHost;

    #[test]
    fn the_webhook_needs_the_api_key() {
        let config: Config = weft_sdk::testing::channel_config::<Amazon>(serde_json::json!({
            "eventbridge": {"header": "x-weft-api-key", "api_key": "eb_key"}}))
        .unwrap();
        let host = TestHost::new().with_secret("eb_key", "schlüssel-鍵");
        let inbound = |key: Option<&str>| Inbound {
            headers: key
                .map(|k| ("x-weft-api-key".to_owned(), k.to_owned()))
                .into_iter()
                .collect(),
            ..Inbound::default()
        };
        assert_eq!(Amazon::verify(&inbound(Some("schlüssel-鍵")), &config, &host), Ok(()));
        for (key, expected) in [
            (Some("schlüssel"), "does not hold the API key"),
            (None, "the x-weft-api-key header is missing"),
        ] {
            let error = Amazon::verify(&inbound(key), &config, &host).unwrap_err();
            assert!(
                matches!(&error, Error::Permanent(m) if m.starts_with("amazon webhook: ") && m.contains(expected)),
                "{error:?}"
            );
        }
        let no_hooks: Config = weft_sdk::testing::channel_config::<Amazon>(serde_json::json!({
            "sp_api": {"endpoint": "https://sellingpartnerapi-eu.amazon.com", "marketplace_id": "A1PA6795UKMFR9",
                       "client_id": "a", "client_secret": "b", "refresh_token": "c"}}))
        .unwrap();
        assert!(Amazon::verify(&inbound(Some("x")), &no_hooks, &host).is_err());
    }
}
