//! The `with:` of an eBay mount: where eBay's APIs are, which secrets hold the keyset and the
//! seller's consent, and where notifications come in.

use serde::Deserialize;
use weft_sdk::ConfigProblem;

/// The OAuth scope of the application token, with which public keys are fetched.
pub const APP_SCOPE: &str = "https://api.ebay.com/oauth/api_scope";
/// The OAuth scope the Commerce Message API asks of the seller's user token.
pub const MESSAGE_SCOPE: &str = "https://api.ebay.com/oauth/api_scope/commerce.message";

/// `with:` for an eBay channel. Secrets are named here and granted to the mount in the channels
/// file (`allow: { secrets: [...] }`); eBay's API host is granted in `allow: { http: [...] }`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where eBay's REST APIs are: production, the sandbox
    /// (`https://api.sandbox.ebay.com`), or a local test server.
    /// Example: `https://api.ebay.com`
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// The name of the secret holding the keyset's App ID (OAuth client id).
    /// Example: `ebay_client_id`
    pub client_id: String,
    /// The name of the secret holding the keyset's Cert ID (OAuth client secret).
    /// Example: `ebay_client_secret`
    pub client_secret: String,
    /// The name of the secret holding the seller's refresh token (from the authorization-code
    /// grant the seller consented to), with the `commerce.message` scope; buyer messages are
    /// read and replies sent with the user tokens it is exchanged for.
    /// Example: `ebay_refresh_token`
    pub refresh_token: String,
    /// The name of the secret holding the verification token typed into the notification
    /// settings of the keyset (32 to 80 of `A-Z a-z 0-9 _ -`); eBay's endpoint challenge is
    /// answered with it. Example: `ebay_verification_token`
    pub verification_token: String,
    /// The notification endpoint exactly as registered with eBay: the challenge answer hashes
    /// it. Example: `https://weft.example.com/hooks/ebay`
    pub endpoint: String,
    /// The seller's eBay user name: messages it sent (replies written on eBay's site, and
    /// those weft delivered) are the seller's own, not buyers' messages. Example: `mein-laden`
    pub seller: String,
    /// The scopes asked for when the refresh token is exchanged; the refresh token must carry
    /// them. Example: `[https://api.ebay.com/oauth/api_scope/commerce.message]`
    #[serde(default = "default_user_scopes")]
    pub user_scopes: Vec<String>,
    /// How many conversations (and messages) to ask for per page, 1 to 50 (eBay's maximum).
    /// Example: `50`
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

fn default_api_url() -> String {
    "https://api.ebay.com".to_owned()
}

fn default_user_scopes() -> Vec<String> {
    vec![MESSAGE_SCOPE.to_owned()]
}

fn default_page_size() -> u32 {
    50
}

impl Config {
    /// eBay's API root, without a trailing slash.
    pub fn api(&self) -> &str {
        self.api_url.trim_end_matches('/')
    }

    /// The OAuth token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/identity/v1/oauth2/token", self.api())
    }

    /// The Notification API's public key of `kid`.
    pub fn public_key_url(&self, kid: &str) -> String {
        format!(
            "{}/commerce/notification/v1/public_key/{}",
            self.api(),
            encode_path(kid)
        )
    }

    /// The Commerce Message API's root.
    pub fn message_api(&self) -> String {
        format!("{}/commerce/message/v1", self.api())
    }

    /// Problems the JSON Schema cannot see.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let url = self.api_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            problems.push(
                ConfigProblem::at(["api_url"], format!("`{url}` is not an http(s) URL"))
                    .expected("https://api.ebay.com or https://api.sandbox.ebay.com"),
            );
        }
        if !self.endpoint.starts_with("https://") && !self.endpoint.starts_with("http://") {
            problems.push(
                ConfigProblem::at(["endpoint"], format!("`{}` is not an http(s) URL", self.endpoint))
                    .expected("the endpoint URL registered with eBay"),
            );
        }
        if !(1..=50).contains(&self.page_size) {
            problems.push(
                ConfigProblem::at(["page_size"], format!("{} is outside what eBay serves", self.page_size))
                    .expected("1 to 50"),
            );
        }
        if self.seller.trim().is_empty() {
            problems.push(ConfigProblem::at(["seller"], "the seller's user name is empty"));
        }
        if self.user_scopes.is_empty() {
            problems
                .push(ConfigProblem::at(["user_scopes"], "no scope is asked for").expected(MESSAGE_SCOPE.to_owned()));
        }
        problems
    }
}

/// `value` as one path segment or query value: unreserved characters as they are, every other
/// byte percent-encoded.
pub fn encode_path(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(with: serde_json::Value) -> Result<Config, Vec<ConfigProblem>> {
        weft_sdk::testing::channel_config::<crate::Ebay>(with)
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "client_id": "ebay_client_id", "client_secret": "ebay_client_secret",
            "refresh_token": "ebay_refresh_token", "verification_token": "ebay_verification_token",
            "endpoint": "https://weft.example.com/hooks/ebay", "seller": "mein-laden",
        })
    }

    #[test]
    fn defaults_and_urls() {
        let config = config(base()).unwrap();
        assert_eq!(config.token_url(), "https://api.ebay.com/identity/v1/oauth2/token");
        assert_eq!(
            config.public_key_url("9936261a-7d7b-4621-a0f1-96ccb428af49"),
            "https://api.ebay.com/commerce/notification/v1/public_key/9936261a-7d7b-4621-a0f1-96ccb428af49"
        );
        assert_eq!(
            config.public_key_url("a/b c"),
            "https://api.ebay.com/commerce/notification/v1/public_key/a%2Fb%20c"
        );
        assert_eq!(config.page_size, 50);
        assert_eq!(config.user_scopes, [MESSAGE_SCOPE]);
    }

    #[test]
    fn problems_are_named_where_they_are() {
        let mut with = base();
        with["api_url"] = "ftp://api.ebay.com".into();
        with["page_size"] = 200.into();
        with["seller"] = " ".into();
        let problems = config(with).unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/api_url", "/page_size", "/seller"]);
    }
}
