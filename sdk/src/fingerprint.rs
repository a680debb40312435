//! Sender keys and body fingerprints: how two messages are compared without their full text.
//!
//! The engine computes them for [`crate::Context::ticket_messages`] and plugins compute them for
//! the message in hand, so both sides must use exactly these functions. Changing either changes
//! what counts as the same message: treat them as part of the contract.

use crate::model::Party;

/// A stable 64-bit FNV-1a hash of a body with width, case and whitespace folded and quoted
/// lines (`> ...`) left out. `0` is reserved for a body with no text, which matches nothing.
///
/// `"Wo ist  mein Paket?"` and `"wo ist mein paket?\n> alte Nachricht"` have the same
/// fingerprint; fullwidth `１２３` and `123` fold alike.
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

/// Who sent a message, for comparing senders: `email:<address>` lowercased, else
/// `buyer-id:...`, `phone:...` or `handle:...`; `None` when the channel named nobody.
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

/// Fullwidth ASCII to ASCII and the ideographic space to a space; every other char unchanged.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_layout_case_width_and_quotes() {
        let a = body_fingerprint("Wo ist mein Paket?\nBestellung 302-1234567");
        assert_eq!(
            a,
            body_fingerprint("  wo ist  mein paket?\r\n\r\nBestellung 302-1234567 \n> alte Nachricht")
        );
        assert_eq!(body_fingerprint("注文番号１２３"), body_fingerprint("注文番号123"));
        assert_eq!(
            body_fingerprint("Où EST mon colis ?"),
            body_fingerprint("où est mon colis ?")
        );
        assert_ne!(a, body_fingerprint("Wo ist mein Paket?\nBestellung 302-1234568"));
        assert_ne!(
            body_fingerprint("¿Dónde está mi pedido?"),
            body_fingerprint("我的订单还没到")
        );
        assert_eq!(body_fingerprint(" \n> only a quote"), 0);
        assert_eq!(body_fingerprint(""), 0);
    }

    #[test]
    fn fingerprints_are_stable_across_releases() {
        // Stored summaries are compared with fresh ones: the value itself must not drift.
        assert_eq!(body_fingerprint("hello"), 0xa430_d846_80aa_bd0b);
    }

    #[test]
    fn sender_keys_prefer_the_email_and_fold_case() {
        let mut from = Party {
            email: Some(" Luis@Example.ES ".into()),
            buyer_id: Some("A1B2".into()),
            ..Party::default()
        };
        assert_eq!(sender_key(&from).as_deref(), Some("email:luis@example.es"));
        from.email = Some("  ".into());
        assert_eq!(sender_key(&from).as_deref(), Some("buyer-id:a1b2"));
        from.buyer_id = None;
        from.handle = Some("@ユキ".into());
        assert_eq!(sender_key(&from).as_deref(), Some("handle:@ユキ"));
        assert_eq!(sender_key(&Party::default()), None);
    }
}
