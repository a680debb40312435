//! Priority from the intent, the urgency signals and, when the event carries it, the time left
//! before the ticket's SLA deadline.
//!
//! | input | effect |
//! | --- | --- |
//! | intent `feedback`, `product-question`, `other` | starts at `low` |
//! | intent `where-is-my-order`, `refund`, `return`, `order-change`, `billing`, or `triage` | starts at `normal` |
//! | intent `cancellation` (must beat the shipment), `damaged-defective-wrong`, `complaint` | starts at `high` |
//! | each of the signals anger, deadline, repetition | one level up |
//! | two or more of those signals | at least `high` |
//! | a legal or chargeback signal | `urgent` |
//! | SLA due in 2 hours or less (or overdue) | `urgent` |
//! | SLA due in 8 hours or less | one level up |
//!
//! Levels never go past `urgent`. The SLA input is `event.payload.sla_due` (milliseconds since
//! the epoch) until the engine offers deadlines through the context.

use crate::intent::Intent;
use crate::urgency::{Found, Signal};
use weft_sdk::Timestamp;

/// How soon a ticket should be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Whenever there is time.
    Low,
    /// In the normal queue.
    Normal,
    /// Ahead of the normal queue.
    High,
    /// Now.
    Urgent,
}

impl Priority {
    /// The value of the `priority` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    fn raise(self) -> Priority {
        match self {
            Priority::Low => Priority::Normal,
            Priority::Normal => Priority::High,
            Priority::High | Priority::Urgent => Priority::Urgent,
        }
    }
}

/// The priority and, step by step, why.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The result.
    pub priority: Priority,
    /// One line per rule of the table that applied, in order.
    pub steps: Vec<String>,
}

/// Where a ticket starts before any signal: `None` is the triage category.
pub fn base(intent: Option<Intent>) -> Priority {
    match intent {
        Some(Intent::Feedback | Intent::ProductQuestion | Intent::Other) => Priority::Low,
        Some(Intent::Cancellation | Intent::DamagedDefectiveWrong | Intent::Complaint) => Priority::High,
        Some(Intent::WhereIsMyOrder | Intent::Refund | Intent::Return | Intent::OrderChange | Intent::Billing)
        | None => Priority::Normal,
    }
}

/// Applies the table in the module documentation.
pub fn assess(intent: Option<Intent>, signals: &[Found], now: Timestamp, sla_due: Option<Timestamp>) -> Assessment {
    let mut priority = base(intent);
    let mut steps = vec![format!(
        "intent {} starts at {}",
        intent.map_or("triage", Intent::as_str),
        priority.as_str()
    )];
    let mut kinds: Vec<Signal> = signals.iter().map(|f| f.signal).collect();
    kinds.sort();
    kinds.dedup();
    let raising: Vec<Signal> = kinds.iter().copied().filter(|s| *s != Signal::Legal).collect();
    for signal in &raising {
        priority = priority.raise();
        steps.push(format!("{} signal raises it to {}", signal.as_str(), priority.as_str()));
    }
    if raising.len() >= 2 && priority < Priority::High {
        priority = Priority::High;
        steps.push("two or more signals make it at least high".into());
    }
    if kinds.contains(&Signal::Legal) {
        priority = Priority::Urgent;
        steps.push("a legal or chargeback threat makes it urgent".into());
    }
    if let Some(due) = sla_due {
        let left_min = (due - now) / 60_000;
        if left_min <= 120 {
            priority = Priority::Urgent;
            steps.push(format!("SLA due in {left_min} min makes it urgent"));
        } else if left_min <= 480 {
            priority = priority.raise();
            steps.push(format!("SLA due in {left_min} min raises it to {}", priority.as_str()));
        }
    }
    Assessment { priority, steps }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(signal: Signal) -> Found {
        Found {
            signal,
            cue: "x".into(),
        }
    }

    #[test]
    fn the_table() {
        assert_eq!(assess(Some(Intent::Feedback), &[], 0, None).priority, Priority::Low);
        assert_eq!(assess(Some(Intent::Refund), &[], 0, None).priority, Priority::Normal);
        assert_eq!(assess(None, &[], 0, None).priority, Priority::Normal);
        assert_eq!(assess(Some(Intent::Complaint), &[], 0, None).priority, Priority::High);
        assert_eq!(
            assess(Some(Intent::Feedback), &[found(Signal::Anger)], 0, None).priority,
            Priority::Normal
        );
        let two = [found(Signal::Anger), found(Signal::Anger), found(Signal::Deadline)];
        let a = assess(Some(Intent::Other), &two, 0, None);
        assert_eq!(a.priority, Priority::High, "{:?}", a.steps);
        assert_eq!(
            assess(Some(Intent::Feedback), &[found(Signal::Legal)], 0, None).priority,
            Priority::Urgent
        );
        assert_eq!(
            assess(Some(Intent::Return), &[], 0, Some(90 * 60_000)).priority,
            Priority::Urgent
        );
        assert_eq!(
            assess(Some(Intent::Return), &[], 0, Some(5 * 3_600_000)).priority,
            Priority::High
        );
        assert_eq!(
            assess(Some(Intent::Return), &[], 0, Some(30 * 3_600_000)).priority,
            Priority::Normal
        );
    }
}
