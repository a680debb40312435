//! Learning a [`Model`] from a seller's own messages, without labels: the Fellegi–Sunter
//! parameters are estimated as Splink and fastLink estimate them.
//!
//! 1. **Name words** are counted over every message's name (see
//!    [`crate::model::TermFrequencies`]).
//! 2. **u** (how often two different people land on each level) from random pairs of
//!    messages: almost all of them are different people. Tables conditioned on an agreeing
//!    postcode are seen rarely among random pairs, so every table's estimate is smoothed
//!    towards the hand-set prior with [`TrainOptions::pseudo_pairs`] pairs' worth of weight.
//! 3. **m** (how often one person lands on each level) and the share of matches among
//!    candidate pairs (messages sharing a blocking key, as the step finds candidates) by
//!    expectation–maximisation with u held fixed, m smoothed the same way.
//! 4. **The prior**: the candidate pairs whose learned match probability is at least one half
//!    are joined into people; with `n` messages from `k` people, a message comes from one given
//!    earlier customer with probability `((n - k) / n) / k` (returning buyers, spread over the
//!    customers).
//!
//! The result depends only on the messages, not on the order they came in nor on what the step
//! decided about them.

use crate::model::{Learned, Model, Table, TermFrequencies, Weights};
use crate::normalize::name::Name;
use crate::score::{Prior, WeakProfile, score_with};
use crate::text::collapse_umlaut_spelling;
use std::collections::{HashMap, HashSet};

/// How a model is learned.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Random pairs drawn for u (all pairs when there are fewer).
    pub random_pairs: usize,
    /// Blocks with more messages than this give no candidate pairs (a key shared by that many
    /// is not a person's).
    pub max_block: usize,
    /// How many pairs' worth of weight the hand-set priors keep in each table.
    pub pseudo_pairs: f64,
    /// EM stops after this many iterations, or when the match share moves less than 1e-7.
    pub max_iterations: u32,
    /// Seed of the random pairs.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            random_pairs: 400_000,
            max_block: 400,
            pseudo_pairs: 20.0,
            max_iterations: 200,
            seed: 0x5eed_1d3a,
        }
    }
}

/// One message as training sees it: its name and address, and its blocking keys.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub profile: WeakProfile,
    pub keys: Vec<String>,
}

/// The words of a name as they are counted and looked up (umlaut spellings alike).
pub fn name_words(name: &Name) -> impl Iterator<Item = String> + '_ {
    name.tokens
        .iter()
        .filter(move |t| name.cjk || t.chars().count() > 1)
        .map(|t| collapse_umlaut_spelling(t))
}

/// The comparison pattern of a pair: the level of each compared field.
type Pattern = Vec<(Table, usize)>;

fn pattern(a: &Record, b: &Record) -> Pattern {
    let mut p = score_with(&a.profile, &b.profile, Prior::default(), &Model::shared_default()).outcomes;
    p.sort_unstable();
    p
}

/// SplitMix64: a small, well-mixed generator for drawing pairs reproducibly.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The keys a record is paired by for learning: its blocking keys, and two wider ones, its
/// postcode alone and its name's phonetic codes alone. The step's keys combine name and
/// address, so nearly every pair they give is one person, and EM cannot tell from them how
/// often one person's name or address disagrees; as Splink does, pairs blocked on the postcode
/// alone show how names of people at one postcode compare, pairs blocked on the name alone
/// how addresses of one name compare.
fn training_keys(record: &Record) -> Vec<String> {
    let mut keys = record.keys.clone();
    for address in &record.profile.addresses {
        if let Some(postcode) = address.qualified_postcode() {
            keys.push(format!("postcode:{postcode}"));
        }
    }
    for name in &record.profile.names {
        let mut codes = name.blocking_codes();
        codes.sort();
        if !codes.is_empty() {
            keys.push(format!("name:{}", codes.join("+")));
        }
    }
    keys
}

