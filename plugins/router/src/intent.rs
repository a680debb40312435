//! The intents a ticket can be about, and their names in data files and decisions.

use std::fmt;

/// What a customer wants. The classifier picks one of these; below the configured confidence
/// the router says `triage` instead (see [`crate::TRIAGE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Intent {
    /// "Where is my parcel?"
    WhereIsMyOrder,
    /// Money back, for any reason.
    Refund,
    /// Sending an item back.
    Return,
    /// Cancelling an order before it ships.
    Cancellation,
    /// Changing an order or its delivery address.
    OrderChange,
    /// A question about a product before or after buying.
    ProductQuestion,
    /// The item arrived damaged, defective or not what was ordered.
    DamagedDefectiveWrong,
    /// Invoices, charges, payment methods, VAT.
    Billing,
    /// Praise or suggestions.
    Feedback,
    /// Dissatisfaction with the service itself.
    Complaint,
    /// Anything else.
    Other,
}

impl Intent {
    /// Every intent, in the order the model stores its classes.
    pub const ALL: [Intent; 11] = [
        Intent::WhereIsMyOrder,
        Intent::Refund,
        Intent::Return,
        Intent::Cancellation,
        Intent::OrderChange,
        Intent::ProductQuestion,
        Intent::DamagedDefectiveWrong,
        Intent::Billing,
        Intent::Feedback,
        Intent::Complaint,
        Intent::Other,
    ];

    /// The intent's name in data files and in the `category` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::WhereIsMyOrder => "where-is-my-order",
            Intent::Refund => "refund",
            Intent::Return => "return",
            Intent::Cancellation => "cancellation",
            Intent::OrderChange => "order-change",
            Intent::ProductQuestion => "product-question",
            Intent::DamagedDefectiveWrong => "damaged-defective-wrong",
            Intent::Billing => "billing",
            Intent::Feedback => "feedback",
            Intent::Complaint => "complaint",
            Intent::Other => "other",
        }
    }

    /// The intent with this name, if there is one.
    pub fn parse(name: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == name)
    }

    /// Position in [`Intent::ALL`], which is also the model's class index.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_indices_match() {
        for (i, intent) in Intent::ALL.into_iter().enumerate() {
            assert_eq!(Intent::parse(intent.as_str()), Some(intent));
            assert_eq!(intent.index(), i);
        }
        assert_eq!(Intent::parse("triage"), None);
    }
}
