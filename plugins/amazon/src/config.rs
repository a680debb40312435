//! The `with:` of an Amazon mount: the SQS queue SP-API notifications arrive in and the AWS
//! keys that read it, the EventBridge API key, and the Selling Partner API with its LWA keys.

use serde::Deserialize;
use weft_sdk::ConfigProblem;

/// `with:` for an Amazon channel. Secrets are named here and granted to the mount in the
/// channels file (`allow: { secrets: [...] }`); the hosts (`sqs.<region>.amazonaws.com`,
/// `api.amazon.com`, `sellingpartnerapi-<na|eu|fe>.amazon.com`) in `allow: { http: [...] }`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The SQS queue SP-API delivers notifications to (the destination of
    /// `createDestination`), polled when the mount sets `poll:`. None: notifications come only
    /// through the webhook (EventBridge).
    #[serde(default)]
    pub sqs: Option<SqsConfig>,
    /// The header and secret an EventBridge API destination authenticates with (its
    /// connection's "API key" authorization). None: the mount takes no webhooks.
    #[serde(default)]
    pub eventbridge: Option<EventBridgeConfig>,
    /// The Selling Partner API, for the Messaging API (`deliver`). None: the mount cannot
    /// send.
    #[serde(default)]
    pub sp_api: Option<SpApiConfig>,
}

/// The queue and how to read it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqsConfig {
    /// The queue's URL. Example: `https://sqs.eu-west-1.amazonaws.com/123456789012/sp-api-notifications`
    pub queue_url: String,
    /// The queue's region. Example: `eu-west-1`
    pub region: String,
    /// Where the SQS API is, when not `https://sqs.<region>.amazonaws.com` (a VPC endpoint, a
    /// local test server). Example: `https://sqs.eu-west-1.amazonaws.com`
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The name of the secret holding the access key id of an IAM identity allowed
    /// `sqs:ReceiveMessage` and `sqs:DeleteMessage` on the queue. Example: `aws_access_key_id`
    pub access_key_id: String,
    /// The name of the secret holding its secret access key. Example: `aws_secret_access_key`
    pub secret_access_key: String,
    /// The name of the secret holding a session token, for temporary credentials. Example:
    /// `aws_session_token`
    #[serde(default)]
    pub session_token: Option<String>,
    /// How long one receive waits for a message (long polling), 0 to 20 seconds (SQS's
    /// maximum). It must stay below the channel's time limit. Example: `10`
    #[serde(default = "default_wait_seconds")]
    pub wait_seconds: u32,
    /// How many receives of up to 10 messages one poll makes while the queue keeps answering
    /// full batches, 1 to 10. Example: `5`
    #[serde(default = "default_batches")]
    pub batches: u32,
}

/// The EventBridge API destination's key.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBridgeConfig {
    /// The header the connection sends the key in. Example: `x-weft-api-key`
    pub header: String,
    /// The name of the secret holding the key. Example: `amazon_eventbridge_key`
    pub api_key: String,
}

/// The Selling Partner API and the app's Login with Amazon keys.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpApiConfig {
    /// The SP-API endpoint of the seller's region. Example: `https://sellingpartnerapi-eu.amazon.com`
    pub endpoint: String,
    /// The LWA token endpoint. Example: `https://api.amazon.com/auth/o2/token`
    #[serde(default = "default_lwa_url")]
    pub lwa_url: String,
    /// The marketplace the mount's orders are in (`marketplaceIds=` of every Messaging call).
    /// Example: `A1PA6795UKMFR9` (amazon.de)
    pub marketplace_id: String,
    /// The name of the secret holding the app's LWA client id. Example: `lwa_client_id`
    pub client_id: String,
    /// The name of the secret holding the app's LWA client secret. Example: `lwa_client_secret`
    pub client_secret: String,
    /// The name of the secret holding the refresh token the seller's authorization gave.
    /// Example: `lwa_refresh_token`
    pub refresh_token: String,
}

fn default_wait_seconds() -> u32 {
    10
}

fn default_batches() -> u32 {
    5
}

fn default_lwa_url() -> String {
    "https://api.amazon.com/auth/o2/token".to_owned()
}

impl SqsConfig {
    /// The SQS API endpoint, without a trailing slash.
    pub fn endpoint(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
            None => format!("https://sqs.{}.amazonaws.com", self.region),
        }
    }
}

impl SpApiConfig {
    /// The SP-API root, without a trailing slash.
    pub fn api(&self) -> &str {
        self.endpoint.trim_end_matches('/')
    }
}

fn is_http_url(url: &str) -> bool {
    let url = url.trim();
    url.starts_with("https://") || url.starts_with("http://")
}

