//! What the matcher weighs comparisons with: the m- and u-probabilities of every agreement
//! level, the prior odds, and how common each name word is. [`Model::default`] is the table
//! of priors in [`crate::score`]; [`crate::train`] learns a model from a seller's own messages
//! (unsupervised: expectation–maximisation over candidate pairs, u from random pairs), which
//! `weft train identity` stores with the data and the step reads back through its context.
//!
//! # Term frequencies
//!
//! A level's u-probability is an average over all values: two different people agree on a
//! name word with probability `Σ f²` over the words' frequencies `f`. For one given word the
//! chance is its own frequency, so an agreement on a rare word ("Zyborski") is stronger
//! evidence than on a common one ("Smith", "Müller"). For every word two names agree on
//! exactly, [`TermFrequencies::adjustment`] adds `log2(Σ f² / f_word)` bits (bounded to
//! ±[`MAX_TF_BITS`]), as Splink and fastLink adjust their exact levels. It is not added
//! where only the family name is shared at one address (the levels "initial", "one word" and
//! "partial" of the name-given-address table): that is a household's pattern, and a rare
//! family name there makes "this family" surer, not "this person".

use crate::score::{
    CITY, CITY_GIVEN_POSTCODE, CITY_GIVEN_POSTCODE_TYPO, Level, NAME, NAME_GIVEN_ADDRESS, POSTCODE, Prior, STREET,
    STREET_GIVEN_POSTCODE,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

/// The most a term-frequency adjustment adds or takes away, per word, in bits: the frequency
/// of a word seen a few times in a small store is a rough estimate.
pub const MAX_TF_BITS: f64 = 4.0;

/// The name the model is stored under (`weft train identity`).
pub const MODEL_NAME: &str = "identity";

/// The conditional tables of the score (see [`crate::score`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    Postcode,
    CityGivenPostcode,
    CityGivenPostcodeTypo,
    City,
    StreetGivenPostcode,
    Street,
    NameGivenAddress,
    Name,
}

impl Table {
    /// Every table, in index order.
    pub const ALL: [Table; 8] = [
        Table::Postcode,
        Table::CityGivenPostcode,
        Table::CityGivenPostcodeTypo,
        Table::City,
        Table::StreetGivenPostcode,
        Table::Street,
        Table::NameGivenAddress,
        Table::Name,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The name of the table in a model file and in evidence.
    pub fn key(self) -> &'static str {
        match self {
            Table::Postcode => "postcode",
            Table::CityGivenPostcode => "city_given_postcode",
            Table::CityGivenPostcodeTypo => "city_given_postcode_typo",
            Table::City => "city",
            Table::StreetGivenPostcode => "address_given_postcode",
            Table::Street => "address",
            Table::NameGivenAddress => "name_given_address",
            Table::Name => "name",
        }
    }

    /// The evidence field a table's comparisons are reported under.
    pub fn field(self) -> &'static str {
        match self {
            Table::Postcode => "postcode",
            Table::CityGivenPostcode | Table::CityGivenPostcodeTypo | Table::City => "city",
            Table::StreetGivenPostcode | Table::Street => "address",
            Table::NameGivenAddress | Table::Name => "name",
        }
    }

    /// The priors: the hand-set table of [`crate::score`].
    pub fn defaults(self) -> &'static [Level] {
        match self {
            Table::Postcode => &POSTCODE,
            Table::CityGivenPostcode => &CITY_GIVEN_POSTCODE,
            Table::CityGivenPostcodeTypo => &CITY_GIVEN_POSTCODE_TYPO,
            Table::City => &CITY,
            Table::StreetGivenPostcode => &STREET_GIVEN_POSTCODE,
            Table::Street => &STREET,
            Table::NameGivenAddress => &NAME_GIVEN_ADDRESS,
            Table::Name => &NAME,
        }
    }

    fn from_key(key: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.key() == key)
    }
}

