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
//! - [`exec`]: the queue, the step runner and the command applier; [`exec::live`] the live loop.
//! - [`server`], [`serve`], [`metrics`], [`reload`]: `weft serve`: HTTP (webhooks, health,
//!   metrics), the process that runs it beside the live loop, what it counts, and the hot
//!   reload of its workflows, channels file and plugins.
//! - [`explain`], [`demo`]: reports for people.
//! - [`train`]: `weft train router`, retraining the router's n-gram model.
//! - [`quality`]: generated traffic with ground truth, and the quality report against it.
//! - [`sla_report`], [`ticket`]: SLA reports; agents' status changes and replies that stop clocks.
//! - [`operations`]: merges, unmerges and splits by hand.
//! - [`auth`]: API tokens and roles (`weft token create|list|revoke`).
//! - [`outbox`]: `weft outbox list|retry`, the messages `weft serve` delivers.
//! - [`cli`]: the `weft` command.

pub mod auth;
pub mod cli;
pub mod demo;
pub mod exec;
pub mod explain;
pub mod identity_train;
pub mod metrics;
pub mod operations;
pub mod outbox;
pub mod quality;
pub mod reload;
pub mod runtime;
pub mod serve;
pub mod server;
pub mod sla_report;
pub mod store;
pub mod ticket;
pub mod train;
pub mod workflow;