impl Config {
    /// Problems the JSON Schema cannot see.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.sqs.is_none() && self.eventbridge.is_none() && self.sp_api.is_none() {
            problems.push(
                ConfigProblem::at(Vec::<String>::new(), "the mount has nothing to do")
                    .expected("at least one of sqs, eventbridge, sp_api"),
            );
        }
        if let Some(sqs) = &self.sqs {
            if !is_http_url(&sqs.queue_url) {
                problems.push(
                    ConfigProblem::at(["sqs", "queue_url"], format!("`{}` is not a queue URL", sqs.queue_url))
                        .expected("https://sqs.<region>.amazonaws.com/<account>/<queue>"),
                );
            }
            if sqs.region.trim().is_empty() || sqs.region.contains(char::is_whitespace) {
                problems.push(
                    ConfigProblem::at(["sqs", "region"], format!("`{}` is not a region", sqs.region))
                        .expected("an AWS region such as eu-west-1"),
                );
            }
            if let Some(endpoint) = &sqs.endpoint
                && !is_http_url(endpoint)
            {
                problems.push(
                    ConfigProblem::at(["sqs", "endpoint"], format!("`{endpoint}` is not an http(s) URL"))
                        .expected("https://sqs.<region>.amazonaws.com"),
                );
            }
            if sqs.wait_seconds > 20 {
                problems.push(
                    ConfigProblem::at(
                        ["sqs", "wait_seconds"],
                        format!("{} is longer than SQS waits", sqs.wait_seconds),
                    )
                    .expected("0 to 20"),
                );
            }
            if !(1..=10).contains(&sqs.batches) {
                problems.push(
                    ConfigProblem::at(["sqs", "batches"], format!("{} batches", sqs.batches)).expected("1 to 10"),
                );
            }
        }
        if let Some(eventbridge) = &self.eventbridge {
            let header = eventbridge.header.trim();
            if header.is_empty()
                || !header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                problems.push(
                    ConfigProblem::at(["eventbridge", "header"], format!("`{header}` is not a header name"))
                        .expected("a header name such as x-weft-api-key"),
                );
            }
        }
        if let Some(sp_api) = &self.sp_api {
            for (field, url) in [("endpoint", &sp_api.endpoint), ("lwa_url", &sp_api.lwa_url)] {
                if !is_http_url(url) {
                    problems.push(
                        ConfigProblem::at(["sp_api", field], format!("`{url}` is not an http(s) URL"))
                            .expected("https://sellingpartnerapi-eu.amazon.com, https://api.amazon.com/auth/o2/token"),
                    );
                }
            }
            if sp_api.marketplace_id.trim().is_empty() {
                problems.push(
                    ConfigProblem::at(["sp_api", "marketplace_id"], "the marketplace id is empty")
                        .expected("a marketplace id such as A1PA6795UKMFR9"),
                );
            }
        }
        problems
    }
}

/// `value` as one path segment or query value: unreserved characters as they are, every other
/// byte percent-encoded.
pub fn encode(value: &str) -> String {
    crate::sigv4::uri_encode(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(with: serde_json::Value) -> Result<Config, Vec<ConfigProblem>> {
        weft_sdk::testing::channel_config::<crate::Amazon>(with)
    }

    #[test]
    fn defaults_and_endpoints() {
        let config = config(serde_json::json!({
            "sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/sp-api", "region": "eu-west-1",
                    "access_key_id": "aws_id", "secret_access_key": "aws_secret"},
            "sp_api": {"endpoint": "https://sellingpartnerapi-eu.amazon.com/", "marketplace_id": "A1PA6795UKMFR9",
                       "client_id": "lwa_id", "client_secret": "lwa_secret", "refresh_token": "lwa_refresh"},
        }))
        .unwrap();
        let sqs = config.sqs.unwrap();
        assert_eq!(sqs.endpoint(), "https://sqs.eu-west-1.amazonaws.com");
        assert_eq!((sqs.wait_seconds, sqs.batches), (10, 5));
        let sp_api = config.sp_api.unwrap();
        assert_eq!(sp_api.api(), "https://sellingpartnerapi-eu.amazon.com");
        assert_eq!(sp_api.lwa_url, "https://api.amazon.com/auth/o2/token");
    }

    #[test]
    fn problems_are_named_where_they_are() {
        let problems = config(serde_json::json!({
            "sqs": {"queue_url": "sp-api", "region": "eu west", "access_key_id": "a", "secret_access_key": "b",
                    "wait_seconds": 30, "batches": 0},
            "eventbridge": {"header": "x api key", "api_key": "k"},
            "sp_api": {"endpoint": "sellingpartnerapi-eu.amazon.com", "marketplace_id": " ",
                       "client_id": "a", "client_secret": "b", "refresh_token": "c"},
        }))
        .unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/sqs/queue_url",
                "/sqs/region",
                "/sqs/wait_seconds",
                "/sqs/batches",
                "/eventbridge/header",
                "/sp_api/endpoint",
                "/sp_api/marketplace_id"
            ]
        );
        let nothing = config(serde_json::json!({})).unwrap_err();
        assert!(nothing[0].message.contains("nothing to do"), "{nothing:?}");
    }
}
