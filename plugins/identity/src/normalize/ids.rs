//! Opaque identifiers: marketplace buyer ids, social handles and order numbers.

use super::NormalizeError;
use crate::text::fold;

/// A marketplace buyer id as `marketplace:id` (`amazon:A1B2C3D4E5F6G7`).
///
/// The marketplace is lowercased; it comes from an explicit `marketplace:` prefix in the id or
/// else from `marketplace` (the message's marketplace or channel). The id itself is opaque and
/// only trimmed: marketplaces compare their ids exactly.
pub fn normalize_buyer_id(raw: &str, marketplace: Option<&str>) -> Result<String, NormalizeError> {
    const FIELD: &str = "buyer id";
    let raw_trimmed = raw.trim();
    if raw_trimmed.is_empty() {
        return Err(NormalizeError::Empty { field: FIELD });
    }
    let (market, id) = match raw_trimmed.split_once(':') {
        Some((m, id)) if is_namespace(m) => (m.to_owned(), id.trim()),
        _ => match marketplace.map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => (m.to_owned(), raw_trimmed),
            None => {
                return Err(NormalizeError::invalid(FIELD, raw, "no marketplace to qualify it"));
            }
        },
    };
    if id.is_empty() {
        return Err(NormalizeError::invalid(FIELD, raw, "nothing after the marketplace"));
    }
    if id.chars().any(char::is_whitespace) {
        return Err(NormalizeError::invalid(FIELD, raw, "contains a space"));
    }
    Ok(format!("{}:{id}", market.to_lowercase()))
}

/// A social handle as `platform:name` (`instagram:@Anna.Schmidt` → `instagram:anna.schmidt`).
///
/// Handles on the platforms weft talks to (Instagram, Facebook, TikTok, X, Telegram) are
/// case-insensitive, so the name is folded and a leading `@` removed. The platform comes from
/// an explicit prefix or else from `platform` (the message's channel).
pub fn normalize_handle(raw: &str, platform: Option<&str>) -> Result<String, NormalizeError> {
    const FIELD: &str = "handle";
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(NormalizeError::Empty { field: FIELD });
    }
    let (platform, name) = match trimmed.split_once(':') {
        Some((p, name)) if is_namespace(p) => (p.to_owned(), name.trim()),
        _ => match platform.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => (p.to_owned(), trimmed),
            None => {
                return Err(NormalizeError::invalid(FIELD, raw, "no platform to qualify it"));
            }
        },
    };
    let name = fold(name.trim_start_matches('@'));
    if name.is_empty() {
        return Err(NormalizeError::invalid(FIELD, raw, "nothing after the `@`"));
    }
    if name.chars().any(char::is_whitespace) {
        return Err(NormalizeError::invalid(FIELD, raw, "contains a space"));
    }
    Ok(format!("{}:{name}", platform.to_lowercase()))
}

/// An order number: a leading `#` or `No.`, spaces and dashes removed, letters uppercased, so
/// `#302-1234567-7654321` and `302 1234567 7654321` agree.
pub fn normalize_order(raw: &str) -> Result<String, NormalizeError> {
    const FIELD: &str = "order";
    let folded: String = fold(raw.trim());
    let without_label = ["#", "no.", "nr.", "n°", "no "]
        .iter()
        .find_map(|p| folded.strip_prefix(p))
        .unwrap_or(&folded);
    let mut out = String::new();
    for c in without_label.chars() {
        match c {
            ' ' | '-' | '_' | '.' | '/' | '#' => {}
            c if c.is_alphanumeric() => out.extend(c.to_uppercase()),
            c => {
                return Err(NormalizeError::invalid(
                    FIELD,
                    raw,
                    format!("unexpected character {c:?}"),
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(NormalizeError::Empty { field: FIELD });
    }
    Ok(out)
}

fn is_namespace(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && s.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyer_ids() {
        for (input, market, expected) in [
            ("A1B2C3D4E5F6G7", Some("amazon"), "amazon:A1B2C3D4E5F6G7"),
            ("Amazon:A1B2C3D4E5F6G7", None, "amazon:A1B2C3D4E5F6G7"),
            (" hans_mueller_42 ", Some("eBay"), "ebay:hans_mueller_42"),
            ("rakuten:山田商店", Some("amazon"), "rakuten:山田商店"),
        ] {
            assert_eq!(normalize_buyer_id(input, market).as_deref(), Ok(expected), "{input}");
        }
        assert!(
            normalize_buyer_id("A1B2", None)
                .unwrap_err()
                .to_string()
                .contains("no marketplace")
        );
        assert!(
            normalize_buyer_id("amazon:", None)
                .unwrap_err()
                .to_string()
                .contains("nothing after")
        );
        assert!(normalize_buyer_id("", None).is_err());
    }

    #[test]
    fn handles() {
        for (input, platform, expected) in [
            ("instagram:@Anna.Schmidt", None, "instagram:anna.schmidt"),
            ("@Jean_Dupont", Some("instagram"), "instagram:jean_dupont"),
            ("@MaríaGarcía", Some("TikTok"), "tiktok:mariagarcia"),
            ("facebook:yamada.taro", Some("instagram"), "facebook:yamada.taro"),
        ] {
            assert_eq!(normalize_handle(input, platform).as_deref(), Ok(expected), "{input}");
        }
        assert!(
            normalize_handle("@anna", None)
                .unwrap_err()
                .to_string()
                .contains("no platform")
        );
        assert!(
            normalize_handle("instagram:@", None)
                .unwrap_err()
                .to_string()
                .contains("nothing after")
        );
    }

    #[test]
    fn orders() {
        for (input, expected) in [
            ("302-1234567-7654321", "30212345677654321"),
            ("#302 1234567 7654321", "30212345677654321"),
            ("#1001", "1001"),
            ("Nr. 4711-ab", "4711AB"),
            ("ｗｍ－２０２６－００１", "WM2026001"),
            ("订单12345", "订单12345"),
        ] {
            assert_eq!(normalize_order(input).as_deref(), Ok(expected), "{input}");
        }
        assert!(normalize_order(" # ").is_err());
        assert!(
            normalize_order("12*34")
                .unwrap_err()
                .to_string()
                .contains("unexpected character")
        );
    }
}
