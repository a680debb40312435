//! weft (while the rest is merged)
pub mod runtime;
pub mod store;
pub mod workflow;
