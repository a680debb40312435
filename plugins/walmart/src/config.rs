//! The `with:` of a Walmart mount: where the Marketplace API is, which secrets hold the API
//! keys, how orders are polled, and how Walmart's webhook deliveries authenticate.

use serde::Deserialize;
use weft_sdk::ConfigProblem;

/// The value of `WM_SVC.NAME` Walmart's documentation gives for the Marketplace APIs.
pub const SERVICE_NAME: &str = "Walmart Marketplace";
/// Walmart keeps orders of the last 180 days in the Orders API.
pub const MAX_LOOKBACK_DAYS: u32 = 180;
/// The most orders Walmart serves on one page of `GET /v3/orders`.
pub const MAX_PAGE_SIZE: u32 = 200;

/// `with:` for a Walmart channel. Secrets are named here and granted to the mount in the
/// channels file (`allow: { secrets: [...] }`); Walmart's API host is granted in
/// `allow: { http: [...] }`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where Walmart's Marketplace API is: production, the sandbox
    /// (`https://sandbox.walmartapis.com`), or a local test server.
    /// Example: `https://marketplace.walmartapis.com`
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// The name of the secret holding the Client ID of the seller's API key (Developer
    /// Portal, "API Key Management"). Example: `walmart_client_id`
    pub client_id: String,
    /// The name of the secret holding the Client Secret of that key.
    /// Example: `walmart_client_secret`
    pub client_secret: String,
    /// `WM_SVC.NAME` on every call. Example: `Walmart Marketplace`
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// `WM_CONSUMER.CHANNEL.TYPE`: the channel type id Walmart gives a Solution Provider at
    /// onboarding. Leave it out when the seller's own key is used.
    /// Example: `0f3e4dd4-0514-4346-b39d-af0e00ea8ab5`
    #[serde(default)]
    pub channel_type: Option<String>,
    /// How many orders to ask for per page, 1 to 200 (Walmart's maximum). Example: `100`
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// The most pages one poll reads, 1 to 100; a window with more is read on by the next
    /// polls, from the page where this one stopped. Example: `20`
    #[serde(default = "default_pages_per_poll")]
    pub pages_per_poll: u32,
    /// How far back the very first poll reads orders changed, in days, 1 to 180 (what the
    /// Orders API keeps). Example: `7`
    #[serde(default = "default_first_poll_days")]
    pub first_poll_days: u32,
    /// How long to leave the newest changes to the next poll, in seconds: a poll reads the
    /// orders changed up to this long before it started, so a change Walmart records a little
    /// late still falls into a window not yet read. Example: `60`
    #[serde(default = "default_settle_seconds")]
    pub settle_seconds: u32,
    /// How Walmart's webhook deliveries on this mount's hook prove where they come from.
    /// Without it every delivery is refused.
    #[serde(default)]
    pub webhook: Option<WebhookAuth>,
}

/// The authentication of a webhook subscription, as it was set up with Walmart
/// (`authDetails` of `POST /v3/webhooks/subscriptions`). Either or both may be given; each
/// given is checked.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookAuth {
    /// `BASIC_AUTH`: the names of the secrets holding the user name and password given to
    /// Walmart; each delivery must carry them as `Authorization: Basic ...`.
    /// Example: `{ user: walmart_hook_user, password: walmart_hook_password }`
    #[serde(default)]
    pub basic: Option<BasicAuth>,
    /// `HMAC`: the name of the secret shared with Walmart; each delivery must carry
    /// `WM_SEC.TIMESTAMP` and `WM_SEC.SIGNATURE`, base64 HMAC-SHA256 of
    /// `METHOD\npath?query\ntimestamp\nhex(SHA-256(body))`. Example: `walmart_hook_secret`
    #[serde(default)]
    pub hmac_secret: Option<String>,
    /// The path and query Walmart calls, when a proxy in front of weft rewrites it (the
    /// signature covers the path Walmart called). Without it, the path weft received.
    /// Example: `/walmart/notifications?src=wm`
    #[serde(default)]
    pub signed_path: Option<String>,
    /// How far a delivery's `WM_SEC.TIMESTAMP` may be from when it arrived, in seconds: an
    /// older one is a replay. Example: `300`
    #[serde(default = "default_replay_window")]
    pub replay_window_seconds: u32,
}

/// A user name and password, by the names of their secrets.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The name of the secret holding the user name. Example: `walmart_hook_user`
    pub user: String,
    /// The name of the secret holding the password. Example: `walmart_hook_password`
    pub password: String,
}

