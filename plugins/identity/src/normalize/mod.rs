//! Normalizers: each turns one identifier as a customer wrote it into the form the engine stores
//! and matches exactly.
//!
//! - [`email`]: lowercase, provider rules for dots and `+tags`.
//! - [`phone`]: E.164 by the numbering plans of libphonenumber's metadata (generated), with a
//!   region for numbers written without a country code.
//! - [`ids`]: marketplace buyer ids, social handles, order numbers.
//! - [`name`]: person names as folded tokens, for comparison and blocking.
//! - [`address`]: postal addresses split into postcode, city, street, house number and unit.

pub mod address;
pub mod email;
pub mod ids;
pub mod name;
pub mod phone;
#[rustfmt::skip]
mod phone_plan;

/// Why an identifier could not be normalized. The step records these as evidence and goes on
/// without the identifier: one bad field never stops a customer from being decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// Nothing left after trimming.
    #[error("{field} is empty")]
    Empty { field: &'static str },
    /// The value does not have the shape of its kind.
    #[error("{field} {value:?} is not valid: {why}")]
    Invalid {
        field: &'static str,
        value: String,
        why: String,
    },
    /// A region code outside the supported numbering plans.
    #[error("region {region:?} is not supported for {field}; supported: {supported}")]
    UnknownRegion {
        field: &'static str,
        region: String,
        supported: String,
    },
}

impl NormalizeError {
    pub(crate) fn invalid(field: &'static str, value: &str, why: impl Into<String>) -> Self {
        NormalizeError::Invalid {
            field,
            value: value.to_owned(),
            why: why.into(),
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            NormalizeError::Empty { field }
            | NormalizeError::Invalid { field, .. }
            | NormalizeError::UnknownRegion { field, .. } => field,
        }
    }
}
