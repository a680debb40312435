//! How the n-gram model and the semantic classifier are combined into one category.
//!
//! - The semantic classifier is asked only for messages in one of the configured
//!   `embedding_languages` (English by default: the shipped embedding model is English) and
//!   only when the host answers the `embeddings` call; otherwise the n-gram model decides alone
//!   and the evidence says why.
//! - When both spoke, each category's probability is `W · semantic + (1 − W) · n-gram` with
//!   [`SEMANTIC_WEIGHT`]; a category defined only by the workflow's examples takes its semantic
//!   probability (the n-gram model does not know it).
//! - The evidence names which classifier decided (`embeddings`, `n-gram`, or `both` when their
//!   top choices agree) and each one's top scores.

use crate::intent::Intent;
use crate::model::Prediction;
use crate::semantic::{Prototypes, SemanticPrediction};
use weft_sdk::Host;

/// The semantic classifier's weight when both spoke. Chosen by cross-validation on the English
/// lines of `data/train.csv` (out-of-fold n-gram answers, weights 0 to 1 in steps of 0.1: 0.4
/// best, see the `semantic_weight_by_cross_validation_on_the_training_lines` test in
/// `engine/tests/router_eval.rs`), no evaluation set involved. It was 0.7 while the n-gram
/// model had 110 English training lines; with 373 it deserves more say. It also sets where
/// the encoder is asked ([`encoder_cannot_change`]).
pub const SEMANTIC_WEIGHT: f32 = 0.4;

/// Which classifier decided the category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The n-gram model alone (no embeddings, or a language they are not trusted for).
    NGram,
    /// The combination, where the semantic classifier's choice won over the n-gram model's.
    Embeddings,
    /// The combination, both classifiers having the same top choice.
    Both,
    /// The combination, where the n-gram model's choice won over the semantic classifier's.
    NGramOverEmbeddings,
}

impl Source {
    /// How the evidence names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::NGram => "n-gram",
            Source::Embeddings => "embeddings",
            Source::Both => "both",
            Source::NGramOverEmbeddings => "n-gram over embeddings",
        }
    }
}

/// The combined answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Every category with its combined probability, most likely first.
    pub ranked: Vec<(String, f32)>,
    /// Who decided.
    pub source: Source,
    /// What the n-gram model said.
    pub ngram: Prediction,
    /// What the semantic classifier said, when it was asked and answered.
    pub semantic: Option<SemanticPrediction>,
    /// Why the semantic classifier was not used, when it was not.
    pub without_embeddings: Option<String>,
}

impl Classification {
    /// The most likely category and its probability.
    pub fn top(&self) -> (&str, f32) {
        self.ranked.first().map_or(("", 0.0), |(l, p)| (l.as_str(), *p))
    }

    /// The top category as an intent, when it is one (not a workflow-defined category).
    pub fn intent(&self) -> Option<Intent> {
        Intent::parse(self.top().0)
    }
}

/// Why no answer of the semantic classifier could change the outcome for this n-gram
/// prediction, or `None` when one could (then the encoder is worth its pass).
///
/// With the semantic weight `W`, an intent `b` overtakes the n-gram model's top intent `a`
/// only if `W·s_b + (1 − W)·p_b > W·s_a + (1 − W)·p_a` for some semantic answer; the most the
/// encoder can do is `s_b = 1, s_a = 0`, so it cannot when `p_a − p_b ≥ W / (1 − W)` for the
/// runner-up `b` (2/3 for `W` = 0.4; every other intent is further behind). And `a` keeps at
/// least `(1 − W)·p_a` after the combination, so it is not sent to triage when that is at least
/// `min_confidence`. Categories a workflow defines with examples are known to the encoder
/// alone: with any of them the encoder can always change the outcome.
pub fn encoder_cannot_change(ngram: &Prediction, min_confidence: f32, custom_categories: bool) -> Option<String> {
    if custom_categories {
        return None;
    }
    let (top, p) = ngram.top();
    let (runner_up, q) = ngram.ranked.get(1).copied().unwrap_or((top, 0.0));
    let margin = p - q;
    let needed = SEMANTIC_WEIGHT / (1.0 - SEMANTIC_WEIGHT);
    let kept = (1.0 - SEMANTIC_WEIGHT) * p;
    (margin >= needed && kept >= min_confidence).then(|| {
        format!(
            "it cannot change the outcome: the n-gram model puts {top} {p:.2} ahead of {runner_up} by {margin:.2} (at least {needed:.2} needed to be overturned)"
        )
    })
}

/// Embeds the message (and, the first time, the prototypes: see [`Prototypes::vectors`]) and
/// classifies it.
pub fn ask_embeddings(text: &str, prototypes: &Prototypes, host: &dyn Host) -> Result<SemanticPrediction, String> {
    let vectors = prototypes.vectors(|texts| host.embed(texts))?;
    let message = host
        .embed(&[text.to_owned()])?
        .pop()
        .ok_or_else(|| "the host returned no embedding for the message".to_owned())?;
    prototypes.classify(&message, vectors).ok_or_else(|| {
        format!(
            "the host returned vectors of mismatched size ({} for the message, {} prototypes)",
            message.len(),
            vectors.len()
        )
    })
}

