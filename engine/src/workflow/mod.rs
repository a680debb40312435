//! Workflows: the YAML file format, its compiler and its diagnostics.
//!
//! Sellers write workflows as YAML ([`file`] describes the format and generates its JSON
//! Schema). [`load`] parses each file into a tree that remembers positions, checks everything
//! at once (keys, types, plugins and their config schemas, durations, conditions, grants) and
//! compiles sound files into [`Workflow`]s the engine runs. Problems come back as
//! [`Diagnostics`], each `path:line:col: message`.
//!
//! Reading order: [`file`] (what sellers write), [`model`] (what the engine runs), [`compile`]
//! (from one to the other), then the checked pieces: [`names`], [`condition`]. Durations are read with
//! [`weft_sdk::duration`], the grammar every plugin uses too.

mod catalog;
pub mod compile;
pub mod condition;
mod diagnostic;
pub mod file;
pub mod model;
pub mod names;
mod yaml;

pub use catalog::{Catalog, PluginKind, PluginSummary};
pub use compile::{load, load_str};
pub use condition::{Condition, ConditionError};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use file::json_schema;
pub use model::{Grants, Retry, Step, Workflow};
pub use names::{EventPattern, HostPattern, NameError, PluginName, SecretName, StepId};
