//! Sender keys and body fingerprints: how two messages are compared without their full text.
//!
//! The engine computes them for [`crate::Context::ticket_messages`] and plugins compute them for
//! the message in hand, so both sides must use exactly these functions. Changing either changes
//! what counts as the same message: treat them as part of the contract.

use crate::model::Party;
use crate::text::fold_width;

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

    /// Fingerprints of bodies in many languages and scripts, with the width variants, spaces
    /// and quotes the folding touches or must leave alone, as the code computed them before
    /// width folding moved to [`crate::text`]. Stored summaries hold such values: none may change.
    const STORED: [(&str, u64); 24] = [
        (
            "Wo ist mein Paket? Bestellung 302-1234567-7654321\n\nGrüße, Jürgen Weiß",
            0x5196297dbcc24b83,
        ),
        (
            "Où est ma commande ? J'ai payé 49,90 € il y a dix jours.\r\n> Le 3 mars, Boutique a écrit :\r\n> Merci",
            0x77e8154d6b8e89c1,
        ),
        (
            "¿Dónde está mi pedido? Lo pedí hace dos semanas. Señora Núñez",
            0xdb761ffd7ae81958,
        ),
        (
            "Buongiorno, il pacco è arrivato danneggiato. Perché nessuno risponde?",
            0x25566193f3b44932,
        ),
        (
            "注文番号：１２３－４５６７　まだ届きません。返金してください！",
            0x449a446bf595c730,
        ),
        ("ﾁｭｳﾓﾝ ﾊﾞﾝｺﾞｳ ｶﾞ ﾄﾄﾞｷﾏｾﾝ ｰ ￥１，２００", 0x55e75f9fc6c477c2),
        ("我的订单还没到，订单号１２３４５６。请尽快处理！", 0x028637e59dcc70a3),
        (
            "주문한 상품이 아직 도착하지 않았습니다. 환불해 주세요.",
            0xa9450cfec390b9b3,
        ),
        ("مرحبا، لم يصل طلبي رقم ١٢٣٤ بعد. شكرا", 0xe4dc870ee5e3e32f),
        ("שלום, ההזמנה שלי לא הגיעה. מספר הזמנה 5678", 0xb2d4ea0a404dcb43),
        (
            "Ｒｅ：Ｏｒｄｅｒ　ＡＢＣ－１２３\u{3000}ｐｌｅａｓｅ　ＨＥＬＰ",
            0x7ce9c6448c81b026,
        ),
        ("ΟΔΥΣΣΕΥΣ ΚΑΙ ΣΊΣΥΦΟΣ", 0xb15ed7501808b9ac),
        ("İSTANBUL ıııı Iİ", 0x4e16d8d2a82a8397),
        ("Straße STRASSE ǅungla ﬁle", 0x8c5d82f16c1298ae),
        ("e\u{301}te\u{301} été", 0xd8df85a47990746b),
        ("📦 where is my parcel?? 😡😡", 0x3467cf4a5c618949),
        (
            "  leading and\ttabs\u{a0}nbsp\u{2003}em\u{200b}zwsp  ",
            0x0298bd5d84f384b2,
        ),
        ("line one\n   > indented quote\n>> nested\nline two", 0x0eb0c3a0e270bbc1),
        ("⦅１⦆ ｟x｠ ￠￡￤ ｡｢｣､", 0x2cf2cb277b916c5f),
        ("Zażółć gęślą jaźń. Příliš žluťoučký kůň.", 0xc9f100b825762066),
        ("Москва, заказ №４２ не пришёл", 0x243ab3c943983ff7),
        ("नमस्ते, मेरा ऑर्डर कहाँ है?", 0x01329237c3287af9),
        ("\r\n\r\n", 0x0000000000000000),
        ("> only quoted\n> lines", 0x0000000000000000),
    ];

    #[test]
    fn fingerprints_of_a_multilingual_corpus_never_change() {
        for (body, stored) in STORED {
            assert_eq!(body_fingerprint(body), stored, "{body:?}");
        }
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