/// How often each name word occurs among the names of a store's messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermFrequencies {
    counts: HashMap<String, u32>,
    /// Words counted (each occurrence).
    total: u64,
    /// `Σ f²`: the chance that two words drawn at random are the same.
    agreement: f64,
}

impl TermFrequencies {
    /// Counts the words given (each occurrence once).
    pub fn count<'a>(words: impl IntoIterator<Item = &'a str>) -> TermFrequencies {
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut total = 0u64;
        for word in words {
            *counts.entry(word.to_owned()).or_default() += 1;
            total += 1;
        }
        let agreement = if total == 0 {
            0.0
        } else {
            counts.values().map(|&c| (c as f64 / total as f64).powi(2)).sum()
        };
        TermFrequencies {
            counts,
            total,
            agreement,
        }
    }

    /// How many words were counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether anything was counted.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many times `word` was counted (at least 1: a word being compared exists).
    pub fn occurrences(&self, word: &str) -> u32 {
        self.counts.get(word).copied().unwrap_or(0).max(1)
    }

    /// The bits an exact agreement on `word` adds to (or takes from) its level's weight:
    /// `log2(Σ f² / f_word)`, within ±[`MAX_TF_BITS`]; 0 when nothing was counted.
    pub fn adjustment(&self, word: &str) -> f64 {
        if self.total == 0 || self.agreement <= 0.0 {
            return 0.0;
        }
        let f = self.occurrences(word) as f64 / self.total as f64;
        (self.agreement / f).log2().clamp(-MAX_TF_BITS, MAX_TF_BITS)
    }

    /// The words counted at least `min` times, most frequent first.
    pub fn common(&self, min: u32) -> Vec<(&str, u32)> {
        let mut out: Vec<(&str, u32)> = self
            .counts
            .iter()
            .filter(|(_, c)| **c >= min)
            .map(|(w, c)| (w.as_str(), *c))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        out
    }
}

/// The m- and u-probabilities of one level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub m: f64,
    pub u: f64,
}

impl Weights {
    /// `log2(m / u)`.
    pub fn weight(&self) -> f64 {
        (self.m / self.u).log2()
    }
}

/// The weights the score uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    tables: Vec<Vec<Weights>>,
    /// The prior odds learned from the data; `None` keeps the workflow's `fuzzy.customers`.
    pub prior: Option<Prior>,
    /// Name words and how common each is; empty: no adjustment.
    pub names: TermFrequencies,
    /// Set for a learned model: what it was learned from.
    pub learned: Option<Learned>,
}

/// What a learned model was learned from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learned {
    /// Messages with a name or an address.
    pub records: u64,
    /// Pairs sharing a blocking key, over which m was estimated.
    pub candidate_pairs: u64,
    /// Random pairs, over which u was estimated.
    pub random_pairs: u64,
    /// The share of candidate pairs that are one person, as EM estimated it.
    pub match_share: f64,
    /// People the records come from, as the learned weights cluster them.
    pub people: u64,
    /// EM iterations run.
    pub iterations: u32,
    /// Whether EM's m-probabilities were kept: false when EM found no two groups to tell apart
    /// (nearly every candidate pair one person, or none), and the priors' m were kept.
    #[serde(default)]
    pub m_learned: bool,
    /// The EM sessions m was learned in, one per wide blocking rule.
    #[serde(default)]
    pub sessions: Vec<SessionOutcome>,
}

/// One EM session of training: the pairs of one wide blocking rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionOutcome {
    /// What the pairs share (`postcode`, `name`).
    pub rule: String,
    pub pairs: u64,
    /// The share of its pairs that are one person, as EM estimated it.
    pub match_share: f64,
    pub iterations: u32,
    /// Whether its m went into the model (false: EM found no two groups to tell apart).
    pub used: bool,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            tables: Table::ALL
                .iter()
                .map(|t| t.defaults().iter().map(|l| Weights { m: l.m, u: l.u }).collect())
                .collect(),
            prior: None,
            names: TermFrequencies::default(),
            learned: None,
        }
    }
}

