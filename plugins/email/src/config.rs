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
}

impl Config {
    /// Checks what serde cannot: no empty domain or marketplace name. The first problem of
    /// [`Config::problems`].
    pub fn check(&self) -> Result<(), String> {
        match self.problems().first() {
            Some(problem) => Err(format!("marketplace_domains: {}", problem.message)),
            None => Ok(()),
        }
    }

    /// Every problem serde cannot see, each at its entry of `marketplace_domains`.
    pub fn problems(&self) -> Vec<weft_sdk::ConfigProblem> {
        let mut problems = Vec::new();
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
