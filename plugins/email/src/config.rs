//! The `with:` configuration of the email channel.

use serde::Deserialize;
use std::collections::BTreeMap;

/// `with:` for the email channel.
#[derive(Debug, Default, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Extra marketplace relays: a sender domain suffix mapped to the marketplace name. Mail
    /// from that domain or any subdomain of it is attributed to the marketplace (`channel` and
    /// `marketplace` set to the name, the sender's local part kept as `from.buyer_id`). Checked
    /// before the built-in Amazon, eBay and Walmart relays, so it can also override them.
    /// Example: `{ "relay.otto.de": "otto", "messages.cdiscount.com": "cdiscount" }`.
    #[serde(default)]
    pub marketplace_domains: BTreeMap<String, String>,
    /// The seller's address replies are sent from, with a display name if wanted. Needed to
    /// send. Example: `"Shop Support <support@shop.example>"`
    #[serde(default)]
    pub from: Option<String>,
    /// The seller's own addresses besides `from`: a mail from one of them (a copy of sent mail,
    /// a reply written in a mail program) is the seller's outbound reply to the buyer it went
    /// to, not buyer mail. An entry `@shop.example` stands for every address of the domain.
    /// Example: `[orders@shop.example, "@shop.example"]`
    #[serde(default)]
    pub own_addresses: Vec<String>,
    /// The sender address each marketplace authorized for relayed mail (Amazon's Messaging
    /// Permissions, Walmart's): a reply to relayed mail goes to the relay address, from this
    /// one; without an entry such a reply is refused before sending. The address is also one of
    /// the seller's own. Example: `{ amazon: amazon@shop.example, walmart: walmart@shop.example }`
    #[serde(default)]
    pub relay_senders: BTreeMap<String, String>,
    /// The domain of the `Message-ID`s of sent mail; the domain of `from` when left out.
    /// Example: `shop.example`
    #[serde(default)]
    pub message_id_domain: Option<String>,
}

impl Config {
    /// Checks what serde cannot: no empty domain or marketplace name. The first problem of
    /// [`Config::problems`].
    pub fn check(&self) -> Result<(), String> {
        match self.problems().first() {
            Some(problem) => Err(format!(
                "{}: {}",
                problem.pointer.trim_start_matches('/'),
                problem.message
            )),
            None => Ok(()),
        }
    }

    /// Every problem serde cannot see, each at its entry.
    pub fn problems(&self) -> Vec<weft_sdk::ConfigProblem> {
        let mut problems = Vec::new();
        let address = |text: &str| crate::reply::mailbox(text).is_some();
        if let Some(from) = &self.from
            && !address(from)
        {
            problems.push(
                weft_sdk::ConfigProblem::at(["from"], format!("`{from}` is not a mail address"))
                    .expected("an address such as \"Shop Support <support@shop.example>\""),
            );
        }
        for (index, own) in self.own_addresses.iter().enumerate() {
            let domain = own
                .strip_prefix('@')
                .is_some_and(|d| !d.is_empty() && !d.contains(['@', ' ']));
            if !domain && !address(own) {
                problems.push(
                    weft_sdk::ConfigProblem::at(
                        ["own_addresses".to_owned(), index.to_string()],
                        format!("`{own}` is neither a mail address nor `@domain`"),
                    )
                    .expected("orders@shop.example or @shop.example"),
                );
            }
        }
        for (marketplace, sender) in &self.relay_senders {
            if !address(sender) {
                problems.push(
                    weft_sdk::ConfigProblem::at(
                        ["relay_senders", marketplace.as_str()],
                        format!("`{sender}` is not a mail address"),
                    )
                    .expected("the sender address the marketplace authorized"),
                );
            }
        }
        if let Some(domain) = &self.message_id_domain
            && (domain.trim().is_empty() || domain.contains(['@', ' ', '<', '>']))
        {
            problems.push(
                weft_sdk::ConfigProblem::at(["message_id_domain"], format!("`{domain}` is not a domain"))
                    .expected("a domain such as shop.example"),
            );
        }
        for (domain, name) in &self.marketplace_domains {
            let at = |message: String| weft_sdk::ConfigProblem::at(["marketplace_domains", domain.as_str()], message);
            let bare = domain.trim().trim_start_matches('.');
            if bare.is_empty() || bare.contains(char::is_whitespace) || bare.contains('@') {
                problems
                    .push(at(format!("`{domain}` is not a domain suffix")).expected("a domain such as relay.otto.de"));
            }
            if name.trim().is_empty() {
                problems.push(at(format!("`{domain}` maps to an empty marketplace name")));
            }
        }
        problems
    }

    /// Whether `address` is one of the seller's own: `from`, an `own_addresses` entry (an
    /// address, or `@domain` for all of the domain) or an authorized relay sender.
    pub(crate) fn is_own(&self, address: &str) -> bool {
        let address = address.trim().to_lowercase();
        let same = |text: &str| crate::reply::mailbox(text).is_some_and(|(_, a)| a.to_lowercase() == address);
        self.from.as_deref().is_some_and(same)
            || self.relay_senders.values().any(|s| same(s))
            || self.own_addresses.iter().any(|own| match own.strip_prefix('@') {
                Some(domain) => address
                    .rsplit_once('@')
                    .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain.trim())),
                None => same(own),
            })
    }

    /// The configured marketplace for a sender domain (lowercase), if any: the longest
    /// matching suffix wins.
    pub(crate) fn marketplace_for(&self, domain: &str) -> Option<&str> {
        self.marketplace_domains
            .iter()
            .filter_map(|(suffix, name)| {
                let suffix = suffix.trim().trim_start_matches('.').to_ascii_lowercase();
                let matches = domain == suffix
                    || (domain.len() > suffix.len()
                        && domain.ends_with(&suffix)
                        && domain.as_bytes()[domain.len() - suffix.len() - 1] == b'.');
                matches.then_some((suffix.len(), name.trim()))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, name)| name)
    }
}