impl Model {
    /// The hand-set priors, shared.
    pub fn shared_default() -> Arc<Model> {
        static DEFAULT: OnceLock<Arc<Model>> = OnceLock::new();
        DEFAULT.get_or_init(|| Arc::new(Model::default())).clone()
    }

    /// The weights of level `level` (an index into the table's levels) of `table`.
    pub fn weights(&self, table: Table, level: usize) -> Weights {
        self.tables[table.index()][level]
    }

    /// The weight of a level, in bits.
    pub fn weight(&self, table: Table, level: usize) -> f64 {
        self.weights(table, level).weight()
    }

    /// Replaces one table's weights (as many levels as the table has).
    pub fn set(&mut self, table: Table, weights: Vec<Weights>) {
        assert_eq!(weights.len(), table.defaults().len(), "{}", table.key());
        self.tables[table.index()] = weights;
    }

    /// The model as stored (`weft train identity`), with the name words seen at least twice
    /// (the others count once).
    pub fn to_file(&self) -> ModelFile {
        ModelFile {
            format: 1,
            prior_log2_odds: self.prior.map(|p| p.log2_odds()),
            tables: Table::ALL
                .iter()
                .map(|t| {
                    let levels = t
                        .defaults()
                        .iter()
                        .zip(&self.tables[t.index()])
                        .map(|(l, w)| LevelFile {
                            level: l.label.to_owned(),
                            m: w.m,
                            u: w.u,
                        })
                        .collect();
                    (t.key().to_owned(), levels)
                })
                .collect(),
            name_words: NameWordsFile {
                total: self.names.total,
                agreement: self.names.agreement,
                counts: self
                    .names
                    .common(2)
                    .into_iter()
                    .map(|(w, c)| (w.to_owned(), c))
                    .collect(),
            },
            learned: self.learned.clone(),
        }
    }

    /// Reads a stored model; what is wrong is named with its place.
    pub fn from_file(file: &ModelFile) -> Result<Model, String> {
        if file.format != 1 {
            return Err(format!("format {} is not 1", file.format));
        }
        let mut model = Model::default();
        for (key, levels) in &file.tables {
            let table = Table::from_key(key).ok_or_else(|| format!("tables.{key}: no such table"))?;
            let defaults = table.defaults();
            // A model stored before a table gained a level (levels are only ever added at the
            // end): the new levels keep their priors until the next `weft train identity`.
            if levels.len() > defaults.len() || levels.is_empty() {
                return Err(format!(
                    "tables.{key}: {} levels, expected {}",
                    levels.len(),
                    defaults.len()
                ));
            }
            let mut weights = Vec::with_capacity(levels.len());
            for (i, (level, default)) in levels.iter().zip(defaults).enumerate() {
                if level.level != default.label {
                    return Err(format!(
                        "tables.{key}[{i}]: level {:?}, expected {:?}",
                        level.level, default.label
                    ));
                }
                let ok = |p: f64| p.is_finite() && p > 0.0 && p <= 1.0;
                if !ok(level.m) || !ok(level.u) {
                    return Err(format!(
                        "tables.{key}[{i}]: m {} and u {} must be in (0, 1]",
                        level.m, level.u
                    ));
                }
                weights.push(Weights { m: level.m, u: level.u });
            }
            weights.extend(defaults[levels.len()..].iter().map(|l| Weights { m: l.m, u: l.u }));
            model.set(table, weights);
        }
        model.prior = match file.prior_log2_odds {
            Some(odds) if odds.is_finite() && odds < 0.0 => Some(Prior::from_log2_odds(odds)),
            Some(odds) => return Err(format!("prior_log2_odds: {odds} is not a negative number")),
            None => None,
        };
        let words = &file.name_words;
        model.names = TermFrequencies {
            counts: words.counts.iter().map(|(w, c)| (w.clone(), *c)).collect(),
            total: words.total,
            agreement: words.agreement,
        };
        model.learned = file.learned.clone();
        Ok(model)
    }

