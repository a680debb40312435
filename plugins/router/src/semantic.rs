//! The semantic classifier: a message's sentence embedding compared with the embeddings of a
//! few descriptions and example sentences per category (the prototypes), turned into
//! probabilities by a calibrated softmax.
//!
//! The shipped prototypes are English (`data/prototypes.csv`); a workflow adds its own with
//! `with: { examples: { refund: ["..."], gift-wrap: ["..."] } }`, extending an intent or
//! defining a new category. The host computes the embeddings (`embeddings` capability); this
//! module only compares vectors, so it runs the same natively and in the sandbox. The shipped
//! prototypes' vectors come with the router ([`crate::vectors`]), checked against the host's
//! model with one sentence; only a workflow's own examples (and sentences the shipped table
//! lacks) are embedded when a process starts.

use crate::config::Problem;
use crate::data::parse_csv;
use crate::intent::Intent;
use crate::vectors::{PrototypeVectors, same_vector};
use std::collections::BTreeMap;

/// Softmax temperature over the per-category similarities. Cosines of this model live in a
/// narrow band (unrelated sentences ~0.1, paraphrases ~0.7), so differences of a few hundredths
/// matter; the value was fitted on the English lines of `data/train.csv` (see the data README).
pub const TEMPERATURE: f32 = 0.03;

/// A category's score is the mean of its best this-many prototype similarities. With 22–38
/// prototypes per intent, two is better than the nearest one alone (a single odd prototype
/// decides less) and better than three or four (re-checked with the 290 prototypes of
/// router3: see the data README).
const TOP: usize = 2;

/// The prototypes: for each category, the sentences that describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prototypes {
    labels: Vec<String>,
    /// (index into `labels`, sentence)
    sentences: Vec<(usize, String)>,
    /// The sentences' unit vectors, once the host computed them (see [`Prototypes::vectors`]).
    vectors: std::sync::OnceLock<Vec<Vec<f32>>>,
}

/// What the semantic classifier says about one message.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticPrediction {
    /// Every category with its probability, most likely first.
    pub ranked: Vec<(String, f32)>,
    /// The prototype sentence closest to the message and its cosine similarity.
    pub nearest: (String, f32),
}

impl SemanticPrediction {
    /// The most likely category and its probability.
    pub fn top(&self) -> (&str, f32) {
        self.ranked.first().map_or(("", 0.0), |(l, p)| (l.as_str(), *p))
    }

    /// The probability of one category (0 when it is not one of them).
    pub fn probability(&self, label: &str) -> f32 {
        self.ranked.iter().find(|(l, _)| l == label).map_or(0.0, |(_, p)| *p)
    }
}

/// Whether a name is usable as a category: lowercase letters, digits and `-`, starting with a
/// letter, at most 40 characters, and not `triage`.
fn valid_label(name: &str) -> bool {
    name.len() <= 40
        && name != crate::TRIAGE
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The shipped prototypes (`data/prototypes.csv`) as (intent index, sentence), parsed once.
fn shipped() -> Result<&'static Vec<(usize, String)>, Vec<Problem>> {
    static SHIPPED: std::sync::OnceLock<Result<Vec<(usize, String)>, String>> = std::sync::OnceLock::new();
    SHIPPED
        .get_or_init(|| {
            parse_csv(include_str!("../data/prototypes.csv"))
                .map(|examples| examples.into_iter().map(|e| (e.intent.index(), e.text)).collect())
                .map_err(|e| format!("the shipped prototypes are broken: {e}"))
        })
        .as_ref()
        .map_err(|e| vec![Problem::at(&[], e.clone())])
}

/// At most this many prototype sentences go to the host in one `embed` call.
const EMBED_CHUNK: usize = 128;

/// Embeds `texts` with `embed` in calls of at most [`EMBED_CHUNK`], checking the count.
fn embed_chunked(
    texts: &[String],
    embed: &mut impl FnMut(&[String]) -> Result<Vec<Vec<f32>>, String>,
) -> Result<Vec<Vec<f32>>, String> {
    let mut vectors = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(EMBED_CHUNK) {
        let got = embed(chunk)?;
        if got.len() != chunk.len() {
            return Err(format!(
                "the host returned {} vectors for {} prototype sentences",
                got.len(),
                chunk.len()
            ));
        }
        vectors.extend(got);
    }
    Ok(vectors)
}