/// Candidate pairs: records sharing a key ([`training_keys`]), from blocks of at most
/// `max_block`.
pub fn candidate_pairs(records: &[Record], max_block: usize) -> Vec<(usize, usize)> {
    let keys: Vec<Vec<String>> = records.iter().map(training_keys).collect();
    let mut blocks: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        for key in k {
            blocks.entry(key.as_str()).or_default().push(i);
        }
    }
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    for members in blocks.values().filter(|m| m.len() <= max_block) {
        for (k, &i) in members.iter().enumerate() {
            for &j in &members[k + 1..] {
                if i != j {
                    seen.insert((i.min(j), i.max(j)));
                }
            }
        }
    }
    let mut pairs: Vec<(usize, usize)> = seen.into_iter().collect();
    pairs.sort_unstable();
    pairs
}

/// Counts of each pattern.
fn tally(patterns: impl Iterator<Item = Pattern>) -> Vec<(Pattern, f64)> {
    let mut counts: HashMap<Pattern, f64> = HashMap::new();
    for p in patterns {
        *counts.entry(p).or_default() += 1.0;
    }
    let mut out: Vec<(Pattern, f64)> = counts.into_iter().collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Per table, the smoothed share of each level among the (weighted) patterns.
fn estimate(
    patterns: &[(Pattern, f64)],
    weight: impl Fn(usize) -> f64,
    prior: impl Fn(Table) -> Vec<f64>,
    pseudo: f64,
) -> Vec<Vec<f64>> {
    let mut sums: Vec<Vec<f64>> = Table::ALL.iter().map(|t| vec![0.0; t.defaults().len()]).collect();
    for (k, (p, _)) in patterns.iter().enumerate() {
        let w = weight(k);
        for &(table, level) in p {
            sums[table.index()][level] += w;
        }
    }
    Table::ALL
        .iter()
        .map(|&t| {
            let prior = prior(t);
            let total: f64 = sums[t.index()].iter().sum();
            sums[t.index()]
                .iter()
                .zip(&prior)
                .map(|(s, p)| (s + pseudo * p) / (total + pseudo))
                .collect()
        })
        .collect()
}

/// Learns a model from `records` (see the module docs).
pub fn train(records: &[Record], options: &TrainOptions) -> Model {
    let n = records.len();
    let mut model = Model::default();
    model.names = TermFrequencies::count(
        records
            .iter()
            .flat_map(|r| r.profile.names.iter().flat_map(name_words))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    if n < 2 {
        return model;
    }

    // u from random pairs.
    let all_pairs = n * (n - 1) / 2;
    let random: Vec<(usize, usize)> = if all_pairs <= options.random_pairs {
        (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect()
    } else {
        let mut rng = SplitMix(options.seed);
        (0..options.random_pairs)
            .map(|_| {
                let i = rng.below(n);
                let mut j = rng.below(n - 1);
                if j >= i {
                    j += 1;
                }
                (i, j)
            })
            .collect()
    };
    // A random pair is one person about once in as many pairs as there are records; such
    // pairs (found by the hand-set weights with that prior) are left out of u. Among random
    // pairs the tables conditioned on an agreeing postcode are seen a few hundred times at
    // most, a good share of them one person, so they keep more of their priors.
    let rough = Prior::customers(n as u64);
    let random_patterns: Vec<(Pattern, f64)> = tally(random.iter().map(|&(i, j)| pattern(&records[i], &records[j])))
        .into_iter()
        .filter(|(p, _)| {
            let hand = Model::shared_default();
            let w: f64 = p.iter().map(|&(t, l)| hand.weight(t, l)).sum();
            rough.probability(w) < 0.5
        })
        .collect();
    let defaults_u = |t: Table| t.defaults().iter().map(|l| l.u).collect::<Vec<_>>();
    let defaults_m = |t: Table| t.defaults().iter().map(|l| l.m).collect::<Vec<_>>();
    let conditional = |t: Table| {
        matches!(
            t,
            Table::CityGivenPostcode
                | Table::CityGivenPostcodeTypo
                | Table::StreetGivenPostcode
                | Table::NameGivenAddress
        )
    };
    let u_free = estimate(
        &random_patterns,
        |k| random_patterns[k].1,
        defaults_u,
        options.pseudo_pairs,
    );
    let u_conditional = estimate(
        &random_patterns,
        |k| random_patterns[k].1,
        defaults_u,
        options.pseudo_pairs * 50.0,
    );
    let u: Vec<Vec<f64>> = Table::ALL
        .iter()
        .map(|&t| {
            if conditional(t) {
                u_conditional[t.index()].clone()
            } else {
                u_free[t.index()].clone()
            }
        })
        .collect();

    // m and the match share by EM over the candidate pairs, u fixed.
    let candidates = candidate_pairs(records, options.max_block);
    let candidate_patterns: Vec<Pattern> = candidates
        .iter()
        .map(|&(i, j)| pattern(&records[i], &records[j]))
        .collect();
    let patterns = tally(candidate_patterns.iter().cloned());
    let total: f64 = patterns.iter().map(|(_, c)| c).sum();
    let mut m: Vec<Vec<f64>> = Table::ALL.iter().map(|&t| defaults_m(t)).collect();
    let mut share = 0.1_f64;
    let mut posterior = vec![0.0; patterns.len()];
    let mut iterations = 0;
    let log_ratio = |m: &[Vec<f64>], p: &Pattern| -> f64 {
        p.iter().map(|&(t, l)| (m[t.index()][l] / u[t.index()][l]).log2()).sum()
    };
    while iterations < options.max_iterations && total > 0.0 {
        iterations += 1;
        let odds = (share / (1.0 - share)).log2();
        for (k, (p, _)) in patterns.iter().enumerate() {
            posterior[k] = 1.0 / (1.0 + (-(log_ratio(&m[..], p) + odds)).exp2());
        }
        let matched: f64 = patterns.iter().zip(&posterior).map(|((_, c), q)| c * q).sum();
        let next_share = (matched / total).clamp(1e-6, 1.0 - 1e-6);
        m = estimate(
            &patterns,
            |k| patterns[k].1 * posterior[k],
            defaults_m,
            options.pseudo_pairs,
        );
        let moved = (next_share - share).abs();
        share = next_share;
        if moved < 1e-7 {
            break;
        }
    }
    // EM that ends with (nearly) every candidate pair one person, or none, has found no two
    // groups to tell apart (candidate pairs all alike, or fields that depend on each other in
    // this data): its m says nothing, and the priors are kept.
    let degenerate = !(1e-4..=0.99).contains(&share);
    if degenerate {
        m = Table::ALL.iter().map(|&t| defaults_m(t)).collect();
        let odds = Prior::customers(n as u64).log2_odds();
        let matched: f64 = patterns
            .iter()
            .map(|(p, c)| c / (1.0 + (-(log_ratio(&m[..], p) + odds)).exp2()))
            .sum();
        share = (matched / total.max(1.0)).clamp(1e-6, 1.0 - 1e-6);
    }
    for &t in &Table::ALL {
        let weights = m[t.index()]
            .iter()
            .zip(&u[t.index()])
            .map(|(&m, &u)| Weights { m, u })
            .collect();
        model.set(t, weights);
    }

    // People: candidate pairs at least as likely one person as not, joined.
    let odds = (share / (1.0 - share)).log2();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for (&(i, j), p) in candidates.iter().zip(&candidate_patterns) {
        if log_ratio(&m[..], p) + odds >= 0.0 {
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let people = (0..n).filter(|&i| find(&mut parent, i) == i).count().max(1);
    let returning = (n - people) as f64 / n as f64;
    // At least one returning message in the whole history is assumed, so that the prior is
    // never zero.
    let p = (returning.max(1.0 / n as f64) / people as f64).min(0.5);
    model.prior = Some(Prior::from_log2_odds((p / (1.0 - p)).log2()));
    model.learned = Some(Learned {
        records: n as u64,
        candidate_pairs: candidates.len() as u64,
        random_pairs: random.len() as u64,
        match_share: share,
        people: people as u64,
        iterations,
        m_learned: !degenerate,
    });
    model
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::Extracted;
    use crate::normalize::address::parse_address;
    use weft_sdk::Address;

    fn record(name: &str, line1: &str, postcode: &str, city: &str) -> Record {
        let address = Address {
            line1: Some(line1.into()),
            postcode: Some(postcode.into()),
            city: Some(city.into()),
            country: Some("DE".into()),
            ..Address::default()
        };
        let extracted = Extracted {
            name: Name::parse(name).ok(),
            address: parse_address(&address, "DE").ok().map(|p| p.address),
            ..Extracted::default()
        };
        Record {
            profile: WeakProfile {
                names: extracted.name.iter().cloned().collect(),
                addresses: extracted.address.iter().cloned().collect(),
            },
            keys: extracted.blocking_keys().into_iter().map(|k| k.value).collect(),
        }
    }

    /// People with one to three messages each, some with typos; EM finds that agreement on a
    /// postcode and a name is what one person shows, and the prior from how many people there
    /// are.
    #[test]
    fn learns_from_unlabelled_messages() {
        let first = [
            "anna", "jonas", "lea", "paul", "marie", "felix", "sophie", "lukas", "emma", "ben",
        ];
        let last = [
            "schmidt", "weber", "wagner", "becker", "hoffmann", "schulz", "koch", "richter",
        ];
        let streets = ["hauptstr", "gartenweg", "schulstr", "lindenallee", "bahnhofstr"];
        let mut records = Vec::new();
        for person in 0..400usize {
            let ending = ["berg", "mann", "hof", "feld", "bach", "stein", "dorf"][person % 7];
            let name = format!(
                "{} {}{ending}",
                first[person % first.len()],
                last[(person / 3) % last.len()]
            );
            let line1 = format!("{} {}", streets[person % streets.len()], 1 + person % 97);
            let postcode = format!("{:05}", 10_000 + (person * 37) % 900);
            let city = ["berlin", "hamburg", "köln"][person % 3];
            records.push(record(&name, &line1, &postcode, city));
            if person % 2 == 0 {
                records.push(record(&name, &line1, &postcode, city));
            }
            if person % 5 == 0 {
                // A typo in the name.
                let typo = name.replacen('e', "", 1);
                records.push(record(&typo, &line1, &postcode, city));
            }
        }
        let model = train(&records, &TrainOptions::default());
        let learned = model.learned.clone().unwrap();
        assert!(learned.candidate_pairs > 200, "{learned:?}");
        // 400 people wrote 680 messages.
        assert!((330..=460).contains(&learned.people), "{learned:?}");
        assert!(model.weight(Table::Postcode, 0) > 5.0);
        assert!(model.weight(Table::Postcode, 2) < 0.0);
        assert!(model.weight(Table::NameGivenAddress, 0) > 0.0);
        let prior = model.prior.unwrap().log2_odds();
        // 280 returning messages of 680, spread over about 400 people.
        assert!((-11.0..-8.0).contains(&prior), "{prior}");
        // A first name one person in ten has weighs less than a rarer family name.
        assert!(model.names.adjustment("anna") < model.names.adjustment("schmidtberg"));
        // The same messages in another order give the same model.
        let mut reversed = records.clone();
        reversed.reverse();
        let again = train(&reversed, &TrainOptions::default());
        assert!((again.prior.unwrap().log2_odds() - prior).abs() < 0.05);
        assert!((again.weight(Table::Postcode, 0) - model.weight(Table::Postcode, 0)).abs() < 0.2);
    }
}
