//! The `with:` of a chat mount.

use serde::Deserialize;
use weft_sdk::ConfigProblem;
use weft_sdk::duration::Duration;

/// `with:` for a chat mount. The identity secret is named here and granted to the mount in the
/// channels file (`allow: { secrets: [...] }`).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The name of the secret the shop signs its logged-in visitors with (HMAC-SHA256, see
    /// [`crate::identity`]). Without it every visitor is anonymous, and a signed identity is
    /// refused. Example: `chat_identity`
    #[serde(default)]
    pub identity_secret: Option<String>,
    /// The longest a signed identity may be valid for: one whose `expires` lies further ahead
    /// than this from when it arrives is refused, so a leaked signature cannot be used forever.
    /// Example: `24h`
    #[serde(default = "default_identity_lifetime")]
    pub identity_lifetime: Duration,
    /// The longest visitor message taken, in characters; longer ones are dead-lettered.
    #[serde(default = "default_max_chars")]
    pub max_chars: usize,
}

fn default_identity_lifetime() -> Duration {
    Duration::from_hours(24)
}

fn default_max_chars() -> usize {
    4000
}

impl Config {
    /// What the schema cannot say.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.identity_lifetime.is_zero() {
            problems.push(
                ConfigProblem::at(["identity_lifetime"], "a signed identity must be valid for some time")
                    .expected("a duration above zero, such as `1h`"),
            );
        }
        if self.max_chars == 0 {
            problems
                .push(ConfigProblem::at(["max_chars"], "no visitor message would fit").expected("a number above zero"));
        }
        if self.identity_secret.as_deref().is_some_and(|s| s.trim().is_empty()) {
            problems
                .push(ConfigProblem::at(["identity_secret"], "the secret's name is empty").expected("a secret name"));
        }
        problems
    }
}
