//! The step's `with:` configuration as written ([`Config`]) and as checked ([`Settings`]).

use crate::model::Model;
use crate::normalize::phone::{Region, region};
use crate::score::{Prior, Score, WeakProfile, score_with};
use serde::Deserialize;
use std::sync::Arc;
use weft_sdk::IdentityKind;

/// `with:` for the identity step.
///
/// ```yaml
/// with:
///   default_region: DE
///   fuzzy: { enabled: true, min_score: 0.9, customers: 100000 }
///   strong: [email, phone, buyer-id, handle, order]
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The region whose numbering plan reads phone numbers written without a country code
    /// when neither the message nor its order points to a country, and the country assumed for
    /// addresses without one (ISO 3166-1 alpha-2; any of the 245 regions of libphonenumber's
    /// metadata). Example: `DE`.
    #[serde(default = "default_region")]
    pub default_region: String,
    /// Linking by names and addresses when no strong identifier matched.
    /// Example: `{ enabled: true, min_score: 0.9 }`.
    #[serde(default)]
    pub fuzzy: FuzzyConfig,
    /// The identifier kinds that link a message to a customer at once when they match exactly.
    /// An order number counts only when it is already known. Kinds left out are still recorded
    /// on the customer, and still keep apart customers whose values conflict.
    /// Example: `[email, phone, buyer-id, handle, order]`.
    #[serde(default = "default_strong")]
    pub strong: Vec<StrongKind>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_region: default_region(),
            fuzzy: FuzzyConfig::default(),
            strong: default_strong(),
        }
    }
}

/// Linking by names and addresses (Fellegi–Sunter scoring).
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FuzzyConfig {
    /// Whether names and addresses may link a message at all. Example: `true`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The match probability (0 to 1) a candidate needs to be linked; below it the message gets
    /// a new customer. Example: `0.9`.
    #[serde(default = "default_min_score")]
    pub min_score: f64,
    /// About how many customers the seller has (at least 2): a message comes from one given
    /// customer about one time in this many before names and addresses are compared, so the
    /// more customers, the more evidence a link needs. Example: `100000`.
    #[serde(default = "default_customers")]
    pub customers: u64,
}

impl Default for FuzzyConfig {
    fn default() -> Self {
        FuzzyConfig {
            enabled: true,
            min_score: default_min_score(),
            customers: default_customers(),
        }
    }
}

/// An identifier kind that may count as strong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StrongKind {
    /// An email address. Example: `email`.
    Email,
    /// A phone number. Example: `phone`.
    Phone,
    /// A marketplace buyer id. Example: `buyer-id`.
    BuyerId,
    /// A social handle. Example: `handle`.
    Handle,
    /// An order number already known for a customer. Example: `order`.
    Order,
}

impl From<StrongKind> for IdentityKind {
    fn from(kind: StrongKind) -> IdentityKind {
        match kind {
            StrongKind::Email => IdentityKind::Email,
            StrongKind::Phone => IdentityKind::Phone,
            StrongKind::BuyerId => IdentityKind::BuyerId,
            StrongKind::Handle => IdentityKind::Handle,
            StrongKind::Order => IdentityKind::Order,
        }
    }
}

fn default_region() -> String {
    "DE".into()
}
fn default_true() -> bool {
    true
}
fn default_min_score() -> f64 {
    0.9
}
fn default_customers() -> u64 {
    crate::score::DEFAULT_CUSTOMERS
}
fn default_strong() -> Vec<StrongKind> {
    vec![
        StrongKind::Email,
        StrongKind::Phone,
        StrongKind::BuyerId,
        StrongKind::Handle,
        StrongKind::Order,
    ]
}