/// Combines the n-gram prediction with the semantic one (or the reason there is none).
pub fn combine(ngram: Prediction, semantic: Result<SemanticPrediction, String>) -> Classification {
    let semantic = match semantic {
        Ok(semantic) => semantic,
        Err(why) => {
            return Classification {
                ranked: ngram.ranked.iter().map(|(i, p)| (i.as_str().to_owned(), *p)).collect(),
                source: Source::NGram,
                ngram,
                semantic: None,
                without_embeddings: Some(why),
            };
        }
    };
    let mut ranked: Vec<(String, f32)> = semantic
        .ranked
        .iter()
        .map(|(label, p)| {
            let q = match Intent::parse(label) {
                Some(intent) => {
                    let n = ngram.ranked.iter().find(|(i, _)| *i == intent).map_or(0.0, |(_, q)| *q);
                    SEMANTIC_WEIGHT * p + (1.0 - SEMANTIC_WEIGHT) * n
                }
                None => *p,
            };
            (label.clone(), q)
        })
        .collect();
    let total: f32 = ranked.iter().map(|(_, q)| q).sum();
    if total > 0.0 {
        for (_, q) in &mut ranked {
            *q /= total;
        }
    }
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let winner = ranked.first().map(|(l, _)| l.as_str()).unwrap_or("");
    let by_ngram = ngram.top().0.as_str() == winner;
    let by_semantic = semantic.top().0 == winner;
    let source = match (by_semantic, by_ngram) {
        (true, true) => Source::Both,
        (true, false) => Source::Embeddings,
        _ => Source::NGramOverEmbeddings,
    };
    Classification {
        ranked,
        source,
        ngram,
        semantic: Some(semantic),
        without_embeddings: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ngram(top: Intent, p: f32) -> Prediction {
        let rest = (1.0 - p) / (Intent::ALL.len() - 1) as f32;
        let mut ranked: Vec<(Intent, f32)> = Intent::ALL
            .into_iter()
            .map(|i| (i, if i == top { p } else { rest }))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        Prediction { ranked }
    }

    fn semantic(top: &str, p: f32, labels: &[&str]) -> SemanticPrediction {
        let rest = (1.0 - p) / (labels.len() - 1) as f32;
        let mut ranked: Vec<(String, f32)> = labels
            .iter()
            .map(|l| (l.to_string(), if *l == top { p } else { rest }))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        SemanticPrediction {
            ranked,
            nearest: ("x".into(), 0.5),
        }
    }

    #[test]
    fn without_embeddings_the_ngram_model_decides_and_says_why() {
        let c = combine(ngram(Intent::Refund, 0.6), Err("no embedding model loaded".into()));
        assert_eq!(c.top().0, "refund");
        assert_eq!(c.source, Source::NGram);
        assert_eq!(c.without_embeddings.as_deref(), Some("no embedding model loaded"));
    }

    #[test]
    fn a_confident_semantic_answer_outweighs_a_weak_ngram_one() {
        let labels: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
        let c = combine(ngram(Intent::Billing, 0.4), Ok(semantic("refund", 0.8, &labels)));
        assert_eq!(c.top().0, "refund");
        assert_eq!(c.source, Source::Embeddings);
        let c = combine(ngram(Intent::Refund, 0.4), Ok(semantic("refund", 0.8, &labels)));
        assert_eq!(c.source, Source::Both);
        let sum: f32 = c.ranked.iter().map(|(_, q)| q).sum();
        assert!((sum - 1.0).abs() < 1e-4);
    }

    /// Wherever [`encoder_cannot_change`] says so, no semantic answer changes the category or
    /// sends the message to triage; and just inside its bound, one does.
    #[test]
    fn where_the_gate_skips_the_encoder_it_cannot_change_the_outcome() {
        let labels: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
        let min_confidence = 0.35;
        let mut skipped = 0;
        // n-gram answers with the top intent at p, the runner-up at q, the rest spread evenly.
        for p in (10..=100).map(|k| k as f32 / 100.0) {
            for q in (0..=100).map(|k| k as f32 / 100.0).filter(|q| *q <= p && p + q <= 1.0) {
                let top = Intent::Refund;
                let second = Intent::Return;
                let rest = (1.0 - p - q) / (Intent::ALL.len() - 2) as f32;
                if rest > q {
                    continue;
                }
                let mut ranked: Vec<(Intent, f32)> = Intent::ALL
                    .into_iter()
                    .map(|i| {
                        (
                            i,
                            if i == top {
                                p
                            } else if i == second {
                                q
                            } else {
                                rest
                            },
                        )
                    })
                    .collect();
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                let ngram = Prediction { ranked };
                if encoder_cannot_change(&ngram, min_confidence, false).is_none() {
                    continue;
                }
                assert!(encoder_cannot_change(&ngram, min_confidence, true).is_none());
                skipped += 1;
                // The worst case: the semantic classifier certain of any other intent.
                for rival in Intent::ALL.into_iter().filter(|r| *r != top) {
                    let c = combine(ngram.clone(), Ok(semantic(rival.as_str(), 1.0, &labels)));
                    assert_eq!(c.top().0, top.as_str(), "p {p} q {q}, rival {rival}");
                    assert!(c.top().1 >= min_confidence, "p {p} q {q}: {}", c.top().1);
                }
            }
        }
        assert!(skipped > 100, "{skipped}");
        // Just inside the bound (a lead of 0.64 < 2/3), the encoder overturns the n-gram model.
        let mut ranked: Vec<(Intent, f32)> = Intent::ALL
            .into_iter()
            .map(|i| match i {
                Intent::Refund => (i, 0.8),
                Intent::Return => (i, 0.16),
                _ => (i, 0.004),
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let ngram = Prediction { ranked };
        assert!(encoder_cannot_change(&ngram, min_confidence, false).is_none());
        let c = combine(ngram, Ok(semantic("return", 1.0, &labels)));
        assert_eq!(c.top().0, "return");
    }

    #[test]
    fn a_workflow_category_can_win() {
        let mut labels: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
        labels.push("gift-wrap");
        let c = combine(
            ngram(Intent::ProductQuestion, 0.5),
            Ok(semantic("gift-wrap", 0.9, &labels)),
        );
        assert_eq!(c.top().0, "gift-wrap");
        assert_eq!(c.intent(), None);
    }
}
