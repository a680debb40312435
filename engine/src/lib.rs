//! weft (while the rest is merged)
pub mod store;
pub mod workflow;
