//! The step's `with:` configuration as written in a workflow, and the checked [`Policy`] it
//! compiles to.

use serde::Deserialize;
use weft_sdk::duration::Duration;

/// `with:` for the merger step. Every field has a default; `with: { window: 72h }` is typical.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How long after a ticket's last activity a message of the same customer about the same
    /// thing still joins it. Default `72h`. Example: `window: 48h`.
    #[serde(default)]
    pub window: Option<Duration>,
    /// How long after a ticket was solved or closed a follow-up still reopens it (with
    /// `on_solved: reopen`); later follow-ups open a new ticket linked to the old one.
    /// Default `7d`. Example: `reopen_window: 14d`.
    #[serde(default)]
    pub reopen_window: Option<Duration>,
    /// What a follow-up on a solved or closed ticket does: `reopen` appends it within
    /// `reopen_window` (the engine reopens the ticket), `link` always opens a new ticket linked
    /// to the old one. Default `reopen`. Example: `on_solved: link`.
    #[serde(default)]
    pub on_solved: Option<OnSolved>,
    /// The similarity (0 to 1) from which a message joins one of the customer's recent open
    /// tickets about the same thing. Default `0.5`. Example: `similarity_threshold: 0.6`.
    #[serde(default)]
    pub similarity_threshold: Option<f64>,
}

/// What a follow-up on a solved or closed ticket does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnSolved {
    /// Append within `reopen_window` (the engine reopens); after it, open a linked ticket.
    #[default]
    Reopen,
    /// Always open a new ticket linked to the solved one.
    Link,
}

/// The checked, runtime form of [`Config`].
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub window: Duration,
    pub reopen_window: Duration,
    pub on_solved: OnSolved,
    pub similarity_threshold: f64,
}

impl Policy {
    pub const DEFAULT_WINDOW: Duration = Duration::from_hours(72);
    pub const DEFAULT_REOPEN_WINDOW: Duration = Duration::from_hours(7 * 24);
    pub const DEFAULT_SIMILARITY_THRESHOLD: f64 = 0.5;
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            window: Policy::DEFAULT_WINDOW,
            reopen_window: Policy::DEFAULT_REOPEN_WINDOW,
            on_solved: OnSolved::default(),
            similarity_threshold: Policy::DEFAULT_SIMILARITY_THRESHOLD,
        }
    }
}

/// A configuration that parses but makes no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("similarity_threshold: {value} is outside 0 to 1")]
    ThresholdOutOfRange { value: f64 },
}

impl ConfigError {
    /// The problem as the engine shows it at its place in `with:`.
    pub fn config_problem(&self) -> weft_sdk::ConfigProblem {
        match self {
            ConfigError::ThresholdOutOfRange { value } => {
                weft_sdk::ConfigProblem::at(["similarity_threshold"], format!("{value} is outside 0 to 1"))
                    .expected("a number from 0 to 1, such as 0.5")
            }
        }
    }
}

impl Config {
    /// Checks the values and fills in the defaults.
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        let defaults = Policy::default();
        let threshold = self.similarity_threshold.unwrap_or(defaults.similarity_threshold);
        if !(0.0..=1.0).contains(&threshold) {
            return Err(ConfigError::ThresholdOutOfRange { value: threshold });
        }
        Ok(Policy {
            window: self.window.unwrap_or(defaults.window),
            reopen_window: self.reopen_window.unwrap_or(defaults.reopen_window),
            on_solved: self.on_solved.unwrap_or(defaults.on_solved),
            similarity_threshold: threshold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Policy, String> {
        let config: Config = serde_json::from_str(json).map_err(|e| e.to_string())?;
        config.policy().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(parse("{}"), Ok(Policy::default()));
        let policy =
            parse(r#"{"window":"48h","reopen_window":"14d","on_solved":"link","similarity_threshold":0.6}"#).unwrap();
        assert_eq!(
            policy,
            Policy {
                window: Duration::from_hours(48),
                reopen_window: Duration::from_hours(14 * 24),
                on_solved: OnSolved::Link,
                similarity_threshold: 0.6,
            }
        );
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let cases = [
            (r#"{"window":"72"}"#, "has no unit"),
            (r#"{"window":72}"#, "invalid type"),
            (r#"{"reopen_window":"2 weeks"}"#, "white space after `2`"),
            (r#"{"window":"30m1h"}"#, "`1h` comes after `30m`"),
            (
                r#"{"on_solved":"ignore"}"#,
                "unknown variant `ignore`, expected `reopen` or `link`",
            ),
            (
                r#"{"similarity_threshold":1.5}"#,
                "similarity_threshold: 1.5 is outside 0 to 1",
            ),
            (r#"{"windows":"72h"}"#, "unknown field `windows`"),
        ];
        for (json, expected) in cases {
            let err = parse(json).unwrap_err();
            assert!(err.contains(expected), "{json}: {err}");
        }
    }

    #[test]
    fn the_schema_describes_every_field() {
        let schema = weft_sdk::plugin::config_schema::<Config>();
        let properties = schema["properties"].as_object().unwrap();
        for field in ["window", "reopen_window", "on_solved", "similarity_threshold"] {
            let description = properties[field]["description"].as_str().unwrap_or("");
            assert!(description.contains("Example:"), "{field}: {description}");
        }
        assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    }
}
