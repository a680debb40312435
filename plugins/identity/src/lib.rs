//! The `identity` step: which customer a message belongs to.
//!
//! It reads the sender's identifiers from a `message.received` event (or the buyer of an
//! order, imported or from a connector: `order.placed`, `order.updated`, `order.cancelled`,
//! read as a message's sender), normalizes them, and answers with one `link-customer`
//! decision — to an existing customer or to a new one, never neither — preceded by a
//! `merge-customers` decision when the message shows two customers to be one person. Every
//! decision names its evidence: each field that agreed or disagreed, with its weight.
//!
//! - Strong identifiers (email, phone, marketplace buyer id, social handle, and an order number
//!   already known) link at once.
//! - Names and addresses link by a Fellegi–Sunter score above `fuzzy.min_score`, never across
//!   conflicting strong identifiers. When a strong identifier found the customer, a name and
//!   address scoring as high against another customer (with no conflicting identifier) merge
//!   the two, so that the result does not depend on which message came first.
//!
//! The `score` of a link is its confidence: 1 for a strong match, the match probability for a
//! weak one, and for a new customer 1 minus the probability of the closest candidate (1 when
//! there was none, or when it was ruled out by a conflicting identifier).
//!
//! # Layout
//! - [`config`]: the `with:` configuration and its checked form.
//! - [`normalize`]: one normalizer per identifier kind (email, phone, ids, name, address).
//! - [`text`]: folding, Jaro–Winkler and Soundex.
//! - [`score`]: Fellegi–Sunter tables and scoring, with where their numbers come from.
//! - [`model`]: the weights scoring uses: the hand-set priors, or those learned from the
//!   seller's own data (m, u, prior odds, how common each name word is).
//! - [`train`]: learning a model without labels (EM over candidate pairs, u from random pairs).
//! - [`decide`]: the decision itself, and the identities and blocking keys it records.

pub mod config;
pub mod decide;
pub mod model;
pub mod normalize;
pub mod score;
pub mod text;
pub mod train;

pub use config::{Config, FuzzyConfig, Settings, StrongKind};

use weft_sdk::prelude::*;

/// The step.
pub struct Identify;

impl Step for Identify {
    type Config = Config;
    const DESCRIPTION: &'static str = "which customer a message belongs to, with the evidence for every link and merge";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        Settings::from_config(config)
            .err()
            .map(|e| e.config_problems())
            .unwrap_or_default()
    }

    fn decide(event: &Event, config: &Config, ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
        let settings = Settings::from_config(config).map_err(|e| Error::bad_config(e.to_string()))?;
        decide::decide(event, &settings, ctx)
    }
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_step!(Identify);

#[cfg(test)]
mod tests;
