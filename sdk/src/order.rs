//! Order numbers as buyers and marketplaces write them: one canonical form to compare, and
//! finding one in free text.
//!
//! Buyers copy an order number with or without its dashes, with a `#`, `No.` or `Nr.` in front,
//! in full-width digits; connectors report it as the marketplace prints it. [`canonical_order`]
//! gives all of these one form, per marketplace format:
//! - **Amazon** (17 digits, printed `ddd-ddddddd-ddddddd`): `302-1234567-7654321`,
//!   `30212345677654321` and `#302 1234567 7654321` are all `302-1234567-7654321`;
//! - **eBay** (12 digits, printed `dd-ddddd-ddddd`): `12-34567-89012` and `123456789012` are
//!   `12-34567-89012`;
//! - anything else (a shop's own `#1001`, `wm-2026-001`): as written, uppercased, without the
//!   label in front and without spaces (`1001`, `WM-2026-001`). Its dashes are kept: nothing
//!   says which of them belong to the number.
//!
//! [`find_order`] finds the first order number in a text: the dashed Amazon and eBay formats,
//! an undashed Amazon number, `#` followed by at least four digits, and a number of at least
//! four digits right after a word for "order" (`order`, `Bestellung`, `commande`, `pedido`,
//! `ordine`, `注文`, `订单`, ...). Other numbers (phones, postcodes, amounts) are not taken.

use crate::text::fold_width;

/// The canonical form of an order number (see the [module docs](self)), or `None` when `raw`
/// holds no letter or digit.
pub fn canonical_order(raw: &str) -> Option<String> {
    let mut text = raw.trim();
    loop {
        let lower = text.to_lowercase();
        let label = ["#", "no.", "nr.", "n°", "no ", "nr ", "order "]
            .iter()
            .find(|label| lower.starts_with(*label));
        match label {
            Some(label) => text = text[label.len()..].trim_start(),
            None => break,
        }
    }
    let written: String = text
        .chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    if !written.chars().any(char::is_alphanumeric) {
        return None;
    }
    let digits: String = written.chars().filter(char::is_ascii_digit).collect();
    let only_digits_and_dashes = written.chars().all(|c| c.is_ascii_digit() || c == '-');
    if only_digits_and_dashes {
        match digits.len() {
            17 => return Some(format!("{}-{}-{}", &digits[..3], &digits[3..10], &digits[10..])),
            12 => return Some(format!("{}-{}-{}", &digits[..2], &digits[2..7], &digits[7..])),
            _ => {}
        }
    }
    Some(written)
}

/// Words for "order" that a buyer writes right before its number, lowercased (full-width
/// forms are folded first).
const ORDER_WORDS: &[&str] = &[
    "order",
    "order no",
    "order nr",
    "order number",
    "bestellung",
    "bestellnummer",
    "bestell-nr",
    "auftrag",
    "commande",
    "n° de commande",
    "pedido",
    "ordine",
    "注文番号",
    "注文",
    "订单号",
    "订单",
    "訂單",
];

/// The first order number in `text` (see the [module docs](self)), as written there.
pub fn find_order(text: &str) -> Option<String> {
    let folded: String = text.chars().map(fold_width).collect();
    let chars: Vec<char> = folded.chars().collect();
    let word_char = |c: char| c.is_alphanumeric() || c == '_';
    for start in 0..chars.len() {
        if start > 0 && (word_char(chars[start - 1]) && chars[start - 1].is_ascii() || chars[start - 1] == '-') {
            continue;
        }
        if chars[start] == '#' {
            let digits = run_of_digits(&chars[start + 1..]);
            if digits >= 4 && ends_cleanly(&chars, start + 1 + digits) && !(start > 0 && chars[start - 1] == '&') {
                return Some(chars[start..start + 1 + digits].iter().collect());
            }
            // `#302-1234567-7654321`: the number itself follows.
            continue;
        }
        if !chars[start].is_ascii_digit() {
            continue;
        }
        for groups in [&[3, 7, 7][..], &[2, 5, 5], &[17]] {
            if let Some(len) = grouped(&chars[start..], groups)
                && ends_cleanly(&chars, start + len)
            {
                return Some(chars[start..start + len].iter().collect());
            }
        }
        let digits = run_of_digits(&chars[start..]);
        if digits >= 4 && ends_cleanly(&chars, start + digits) && after_order_word(&chars[..start]) {
            return Some(chars[start..start + digits].iter().collect());
        }
    }
    None
}

