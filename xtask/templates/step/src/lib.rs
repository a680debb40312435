//! The `{{name}}` step: tags the ticket of every message that mentions one of a list of words.
//!
//! Made by `cargo xtask new-plugin step {{name}}` as a working start: replace what `decide`
//! looks for and what it decides. A step decides and the engine acts: it returns commands, each
//! with a reason and its evidence, and never writes anything itself.
//!
//! In a workflow:
//!
//! ```yaml
//! - id: {{name}}
//!   uses: {{name}}
//!   with: { words: [refund, remboursement, Erstattung, 返金], tag: refund }
//! ```

use serde::Deserialize;
use weft_sdk::prelude::*;

/// The step.
pub struct {{Type}};

/// `with:` of the step, checked against this type's JSON Schema when the workflow loads, then by
/// [`Step::check_config`].
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The words to look for, in any case. Example: `words: [refund, remboursement]`
    pub words: Vec<String>,
    /// The tag the ticket gets. Example: `tag: refund`
    pub tag: String,
}

impl Step for {{Type}} {
    type Config = Config;
    const DESCRIPTION: &'static str = "tags the tickets of messages that mention a word";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.words.is_empty() {
            problems.push(ConfigProblem::at(["words"], "no word to look for").expected("at least one word"));
        }
        for (index, word) in config.words.iter().enumerate() {
            if word.trim().is_empty() {
                problems.push(ConfigProblem::at(
                    ["words".to_owned(), index.to_string()],
                    "the word is blank",
                ));
            }
        }
        if config.tag.trim().is_empty() {
            problems.push(ConfigProblem::at(["tag"], "the tag is blank"));
        }
        problems
    }

    fn decide(event: &Event, config: &Config, _ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
        let Some(message) = &event.message else {
            return Ok(Vec::new());
        };
        let text = message.body.to_lowercase();
        let Some(word) = config.words.iter().find(|w| text.contains(&w.to_lowercase())) else {
            return Ok(Vec::new());
        };
        Ok(vec![
            Decision::new(
                Command::SetField(SetField::new("tag", &config.tag)),
                format!("the message mentions “{word}”"),
            )
            .with_evidence([Evidence::new("body", format!("contains “{word}”"), 1.0)]),
        ])
    }
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_step!({{Type}});