    /// Parses the JSON of a stored model.
    pub fn from_json(json: &str) -> Result<Model, String> {
        let file: ModelFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
        Model::from_file(&file)
    }
}

/// A model as stored: JSON, written by `weft train identity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// 1.
    pub format: u32,
    /// The prior odds, `log2(p / (1 - p))`, that a message and one given customer are one
    /// person.
    pub prior_log2_odds: Option<f64>,
    /// Per table (`postcode`, `city_given_postcode`, ...), each level's m and u.
    pub tables: BTreeMap<String, Vec<LevelFile>>,
    pub name_words: NameWordsFile,
    pub learned: Option<Learned>,
}

/// One level of a stored table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelFile {
    pub level: String,
    pub m: f64,
    pub u: f64,
}

/// Name words as stored: those seen at least twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameWordsFile {
    pub total: u64,
    pub agreement: f64,
    pub counts: BTreeMap<String, u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_words_weigh_more_than_common_ones() {
        // "smith" is 40 words in 100, sixty others once each.
        let rare: Vec<String> = (0..59).map(|i| format!("rare{i}")).collect();
        let mut words: Vec<&str> = vec!["smith"; 40];
        words.extend(rare.iter().map(String::as_str));
        words.push("zyborski");
        let tf = TermFrequencies::count(words);
        assert!(tf.adjustment("zyborski") > 2.0, "{}", tf.adjustment("zyborski"));
        assert!(tf.adjustment("smith") < -0.5, "{}", tf.adjustment("smith"));
        assert!(tf.adjustment("never-seen") >= tf.adjustment("zyborski"));
        assert_eq!(TermFrequencies::default().adjustment("smith"), 0.0);
    }

    #[test]
    fn a_model_reads_back_what_it_wrote() {
        let mut model = Model {
            prior: Some(Prior::customers(3_000)),
            ..Model::default()
        };
        model.set(
            Table::Postcode,
            vec![
                Weights { m: 0.9, u: 0.001 },
                Weights { m: 0.05, u: 0.01 },
                Weights { m: 0.05, u: 0.989 },
            ],
        );
        model.names = TermFrequencies::count(["smith", "smith", "müller", "anna"]);
        let json = serde_json::to_string(&model.to_file()).unwrap();
        let back = Model::from_json(&json).unwrap();
        assert_eq!(back.weights(Table::Postcode, 0), Weights { m: 0.9, u: 0.001 });
        assert!((back.prior.unwrap().log2_odds() - Prior::customers(3_000).log2_odds()).abs() < 1e-12);
        assert_eq!(back.names.occurrences("smith"), 2);
        // A word seen once is not stored: it counts once.
        assert_eq!(back.names.occurrences("anna"), 1);
        assert!((back.names.adjustment("smith") - model.names.adjustment("smith")).abs() < 1e-12);
    }

    #[test]
    fn bad_files_name_their_place() {
        let mut file = Model::default().to_file();
        file.tables.get_mut("postcode").unwrap()[1].m = 0.0;
        assert!(Model::from_file(&file).unwrap_err().starts_with("tables.postcode[1]"));
        let mut file = Model::default().to_file();
        let first = file.tables["name"][0].clone();
        file.tables.get_mut("name").unwrap().push(first);
        assert!(Model::from_file(&file).unwrap_err().contains("10 levels, expected 9"));
        // A model stored before "one word, the given name" was added: it keeps its prior.
        let mut file = Model::default().to_file();
        file.tables.get_mut("name").unwrap()[0].m = 0.8;
        file.tables.get_mut("name").unwrap().pop();
        let model = Model::from_file(&file).unwrap();
        assert_eq!(model.weights(Table::Name, 0).m, 0.8);
        assert_eq!(model.weights(Table::Name, 8).u, NAME[8].u);
        let mut file = Model::default().to_file();
        file.prior_log2_odds = Some(3.0);
        assert!(Model::from_file(&file).unwrap_err().starts_with("prior_log2_odds"));
    }
}