fn default_api_url() -> String {
    "https://marketplace.walmartapis.com".to_owned()
}

fn default_service_name() -> String {
    SERVICE_NAME.to_owned()
}

fn default_page_size() -> u32 {
    100
}

fn default_pages_per_poll() -> u32 {
    20
}

fn default_first_poll_days() -> u32 {
    7
}

fn default_settle_seconds() -> u32 {
    60
}

fn default_replay_window() -> u32 {
    300
}

impl Config {
    /// Walmart's API root, without a trailing slash.
    pub fn api(&self) -> &str {
        self.api_url.trim_end_matches('/')
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/v3/token", self.api())
    }

    /// The orders endpoint.
    pub fn orders_url(&self) -> String {
        format!("{}/v3/orders", self.api())
    }

    /// Problems the JSON Schema cannot see.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let url = self.api_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            problems.push(
                ConfigProblem::at(["api_url"], format!("`{url}` is not an http(s) URL"))
                    .expected("https://marketplace.walmartapis.com"),
            );
        }
        if self.service_name.trim().is_empty() {
            problems.push(ConfigProblem::at(["service_name"], "`WM_SVC.NAME` is empty").expected(SERVICE_NAME));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            problems.push(
                ConfigProblem::at(
                    ["page_size"],
                    format!("{} is outside what Walmart serves", self.page_size),
                )
                .expected(format!("1 to {MAX_PAGE_SIZE}")),
            );
        }
        if !(1..=100).contains(&self.pages_per_poll) {
            problems.push(
                ConfigProblem::at(["pages_per_poll"], format!("{} pages per poll", self.pages_per_poll))
                    .expected("1 to 100"),
            );
        }
        if !(1..=MAX_LOOKBACK_DAYS).contains(&self.first_poll_days) {
            problems.push(
                ConfigProblem::at(
                    ["first_poll_days"],
                    format!("{} days is outside what the Orders API keeps", self.first_poll_days),
                )
                .expected(format!("1 to {MAX_LOOKBACK_DAYS}")),
            );
        }
        if let Some(webhook) = &self.webhook {
            if webhook.basic.is_none() && webhook.hmac_secret.is_none() {
                problems.push(
                    ConfigProblem::at(
                        ["webhook"],
                        "no authentication is given: every delivery would be refused",
                    )
                    .expected("basic, hmac_secret, or both"),
                );
            }
            if let Some(path) = &webhook.signed_path
                && !path.starts_with('/')
            {
                problems.push(
                    ConfigProblem::at(["webhook", "signed_path"], format!("`{path}` does not start with `/`"))
                        .expected("the path (and query) Walmart calls, like /walmart/notifications"),
                );
            }
            if webhook.replay_window_seconds == 0 {
                problems.push(
                    ConfigProblem::at(
                        ["webhook", "replay_window_seconds"],
                        "a window of 0 s refuses every delivery",
                    )
                    .expected("a number of seconds, like 300"),
                );
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(with: serde_json::Value) -> Result<Config, Vec<ConfigProblem>> {
        weft_sdk::testing::channel_config::<crate::Walmart>(with)
    }

    #[test]
    fn defaults_and_urls() {
        let config = config(serde_json::json!({"client_id": "id", "client_secret": "secret"})).unwrap();
        assert_eq!(config.token_url(), "https://marketplace.walmartapis.com/v3/token");
        assert_eq!(config.orders_url(), "https://marketplace.walmartapis.com/v3/orders");
        assert_eq!(
            (
                config.service_name.as_str(),
                config.page_size,
                config.pages_per_poll,
                config.first_poll_days,
                config.settle_seconds
            ),
            ("Walmart Marketplace", 100, 20, 7, 60)
        );
        assert!(config.webhook.is_none() && config.channel_type.is_none());
    }

    #[test]
    fn problems_are_named_where_they_are() {
        let problems = config(serde_json::json!({
            "client_id": "id", "client_secret": "secret", "api_url": "ftp://walmart",
            "page_size": 500, "pages_per_poll": 0, "first_poll_days": 365,
            "webhook": {"signed_path": "hooks/walmart", "replay_window_seconds": 0},
        }))
        .unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/api_url",
                "/page_size",
                "/pages_per_poll",
                "/first_poll_days",
                "/webhook",
                "/webhook/signed_path",
                "/webhook/replay_window_seconds"
            ]
        );
    }
}
