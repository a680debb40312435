//! Order numbers as marketplaces write them: Amazon `123-1234567-1234567`, eBay
//! `12-12345-12345`, Shopify `#1234` (kept with its `#`), and in mail relayed by Walmart its
//! plain-digit customer order numbers after a word for "order".

/// Which order number formats to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Formats {
    /// Amazon, eBay and Shopify.
    All,
    /// Amazon and eBay only: in mail relayed by Amazon or eBay a `#1234` is an item or a
    /// listing number, never a Shopify order.
    Marketplace,
    /// Walmart relays: the formats of `All`, and a bare number right after a word for "order"
    /// (`Order Number: 5281956426648`, `pedido 5281956426648`): Walmart's customer order
    /// numbers are plain digits, which buyers seldom write with a `#`. The SDK's
    /// [`weft_sdk::order::find_order`] reads exactly these.
    Walmart,
}

/// The first order number in `text`, by position, of the given formats.
pub(crate) fn find_order(text: &str, formats: Formats) -> Option<String> {
    if formats == Formats::Walmart {
        return weft_sdk::order::find_order(text);
    }
    let bytes = text.as_bytes();
    for start in 0..bytes.len() {
        let boundary_before = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        if !boundary_before {
            continue;
        }
        if bytes[start] == b'#' {
            if formats == Formats::Marketplace {
                continue;
            }
            if start > 0 && bytes[start - 1] == b'&' {
                // `&#12345;` is a character reference, not an order.
                continue;
            }
            let digits = run_of_digits(&bytes[start + 1..]);
            if digits >= 4 && ends_cleanly(bytes, start + 1 + digits) {
                return Some(text[start..start + 1 + digits].to_owned());
            }
            continue;
        }
        if start > 0 && bytes[start - 1] == b'-' {
            // The tail of a longer dashed number.
            continue;
        }
        for groups in [[3, 7, 7], [2, 5, 5]] {
            if let Some(len) = dashed(&bytes[start..], groups)
                && ends_cleanly(bytes, start + len)
            {
                return Some(text[start..start + len].to_owned());
            }
        }
    }
    None
}

fn run_of_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// The length of `ddd-ddddddd-ddddddd` (group sizes given) at the start of `bytes`.
fn dashed(bytes: &[u8], groups: [usize; 3]) -> Option<usize> {
    let mut at = 0;
    for (i, size) in groups.into_iter().enumerate() {
        if i > 0 {
            if bytes.get(at) != Some(&b'-') {
                return None;
            }
            at += 1;
        }
        if run_of_digits(&bytes[at.min(bytes.len())..]) != size {
            return None;
        }
        at += size;
    }
    Some(at)
}

/// The number is not followed by more of a number or a word.
fn ends_cleanly(bytes: &[u8], end: usize) -> bool {
    match bytes.get(end) {
        None => true,
        Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => false,
        Some(b'-') => !bytes.get(end + 1).is_some_and(u8::is_ascii_digit),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_kind_and_the_first_of_several() {
        assert_eq!(
            find_order("Bestellung 302-1234567-7654321 ist weg", Formats::All).as_deref(),
            Some("302-1234567-7654321")
        );
        assert_eq!(
            find_order("eBay 12-34567-89012.", Formats::All).as_deref(),
            Some("12-34567-89012")
        );
        assert_eq!(
            find_order("注文番号#10482について", Formats::All).as_deref(),
            Some("#10482")
        );
        assert_eq!(
            find_order("#10511 and 302-1234567-7654321", Formats::All).as_deref(),
            Some("#10511")
        );
    }

    #[test]
    fn marketplace_mail_skips_hash_numbers() {
        assert_eq!(
            find_order("item #285512345678, order 19-04321-65432", Formats::Marketplace).as_deref(),
            Some("19-04321-65432")
        );
    }

    #[test]
    fn ignores_lookalikes() {
        for text in [
            "#123",
            "1302-1234567-7654321",
            "302-1234567-76543210",
            "tel 12-34567-890123",
            "a#12345",
            "12-34567-89012-5",
            "&#12345;x",
        ] {
            assert_eq!(find_order(text, Formats::All), None, "{text}");
        }
    }
}
