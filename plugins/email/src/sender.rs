//! Who wrote a mail, and which marketplace relayed it.
//!
//! Amazon hands sellers an anonymized buyer address (`<random>@marketplace.amazon.<tld>`), eBay
//! relays member messages from `@members.ebay.<tld>` or `ebay@ebay.com` with the buyer's user id
//! in an `X-` header or the subject ("anna_m-42 sent a message about ..."), Walmart relays from
//! `@relay.walmart.com`. Such mail belongs to the marketplace's channel, and the buyer is known
//! by their marketplace id rather than by a mail address.

use crate::config::Config;
use crate::headers::HeaderBlock;
use weft_sdk::Party;

/// The sender of a mail, attributed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sender {
    /// `email`, or the relaying marketplace's name.
    pub channel: String,
    /// The relaying marketplace, if any.
    pub marketplace: Option<String>,
    /// Who wrote it.
    pub party: Party,
}

/// Attributes a sender (`address` as written in `From`, `name` its display name).
pub(crate) fn attribute(
    name: Option<&str>,
    address: &str,
    headers: &HeaderBlock,
    subject: Option<&str>,
    config: &Config,
) -> Sender {
    let (local, domain) = match address.rsplit_once('@') {
        Some((local, domain)) => (local, domain.trim_end_matches('.').to_ascii_lowercase()),
        None => (address, String::new()),
    };
    let relay = |marketplace: &str, buyer_id: Option<String>| Sender {
        channel: marketplace.to_owned(),
        marketplace: Some(marketplace.to_owned()),
        party: Party {
            name: name.and_then(|n| buyer_name(n, marketplace)),
            buyer_id: buyer_id.filter(|id| !id.is_empty()),
            ..Party::default()
        },
    };
    if let Some(marketplace) = config.marketplace_for(&domain) {
        return relay(marketplace, Some(local.to_owned()));
    }
    if domain.starts_with("marketplace.amazon.") {
        return relay("amazon", Some(local.to_owned()));
    }
    if domain.starts_with("members.ebay.") {
        return relay(
            "ebay",
            Some(ebay_user(headers, subject).unwrap_or_else(|| local.to_owned())),
        );
    }
    if local.eq_ignore_ascii_case("ebay") && is_ebay_domain(&domain) {
        return relay("ebay", ebay_user(headers, subject));
    }
    if domain == "relay.walmart.com" || domain.ends_with(".relay.walmart.com") {
        return relay("walmart", Some(local.to_owned()));
    }
    Sender {
        channel: "email".to_owned(),
        marketplace: None,
        party: Party {
            name: name.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned),
            email: Some(address.to_owned()),
            ..Party::default()
        },
    }
}

/// `ebay.com`, `ebay.de`, `ebay.co.uk`, ...
fn is_ebay_domain(domain: &str) -> bool {
    domain
        .strip_prefix("ebay.")
        .is_some_and(|tld| !tld.is_empty() && !tld.contains("ebay"))
}

/// The eBay user id of the buyer, from an `X-...` header naming one or from the subject.
fn ebay_user(headers: &HeaderBlock, subject: Option<&str>) -> Option<String> {
    let from_header = headers.fields.iter().find_map(|field| {
        let name = field.name.to_ascii_lowercase();
        let names_user = name.starts_with("x-")
            && name.contains("ebay")
            && ["user", "buyer", "sender"].iter().any(|w| name.contains(w));
        let value = field.value.trim();
        (names_user && is_user_id(value)).then(|| value.to_owned())
    });
    from_header.or_else(|| {
        let mut subject = subject?.trim();
        while let Some(rest) = strip_reply_prefix(subject) {
            subject = rest;
        }
        let (user, _) = subject.split_once(" sent a message about ")?;
        let user = user.trim();
        is_user_id(user).then(|| user.to_owned())
    })
}

fn strip_reply_prefix(subject: &str) -> Option<&str> {
    ["re:", "aw:", "fw:", "fwd:", "wg:"].iter().find_map(|prefix| {
        let head = subject.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix)
            .then(|| subject[prefix.len()..].trim_start())
    })
}

/// eBay user ids are one word, without `@`.
fn is_user_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= 64 && !value.contains(char::is_whitespace) && !value.contains('@')
}

/// The buyer's name from a relay's display name: the relay's own decorations ("- Amazon
/// Marketplace", "via eBay") removed, and nothing if all that is left is the marketplace.
fn buyer_name(display: &str, marketplace: &str) -> Option<String> {
    let mut name = display.trim();
    for separator in [" - ", " – ", " via "] {
        if let Some((head, tail)) = name.rsplit_once(separator) {
            let tail = tail.to_lowercase();
            if tail.contains(marketplace) || tail.contains("marketplace") {
                name = head.trim();
            }
        }
    }
    let bare: String = name.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    if bare.is_empty() || bare.starts_with(marketplace) {
        return None;
    }
    Some(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(name: Option<&str>, address: &str, headers: &[u8], subject: Option<&str>) -> Sender {
        let block = HeaderBlock::scan(headers).unwrap();
        let mut config = Config::default();
        config.marketplace_domains.insert("relay.otto.de".into(), "otto".into());
        attribute(name, address, &block, subject, &config)
    }

    #[test]
    fn relays_are_attributed() {
        let amazon = sender(
            Some("Pierre Dubois - Amazon Marketplace"),
            "8x7yq2lmn3k4v5@marketplace.amazon.fr",
            b"X: y",
            None,
        );
        assert_eq!(
            (amazon.channel.as_str(), amazon.party.buyer_id.as_deref()),
            ("amazon", Some("8x7yq2lmn3k4v5"))
        );
        assert_eq!(amazon.party.name.as_deref(), Some("Pierre Dubois"));
        assert_eq!(amazon.party.email, None);
        let ebay = sender(Some("eBay"), "ebay@ebay.com", b"X-eBay-Sender-UserId: hans_42", None);
        assert_eq!(
            (ebay.channel.as_str(), ebay.party.buyer_id.as_deref(), ebay.party.name),
            ("ebay", Some("hans_42"), None)
        );
        let ebay = sender(
            Some("eBay"),
            "ebay@ebay.de",
            b"X: y",
            Some("Re: li-wei88 sent a message about Teapot #1234"),
        );
        assert_eq!(ebay.party.buyer_id.as_deref(), Some("li-wei88"));
        let walmart = sender(Some("Bob"), "c0ffee42@relay.walmart.com", b"X: y", None);
        assert_eq!(
            (walmart.marketplace.as_deref(), walmart.party.buyer_id.as_deref()),
            (Some("walmart"), Some("c0ffee42"))
        );
        let otto = sender(None, "k123@mail.relay.otto.de", b"X: y", None);
        assert_eq!(otto.channel, "otto");
    }

    #[test]
    fn plain_mail_keeps_the_address() {
        let anna = sender(Some("Anna Müller"), "Anna.Mueller@example.de", b"X: y", None);
        assert_eq!(anna.channel, "email");
        assert_eq!(anna.party.email.as_deref(), Some("Anna.Mueller@example.de"));
        assert_eq!(anna.party.name.as_deref(), Some("Anna Müller"));
        let fake = sender(None, "ebay@ebay-support.example", b"X: y", None);
        assert_eq!(fake.channel, "email");
    }
}
