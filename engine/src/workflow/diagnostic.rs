//! Problems found in workflow files: one [`Diagnostic`] per problem, all of them in
//! [`Diagnostics`]. Other files read line by line (order exports) report theirs as
//! [`Diagnostic`]s too.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

/// One problem at a place in a file (a workflow, an order export).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file as it was given.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file (it cannot be read, ...).
    pub line: usize,
    /// 1-based column in characters; 0 together with `line` 0.
    pub column: usize,
    /// What is wrong and what was expected, lowercase, no trailing period.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `path:line:col: message`, or `path: message` for a problem of the whole file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// Every problem found while loading workflows, sorted by file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Collects diagnostics, sorting them by file, line, column and message.
    pub fn new(mut items: Vec<Diagnostic>) -> Self {
        items.sort();
        items.dedup();
        Diagnostics { items }
    }

    /// The problems, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none (never true for a `Diagnostics` returned as an error).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for item in &self.items {
            out.push_str(&item.to_string());
            out.push('\n');
        }
        let files: BTreeSet<_> = self.items.iter().map(|d| &d.file).collect();
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        out.push_str(&format!(
            "{} in {}",
            plural(self.items.len(), "problem"),
            plural(files.len(), "file")
        ));
        out
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
pub(crate) fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let known = ["identity", "merger", "router", "sla"];
        let table = [
            ("identiy", Some("identity")),
            ("routr", Some("router")),
            ("rotuer", Some("router")),
            ("slaa", Some("sla")),
            ("shopify", None),
            ("x", None),
        ];
        for (name, expected) in table {
            assert_eq!(did_you_mean(name, known), expected, "{name}");
        }
    }

    #[test]
    fn renders_sorted_with_summary() {
        let d = |file: &str, line, message: &str| Diagnostic {
            file: file.into(),
            line,
            column: 1,
            message: message.into(),
        };
        let all = Diagnostics::new(vec![
            d("b.yaml", 3, "two"),
            d("a.yaml", 9, "one"),
            d("b.yaml", 1, "three"),
        ]);
        assert_eq!(
            all.to_string(),
            "a.yaml:9:1: one\nb.yaml:1:1: three\nb.yaml:3:1: two\n3 problems in 2 files"
        );
        assert_eq!(
            Diagnostics::new(vec![d("a.yaml", 0, "gone")]).to_string(),
            "a.yaml: gone\n1 problem in 1 file"
        );
    }
}
