//! Runs step and channel plugins (WASM components) under limits and capabilities.
//!
//! A [`Runtime`] owns one wasmtime engine (pooling allocator, epoch interruption, a background
//! epoch ticker) and a compile cache; [`Runtime::load`] turns a `.wasm` file into a [`Plugin`]
//! that knows its world, name, version and config schema. Every call gets a fresh instance, a
//! memory cap, a deadline and exactly the capabilities its [`CallOptions`] grant; what goes
//! wrong comes back as a [`StepFailure`] naming the plugin and the step.
//!
//! Only this module speaks wasmtime: the generated bindings stay in `bindings` and every value
//! crosses the boundary as a `weft_sdk` type.
//!
//! # Layout
//! - `engine`: [`Runtime`], [`RuntimeConfig`], the epoch ticker and [`RuntimeError`].
//! - `cache`: the on-disk cache of compiled components.
//! - `plugin`: [`Plugin`]: loading, world detection and the calls.
//! - `call`: [`CallOptions`], [`Grants`], [`StepOutput`].
//! - `state`: what a store holds during one call, and its memory limiter.
//! - `context`, `http`, `secrets`, `mail`, `log`, `embeddings`, `mount_cache`: one module per
//!   host capability ([`Embedder`] is the sentence-embedding model behind `embeddings`;
//!   `mount_cache` is the channels' `cache`, kept per mount).
//! - `failure`: [`StepFailure`] and the classification of traps.
//! - `validate`: checks of what a plugin returns.
//! - `convert`, `bindings`: generated types and their conversion to and from `weft_sdk`.

mod bindings;
mod cache;
mod call;
mod context;
mod convert;
mod embeddings;
mod engine;
mod failure;
mod http;
mod log;
mod mail;
mod mount_cache;
mod plugin;
mod secrets;
mod state;
mod validate;

pub use call::{CallOptions, GrantedBy, Grants, StepOutput};
pub use context::{ContextReader, MemoryReader};
pub use embeddings::{Embedder, EmbeddingsError, MAX_TEXTS_PER_CALL, MODEL_FOLDER, one_core_per_pass};
pub use engine::{CONTRACT, Runtime, RuntimeConfig, RuntimeError};
pub use failure::{Origin, StepFailure};
pub use mail::{SmtpRelay, SmtpSecurity};
pub use plugin::{DeliverOutcome, Plugin, PluginKind};
pub use secrets::env_var as secret_env_var;
pub use weft_sdk::Error as PluginError;
pub use weft_sdk::{LogLevel, PluginInfo};
