//! The channels file format as integrators write it, and its JSON Schema for editors.
//!
//! These types describe the YAML; the engine runs [`super::Channels`]. A test keeps the keys
//! the checker accepts in step with these types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A channels file: the channel plugins mounted at webhook paths.
///
/// ```yaml
/// version: 1
/// channels:
///   - id: shop-de
///     uses: json
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "weft channels")]
pub struct ChannelsFile {
    /// Version of the file format; only `1` exists. Example: `version: 1`
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The mounted channels. Example: `channels: [{ id: shop-de, uses: json }]`
    #[schemars(length(min = 1))]
    pub channels: Vec<ChannelFile>,
}

/// One channel plugin mounted at `/hooks/{id}`.
///
/// ```yaml
/// - id: shop-de
///   uses: json
///   with: { signature_secret: shop_de_signing }
///   allow: { secrets: [shop_de_signing] }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelFile {
    /// Hook id, unique in the file, the last segment of the webhook URL: a lowercase letter,
    /// then lowercase letters, digits, `_` or `-`. Example: `id: shop-de`
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]*$"))]
    pub id: String,
    /// Name of the channel plugin that verifies and parses the traffic. Example: `uses: json`
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]*$"))]
    pub uses: String,
    /// Config of the plugin, checked against the plugin's schema when the file loads.
    /// Example: `with: { default_channel: shop }`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<serde_json::Map<String, serde_json::Value>>,
    /// What the plugin may use outside its sandbox.
    /// Example: `allow: { http: [api.example.com], secrets: [shop_de_signing] }`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<ChannelAllowFile>,
    /// How often `weft serve` asks the channel's vendor for what is new (the plugin's `poll`),
    /// for vendors without webhooks: a duration from 1s to 24h. A failing poll waits longer
    /// each time (up to an hour) and loses nothing. Example: `poll: 5m`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<String>,
    /// Maildir folders `weft serve` watches: each new mail is kept and parsed by the plugin as
    /// traffic of this hook, then moved from `new/` to `cur/` (marked seen). Relative paths
    /// are read from the channels file's folder. Example: `maildir: [/var/mail/support]`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maildir: Vec<String>,
    /// The SMTP relay the plugin submits outbound mail through; without it the plugin can send
    /// no mail. Example: `smtp: { host: smtp.example.com, port: 587, username: support@shop.example, password: smtp_password }`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpFile>,
}

/// An SMTP relay for outbound mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpFile {
    /// The relay's host name. Example: `host: smtp.example.com`
    pub host: String,
    /// The port; 587 for `starttls`, 465 for `tls`, 25 for `none` when left out. Example: `port: 587`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `starttls` (the default), `tls` or `none` (plain text: a relay on the same machine only).
    /// Example: `security: starttls`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<String>,
    /// The user to log in as. Example: `username: support@shop.example`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The name of the secret holding the password (`WEFT_SECRET_<NAME>`), read by the engine,
    /// never by the plugin. Example: `password: smtp_password`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Grants of a channel: outbound hosts and secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelAllowFile {
    /// Hosts the plugin may call: a host name or `*.domain`, no scheme, path or port.
    /// Example: `http: [api.example.com, "*.shopify.com"]`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<String>,
    /// Names of the secrets the plugin may read; each value comes from the environment
    /// variable `WEFT_SECRET_<NAME>`. Example: `secrets: [shop_de_signing]`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

/// The JSON Schema of the channels file format, for editors.
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(ChannelsFile).to_value()
}
