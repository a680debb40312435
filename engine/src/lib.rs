//! weft: a workflow engine for cross-border e-commerce customer support.
//!
//! A host engine runs YAML workflows whose steps are sandboxed WASM plugins. Steps decide, the
//! engine acts: a step returns commands with reasons; the engine applies the commands of one
//! event atomically and logs who decided what and why. See `ARCHITECTURE.md` for the map.
//!
//! # Layout
//! - [`workflow`]: the YAML format, compiled into runtime types, with diagnostics.
//! - [`runtime`]: wasmtime; plugins under time and memory limits and granted capabilities.
//! - [`store`]: SQLite and PostgreSQL; the only module with SQL.
//! - [`exec`]: the queue, the step runner and the command applier.
//! - [`explain`], [`demo`]: reports for people.
//! - [`operations`]: merges, unmerges and splits by hand.
//! - [`cli`]: the `weft` command.

pub mod cli;
pub mod demo;
pub mod exec;
pub mod explain;
pub mod operations;
pub mod runtime;
pub mod store;
pub mod workflow;
