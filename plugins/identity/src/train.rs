//! Learning a [`Model`] from a seller's own messages, without labels: the Fellegi–Sunter
//! parameters are estimated as Splink and fastLink estimate them.
//!
//! 1. **Name words** are counted over every message's name (see
//!    [`crate::model::TermFrequencies`]).
//! 2. **u** (how often two different people land on each level) from random pairs of
//!    messages: almost all of them are different people. Tables conditioned on an agreeing
//!    postcode are seen rarely among random pairs, so every table's estimate is smoothed
//!    towards the hand-set prior with [`TrainOptions::pseudo_pairs`] pairs' worth of weight.
//! 3. **m** (how often one person lands on each level) by expectation–maximisation with u
//!    held fixed, in **sessions** as Splink trains: each session takes the pairs of one wide
//!    blocking rule (the same postcode; the same phonetic codes of the name) and estimates the
//!    match share and the m of every table *but* those of the fields it blocks on, which agree
//!    by construction there and so say nothing about how often one person's field disagrees.
//!    Each table's m is the average over the sessions that estimated it, weighted by the
//!    matches each saw; m is smoothed towards the hand-set prior with
//!    [`TrainOptions::pseudo_pairs`] pairs' worth of weight, so a level seen in too few pairs
//!    keeps (nearly) its prior. Guards against collapse: a session whose match share ends
//!    near 0 or 1 found no two groups to tell apart and is not used, and a table whose learned
//!    best level weighs no more than its worst keeps its prior m.
//! 4. **The prior**: the candidate pairs whose learned match probability is at least one half
//!    are joined into people; with `n` messages from `k` people, a message comes from one given
//!    earlier customer with probability `((n - k) / n) / k` (returning buyers, spread over the
//!    customers).
//!
//! The result depends only on the messages, not on the order they came in nor on what the step
//! decided about them.

use crate::model::{Learned, Model, SessionOutcome, Table, TermFrequencies, Weights};
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

/// The qualified postcodes of a record: the keys of the postcode session.
fn postcode_keys(record: &Record) -> Vec<String> {
    record
        .profile
        .addresses
        .iter()
        .filter_map(|a| a.qualified_postcode())
        .map(|p| format!("postcode:{p}"))
        .collect()
}

/// The phonetic codes of a record's names, all of one name together: the keys of the name
/// session.
fn name_keys(record: &Record) -> Vec<String> {
    record
        .profile
        .names
        .iter()
        .filter_map(|name| {
            let mut codes = name.blocking_codes();
            codes.sort();
            (!codes.is_empty()).then(|| format!("name:{}", codes.join("+")))
        })
        .collect()
}

/// The step's own blocking keys.
fn step_keys(record: &Record) -> Vec<String> {
    record.keys.clone()
}

/// One EM session: the pairs of a blocking rule, and the tables of the fields it blocks on.
struct Session {
    name: &'static str,
    keys: fn(&Record) -> Vec<String>,
    /// Tables the session leaves out (they agree by construction in its pairs).
    fixed: &'static [Table],
}

const SESSIONS: [Session; 2] = [
    Session {
        name: "postcode",
        keys: postcode_keys,
        fixed: &[Table::Postcode],
    },
    Session {
        name: "name",
        keys: name_keys,
        fixed: &[Table::Name, Table::NameGivenAddress],
    },
];

