//! weft (store only, while the rest is merged)
pub mod store;
