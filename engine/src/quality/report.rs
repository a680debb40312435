//! The quality report: how the store's customers and tickets compare with the truth.
//!
//! - **Customer links**, pairwise: every pair of messages the store put on the same customer
//!   (following `merged_into`) is a predicted link; every pair of messages of the same true
//!   customer is a true link. Precision is the share of predicted links that are true, recall
//!   the share of true links that were found, F1 their harmonic mean.
//! - **Ticket grouping**, pairwise in the same way: pairs on the same root ticket against pairs
//!   of the same true issue.
//! - **Tickets per real issue**: root tickets holding truth messages, divided by true issues.
//!   Above 1.5 is the usual sign of duplicate tickets; the aim is at most 1.05. Also the mean,
//!   over true issues, of how many root tickets the issue's messages are spread over.
//!
//! Pairs are counted per cluster intersection, never enumerated: a cluster of `n` messages
//! holds `n(n-1)/2` pairs, so memory grows with the number of messages, not of pairs.
//! A truth message the store does not know counts as a cluster of its own (a link missed).

use super::generate::TruthLine;
use crate::store::Store;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::hash::Hash;
use std::path::{Path, PathBuf};

/// What went wrong building a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The truth file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of the truth file is not a truth line.
    #[error("{path}:{line}: {message}")]
    Truth {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// An export did not have the expected shape.
    #[error("unexpected export: {0}")]
    Export(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Pair counts of one clustering against the truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairCounts {
    /// Pairs put together.
    pub predicted: u64,
    /// Pairs truly together.
    pub actual: u64,
    /// Pairs both put and truly together.
    pub correct: u64,
}

impl PairCounts {
    /// Share of predicted pairs that are true (1 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }

    /// Share of true pairs that were predicted (1 when there are none).
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.actual)
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Counts pairs of items (each given as its predicted and its true cluster) without listing
/// them: per predicted cluster, per true cluster, and per intersection.
pub fn pair_counts<P, T>(items: impl IntoIterator<Item = (P, T)>) -> PairCounts
where
    P: Hash + Eq + Clone,
    T: Hash + Eq + Clone,
{
    let mut predicted: HashMap<P, u64> = HashMap::new();
    let mut actual: HashMap<T, u64> = HashMap::new();
    let mut both: HashMap<(P, T), u64> = HashMap::new();
    for (p, t) in items {
        *predicted.entry(p.clone()).or_default() += 1;
        *actual.entry(t.clone()).or_default() += 1;
        *both.entry((p, t)).or_default() += 1;
    }
    PairCounts {
        predicted: predicted.values().map(|&n| pairs(n)).sum(),
        actual: actual.values().map(|&n| pairs(n)).sum(),
        correct: both.values().map(|&n| pairs(n)).sum(),
    }
}

/// Where the store put a message: a root customer or ticket, or nowhere (the message is
/// unknown to the store, or has no ticket), which is a cluster of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Placed {
    Root(i64),
    Alone(usize),
}

/// The report's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityReport {
    /// Messages in the truth file.
    pub messages: usize,
    /// Of those, messages the store has on a customer.
    pub on_customer: usize,
    /// Of those, messages the store has on a ticket.
    pub on_ticket: usize,
    /// True customers and root customers holding truth messages.
    pub true_customers: usize,
    pub customers_found: usize,
    /// True issues and root tickets holding truth messages.
    pub true_issues: usize,
    pub tickets_found: usize,
    /// Pairwise counts of customer links.
    pub customer_pairs: PairCounts,
    /// Pairwise counts of ticket grouping.
    pub ticket_pairs: PairCounts,
    /// Mean number of root tickets a true issue's messages are spread over.
    pub tickets_per_issue_mean: f64,
}

impl QualityReport {
    /// Root tickets per true issue.
    pub fn tickets_per_issue(&self) -> f64 {
        if self.true_issues == 0 {
            0.0
        } else {
            self.tickets_found as f64 / self.true_issues as f64
        }
    }

    /// The figures as one JSON object.
    pub fn to_json(&self) -> Value {
        let pairs = |p: &PairCounts| {
            json!({
                "precision": p.precision(), "recall": p.recall(), "f1": p.f1(),
                "predicted_pairs": p.predicted, "true_pairs": p.actual, "correct_pairs": p.correct,
            })
        };
        json!({
            "messages": self.messages,
            "messages_on_customer": self.on_customer,
            "messages_on_ticket": self.on_ticket,
            "true_customers": self.true_customers,
            "customers_found": self.customers_found,
            "true_issues": self.true_issues,
            "tickets_found": self.tickets_found,
            "customer_links": pairs(&self.customer_pairs),
            "ticket_merges": pairs(&self.ticket_pairs),
            "tickets_per_issue": self.tickets_per_issue(),
            "tickets_per_issue_mean": self.tickets_per_issue_mean,
        })
    }

