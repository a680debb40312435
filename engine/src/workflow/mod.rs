//! Workflows: the YAML file format, its compiler and its diagnostics.
//!
//! Sellers write workflows as YAML ([`file`] describes the format and generates its JSON
//! Schema). [`load`] parses each file into a tree that remembers positions, checks everything
//! at once (keys, types, plugins and their config schemas, durations, conditions, grants) and
//! compiles sound files into [`Workflow`]s the engine runs, once each step plugin has checked
//! its `with:` too ([`Loading::finish`]; the engine makes those calls). Problems come back as
//! [`Diagnostics`], each `path:line:col: message`.
//!
//! Reading order: [`file`] (what sellers write), [`model`] (what the engine runs), [`compile`]
//! (from one to the other), then the checked pieces: [`names`], [`condition`]. Durations are read with
//! [`weft_sdk::duration`], the grammar every plugin uses too.
//! [`channels`] is the channels file of `weft serve`, checked with the same machinery.

mod catalog;
pub mod channels;
pub mod compile;
pub mod condition;
mod diagnostic;
pub mod file;
pub mod model;
pub mod names;
mod yaml;

pub use catalog::{Catalog, PluginKind, PluginSummary};
pub use channels::{ChannelMount, Channels, ChannelsLoading, load_channels, load_channels_checking};
pub use compile::{ConfigCheck, Loading, load, load_str};
pub use condition::{Condition, ConditionError};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use file::json_schema;
pub use model::{Grants, OnError, Retry, Step, Workflow};
pub use names::{EventPattern, HookId, HostPattern, NameError, PluginName, SecretName, StepId};
