//! The `{{name}}` channel: signed webhooks in, replies out through the vendor's REST API.
//!
//! Made by `cargo xtask new-plugin channel {{name}}` as a working start: change the wire format
//! ([`Webhook`] and the body `deliver` sends) to your vendor's and keep the shape. What each
//! function must do and return is in the SDK's guide (`cargo doc -p weft-sdk --open`, module
//! `guide`).
//!
//! - `verify`: `X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, under the secret
//!   that `with: { signature_secret: NAME }` names; without it, nothing is checked.
//! - `parse`: one JSON [`Webhook`] per webhook becomes one message.
//! - `deliver`: `POST {api_base}/v1/messages` with `Authorization: Bearer <token>` (the secret
//!   `token_secret` names) and `Idempotency-Key: <outbound key>`, so the vendor drops a retry of
//!   a message it already took; the answer's `id` is the delivered message's id.
//!
//! Mounted in the channels file of `weft serve`:
//!
//! ```yaml
//! - id: {{name}}
//!   uses: {{name}}
//!   with: { api_base: "https://api.example.com", signature_secret: {{secret}}_signing, token_secret: {{secret}}_token }
//!   allow: { http: [api.example.com], secrets: [{{secret}}_signing, {{secret}}_token] }
//! ```

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use weft_sdk::prelude::*;

/// The header that carries the signature of a webhook's body.
pub const SIGNATURE_HEADER: &str = "X-Signature-256";

/// The channel.
pub struct {{Type}};

/// `with:` of a mount of this channel, checked against this type's JSON Schema when the
/// channels file loads, then by [`Channel::check_config`].
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Base URL of the vendor's API, without a trailing `/v1`; tests and staging point it at
    /// a local server. Example: `api_base: "https://api.example.com"`
    pub api_base: String,
    /// The secret that signs webhooks, granted in the channels file (`allow: { secrets: [..] }`).
    /// Example: `signature_secret: {{secret}}_signing`
    #[serde(default)]
    pub signature_secret: Option<String>,
    /// The secret that holds the API token for replies. Example: `token_secret: {{secret}}_token`
    #[serde(default)]
    pub token_secret: Option<String>,
    /// The channel name the messages carry. Example: `channel: {{name}}`
    #[serde(default = "default_channel")]
    pub channel: String,
}

fn default_channel() -> String {
    "{{name}}".to_owned()
}

/// One webhook as the vendor sends it.
#[derive(Debug, Deserialize)]
pub struct Webhook {
    /// The vendor's id of the message; a retried webhook carries the same one.
    pub id: String,
    /// The conversation it belongs to; replies go there.
    #[serde(default)]
    pub conversation: Option<String>,
    /// When it was written, in milliseconds since the epoch; when the engine received it if
    /// absent.
    #[serde(default)]
    pub sent_at: Option<i64>,
    #[serde(default)]
    pub from: Party,
    pub text: String,
    /// BCP 47 language tag.
    #[serde(default)]
    pub lang: Option<String>,
    /// The order the buyer writes about.
    #[serde(default)]
    pub order: Option<String>,
}

/// What the vendor answers to a delivered message.
#[derive(Debug, Deserialize)]
struct Sent {
    id: String,
}

impl Channel for {{Type}} {
    type Config = Config;
    const DESCRIPTION: &'static str = "signed JSON webhooks in, replies through a REST API";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !(config.api_base.starts_with("https://") || config.api_base.starts_with("http://")) {
            problems.push(
                ConfigProblem::at(["api_base"], format!("`{}` is not an http(s) URL", config.api_base))
                    .expected("a URL such as https://api.example.com"),
            );
        }
        if config.channel.trim().is_empty() {
            problems.push(ConfigProblem::at(["channel"], "the channel name is blank"));
        }
        problems
    }

    fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
        let Some(name) = &config.signature_secret else {
            return Ok(());
        };
        // A secret the host refuses is the channels file's fault, not the sender's: not
        // `Permanent`, which would answer the vendor 401.
        let secret = host.secret(name).map_err(Error::bad_config)?;
        let Some(signature) = inbound.header(SIGNATURE_HEADER) else {
            return Err(Error::permanent(format!("the {SIGNATURE_HEADER} header is missing")));
        };
        let Some(expected) = signature
            .trim()
            .strip_prefix("sha256=")
            .and_then(|h| hex::decode(h).ok())
        else {
            return Err(Error::permanent(format!(
                "the {SIGNATURE_HEADER} header is not `sha256=<hex>`"
            )));
        };
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| Error::bad_config(e.to_string()))?;
        mac.update(&inbound.body);
        // Compared in constant time.
        mac.verify_slice(&expected)
            .map_err(|_| Error::permanent(format!("the {SIGNATURE_HEADER} header does not match the body")))
    }

    fn parse(inbound: &Inbound, config: &Config) -> Result<Vec<Message>, Error> {
        let webhook: Webhook = serde_json::from_slice(&inbound.body)
            .map_err(|e| Error::permanent(format!("{}: cannot read the {{name}} webhook: {e}", inbound.source)))?;
        if webhook.id.trim().is_empty() {
            return Err(Error::permanent(format!("{}: `id` is empty", inbound.source)));
        }
        let at = webhook.sent_at.unwrap_or(inbound.received_at);
        let mut message = Message::new(&config.channel, webhook.id, at);
        message.thread = webhook.conversation;
        message.from = webhook.from;
        message.body = webhook.text;
        message.lang = webhook.lang;
        message.order = webhook.order;
        Ok(vec![message])
    }

    fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
        let Some(token_secret) = &config.token_secret else {
            return Err(Error::bad_config(
                "`token_secret` is not set: replies need an API token",
            ));
        };
        let token = host.secret(token_secret).map_err(Error::bad_config)?;
        let body = serde_json::json!({
            "conversation": outbound.thread,
            "to": outbound.to,
            "subject": outbound.subject,
            "text": outbound.body,
            "lang": outbound.lang,
        });
        let url = format!("{}/v1/messages", config.api_base.trim_end_matches('/'));
        let request = HttpRequest::new("POST", url)
            .with_header("Authorization", format!("Bearer {token}"))
            .with_header("Idempotency-Key", &outbound.key)
            .with_json(&body);
        // No answer at all (refused connection, timeout): the vendor may be back later.
        let response = host.fetch(&request).map_err(Error::retryable)?;
        if !response.is_success() {
            // 408, 429 and 5xx retryable (with Retry-After), other statuses permanent.
            return Err(response.error(&format!("{{name}} refused message {}", outbound.key)));
        }
        // The vendor took it: an answer without the id is no reason to send it again.
        let external_id = serde_json::from_slice::<Sent>(&response.body).ok().map(|sent| sent.id);
        if external_id.is_none() {
            host.log(LogLevel::Warn, "the vendor answered without a message id");
        }
        Ok(Delivery { external_id })
    }
}

/// The `X-Signature-256` value of `body` under `secret`: what the vendor computes.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_channel!({{Type}});
