//! System duplicates: the same mail forwarded by a rule or arriving through two mailboxes.
//!
//! Such a copy is appended with `duplicate_of`, so that it is kept but nobody answers it twice.
//! The check needs the recent messages of the candidate tickets, which the step's `Context`
//! does not offer yet; [`find_duplicate`] takes them as a parameter ([`MessageSummary`]), and
//! the engine is expected to grow
//! `Context::ticket_messages(ticket: u64, limit: u32) -> Vec<MessageSummary>`, newest first.

use crate::duration::Duration;
use crate::subject::strip_prefixes;
use crate::text::{fold_width, normalize};
use weft_sdk::{Evidence, Message, Party, Timestamp};

/// A message already on a ticket, as the duplicate check needs it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSummary {
    /// The message's id in its channel.
    pub id: String,
    pub at: Timestamp,
    /// The sender's [key](sender_key), when known.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    /// [`body_fingerprint`] of its body.
    pub body_hash: u64,
    /// Set when this message is itself a copy: the id of the original.
    #[serde(default)]
    pub duplicate_of: Option<String>,
}

impl MessageSummary {
    /// The summary of a message, as the engine would store it.
    pub fn of(message: &Message) -> Self {
        MessageSummary {
            id: message.id.clone(),
            at: message.at,
            from: sender_key(&message.from),
            subject: message.subject.clone(),
            body_hash: body_fingerprint(&message.body),
            duplicate_of: None,
        }
    }
}

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

/// A stable 64-bit FNV-1a hash of a body with width, case and whitespace folded and quoted
/// lines (`> ...`) left out. `0` is reserved for a body with no text, which matches nothing.
///
/// The engine must compute [`MessageSummary::body_hash`] with exactly this function; it belongs
/// in the SDK once `ticket_messages` exists.
pub fn body_fingerprint(body: &str) -> u64 {
    let text: String = body
        .lines()
        .filter(|line| !line.trim_start().starts_with('>'))
        .flat_map(|line| line.chars().chain([' ']))
        .map(fold_width)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if text.is_empty() {
        return 0;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash.max(1)
}

/// Who sent a message, for comparing senders: the email address lowercased, else the buyer id,
/// the phone number or the handle.
pub fn sender_key(from: &Party) -> Option<String> {
    let pick = |kind: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| format!("{kind}:{}", v.to_lowercase()))
    };
    pick("email", &from.email)
        .or_else(|| pick("buyer-id", &from.buyer_id))
        .or_else(|| pick("phone", &from.phone))
        .or_else(|| pick("handle", &from.handle))
}

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
        .filter(|m| m.id != message.id && m.body_hash == body && m.at <= message.at)
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
        if sender.is_some() && sender == original.from && apart <= SAME_MAIL_WINDOW.as_millis() {
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
    fn fingerprints_ignore_layout_and_quotes() {
        let a = body_fingerprint("Wo ist mein Paket?\nBestellung 302-1234567");
        assert_eq!(
            a,
            body_fingerprint("  wo ist  mein paket?\r\n\r\nBestellung 302-1234567 \n> alte Nachricht")
        );
        assert_eq!(body_fingerprint("注文番号１２３"), body_fingerprint("注文番号123"));
        assert_ne!(a, body_fingerprint("Wo ist mein Paket?\nBestellung 302-1234568"));
        assert_eq!(body_fingerprint(" \n> only a quote"), 0);
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