    /// The figures as a table for people.
    pub fn table(&self) -> String {
        let row = |name: &str, p: &PairCounts| {
            format!(
                "{name:<16} {:>9.4} {:>9.4} {:>9.4} {:>12} {:>12} {:>12}\n",
                p.precision(),
                p.recall(),
                p.f1(),
                p.predicted,
                p.actual,
                p.correct
            )
        };
        let mut out = format!(
            "messages: {} in the truth, {} on a customer, {} on a ticket\n\
             customers: {} true, {} found; issues: {} true, {} root tickets\n\n",
            self.messages,
            self.on_customer,
            self.on_ticket,
            self.true_customers,
            self.customers_found,
            self.true_issues,
            self.tickets_found
        );
        out.push_str(&format!(
            "{:<16} {:>9} {:>9} {:>9} {:>12} {:>12} {:>12}\n",
            "pairs", "precision", "recall", "F1", "predicted", "true", "correct"
        ));
        out.push_str(&row("customer links", &self.customer_pairs));
        out.push_str(&row("ticket merges", &self.ticket_pairs));
        out.push_str(&format!(
            "\ntickets per real issue: {:.3} (mean spread of an issue over tickets: {:.3}; aim: at most 1.05)\n",
            self.tickets_per_issue(),
            self.tickets_per_issue_mean
        ));
        out
    }
}

/// Reads a truth file (one `{"message", "customer", "issue"}` object per line).
pub fn read_truth(path: &Path) -> Result<Vec<TruthLine>, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let truth: TruthLine = serde_json::from_str(line).map_err(|e| ReportError::Truth {
            path: path.to_owned(),
            line: index + 1,
            message: e.to_string(),
        })?;
        out.push(truth);
    }
    Ok(out)
}

/// Compares the store's customers and tickets with the truth.
pub async fn quality(store: &Store, truth: &[TruthLine]) -> Result<QualityReport, ReportError> {
    let customers = store.export_customers().await?;
    let tickets = store.export_tickets().await?;
    from_exports(&customers, &tickets, truth)
}

/// Message id → root, from an export whose objects have an id field, `merged_into` and
/// `messages`.
fn roots(export: &[Value], id_field: &str) -> Result<HashMap<String, i64>, ReportError> {
    let mut parent: HashMap<i64, Option<i64>> = HashMap::new();
    for object in export {
        let id = object[id_field]
            .as_i64()
            .ok_or_else(|| ReportError::Export(format!("no integer `{id_field}` in {object}")))?;
        parent.insert(id, object["merged_into"].as_i64());
    }
    let root = |mut id: i64| {
        for _ in 0..parent.len() + 1 {
            match parent.get(&id).copied().flatten() {
                Some(next) => id = next,
                None => break,
            }
        }
        id
    };
    let mut out = HashMap::new();
    for object in export {
        let id = object[id_field].as_i64().unwrap_or_default();
        let root = root(id);
        for message in object["messages"].as_array().map(Vec::as_slice).unwrap_or_default() {
            if let Some(message) = message.as_str() {
                out.insert(message.to_owned(), root);
            }
        }
    }
    Ok(out)
}

