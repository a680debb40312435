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
//! A channel implements [`Channel`] and is exported with [`export_channel!`]; `plugins/json` is
//! the worked example (a webhook signature, a subscription check, parsing). The engine calls:
//! - `verify(inbound, config, host)` when a webhook arrives on `weft serve`, before anything is
//!   kept: an `Err(Error::Permanent(..))` answers the sender 401 and nothing is queued; any
//!   other error (a refused secret, a bad config) answers 503, so the vendor tries again.
//! - `handshake(request, config, host)` for `GET /hooks/{id}` (Meta's `hub.challenge`, eBay's
//!   `challenge_code`): `Ok(None)`, the default, answers 405.
//! - `parse(inbound, config)` after the webhook was answered (and for files of `weft run`);
//!   an error keeps the traffic as a dead letter with the message as its reason.
//! - `deliver(outbound, config, host)` when `weft serve`'s outbox sends a reply through the
//!   mount: `Ok` when the vendor accepted it; [`Error::RetryLater`] (with its `Retry-After`)
//!   or [`Error::Retryable`] only when sending the same `outbound.key` again cannot deliver it
//!   twice (the vendor refused it, or dedupes by the key: pass it as an idempotency key);
//!   [`Error::Permanent`] with the vendor's reason, which the ticket shows.
//!
//! What a channel gets:
//! - **config**: the `with:` of its entry in the channels file, checked against the JSON
//!   Schema of `Config` when the file loads (`weft validate --channels FILE`), and
//!   deserialized into `Config` before every call. Files of `weft run` get `{}`.
//! - **secrets**: `host.secret(NAME)` for the names in the entry's `allow: { secrets: [..] }`;
//!   the engine reads the value from the environment variable `WEFT_SECRET_<NAME>` (uppercased,
//!   other characters `_`). Name the secret in `with:` (as `signature_secret` does) and grant
//!   it in `allow:`: a refusal comes back as `Err` saying what to add to the channels file.
//! - **http**: `host.fetch(..)` to the hosts in `allow: { http: [..] }` only.
//! - **[`Inbound`]**: `source` (`/hooks/{id}` or a file name), `hook` (the hook id; `None`
//!   for files), `received_at` (ms since the epoch), `content_type`, `headers` (every header
//!   as sent, in order; look one up with [`Inbound::header`], case-insensitively) and `body`
//!   (the raw bytes, exactly as received: compute signatures over them).
//!
//! A channel plugin is found like a step: the engine loads every `.wasm` in its plugins folder
//! and names each by its crate's package name without `weft-plugin-` (`weft-plugin-json` ->
//! `json`); `uses:` in the channels file names it.
//!
//! # Layout
//! - [`model`]: messages, events, identities, commands, decisions: the domain types.
//! - [`plugin`]: the [`Step`] and [`Channel`] traits, [`Context`], [`Host`], [`Error`] and
//!   [`ConfigProblem`].
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
pub use plugin::{Channel, ConfigProblem, Context, Error, Host, LogLevel, PluginInfo, Step};

/// `use weft_sdk::prelude::*;` brings in what a plugin's `lib.rs` usually needs.
pub mod prelude {
    pub use crate::model::*;
    pub use crate::plugin::{Channel, ConfigProblem, Context, Error, Host, LogLevel, Step};
}

#[doc(hidden)]
pub mod __private {
    pub use serde_json;
}