impl Prototypes {
    /// The unit vectors of the prototype sentences, in [`Prototypes::sentences`] order: found
    /// the first time (from the shipped table, [`PrototypeVectors::shipped`], as far as it is
    /// the host's model's, and from `embed` for the rest: see [`Prototypes::vectors_with`]),
    /// then kept with the prototypes. A failed attempt keeps nothing, so a later call asks again.
    pub fn vectors(
        &self,
        embed: impl FnMut(&[String]) -> Result<Vec<Vec<f32>>, String>,
    ) -> Result<&[Vec<f32>], String> {
        if let Some(vectors) = self.vectors.get() {
            return Ok(vectors);
        }
        // An unreadable shipped table only costs passes (the test
        // `the_shipped_table_has_every_shipped_sentence` catches it).
        let vectors = self.vectors_with(PrototypeVectors::shipped().ok(), embed)?;
        Ok(self.vectors.get_or_init(|| vectors))
    }

    /// The prototype sentences' vectors, taken from `table` where it has the sentence and is
    /// the host's model's, asked from `embed` otherwise (in calls of at most 128 sentences).
    ///
    /// Whether the table is the host's model's is asked once: `embed` gets the table's probe
    /// sentence first (together with the sentences the table does not have), and the table is
    /// used only if the answer is the shipped vector ([`same_vector`]). Otherwise every
    /// sentence is embedded.
    pub fn vectors_with(
        &self,
        table: Option<&PrototypeVectors>,
        mut embed: impl FnMut(&[String]) -> Result<Vec<Vec<f32>>, String>,
    ) -> Result<Vec<Vec<f32>>, String> {
        let shipped: Vec<Option<&[f32]>> = self
            .sentences
            .iter()
            .map(|(_, s)| table.and_then(|t| t.get(s)))
            .collect();
        let probe = table
            .and_then(PrototypeVectors::probe)
            .filter(|_| shipped.iter().any(Option::is_some));
        let mut ask: Vec<String> = probe.iter().map(|(s, _)| (*s).to_owned()).collect();
        let unknown: Vec<usize> = (0..shipped.len()).filter(|&i| shipped[i].is_none()).collect();
        ask.extend(unknown.iter().map(|&i| self.sentences[i].1.clone()));
        let mut got = embed_chunked(&ask, &mut embed)?.into_iter();
        let trusted = match probe {
            Some((_, vector)) => got.next().is_some_and(|answer| same_vector(&answer, vector)),
            None => false,
        };
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; self.sentences.len()];
        for (&i, vector) in unknown.iter().zip(got) {
            vectors[i] = Some(vector);
        }
        let known: Vec<usize> = (0..shipped.len()).filter(|&i| shipped[i].is_some()).collect();
        if trusted {
            for &i in &known {
                vectors[i] = shipped[i].map(<[f32]>::to_vec);
            }
        } else if !known.is_empty() {
            let texts: Vec<String> = known.iter().map(|&i| self.sentences[i].1.clone()).collect();
            for (&i, vector) in known.iter().zip(embed_chunked(&texts, &mut embed)?) {
                vectors[i] = Some(vector);
            }
        }
        vectors
            .into_iter()
            .map(|v| v.ok_or_else(|| "a prototype sentence got no vector".to_owned()))
            .collect()
    }

    /// The shipped prototypes (`data/prototypes.csv`) plus a workflow's own examples. Every
    /// problem is reported, each naming where it is.
    pub fn new(examples: &BTreeMap<String, Vec<String>>) -> Result<Prototypes, Vec<Problem>> {
        let mut labels: Vec<String> = Intent::ALL.iter().map(|i| i.as_str().to_owned()).collect();
        let mut sentences: Vec<(usize, String)> = shipped()?.clone();
        let mut problems = Vec::new();
        for (label, texts) in examples {
            if !valid_label(label) {
                problems.push(Problem::at(
                    &["examples", label],
                    "a category name is lowercase letters, digits and `-`, starts with a letter, is at most 40 characters and is not `triage`",
                ));
                continue;
            }
            if texts.is_empty() {
                problems.push(Problem::at(&["examples", label], "give at least one example sentence"));
            }
            let index = labels.iter().position(|l| l == label).unwrap_or_else(|| {
                labels.push(label.clone());
                labels.len() - 1
            });
            for (i, text) in texts.iter().enumerate() {
                if text.trim().is_empty() {
                    problems.push(Problem::at(
                        &["examples", label, &i.to_string()],
                        "the sentence is empty",
                    ));
                } else {
                    sentences.push((index, text.trim().to_owned()));
                }
            }
        }
        if problems.is_empty() {
            Ok(Prototypes {
                labels,
                sentences,
                vectors: std::sync::OnceLock::new(),
            })
        } else {
            Err(problems)
        }
    }

    /// Every category: the intents first, in [`Intent::ALL`] order, then the workflow's own.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The prototype sentences, in the order their vectors are expected by [`Prototypes::classify`].
    pub fn sentences(&self) -> impl Iterator<Item = &str> {
        self.sentences.iter().map(|(_, s)| s.as_str())
    }

    /// How many prototype sentences there are.
    pub fn len(&self) -> usize {
        self.sentences.len()
    }

    /// Whether there are none (never, with the shipped ones).
    pub fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }

    /// Classifies a message from its unit vector and the unit vectors of the prototype
    /// sentences (same order as [`Prototypes::sentences`]). `None` when the vectors do not
    /// match the prototypes (a count or dimension mismatch).
    pub fn classify(&self, message: &[f32], prototypes: &[Vec<f32>]) -> Option<SemanticPrediction> {
        if prototypes.len() != self.sentences.len()
            || message.is_empty()
            || prototypes.iter().any(|p| p.len() != message.len())
        {
            return None;
        }
        let mut per_label: Vec<Vec<f32>> = vec![Vec::new(); self.labels.len()];
        let mut nearest = (String::new(), f32::NEG_INFINITY);
        for ((label, sentence), vector) in self.sentences.iter().zip(prototypes) {
            let cosine: f32 = message.iter().zip(vector).map(|(a, b)| a * b).sum();
            per_label[*label].push(cosine);
            if cosine > nearest.1 {
                nearest = (sentence.clone(), cosine);
            }
        }
        let scores: Vec<f32> = per_label
            .iter_mut()
            .map(|sims| {
                if sims.is_empty() {
                    return f32::NEG_INFINITY;
                }
                sims.sort_by(|a, b| b.total_cmp(a));
                let best = &sims[..sims.len().min(TOP)];
                best.iter().sum::<f32>() / best.len() as f32
            })
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = scores.iter().map(|s| ((s - max) / TEMPERATURE).exp()).collect();
        let total: f32 = exp.iter().sum();
        let mut ranked: Vec<(String, f32)> = self
            .labels
            .iter()
            .cloned()
            .zip(exp.into_iter().map(|e| e / total))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Some(SemanticPrediction { ranked, nearest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    /// A stand-in model: a unit vector per text, derived from its bytes (`salt` makes another
    /// model), and the texts each call asked for.
    struct FakeModel {
        salt: u8,
        asked: std::cell::RefCell<Vec<Vec<String>>>,
    }

    impl FakeModel {
        fn new(salt: u8) -> FakeModel {
            FakeModel {
                salt,
                asked: std::cell::RefCell::new(Vec::new()),
            }
        }

        fn vector(&self, text: &str) -> Vec<f32> {
            let mut v = [1.0f32; 4];
            for (i, b) in text.bytes().enumerate() {
                v[i % 4] += f32::from(b ^ self.salt) / 255.0;
            }
            unit(&v)
        }

        fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
            self.asked.borrow_mut().push(texts.to_vec());
            Ok(texts.iter().map(|t| self.vector(t)).collect())
        }

        fn asked(&self) -> Vec<String> {
            self.asked.borrow().concat()
        }
    }

    /// The shipped sentences, the first `changed` of them written differently since the table
    /// was made, and a workflow's example; the table made by `FakeModel::new(1)`.
    fn setup(changed: usize) -> (Prototypes, PrototypeVectors, Vec<String>) {
        let mut examples = BTreeMap::new();
        examples.insert(
            "gift-wrap".to_owned(),
            vec!["Können Sie es als Geschenk verpacken?".to_owned()],
        );
        let prototypes = Prototypes::new(&examples).unwrap();
        let maker = FakeModel::new(1);
        let shipped: Vec<String> = shipped().unwrap().iter().map(|(_, s)| s.clone()).collect();
        let entries = shipped
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let s = if i < changed {
                    format!("{s} (old wording)")
                } else {
                    s.clone()
                };
                let v = maker.vector(&s);
                (s, v)
            })
            .collect();
        (prototypes, PrototypeVectors::new("fake 1", entries).unwrap(), shipped)
    }

    #[test]
    fn the_table_of_the_hosts_model_saves_every_pass_but_the_probe_and_the_new_sentences() {
        let (prototypes, table, shipped) = setup(2);
        let host = FakeModel::new(1);
        let vectors = prototypes.vectors_with(Some(&table), |t| host.embed(t)).unwrap();
        let expected: Vec<Vec<f32>> = prototypes.sentences().map(|s| host.vector(s)).collect();
        assert_eq!(vectors, expected);
        let probe = table.probe().unwrap().0.to_owned();
        assert_eq!(
            host.asked(),
            vec![
                probe,
                shipped[0].clone(),
                shipped[1].clone(),
                "Können Sie es als Geschenk verpacken?".to_owned()
            ]
        );
    }

    #[test]
    fn a_table_of_another_model_is_not_used() {
        let (prototypes, table, shipped) = setup(0);
        let host = FakeModel::new(2);
        let vectors = prototypes.vectors_with(Some(&table), |t| host.embed(t)).unwrap();
        let expected: Vec<Vec<f32>> = prototypes.sentences().map(|s| host.vector(s)).collect();
        assert_eq!(vectors, expected);
        // The probe and the example, then every shipped sentence in calls of at most 128.
        let asked = host.asked.borrow().clone();
        assert_eq!(asked[0].len(), 2);
        assert!(asked.iter().all(|call| call.len() <= EMBED_CHUNK));
        assert_eq!(asked[1..].concat(), shipped);
    }

    #[test]
    fn without_a_table_every_sentence_is_embedded_and_failures_keep_nothing() {
        let (prototypes, _, _) = setup(0);
        let host = FakeModel::new(1);
        let vectors = prototypes.vectors_with(None, |t| host.embed(t)).unwrap();
        assert_eq!(
            host.asked(),
            prototypes.sentences().map(str::to_owned).collect::<Vec<_>>()
        );
        assert_eq!(vectors.len(), prototypes.len());
        let short = prototypes.vectors_with(None, |t| Ok(vec![vec![1.0]; t.len() - 1]));
        assert!(short.unwrap_err().contains("vectors for"));
        assert!(prototypes.vectors(|_| Err("no model".to_owned())).is_err());
        assert!(prototypes.vectors.get().is_none());
    }

    #[test]
    fn the_shipped_table_has_every_shipped_sentence() {
        let table = PrototypeVectors::shipped().unwrap();
        let sentences: Vec<&str> = shipped().unwrap().iter().map(|(_, s)| s.as_str()).collect();
        let in_table: Vec<&str> = table.entries().map(|(s, _)| s).collect();
        assert_eq!(
            in_table, sentences,
            "model/prototypes.bin is not prototypes.csv's: see `vectors` for how to write it again"
        );
        assert!(table.dim() > 0);
        for (sentence, vector) in table.entries() {
            let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "{sentence:?}: norm {norm}");
        }
    }

    #[test]
    fn custom_categories_and_bad_names() {
        let mut examples = BTreeMap::new();
        examples.insert("gift-wrap".to_owned(), vec!["Can you wrap it as a gift?".to_owned()]);
        examples.insert("refund".to_owned(), vec!["Geld zurück bitte".to_owned()]);
        let p = Prototypes::new(&examples).unwrap();
        assert_eq!(p.labels().last().map(String::as_str), Some("gift-wrap"));
        assert!(p.sentences().any(|s| s == "Geld zurück bitte"));

        let mut bad = BTreeMap::new();
        bad.insert("Gift Wrap".to_owned(), vec!["x".to_owned()]);
        bad.insert("triage".to_owned(), vec!["x".to_owned()]);
        bad.insert("ok".to_owned(), vec![" ".to_owned()]);
        let problems = Prototypes::new(&bad).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.to_string().starts_with("examples.ok[0]: the sentence is empty"))
        );
    }

    #[test]
    fn the_closest_prototypes_win_and_mismatches_are_refused() {
        let p = Prototypes::new(&BTreeMap::new()).unwrap();
        let dim = 16;
        // Each prototype points along its category's axis (mod dim), slightly tilted.
        let vectors: Vec<Vec<f32>> = p
            .sentences
            .iter()
            .map(|(label, _)| {
                let mut v = vec![0.05f32; dim];
                v[label % dim] = 1.0;
                unit(&v)
            })
            .collect();
        let mut message = vec![0.0f32; dim];
        message[Intent::Refund.index()] = 1.0;
        let prediction = p.classify(&unit(&message), &vectors).unwrap();
        assert_eq!(prediction.top().0, "refund");
        assert!(prediction.top().1 > 0.5);
        let sum: f32 = prediction.ranked.iter().map(|(_, q)| q).sum();
        assert!((sum - 1.0).abs() < 1e-4);
        assert!(p.classify(&unit(&message), &vectors[1..]).is_none());
        assert!(p.classify(&[1.0, 0.0], &vectors).is_none());
    }
}
