//! The router's `with:` configuration as written in a workflow. [`crate::routing::Routing`]
//! is what it compiles into.

use serde::Deserialize;
use std::collections::BTreeMap;

/// `with:` for the router step.
///
/// ```yaml
/// with:
///   min_confidence: 0.5
///   strategy: skill-language
///   teams:
///     refunds: { agents: [ana, li], skills: [refund, return], languages: [de, en] }
///     shipping: { agents: [sam, { name: yuki, languages: [ja] }], skills: [where-is-my-order] }
///     general: { agents: [joe] }
///   rules:
///     - { if_channel: amazon, team: marketplace }
///     - { if_keyword: [chargeback, anwalt], team: refunds, agent: ana }
///   default_team: general
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Below this probability the router names no intent and sets `category: triage`, with the
    /// top candidates as evidence. Between 0 and 1. Example: `0.5`.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f64,
    /// The teams by name, with their agents, the intents they handle and the languages they
    /// answer in. Example: `{ refunds: { agents: [ana, li], skills: [refund], languages: [de] } }`.
    #[serde(default)]
    pub teams: BTreeMap<String, TeamConfig>,
    /// How an agent is picked inside the chosen team. Example: `round-robin`.
    #[serde(default)]
    pub strategy: Strategy,
    /// Rules checked in order before the teams' skills; the first whose conditions all hold
    /// picks the team (and the agent, if it names one).
    /// Example: `[{ if_intent: refund, team: refunds }, { if_channel: amazon, team: marketplace }]`.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// The team for tickets that no rule and no team's skills and languages claim.
    /// Example: `general`.
    #[serde(default)]
    pub default_team: Option<String>,
    /// Example sentences per category for the semantic classifier, in any language the
    /// embedding model reads: an intent's name extends that intent, a new name defines a new
    /// category (lowercase letters, digits and `-`). Used when the step is granted
    /// `allow: { embeddings: true }`. Example: `{ gift-wrap: ["Can you wrap it as a present?"] }`.
    #[serde(default)]
    pub examples: BTreeMap<String, Vec<String>>,
    /// The languages (ISO 639-1) the semantic classifier is trusted for; other languages are
    /// classified by the n-gram model alone. The shipped embedding model is English.
    /// Example: `[en]`.
    #[serde(default = "default_embedding_languages")]
    pub embedding_languages: Vec<String>,
    /// The semantic classifier (one sentence-encoder pass, milliseconds) is asked only where
    /// its answer could change the outcome: for a ticket's first message (a follow-up keeps its
    /// ticket's category), and only when the n-gram
    /// model's lead over its runner-up is too small for the encoder not to overturn it or its
    /// top probability could fall below `min_confidence` (see `combine::encoder_cannot_change`;
    /// with categories defined by `examples`, which the encoder alone knows, always). This
    /// asks it, in addition, only when the n-gram model's top probability is below this: a
    /// limit below 1 saves more passes at the price of answers the encoder would have changed.
    /// Between 0 and 1. Example: `0.9`.
    #[serde(default = "default_embeddings_below")]
    pub embeddings_below: f64,
}

fn default_embeddings_below() -> f64 {
    DEFAULT_EMBEDDINGS_BELOW
}

/// The default of [`Config::embeddings_below`]: no limit beyond asking only where the encoder
/// can change the outcome.
pub const DEFAULT_EMBEDDINGS_BELOW: f64 = 1.0;

fn default_embedding_languages() -> Vec<String> {
    vec!["en".to_owned()]
}

fn default_min_confidence() -> f64 {
    0.5
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_confidence: default_min_confidence(),
            teams: BTreeMap::new(),
            strategy: Strategy::default(),
            rules: Vec::new(),
            default_team: None,
            examples: BTreeMap::new(),
            embedding_languages: default_embedding_languages(),
            embeddings_below: default_embeddings_below(),
        }
    }
}

/// One team.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// Its agents, by name or with their own languages and skills.
    /// Example: `[ana, { name: yuki, languages: [ja], skills: [refund] }]`.
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    /// The intents it handles (names as in the `category` field, or `triage`); empty means
    /// any. A team with neither skills nor languages gets tickets only through `rules` or as
    /// `default_team`. Example: `[refund, return]`.
    #[serde(default)]
    pub skills: Vec<String>,
    /// The languages it answers in (ISO 639-1); empty means any. Example: `[de, en]`.
    #[serde(default)]
    pub languages: Vec<String>,
}

/// An agent: just a name, or a name with the agent's own languages and skills.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum AgentConfig {
    /// Example: `ana`.
    Name(String),
    /// Example: `{ name: yuki, languages: [ja], skills: [refund] }`.
    Detailed(AgentDetails),
}

/// An agent with the languages and intents they take.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDetails {
    /// The agent's name as the engine knows it. Example: `yuki`.
    pub name: String,
    /// Languages the agent answers in; empty means any. Example: `[ja, en]`.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Intents the agent takes; empty means any. Example: `[refund, billing]`.
    #[serde(default)]
    pub skills: Vec<String>,
}

/// How an agent is picked inside a team.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The agents take turns by ticket number. Example: `round-robin`.
    RoundRobin,
    /// The agent with the fewest open tickets. The engine does not report load to plugins
    /// yet, so until it does this takes turns by ticket number and says so in the evidence.
    /// Example: `least-loaded`.
    LeastLoaded,
    /// The agents whose languages and skills fit the ticket take turns by ticket number.
    /// Example: `skill-language`.
    #[default]
    SkillLanguage,
}

/// A rule that picks a team when all its conditions hold; it needs at least one condition.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The ticket's category is this intent (or `triage`). Example: `refund`.
    #[serde(default)]
    pub if_intent: Option<String>,
    /// The message came through this channel or marketplace. Example: `amazon`.
    #[serde(default)]
    pub if_channel: Option<String>,
    /// The ticket's language. Example: `ja`.
    #[serde(default)]
    pub if_language: Option<String>,
    /// The text contains one of these words or phrases, compared case-insensitively on whole
    /// words (anywhere for Japanese and Chinese). Example: `[chargeback, anwalt, 律师]`.
    #[serde(default)]
    pub if_keyword: Vec<String>,
    /// The team it picks; must be one of `teams`. Example: `refunds`.
    pub team: String,
    /// The agent it picks; must be in that team. Example: `ana`.
    #[serde(default)]
    pub agent: Option<String>,
}

/// One problem of a configuration: where it is (keys and list indices from the top of `with:`)
/// and what is wrong. It reads `teams.refunds.skills[0]: unknown intent ...` in a step's error
/// and is shown at its line and column when the workflow loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Keys and indices, outermost first.
    pub path: Vec<String>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn at(path: &[&str], message: impl Into<String>) -> Problem {
        Problem {
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            message: message.into(),
        }
    }

    /// The problem as the engine's configuration check reports it.
    pub fn config_problem(&self) -> weft_sdk::ConfigProblem {
        weft_sdk::ConfigProblem::at(&self.path, self.message.clone())
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, segment) in self.path.iter().enumerate() {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                write!(f, "[{segment}]")?;
            } else if i == 0 {
                f.write_str(segment)?;
            } else {
                write!(f, ".{segment}")?;
            }
        }
        if !self.path.is_empty() {
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}
