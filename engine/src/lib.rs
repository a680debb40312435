//! weft: a workflow engine for cross-border e-commerce customer support.
pub mod runtime;
