//! The channel's `with:` in the channels file.

use serde::Deserialize;
use weft_sdk::ConfigProblem;

/// Where Twilio's REST API is; tests point `api_base` at a local server.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";
/// The secret that holds the Account SID, unless `account_sid_secret` names another.
pub const DEFAULT_ACCOUNT_SID_SECRET: &str = "twilio_account_sid";
/// The secret that holds the auth token, unless `auth_token_secret` names another.
pub const DEFAULT_AUTH_TOKEN_SECRET: &str = "twilio_auth_token";

/// `with:` for the twilio channel.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The URL Twilio calls for this hook, exactly as Twilio sees it (scheme, host, port if
    /// any, path): signatures are computed over it, so behind a proxy or a TLS terminator set
    /// it to the public address. Without it the URL is rebuilt as
    /// `http://<Host header><path>`, which holds only when Twilio reaches `weft serve` directly.
    /// Replies ask Twilio to post their status callbacks here. Example:
    /// `public_url: https://support.example.com/hooks/sms`
    #[serde(default)]
    pub public_url: Option<String>,
    /// The name of the granted secret that holds the Account SID (`AC…`). Default:
    /// `twilio_account_sid`.
    #[serde(default)]
    pub account_sid_secret: Option<String>,
    /// The name of the granted secret that holds the auth token, which signs webhooks and
    /// authenticates sends. Default: `twilio_auth_token`.
    #[serde(default)]
    pub auth_token_secret: Option<String>,
    /// The number replies are sent from when the buyer's conversation does not say which of
    /// the seller's numbers they wrote to (E.164). Example: `from: "+14155550100"`
    #[serde(default)]
    pub from: Option<String>,
    /// A Messaging Service (`MG…`) to send from instead of a number, when neither the
    /// conversation nor `from` gives one.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// Where the REST API is. Default: `https://api.twilio.com`; its host must be granted
    /// (`allow: { http: [api.twilio.com] }`).
    #[serde(default)]
    pub api_base: Option<String>,
    /// Words that opt a buyer out when they are the whole message, instead of Twilio's
    /// defaults (for a Messaging Service with Advanced Opt-Out keywords of its own).
    #[serde(default)]
    pub opt_out_keywords: Option<Vec<String>>,
    /// Words that opt a buyer back in when they are the whole message, instead of Twilio's
    /// defaults.
    #[serde(default)]
    pub opt_in_keywords: Option<Vec<String>>,
}

impl Config {
    pub fn account_sid_secret(&self) -> &str {
        self.account_sid_secret.as_deref().unwrap_or(DEFAULT_ACCOUNT_SID_SECRET)
    }

    pub fn auth_token_secret(&self) -> &str {
        self.auth_token_secret.as_deref().unwrap_or(DEFAULT_AUTH_TOKEN_SECRET)
    }

    pub fn api_base(&self) -> &str {
        self.api_base
            .as_deref()
            .unwrap_or(DEFAULT_API_BASE)
            .trim_end_matches('/')
    }

    /// What the schema lets through but the channel cannot use.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if let Some(url) = &self.public_url
            && let Err(problem) = http_url(url)
        {
            problems.push(
                ConfigProblem::at(["public_url"], problem)
                    .expected("the URL Twilio calls, such as `https://support.example.com/hooks/sms`"),
            );
        }
        if let Some(url) = &self.api_base
            && let Err(problem) = http_url(url)
        {
            problems.push(ConfigProblem::at(["api_base"], problem).expected("an http or https URL"));
        }
        if let Some(from) = &self.from
            && !is_e164(from)
        {
            problems.push(
                ConfigProblem::at(["from"], format!("`{from}` is not a phone number in E.164"))
                    .expected("`+` and 8 to 15 digits, such as `+14155550100`"),
            );
        }
        if let Some(sid) = &self.messaging_service_sid
            && !sid.starts_with("MG")
        {
            problems.push(
                ConfigProblem::at(
                    ["messaging_service_sid"],
                    format!("`{sid}` is not a Messaging Service SID"),
                )
                .expected("`MG` and 32 hexadecimal digits"),
            );
        }
        for (field, words) in [
            ("opt_out_keywords", &self.opt_out_keywords),
            ("opt_in_keywords", &self.opt_in_keywords),
        ] {
            if let Some(words) = words
                && let Some(index) = words.iter().position(|w| w.trim().is_empty() || w.contains(' '))
            {
                problems.push(
                    ConfigProblem::at([field.to_owned(), index.to_string()], "a keyword is one word")
                        .expected("a word such as `STOP`"),
                );
            }
        }
        problems
    }
}

/// Checks that `url` is an absolute http(s) URL with a host.
fn http_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` is not an http or https URL"))?;
    if rest.split(['/', '?']).next().unwrap_or("").is_empty() {
        return Err(format!("`{url}` names no host"));
    }
    Ok(())
}

/// `+` and 8 to 15 digits: a phone number as Twilio writes it.
pub fn is_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|digits| (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
}