/// What is wrong with a [`Config`]; all problems are reported at once, each as the field's
/// path (`fuzzy.min_score`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .problems.iter().map(|(field, problem)| format!("{field}: {problem}")).collect::<Vec<_>>().join("; "))]
pub struct ConfigError {
    pub problems: Vec<(&'static str, String)>,
}

impl ConfigError {
    /// The problems as the engine shows them at their place in `with:`.
    pub fn config_problems(&self) -> Vec<weft_sdk::ConfigProblem> {
        self.problems
            .iter()
            .map(|(field, problem)| weft_sdk::ConfigProblem::at(field.split('.'), problem.clone()))
            .collect()
    }
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: &'static Region,
    /// `None` when fuzzy linking is off.
    pub min_score: Option<f64>,
    pub prior: Prior,
    pub strong: Vec<IdentityKind>,
    /// The weights: the hand-set priors until a model learned from the data is stored
    /// ([`Settings::with_model`]).
    pub model: Arc<Model>,
}

impl Settings {
    /// Checks a configuration.
    pub fn from_config(config: &Config) -> Result<Settings, ConfigError> {
        let mut problems = Vec::new();
        let region = region(&config.default_region)
            .map_err(|e| problems.push(("default_region", e.to_string())))
            .ok();
        let min_score = config.fuzzy.min_score;
        if !(0.0..=1.0).contains(&min_score) {
            problems.push(("fuzzy.min_score", format!("{min_score} is not between 0 and 1")));
        }
        if config.fuzzy.customers < 2 {
            problems.push(("fuzzy.customers", format!("{} is less than 2", config.fuzzy.customers)));
        }
        match (region, problems.is_empty()) {
            (Some(region), true) => Ok(Settings {
                region,
                min_score: config.fuzzy.enabled.then_some(min_score),
                prior: Prior::customers(config.fuzzy.customers),
                strong: config.strong.iter().map(|k| IdentityKind::from(*k)).collect(),
                model: Model::shared_default(),
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

impl Settings {
    /// These settings weighing with `model`, and with its learned prior in place of
    /// `fuzzy.customers` when it has one.
    pub fn with_model(&self, model: Arc<Model>) -> Settings {
        Settings {
            prior: model.prior.unwrap_or(self.prior),
            model,
            ..self.clone()
        }
    }

    /// Scores a message's names and addresses against a customer's with these weights.
    pub fn score(&self, message: &WeakProfile, customer: &WeakProfile) -> Score {
        score_with(message, customer, self.prior, &self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Settings, String> {
        let config: Config = serde_json::from_str(json).map_err(|e| e.to_string())?;
        Settings::from_config(&config).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_values() {
        let s = parse("{}").unwrap();
        assert_eq!(s.region.code, "DE");
        assert_eq!(s.min_score, Some(0.9));
        assert_eq!(s.prior, Prior::customers(100_000));
        assert_eq!(s.strong.len(), 5);
        let s = parse(r#"{"default_region":"jp","fuzzy":{"enabled":false},"strong":["email","buyer-id"]}"#).unwrap();
        assert_eq!(s.region.code, "JP");
        assert_eq!(s.min_score, None);
        assert_eq!(s.strong, [IdentityKind::Email, IdentityKind::BuyerId]);
    }

    #[test]
    fn errors_all_at_once() {
        let err = parse(r#"{"default_region":"XX","fuzzy":{"min_score":1.5,"customers":1}}"#).unwrap_err();
        assert!(err.contains("fuzzy.customers: 1 is less than 2"), "{err}");
        assert!(err.contains("default_region: region \"XX\" is not supported"), "{err}");
        assert!(err.contains("fuzzy.min_score: 1.5 is not between 0 and 1"), "{err}");
        assert!(
            parse(r#"{"fuzzy":{"min":0.5}}"#)
                .unwrap_err()
                .contains("unknown field `min`")
        );
        assert!(
            parse(r#"{"strong":["name"]}"#)
                .unwrap_err()
                .contains("unknown variant `name`")
        );
    }

    #[test]
    fn problems_point_at_their_field() {
        let config: Config =
            serde_json::from_str(r#"{"default_region":"ÖÖ","fuzzy":{"min_score":1.5,"customers":1}}"#).unwrap();
        let problems = Settings::from_config(&config).unwrap_err().config_problems();
        let found: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.pointer.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(found[1], ("/fuzzy/min_score", "1.5 is not between 0 and 1"));
        assert_eq!(found[2], ("/fuzzy/customers", "1 is less than 2"));
        assert_eq!(found[0].0, "/default_region");
        assert!(found[0].1.contains("ÖÖ"), "{}", found[0].1);
        assert_eq!(found.len(), 3);
    }

    #[test]
    fn schema_documents_every_field() {
        let schema = weft_sdk::plugin::config_schema::<Config>().to_string();
        for field in [
            "default_region",
            "fuzzy",
            "strong",
            "min_score",
            "customers",
            "enabled",
            "Example",
        ] {
            assert!(schema.contains(field), "{field} missing from {schema}");
        }
    }
}
