//! Measuring how well identity and threading work: a traffic generator that knows the truth,
//! and the report that compares what the store decided with that truth.
//!
//! - [`generate`]: seeded, realistic buyer traffic across countries, channels and languages,
//!   written as the `json` channel's JSON lines plus a truth file.
//! - [`report`]: pairwise precision, recall and F1 of customer links and ticket grouping, and
//!   tickets per real issue, from the store's exports.
//! - [`command`]: the `weft generate` and `weft report quality` commands.

pub mod command;
pub mod generate;
pub mod report;