/// Whether `before` ends with a word for "order", then at most a label (`Nr.`, `No.`, `:`) and
/// spaces.
fn after_order_word(before: &[char]) -> bool {
    let tail: String = before[before.len().saturating_sub(24)..]
        .iter()
        .collect::<String>()
        .to_lowercase();
    let mut tail = tail.trim_end();
    for label in [":", "nr.", "no.", "n°", "nr", "no", "number", "番号", "号", "#"] {
        if let Some(rest) = tail.strip_suffix(label) {
            tail = rest.trim_end();
        }
    }
    ORDER_WORDS.iter().any(|word| {
        tail.strip_suffix(word).is_some_and(|rest| {
            // A whole word: what comes before is not a letter of a Latin-script word.
            rest.chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphabetic() && c.is_ascii() && word.is_ascii()))
        })
    })
}

fn run_of_digits(chars: &[char]) -> usize {
    chars.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// The length of digit groups of the given sizes joined by dashes at the start of `chars`.
fn grouped(chars: &[char], groups: &[usize]) -> Option<usize> {
    let mut at = 0;
    for (i, &size) in groups.iter().enumerate() {
        if i > 0 {
            if chars.get(at) != Some(&'-') {
                return None;
            }
            at += 1;
        }
        if run_of_digits(&chars[at.min(chars.len())..]) != size {
            return None;
        }
        at += size;
    }
    Some(at)
}

/// The number is not followed by more of a number or a Latin word.
fn ends_cleanly(chars: &[char], end: usize) -> bool {
    match chars.get(end) {
        None => true,
        Some(c) if c.is_ascii_alphanumeric() || *c == '_' => false,
        Some('-') => !chars.get(end + 1).is_some_and(char::is_ascii_digit),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_per_marketplace() {
        for (raw, canonical) in [
            ("302-1234567-7654321", "302-1234567-7654321"),
            ("30212345677654321", "302-1234567-7654321"),
            ("#302 1234567 7654321", "302-1234567-7654321"),
            ("３０２－１２３４５６７－７６５４３２１", "302-1234567-7654321"),
            ("12-34567-89012", "12-34567-89012"),
            ("123456789012", "12-34567-89012"),
            ("#100123", "100123"),
            ("Nr. 4711-ab", "4711-AB"),
            ("order WM-2026-001", "WM-2026-001"),
            ("ORD-2", "ORD-2"),
            ("订单12345", "订单12345"),
        ] {
            assert_eq!(canonical_order(raw).as_deref(), Some(canonical), "{raw}");
        }
        assert_eq!(canonical_order(" # "), None);
        assert_eq!(canonical_order(""), None);
    }

    #[test]
    fn finds_orders_in_text() {
        for (text, found) in [
            ("Bestellung 302-1234567-7654321 ist weg", "302-1234567-7654321"),
            ("meine Bestellung 30212345677654321 ist nicht da", "30212345677654321"),
            ("eBay 12-34567-89012.", "12-34567-89012"),
            ("注文番号#10482について", "#10482"),
            (
                "注文番号302-1234567-7654321の商品がまだ届きません",
                "302-1234567-7654321",
            ),
            ("我的订单100482还没有到", "100482"),
            (
                "ma commande #302-1234567-7654321 n'est pas arrivée",
                "302-1234567-7654321",
            ),
            ("Order no. 100482 is late", "100482"),
            ("il mio ordine 100482 non è arrivato", "100482"),
            ("#10511 and 302-1234567-7654321", "#10511"),
        ] {
            assert_eq!(find_order(text).as_deref(), Some(found), "{text}");
        }
    }

    #[test]
    fn leaves_other_numbers_alone() {
        for text in [
            "call me on 0170 1234567",
            "+49 170 1234567",
            "I paid 1499 euros",
            "#123",
            "1302-1234567-7654321",
            "tel 12-34567-890123",
            "a#12345",
            "&#12345;x",
            "reorder 123456",
            "10115 Berlin",
        ] {
            assert_eq!(find_order(text), None, "{text}");
        }
    }
}
