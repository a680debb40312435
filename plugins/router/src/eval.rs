//! Measuring a model on labeled examples: per-intent precision, recall and F1, per-language
//! accuracy (of the intent and of language identification), macro-F1.

use crate::data::Example;
use crate::intent::Intent;
use crate::model::Model;
use std::collections::BTreeMap;
use std::fmt;

/// Scores of one intent.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentScore {
    /// The intent.
    pub intent: Intent,
    /// Of the examples predicted as this intent, the share that were.
    pub precision: f64,
    /// Of the examples of this intent, the share predicted as such.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// How many examples have this intent.
    pub support: usize,
}

/// Scores of one language.
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageScore {
    /// ISO 639-1 code, as labeled.
    pub lang: String,
    /// How many examples are in this language.
    pub examples: usize,
    /// Share of them whose intent was predicted right.
    pub intent_accuracy: f64,
    /// Share of them whose language was identified right (from the text alone).
    pub lang_id_accuracy: f64,
}

/// What [`evaluate`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// One line per intent, in [`Intent::ALL`] order.
    pub intents: Vec<IntentScore>,
    /// One line per language, sorted by code.
    pub languages: Vec<LanguageScore>,
    /// Mean F1 over the intents that have examples.
    pub macro_f1: f64,
    /// Share of all examples whose intent was predicted right.
    pub accuracy: f64,
    /// The examples that were predicted wrong: (text, labeled, predicted).
    pub errors: Vec<(String, Intent, Intent)>,
}

/// Predicts every example with `model` (top intent, no abstention) and scores the result.
pub fn evaluate(model: &Model, examples: &[Example]) -> Report {
    let k = Intent::ALL.len();
    let (mut tp, mut fp, mut fn_) = (vec![0usize; k], vec![0usize; k], vec![0usize; k]);
    let mut by_lang: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut errors = Vec::new();
    for e in examples {
        let (predicted, _) = model.predict(&e.text).top();
        let lang_ok = model.lang.detect(&e.text).is_some_and(|g| g.lang == e.lang);
        let entry = by_lang.entry(&e.lang).or_default();
        entry.0 += 1;
        entry.2 += usize::from(lang_ok);
        if predicted == e.intent {
            tp[predicted.index()] += 1;
            entry.1 += 1;
        } else {
            fp[predicted.index()] += 1;
            fn_[e.intent.index()] += 1;
            errors.push((e.text.clone(), e.intent, predicted));
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let intents: Vec<IntentScore> = Intent::ALL
        .into_iter()
        .map(|intent| {
            let i = intent.index();
            let precision = ratio(tp[i], tp[i] + fp[i]);
            let recall = ratio(tp[i], tp[i] + fn_[i]);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            IntentScore {
                intent,
                precision,
                recall,
                f1,
                support: tp[i] + fn_[i],
            }
        })
        .collect();
    let present: Vec<&IntentScore> = intents.iter().filter(|s| s.support > 0).collect();
    let macro_f1 = present.iter().map(|s| s.f1).sum::<f64>() / present.len().max(1) as f64;
    let languages = by_lang
        .into_iter()
        .map(|(lang, (n, right, lang_right))| LanguageScore {
            lang: lang.to_owned(),
            examples: n,
            intent_accuracy: ratio(right, n),
            lang_id_accuracy: ratio(lang_right, n),
        })
        .collect();
    Report {
        intents,
        languages,
        macro_f1,
        accuracy: ratio(tp.iter().sum(), examples.len()),
        errors,
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<24} {:>9} {:>7} {:>6} {:>7}",
            "intent", "precision", "recall", "f1", "support"
        )?;
        for s in &self.intents {
            writeln!(
                f,
                "{:<24} {:>9.3} {:>7.3} {:>6.3} {:>7}",
                s.intent.as_str(),
                s.precision,
                s.recall,
                s.f1,
                s.support
            )?;
        }
        writeln!(f, "macro-F1 {:.3}, accuracy {:.3}", self.macro_f1, self.accuracy)?;
        writeln!(
            f,
            "{:<6} {:>8} {:>15} {:>15}",
            "lang", "examples", "intent accuracy", "lang-id accuracy"
        )?;
        for l in &self.languages {
            writeln!(
                f,
                "{:<6} {:>8} {:>15.3} {:>15.3}",
                l.lang, l.examples, l.intent_accuracy, l.lang_id_accuracy
            )?;
        }
        Ok(())
    }
}
