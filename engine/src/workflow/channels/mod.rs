//! The channels file of `weft serve`: which channel plugin answers each webhook path, with
//! which configuration and which grants.
//!
//! ```yaml
//! version: 1
//! channels:
//!   - id: shop-de                 # POST /hooks/shop-de
//!     uses: json
//!     with: { default_channel: shop, signature_secret: shop_de_signing }
//!     allow: { http: [hooks.example.com], secrets: [shop_de_signing] }
//! ```
//!
//! Checked like a workflow: every problem at once with file:line:column, unknown keys are
//! errors, `with:` is validated against the plugin's config schema. Secret values are never in
//! the file: a granted secret `NAME` is read from the environment variable `WEFT_SECRET_NAME`
//! (uppercased, other characters as `_`), as for steps.
//!
//! Reading order: [`file`] (what integrators write), [`model`] (what the engine mounts),
//! [`compile`] (from one to the other).

pub mod compile;
pub mod file;
mod mail;
pub mod model;

pub use compile::{ChannelsLoading, load_channels, load_channels_checking};
pub use model::{ChannelMount, Channels};