/// The report from exported customers and tickets (`Store::export_customers`,
/// `Store::export_tickets`).
pub fn from_exports(customers: &[Value], tickets: &[Value], truth: &[TruthLine]) -> Result<QualityReport, ReportError> {
    let customer_of = roots(customers, "customer")?;
    let ticket_of = roots(tickets, "ticket")?;
    let place = |map: &HashMap<String, i64>, i: usize, message: &str| match map.get(message) {
        Some(&root) => Placed::Root(root),
        None => Placed::Alone(i),
    };
    let customer_pairs = pair_counts(
        truth
            .iter()
            .enumerate()
            .map(|(i, t)| (place(&customer_of, i, &t.message), t.customer.as_str())),
    );
    let ticket_pairs = pair_counts(
        truth
            .iter()
            .enumerate()
            .map(|(i, t)| (place(&ticket_of, i, &t.message), t.issue.as_str())),
    );
    let distinct = |values: &mut dyn Iterator<Item = Placed>| {
        values
            .filter(|p| matches!(p, Placed::Root(_)))
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    let mut issue_tickets: HashMap<&str, std::collections::HashSet<Placed>> = HashMap::new();
    for (i, t) in truth.iter().enumerate() {
        issue_tickets
            .entry(t.issue.as_str())
            .or_default()
            .insert(place(&ticket_of, i, &t.message));
    }
    let true_issues = issue_tickets.len();
    let spread: usize = issue_tickets.values().map(|s| s.len()).sum();
    Ok(QualityReport {
        messages: truth.len(),
        on_customer: truth.iter().filter(|t| customer_of.contains_key(&t.message)).count(),
        on_ticket: truth.iter().filter(|t| ticket_of.contains_key(&t.message)).count(),
        true_customers: truth
            .iter()
            .map(|t| t.customer.as_str())
            .collect::<std::collections::HashSet<_>>()
            .len(),
        customers_found: distinct(
            &mut truth
                .iter()
                .enumerate()
                .map(|(i, t)| place(&customer_of, i, &t.message)),
        ),
        true_issues,
        tickets_found: distinct(&mut truth.iter().enumerate().map(|(i, t)| place(&ticket_of, i, &t.message))),
        customer_pairs,
        ticket_pairs,
        tickets_per_issue_mean: if true_issues == 0 {
            0.0
        } else {
            spread as f64 / true_issues as f64
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(items: &[(u32, u32)]) -> PairCounts {
        let mut counts = PairCounts::default();
        for i in 0..items.len() {
            for j in i + 1..items.len() {
                let p = items[i].0 == items[j].0;
                let t = items[i].1 == items[j].1;
                counts.predicted += u64::from(p);
                counts.actual += u64::from(t);
                counts.correct += u64::from(p && t);
            }
        }
        counts
    }

    #[test]
    fn pair_counts_agree_with_brute_force() {
        let mut rng = super::super::generate::Rng::new(9);
        for size in [0, 1, 2, 5, 17, 60] {
            let items: Vec<(u32, u32)> = (0..size).map(|_| (rng.below(6) as u32, rng.below(4) as u32)).collect();
            assert_eq!(pair_counts(items.iter().copied()), brute(&items), "{items:?}");
        }
    }

    #[test]
    fn figures_of_a_small_case() {
        // Truth: a, b, c one customer (issues x: a, b; y: c); d another (issue z).
        // Store: a, b on customer 1; c on customer 2, merged into 1; d on customer 3.
        // Tickets: a on 10, b on 11 (not merged), c on 12, d missing.
        let truth: Vec<TruthLine> = [("a", "A", "x"), ("b", "A", "x"), ("c", "A", "y"), ("d", "D", "z")]
            .iter()
            .map(|(m, c, i)| TruthLine {
                message: (*m).into(),
                customer: (*c).into(),
                issue: (*i).into(),
            })
            .collect();
        let customers = vec![
            json!({"customer": 1, "merged_into": null, "messages": ["a", "b"]}),
            json!({"customer": 2, "merged_into": 1, "messages": ["c"]}),
            json!({"customer": 3, "merged_into": null, "messages": ["d"]}),
        ];
        let tickets = vec![
            json!({"ticket": 10, "merged_into": null, "messages": ["a"]}),
            json!({"ticket": 11, "merged_into": null, "messages": ["b"]}),
            json!({"ticket": 12, "merged_into": null, "messages": ["c"]}),
        ];
        let report = from_exports(&customers, &tickets, &truth).unwrap();
        assert_eq!(
            report.customer_pairs,
            PairCounts {
                predicted: 3,
                actual: 3,
                correct: 3
            }
        );
        assert_eq!(report.customer_pairs.f1(), 1.0);
        assert_eq!(
            report.ticket_pairs,
            PairCounts {
                predicted: 0,
                actual: 1,
                correct: 0
            }
        );
        assert_eq!(report.on_ticket, 3);
        assert_eq!(report.tickets_found, 3);
        assert_eq!(report.true_issues, 3);
        assert_eq!(report.tickets_per_issue(), 1.0);
        assert!((report.tickets_per_issue_mean - 4.0 / 3.0).abs() < 1e-9);
        // Merging ticket 11 into 10 fixes the grouping.
        let mut tickets = tickets;
        tickets[1]["merged_into"] = json!(10);
        let report = from_exports(&customers, &tickets, &truth).unwrap();
        assert_eq!(
            report.ticket_pairs,
            PairCounts {
                predicted: 1,
                actual: 1,
                correct: 1
            }
        );
        assert!(report.table().contains("customer links"));
        assert_eq!(report.to_json()["ticket_merges"]["f1"], 1.0);
    }

    #[test]
    fn a_bad_truth_line_names_its_line() {
        let dir = std::env::temp_dir().join(format!("weft-truth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("truth.jsonl");
        std::fs::write(
            &path,
            "{\"message\":\"a\",\"customer\":\"c\",\"issue\":\"i\"}\n\n{\"message\":1}\n",
        )
        .unwrap();
        let err = read_truth(&path).unwrap_err().to_string();
        assert!(err.contains("truth.jsonl:3:"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
