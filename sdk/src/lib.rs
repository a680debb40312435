//! The weft SDK: everything a plugin author needs, and nothing of the generated bindings.
//!
//! A **step** plugin decides: it gets an [`Event`], its `with:` configuration and a read-only
//! [`Context`], and answers with [`Decision`]s (a [`Command`] plus a reason and evidence). A
//! **channel** plugin turns raw traffic ([`Inbound`]) into normalized [`Message`]s and delivers
//! [`Outbound`] replies. Neither writes state: the engine applies decisions atomically and
//! records who decided what and why.
//!
//! ```ignore
//! use weft_sdk::prelude::*;
//!
//! /// Tags every message that mentions a refund.
//! struct RefundTagger;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct Config { tag: String }
//!
//! impl Step for RefundTagger {
//!     type Config = Config;
//!     const DESCRIPTION: &'static str = "tags refund requests";
//!     fn decide(event: &Event, config: &Config, _ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
//!         let Some(message) = &event.message else { return Ok(vec![]) };
//!         if !message.body.to_lowercase().contains("refund") { return Ok(vec![]) }
//!         Ok(vec![Decision::new(
//!             Command::SetField(SetField::new("tag", &config.tag)),
//!             "the message asks for a refund",
//!         )])
//!     }
//! }
//!
//! weft_sdk::export_step!(RefundTagger);
//! ```
//!
//! # Channels
//! A channel implements [`Channel`] and is exported with [`export_channel!`];
//! `cargo xtask new-plugin channel NAME` makes a crate that does both, with tests. The engine
//! calls `verify` when a webhook arrives (a [`Error::Permanent`] answers 401, anything else
//! 503), `handshake` for a vendor's `GET` on the hook, `parse` once the webhook is kept (an
//! error makes it a dead letter) and `deliver` for each reply (retryable or permanent). It
//! gets its `with:` from the channels file as `Config`, secrets and HTTP through [`Host`] when
//! the channels file grants them (`allow:`), and [`Inbound`] with the hook id, the time
//! received, the headers and the raw body. [`guide`] tells all of it, with what each call must
//! return, how plugins are named, built and found, and how to test one natively
//! ([`testing::TestHost`] answers HTTP from canned responses).
//!
//! # Layout
//! - [`model`]: messages, events, identities, commands, decisions: the domain types.
//! - [`commerce`]: orders, money, shipments and their statuses, and the [`Item`]s a channel's
//!   `parse` or `poll` yields.
//! - [`plugin`]: the [`Step`] and [`Channel`] traits, [`Context`], [`Host`], [`Error`] and
//!   [`ConfigProblem`].
//! - [`duration`]: the one duration grammar (`72h`, `1h30m`) of workflows and the command line.
//! - [`http`]: what a vendor's `Retry-After` asks for, in seconds or as a date.
//! - [`text`]: CJK scripts and width folding, from Unicode data.
//! - [`fingerprint`]: sender keys and body fingerprints, computed alike by engine and plugins.
//! - [`order`]: order numbers in one canonical form per marketplace format, and found in text.
//! - [`testing`]: test doubles for native runs of a plugin: [`testing::TestHost`] (secrets,
//!   canned HTTP answers, recorded requests) and an in-memory [`Context`].
//! - [`guide`]: writing a channel, from `cargo xtask new-plugin` to a tested `deliver`.
//! - `wit` (hidden): the generated bindings and their conversions; plugin code never names them.
//! - `allocator` (private): the plugins' allocator, size classes over talc.

pub mod commerce;
pub mod duration;
pub mod fingerprint;
pub mod http;
pub mod model;
pub mod order;
pub mod plugin;
pub mod testing;
pub mod text;

#[doc = include_str!("../docs/channels.md")]
pub mod guide {}

/// Plugins allocate small blocks from size classes ([`allocator`]) and the rest through talc,
/// instead of the C library's dlmalloc, which the Rust target uses by default: a step parses
/// names, addresses and text into many small strings per call, and both serve them in fewer
/// instructions.
#[cfg(all(feature = "guest", target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: allocator::SizeClasses<talc::wasm::WasmDynamicTalc> =
    allocator::SizeClasses::new(talc::wasm::new_wasm_dynamic_allocator());

#[cfg(feature = "guest")]
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
mod allocator;

#[cfg(feature = "guest")]
#[doc(hidden)]
pub mod wit;

pub use commerce::*;
pub use model::*;
pub use plugin::{Channel, ConfigProblem, Context, Error, Host, LogLevel, PluginInfo, Step};

/// `use weft_sdk::prelude::*;` brings in what a plugin's `lib.rs` usually needs.
pub mod prelude {
    pub use crate::commerce::*;
    pub use crate::model::*;
    pub use crate::plugin::{Channel, ConfigProblem, Context, Error, Host, LogLevel, Step};
}

#[doc(hidden)]
pub mod __private {
    pub use serde_json;
}
