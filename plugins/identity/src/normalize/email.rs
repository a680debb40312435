//! Email addresses: lowercase, provider rules for dots and `+tags`.
//!
//! The whole address is lowercased (the local part is case-sensitive in theory, never in
//! practice). `mailto:` and a display name (`Anna <anna@example.de>`) are removed.
//!
//! Provider rules, applied by domain:
//! - Gmail (`gmail.com`, `googlemail.com`): dots in the local part are ignored, a `+tag` is
//!   removed, and `googlemail.com` becomes `gmail.com` (Google documents both domains as one
//!   mailbox and dots as insignificant).
//! - Providers documented to deliver `local+tag@` to `local@` (subaddressing), whose `+tag` is
//!   removed: see [`SUBADDRESSING`]. Other domains keep the `+`: for them it may be part of a
//!   real, different mailbox.

use super::NormalizeError;

/// Domains whose `+tag` is a subaddress of the same mailbox: Google (`gmail.com`,
/// `googlemail.com`), Microsoft consumer mail (`outlook.com`, `hotmail.com`, `live.com`,
/// `msn.com`), Apple iCloud (`icloud.com`, `me.com`, `mac.com`), Fastmail, Proton
/// (`proton.me`, `protonmail.com`, `protonmail.ch`, `pm.me`), `posteo.de`, `mailbox.org`.
pub const SUBADDRESSING: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "fastmail.com",
    "fastmail.fm",
    "proton.me",
    "protonmail.com",
    "protonmail.ch",
    "pm.me",
    "posteo.de",
    "mailbox.org",
];

/// The country whose country-code top-level domain a normalized address ends in (`…@libero.it`
/// → `IT`, `…@yahoo.co.uk` → `GB`: `.uk` is the one ccTLD that is not the ISO code), or `None`
/// for generic domains (`.com`, `.net`, `.org`, `.eu`, ...), which say nothing of where the
/// owner lives. It is evidence of the owner's country, not proof: it is used only to read a
/// phone number written without a country code when nothing better (an address) is known.
pub fn country_of_domain(normalized: &str) -> Option<String> {
    let (_, domain) = normalized.rsplit_once('@')?;
    country_of_host(domain)
}

/// The country of a host name's country-code top-level domain (`amazon.co.uk`: GB,
/// `ebay.de`: DE), if it has one; a marketplace site names the country it sells in.
pub fn country_of_host(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let tld = host.rsplit('.').next()?;
    if tld == host {
        // A bare name (`amazon`) has no top-level domain.
        return None;
    }
    match tld {
        "uk" => Some("GB".to_owned()),
        // Two letters are a ccTLD (RFC 1591), except the European Union's, which is no country.
        "eu" => None,
        t if t.len() == 2 && t.chars().all(|c| c.is_ascii_lowercase()) => Some(t.to_ascii_uppercase()),
        _ => None,
    }
}

/// Normalizes an email address, or says what is wrong with it.
pub fn normalize_email(raw: &str) -> Result<String, NormalizeError> {
    const FIELD: &str = "email";
    let mut text = raw.trim();
    if let (Some(open), Some(close)) = (text.rfind('<'), text.rfind('>'))
        && open < close
    {
        text = &text[open + 1..close];
    }
    let text = text.trim();
    let text = text
        .strip_prefix("mailto:")
        .or_else(|| text.strip_prefix("MAILTO:"))
        .unwrap_or(text);
    if text.is_empty() {
        return Err(NormalizeError::Empty { field: FIELD });
    }
    let lower = text.to_lowercase();
    let Some((local, domain)) = lower.rsplit_once('@') else {
        return Err(NormalizeError::invalid(FIELD, raw, "no `@`"));
    };
    if local.is_empty() {
        return Err(NormalizeError::invalid(FIELD, raw, "nothing before the `@`"));
    }
    if local.contains('@') {
        return Err(NormalizeError::invalid(FIELD, raw, "more than one `@`"));
    }
    if lower.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(NormalizeError::invalid(FIELD, raw, "contains a space"));
    }
    let domain = domain.trim_end_matches('.');
    if !domain.contains('.') || domain.starts_with('.') || domain.contains("..") {
        return Err(NormalizeError::invalid(FIELD, raw, "the domain is not a host name"));
    }
    let domain = if domain == "googlemail.com" {
        "gmail.com"
    } else {
        domain
    };
    let mut local = local.to_owned();
    if SUBADDRESSING.contains(&domain)
        && let Some(plus) = local.find('+')
    {
        local.truncate(plus);
    }
    if domain == "gmail.com" {
        local.retain(|c| c != '.');
    }
    if local.is_empty() {
        return Err(NormalizeError::invalid(FIELD, raw, "only a subaddress before the `@`"));
    }
    Ok(format!("{local}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        for (input, expected) in [
            ("Anna.Schmidt@Example.DE", "anna.schmidt@example.de"),
            ("  jean.dupont@orange.fr ", "jean.dupont@orange.fr"),
            ("J.O.H.N+shop@gmail.com", "john@gmail.com"),
            ("john@googlemail.com", "john@gmail.com"),
            (
                "Hans Müller <Hans.Mueller+amazon@outlook.com>",
                "hans.mueller@outlook.com",
            ),
            ("mailto:yamada.taro@icloud.com", "yamada.taro@icloud.com"),
            ("maria.garcia+pedidos@example.es", "maria.garcia+pedidos@example.es"),
            ("m.rossi@libero.it", "m.rossi@libero.it"),
            ("王伟@例子.中国", "王伟@例子.中国"),
            ("user@example.com.", "user@example.com"),
        ] {
            assert_eq!(normalize_email(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn country_of_the_domain() {
        for (email, country) in [
            ("n.gallo1@libero.it", Some("IT")),
            ("oliver_walker1717@yahoo.co.uk", Some("GB")),
            ("marie@orange.fr", Some("FR")),
            ("taro@docomo.ne.jp", Some("JP")),
            ("anna@gmx.de", Some("DE")),
            ("someone@gmail.com", None),
            ("someone@example.org", None),
            ("someone@europa.eu", None),
            ("someone@shop.info", None),
        ] {
            assert_eq!(country_of_domain(email).as_deref(), country, "{email}");
        }
    }

    #[test]
    fn rejects() {
        for (input, why) in [
            ("", "empty"),
            ("anna.example.de", "no `@`"),
            ("@example.de", "nothing before"),
            ("a@b@example.de", "more than one"),
            ("anna@localhost", "not a host name"),
            ("an na@example.de", "space"),
            ("+tag@gmail.com", "only a subaddress"),
        ] {
            let err = normalize_email(input).unwrap_err();
            assert!(err.to_string().contains(why), "{input}: {err}");
        }
    }
}