/// Pairs of records sharing a key given by `keys`, from blocks of at most `max_block`.
fn pairs_by(records: &[Record], keys: fn(&Record) -> Vec<String>, max_block: usize) -> Vec<(usize, usize)> {
    let keys: Vec<Vec<String>> = records.iter().map(keys).collect();
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

/// Candidate pairs as the step finds them: records sharing one of its blocking keys, from
/// blocks of at most `max_block`.
pub fn candidate_pairs(records: &[Record], max_block: usize) -> Vec<(usize, usize)> {
    pairs_by(records, step_keys, max_block)
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

/// What EM found over one session's patterns.
struct Em {
    /// Per table, each level's m.
    m: Vec<Vec<f64>>,
    /// Per table, the expected number of matched pairs that compared it.
    matched: Vec<f64>,
    share: f64,
    iterations: u32,
}

/// EM over `patterns` with u fixed: m (smoothed towards the prior) and the match share.
fn expectation_maximisation(patterns: &[(Pattern, f64)], u: &[Vec<f64>], options: &TrainOptions) -> Em {
    let defaults_m = |t: Table| t.defaults().iter().map(|l| l.m).collect::<Vec<_>>();
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
            patterns,
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
    let mut matched = vec![0.0; Table::ALL.len()];
    for ((p, c), q) in patterns.iter().zip(&posterior) {
        let mut tables: Vec<Table> = p.iter().map(|(t, _)| *t).collect();
        tables.dedup();
        for t in tables {
            matched[t.index()] += c * q;
        }
    }
    Em {
        m,
        matched,
        share,
        iterations,
    }
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
    // A level that none of the random pairs showed is rarer than they can tell, not
    // impossible: its u is kept at no less than one pair in as many as were drawn (or its
    // prior, if that is smaller). Smoothing alone would take it to the prior times the
    // pseudo-pairs over the pairs drawn, thousands of times smaller than anything measured,
    // and one such level would then outweigh every other comparison.
    let drawn: f64 = random_patterns.iter().map(|(_, c)| c).sum();
    let u: Vec<Vec<f64>> = Table::ALL
        .iter()
        .map(|&t| {
            let smoothed = if conditional(t) {
                &u_conditional[t.index()]
            } else {
                &u_free[t.index()]
            };
            let floored: Vec<f64> = smoothed
                .iter()
                .zip(t.defaults())
                .map(|(&u, level)| u.max(level.u.min(1.0 / drawn.max(1.0))))
                .collect();
            let total: f64 = floored.iter().sum();
            floored.iter().map(|u| u / total).collect()
        })
        .collect();

    let log_ratio = |m: &[Vec<f64>], p: &Pattern| -> f64 {
        p.iter().map(|&(t, l)| (m[t.index()][l] / u[t.index()][l]).log2()).sum()
    };

    // m by EM, session by session, u fixed; then each table's m averaged over the sessions
    // that estimated it, weighted by the matches each saw there.
    let mut sums: Vec<Vec<f64>> = Table::ALL.iter().map(|t| vec![0.0; t.defaults().len()]).collect();
    let mut seen: Vec<f64> = vec![0.0; Table::ALL.len()];
    let mut sessions = Vec::new();
    let mut iterations = 0;
    for session in &SESSIONS {
        let pairs = pairs_by(records, session.keys, options.max_block);
        let patterns = tally(pairs.iter().map(|&(i, j)| {
            let mut p = pattern(&records[i], &records[j]);
            p.retain(|(t, _)| !session.fixed.contains(t));
            p
        }));
        let em = expectation_maximisation(&patterns, &u, options);
        iterations += em.iterations;
        let degenerate = !(1e-4..=0.99).contains(&em.share);
        sessions.push(SessionOutcome {
            rule: session.name.to_owned(),
            pairs: pairs.len() as u64,
            match_share: em.share,
            iterations: em.iterations,
            used: !degenerate,
        });
        if degenerate {
            continue;
        }
        for &t in Table::ALL.iter().filter(|t| !session.fixed.contains(t)) {
            let matched = em.matched[t.index()];
            seen[t.index()] += matched;
            for (sum, m) in sums[t.index()].iter_mut().zip(&em.m[t.index()]) {
                *sum += matched * m;
            }
        }
    }
    let m: Vec<Vec<f64>> = Table::ALL
        .iter()
        .map(|&t| {
            let learned: Vec<f64> = sums[t.index()].iter().map(|s| s / seen[t.index()]).collect();
            let weight = |m: &[f64], level: usize| (m[level] / u[t.index()][level]).log2();
            let last = learned.len() - 1;
            // No session saw this table, or what it learned would rank the worst level above
            // the best one: the prior m.
            if seen[t.index()] <= 0.0 || weight(&learned, 0) <= weight(&learned, last) {
                defaults_m(t)
            } else {
                learned
            }
        })
        .collect();
    let m_learned = sessions.iter().any(|s| s.used);
    for &t in &Table::ALL {
        let weights = m[t.index()]
            .iter()
            .zip(&u[t.index()])
            .map(|(&m, &u)| Weights { m, u })
            .collect();
        model.set(t, weights);
    }

    // The match share among the step's own candidate pairs, m and u fixed.
    let candidates = candidate_pairs(records, options.max_block);
    let candidate_patterns: Vec<Pattern> = candidates
        .iter()
        .map(|&(i, j)| pattern(&records[i], &records[j]))
        .collect();
    let patterns = tally(candidate_patterns.iter().cloned());
    let total: f64 = patterns.iter().map(|(_, c)| c).sum();
    let mut share = 0.1_f64;
    for _ in 0..options.max_iterations {
        if total <= 0.0 {
            break;
        }
        let odds = (share / (1.0 - share)).log2();
        let matched: f64 = patterns
            .iter()
            .map(|(p, c)| c / (1.0 + (-(log_ratio(&m[..], p) + odds)).exp2()))
            .sum();
        let next = (matched / total).clamp(1e-6, 1.0 - 1e-6);
        let moved = (next - share).abs();
        share = next;
        if moved < 1e-7 {
            break;
        }
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
        m_learned,
        sessions,
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
