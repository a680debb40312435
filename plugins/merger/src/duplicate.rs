//! System duplicates: the same mail forwarded by a rule or arriving through two mailboxes.
//!
//! Such a copy is appended with `duplicate_of`, so that it is kept but nobody answers it twice.
//! The check compares the message with the recent messages of the candidate tickets, as
//! `Context::ticket_messages` summarizes them ([`MessageSummary`]); sender keys and body
//! fingerprints come from [`weft_sdk::fingerprint`], the functions the engine uses too.

use crate::subject::strip_prefixes;
use crate::text::normalize;
use weft_sdk::duration::Duration;
use weft_sdk::fingerprint::{body_fingerprint, sender_key};
use weft_sdk::{Evidence, Message, MessageSummary};

/// What kind of copy a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    /// Forwarded (`Fwd:`, `WG:`, `转发：`, ...) with the same subject and body.
    Forwarded,
    /// The same sender and body again within [`SAME_MAIL_WINDOW`]: one mail, two mailboxes.
    SecondMailbox,
}

/// A message found to be a copy of one already on a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    /// The id of the original message.
    pub original: String,
    pub kind: CopyKind,
    pub evidence: Vec<Evidence>,
}

/// How far apart one mail may arrive through two mailboxes and still count as one.
pub const SAME_MAIL_WINDOW: Duration = Duration::from_minutes(15);

/// The message `message` is a system copy of, among `recent` (the recent messages of one
/// ticket, any order), or `None`.
///
/// - **forwarded**: its subject carries a forward prefix, its subject without prefixes equals
///   the original's (compared normalized), its body has the same [fingerprint](body_fingerprint),
///   and it arrived no later than `forward_window` after the original;
/// - **second mailbox**: the same [sender](sender_key), the same body fingerprint, at most
///   [`SAME_MAIL_WINDOW`] apart.
///
/// The earliest match wins, and a match that is itself a copy points to its own original.
pub fn find_duplicate(message: &Message, recent: &[MessageSummary], forward_window: Duration) -> Option<Duplicate> {
    let body = body_fingerprint(&message.body);
    if body == 0 {
        return None;
    }
    let subject = message.subject.as_deref().map(strip_prefixes);
    let forwarded = subject.as_ref().is_some_and(|s| s.forwarded);
    let plain_subject = subject.map(|s| normalize(s.text)).unwrap_or_default();
    let sender = sender_key(&message.from);

    let mut candidates: Vec<&MessageSummary> = recent
        .iter()
        .filter(|m| m.id != message.id && m.body_fingerprint == body && m.at <= message.at)
        .collect();
    candidates.sort_by_key(|m| m.at);
    candidates.into_iter().find_map(|original| {
        let apart = message.at - original.at;
        let original_id = original.duplicate_of.clone().unwrap_or_else(|| original.id.clone());
        let original_subject = original
            .subject
            .as_deref()
            .map(|s| normalize(strip_prefixes(s).text))
            .unwrap_or_default();
        if forwarded && plain_subject == original_subject && apart <= forward_window.as_millis() {
            return Some(Duplicate {
                evidence: vec![
                    Evidence::new(
                        "subject",
                        format!("forwarded copy of \"{}\"", original.subject.as_deref().unwrap_or("")),
                        0.5,
                    ),
                    Evidence::new("body", format!("same text as message {}", original.id), 0.5),
                ],
                original: original_id,
                kind: CopyKind::Forwarded,
            });
        }
        if sender.is_some() && sender == original.sender_key && apart <= SAME_MAIL_WINDOW.as_millis() {
            return Some(Duplicate {
                evidence: vec![
                    Evidence::new("from", format!("same sender {}", sender.as_deref().unwrap_or("")), 0.4),
                    Evidence::new(
                        "body",
                        format!(
                            "same text as message {}, {} apart",
                            original.id,
                            Duration::from_millis(apart)
                        ),
                        0.6,
                    ),
                ],
                original: original_id,
                kind: CopyKind::SecondMailbox,
            });
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn mail(id: &str, at: i64, from: &str, subject: &str, body: &str) -> Message {
        let mut m = Message::new("email", id, at);
        m.from.email = Some(from.to_owned());
        m.subject = Some(subject.to_owned());
        m.body = body.to_owned();
        m
    }

    #[test]
    fn finds_forwarded_copies_in_many_languages() {
        let body = "Die Lampe ist kaputt angekommen.";
        let original = MessageSummary::of(&mail("m1", 0, "anna@example.de", "Lampe kaputt", body));
        let window = Duration::from_hours(72);
        for subject in [
            "Fwd: Lampe kaputt",
            "WG: Lampe kaputt",
            "TR: Lampe kaputt",
            "RV: Lampe kaputt",
            "转发：Lampe kaputt",
            "転送: Lampe kaputt",
        ] {
            let copy = mail("m2", 5 * MIN, "shop@example.com", subject, body);
            let dup = find_duplicate(&copy, std::slice::from_ref(&original), window);
            assert_eq!(
                dup.map(|d| (d.original, d.kind)),
                Some(("m1".into(), CopyKind::Forwarded)),
                "{subject}"
            );
        }
    }

    #[test]
    fn forwarded_needs_prefix_same_subject_and_body_within_window() {
        let body = "Where is my order?";
        let original = [MessageSummary::of(&mail("m1", 0, "a@x.com", "Order 12", body))];
        let window = Duration::from_hours(72);
        let cases = [
            ("Order 12", "b@x.com", body, 5 * MIN),      // no forward prefix, other sender
            ("Fwd: Order 13", "b@x.com", body, 5 * MIN), // other subject
            ("Fwd: Order 12", "b@x.com", "Where is my order now?", 5 * MIN), // other body
            ("Fwd: Order 12", "b@x.com", body, 73 * 60 * MIN), // too late
        ];
        for (subject, from, text, at) in cases {
            let m = mail("m2", at, from, subject, text);
            assert_eq!(find_duplicate(&m, &original, window), None, "{subject} {text} {at}");
        }
    }

    #[test]
    fn same_mail_through_two_mailboxes() {
        let body = "¿Dónde está mi pedido?";
        let original = [MessageSummary::of(&mail(
            "inbox-1",
            0,
            "Luis@Example.es",
            "Pedido",
            body,
        ))];
        let window = Duration::from_hours(72);
        let copy = mail("inbox-2", 2 * MIN, "luis@example.es", "Pedido", body);
        let dup = find_duplicate(&copy, &original, window).unwrap();
        assert_eq!((dup.original.as_str(), dup.kind), ("inbox-1", CopyKind::SecondMailbox));

        // Asked again an hour later: a new message to answer, not a copy.
        let again = mail("inbox-3", 60 * MIN, "luis@example.es", "Pedido", body);
        assert_eq!(find_duplicate(&again, &original, window), None);
        // Same text from someone else: not a copy.
        let other = mail("inbox-4", 2 * MIN, "eva@example.es", "Pedido", body);
        assert_eq!(find_duplicate(&other, &original, window), None);
    }

    #[test]
    fn a_copy_of_a_copy_points_to_the_original() {
        let body = "我的订单还没到";
        let mut first_copy = MessageSummary::of(&mail("c1", MIN, "fwd@shop.cn", "转发：订单", body));
        first_copy.duplicate_of = Some("m0".into());
        let copy = mail("c2", 2 * MIN, "fwd@shop.cn", "转发：订单", body);
        let dup = find_duplicate(&copy, &[first_copy], Duration::from_hours(72)).unwrap();
        assert_eq!(dup.original, "m0");
    }
}
