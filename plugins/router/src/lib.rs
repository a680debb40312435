//! The `router` step: what a ticket is about, in which language, how urgent, and who takes it.
//!
//! It runs on `message.received` events that carry a ticket (after identity and merger) and
//! answers with `set-field` decisions (`category` with its confidence, or `triage` when the
//! classifier is unsure; `language`; `priority`; `tag`s `urgency:<signal>`) and an `assign`
//! decision, each with a reason and evidence.
//!
//! # Layout
//! - [`intent`]: the intents.
//! - [`data`]: labeled examples and their CSV format (`data/*.csv`).
//! - [`features`]: text normalization and hashed word and character n-gram features.
//! - [`model`]: the logistic-regression classifier, its training and its file (`model/model.bin`).
//! - [`semantic`]: the semantic classifier over sentence embeddings (host capability) and its
//!   prototypes (`data/prototypes.csv` plus the workflow's `examples`); [`vectors`]: the
//!   prototypes' vectors shipped with the router (`model/prototypes.bin`).
//! - [`combine`]: how the two classifiers make one category, and which one decided.
//! - [`lang`]: language identification (script, then trigram profiles).
//! - [`eval`]: precision, recall, F1 and per-language accuracy on held-out data.
//! - [`urgency`]: anger, deadline, repetition and legal signals.
//! - [`priority`]: the priority table.
//! - [`config`]: the `with:` configuration; [`routing`]: what it compiles into, and routing.
//! - [`step`]: the step itself.

pub mod combine;
pub mod config;
pub mod data;
pub mod eval;
pub mod features;
pub mod intent;
pub mod lang;
pub mod model;
pub mod priority;
pub mod routing;
pub mod semantic;
pub mod step;
pub mod urgency;
pub mod vectors;

pub use config::Config;
pub use data::{Example, parse_csv};
pub use eval::{Report, evaluate};
pub use intent::Intent;
pub use model::{Model, TrainOptions, train};
pub use routing::TRIAGE;
pub use semantic::{Prototypes, SemanticPrediction};
pub use step::Router;
pub use vectors::PrototypeVectors;

#[cfg(target_arch = "wasm32")]
weft_sdk::export_step!(Router);
