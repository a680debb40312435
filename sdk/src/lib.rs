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
//! # Layout
//! - [`model`]: messages, events, identities, commands, decisions: the domain types.
//! - [`plugin`]: the [`Step`] and [`Channel`] traits, [`Context`], [`Host`] and [`Error`].
//! - [`duration`]: the one duration grammar (`72h`, `1h30m`) of workflows and the command line.
//! - [`text`]: CJK scripts and width folding, from Unicode data.
//! - [`fingerprint`]: sender keys and body fingerprints, computed alike by engine and plugins.
//! - [`order`]: order numbers in one canonical form per marketplace format, and found in text.
//! - [`testing`]: an in-memory [`Context`] for unit tests and native runs of a plugin.
//! - `wit` (hidden): the generated bindings and their conversions; plugin code never names them.
//! - `allocator` (private): the plugins' allocator, size classes over talc.

pub mod duration;
pub mod fingerprint;
pub mod model;
pub mod order;
pub mod plugin;
pub mod testing;
pub mod text;

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

pub use model::*;
pub use plugin::{Channel, Context, Error, Host, LogLevel, PluginInfo, Step};

/// `use weft_sdk::prelude::*;` brings in what a plugin's `lib.rs` usually needs.
pub mod prelude {
    pub use crate::model::*;
    pub use crate::plugin::{Channel, Context, Error, Host, LogLevel, Step};
}

#[doc(hidden)]
pub mod __private {
    pub use serde_json;
}
