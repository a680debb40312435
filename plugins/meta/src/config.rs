//! The `with:` of a Meta channel: which platform, which account, which secrets, and the
//! seller's choices for replies outside the 24-hour window.

use serde::Deserialize;
use weft_sdk::ConfigProblem;

/// Which of Meta's messengers a mount connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Facebook Messenger: webhooks with `"object": "page"`, replies through the Send API.
    Messenger,
    /// Instagram direct messages: webhooks with `"object": "instagram"`, replies through the
    /// Send API.
    Instagram,
    /// WhatsApp Cloud API: webhooks with `"object": "whatsapp_business_account"`, replies
    /// through the Cloud API's `messages` endpoint.
    Whatsapp,
}

impl Platform {
    /// The channel name its messages carry.
    pub fn channel(self) -> &'static str {
        match self {
            Platform::Messenger => "messenger",
            Platform::Instagram => "instagram",
            Platform::Whatsapp => "whatsapp",
        }
    }

    /// The `object` of its webhook bodies.
    pub fn object(self) -> &'static str {
        match self {
            Platform::Messenger => "page",
            Platform::Instagram => "instagram",
            Platform::Whatsapp => "whatsapp_business_account",
        }
    }
}

/// `with:` for a Meta channel. Secrets are named here and granted to the mount in the channels
/// file (`allow: { secrets: [...] }`); the Graph API's host is granted in `allow: { http: [...] }`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `messenger`, `instagram` or `whatsapp`.
    pub platform: Platform,
    /// The account replies are sent from: the Facebook Page id (Messenger, and Instagram
    /// accounts linked to a Page), the Instagram account id, or the WhatsApp phone number id.
    /// Example: `106540352242922`
    pub sender_id: String,
    /// The name of the secret holding the Meta app's secret, which signs every webhook
    /// (`X-Hub-Signature-256`). Example: `meta_app_secret`
    pub app_secret: String,
    /// The name of the secret holding the access token replies are sent with (a Page token, or
    /// a system user's token for WhatsApp). Example: `meta_page_token`
    pub access_token: String,
    /// The name of the secret holding the verify token typed into the app's webhook settings;
    /// Meta sends it back in the subscription check. Example: `meta_verify_token`
    pub verify_token: String,
    /// Where the Graph API is. Example: `https://graph.facebook.com`
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// The Graph API version in the request paths. Example: `v25.0`
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Messenger and Instagram: whether a person's reply may go out up to 7 days after the
    /// buyer's last message, with Meta's `HUMAN_AGENT` tag, once the 24-hour window has closed.
    /// Only for replies a person writes, never for automatic ones; the Page must have the
    /// Human Agent permission.
    #[serde(default)]
    pub human_agent: bool,
    /// WhatsApp: the approved message template sent instead of the reply once the 24-hour
    /// customer-service window has closed. Without it, such a reply is refused.
    #[serde(default)]
    pub template: Option<Template>,
}

/// An approved WhatsApp message template.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Its name, as approved. Example: `order_update`
    pub name: String,
    /// Its language code, as approved. Example: `en_US`
    pub language: String,
    /// The texts of its body's parameters, in order; `{body}` stands for the agent's reply.
    /// Example: `["{body}"]`
    #[serde(default)]
    pub parameters: Vec<String>,
}

fn default_graph_url() -> String {
    "https://graph.facebook.com".into()
}

fn default_api_version() -> String {
    "v25.0".into()
}

impl Config {
    /// The Cloud API or Send API endpoint replies are POSTed to.
    pub fn messages_url(&self) -> String {
        format!(
            "{}/{}/{}/messages",
            self.graph_url.trim_end_matches('/'),
            self.api_version,
            self.sender_id
        )
    }

    /// What serde cannot check.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.sender_id.trim().is_empty() || self.sender_id.contains(['/', '?', '#', ' ']) {
            problems.push(
                ConfigProblem::at(["sender_id"], format!("`{}` is not a Graph API id", self.sender_id))
                    .expected("the Page, Instagram account or phone number id, such as 106540352242922"),
            );
        }
        if !(self.graph_url.starts_with("https://") || self.graph_url.starts_with("http://")) {
            problems.push(
                ConfigProblem::at(
                    ["graph_url"],
                    format!("`{}` is not an http or https URL", self.graph_url),
                )
                .expected("https://graph.facebook.com"),
            );
        }
        let version = self.api_version.strip_prefix('v').unwrap_or_default();
        let numeric = version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if version.is_empty() || !numeric {
            problems.push(
                ConfigProblem::at(
                    ["api_version"],
                    format!("`{}` is not a Graph API version", self.api_version),
                )
                .expected("a version such as v25.0"),
            );
        }
        if self.human_agent && self.platform == Platform::Whatsapp {
            problems.push(ConfigProblem::at(
                ["human_agent"],
                "whatsapp has no human-agent tag: outside its 24-hour window only a template may be sent",
            ));
        }
        if let Some(template) = &self.template {
            if self.platform != Platform::Whatsapp {
                problems.push(ConfigProblem::at(
                    ["template"],
                    format!(
                        "{} sends no message templates; `template` is for whatsapp",
                        self.platform.channel()
                    ),
                ));
            }
            if template.name.trim().is_empty() {
                problems.push(ConfigProblem::at(["template", "name"], "the template's name is empty"));
            }
            if template.language.trim().is_empty() {
                problems.push(
                    ConfigProblem::at(["template", "language"], "the template's language is empty")
                        .expected("a code such as en_US"),
                );
            }
        }
        problems
    }
}
