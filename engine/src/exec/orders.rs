//! Orders in: `weft import orders FILE...`. The seller's orders (an export from the shop or a
//! marketplace's order report) tell which email, phone, buyer id, name and shipping address
//! belong to one buyer, and which buyer an order number belongs to, before the buyer writes.
//!
//! Each line of a JSON lines file is one [`Order`]. Every problem of every line is reported at
//! once, as `file:line:column: what`, and nothing is queued until the files are clean (the
//! files stay as they are, to be fixed and imported again). Clean orders are queued as
//! [`ORDER_PLACED`] events at their `placed_at`, in one transaction, for the workflows that
//! listen (the `identity` step reads the buyer as it reads a message's sender), and kept in the
//! orders table as a connector's orders are (see [`crate::store::orders`]). An order
//! imported before (by channel and canonical number) is skipped, so overlapping order reports
//! can be imported again and again.
//!
//! Files are read in bounded chunks (see [`records`](super::records)), twice: once to find
//! every problem, once to queue, in the order of the files (shop exports and `weft generate`
//! write them oldest first), so memory does not grow with the files.

use super::records::{Framing, MAX_RECORD_BYTES, Pieces};
use crate::store::orders::order_times;
use crate::store::{Store, StoreError, Unit};
use crate::workflow::Diagnostic;
use std::path::{Path, PathBuf};
use weft_sdk::{ORDER_PLACED, Order, OrderChange, Timestamp};

/// Why orders were not imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The files have problems; nothing was queued.
    #[error("{} problem(s) in the orders, nothing imported:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Problems(Vec<Diagnostic>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An order read from a file, with its time in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOrder {
    pub order: Order,
    pub placed_at: Timestamp,
}

/// Reads the orders of one file's text; `path` names it in problems.
pub fn parse_orders(path: &Path, text: &str) -> (Vec<ReadOrder>, Vec<Diagnostic>) {
    parse_lines(path, text.as_bytes(), 1)
}

/// Reads the orders of some lines of a file, the first being line `first_line`.
fn parse_lines(path: &Path, bytes: &[u8], first_line: usize) -> (Vec<ReadOrder>, Vec<Diagnostic>) {
    let mut orders = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = first_line + index;
        match std::str::from_utf8(line) {
            Ok(line) => parse_line(path, number, line, &mut orders, &mut problems),
            Err(e) => problems.push(Diagnostic {
                file: path.to_owned(),
                line: number,
                column: String::from_utf8_lossy(&line[..e.valid_up_to()]).chars().count() + 1,
                message: format!("not UTF-8 (byte {} of the line)", e.valid_up_to() + 1),
            }),
        }
    }
    (orders, problems)
}

/// Reads the order on line `number`, or its problems.
fn parse_line(path: &Path, number: usize, line: &str, orders: &mut Vec<ReadOrder>, problems: &mut Vec<Diagnostic>) {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return;
    }
    // The column of a field's key, else of the line's first character.
    let column_of = |key: &str| {
        line.find(&format!("\"{key}\""))
            .map(|byte| line[..byte].chars().count() + 1)
            .unwrap_or(1)
    };
    let order: Order = match serde_json::from_str(line) {
        Ok(order) => order,
        Err(e) => {
            problems.push(Diagnostic {
                file: path.to_owned(),
                line: number,
                column: e.column().max(1),
                message: format!("not an order: {e}"),
            });
            return;
        }
    };
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut problem = |column: usize, message: String| found.push((column, message));
    if order.number.trim().is_empty() {
        problem(column_of("number"), "`number` is empty".into());
    }
    if order.channel.trim().is_empty() {
        problem(column_of("channel"), "`channel` is empty".into());
    }
    let placed_at = match order.placed_at.parse::<jiff::Timestamp>() {
        Ok(t) => t.as_millisecond(),
        Err(e) => {
            problem(
                column_of("placed_at"),
                format!(
                    "`placed_at` {:?} is not an RFC 3339 time like 2026-11-20T10:00:00Z: {e}",
                    order.placed_at
                ),
            );
            0
        }
    };
    let buyer = &order.buyer;
    let says_who = [&buyer.name, &buyer.email, &buyer.phone, &buyer.buyer_id, &buyer.handle]
        .iter()
        .any(|v| v.as_deref().is_some_and(|v| !v.trim().is_empty()))
        || order.shipping.is_some();
    if !says_who {
        problem(
            column_of("buyer"),
            "the order names no buyer: give at least one of buyer.name, buyer.email, buyer.phone, buyer.buyer_id, buyer.handle or a shipping address".into(),
        );
    }
    if found.is_empty() {
        orders.push(ReadOrder { order, placed_at });
    }
    problems.extend(found.into_iter().map(|(column, message)| Diagnostic {
        file: path.to_owned(),
        line: number,
        column,
        message,
    }));
}

/// The orders of one file, chunk by chunk, each with the problems of its lines.
struct OrderChunks {
    path: PathBuf,
    pieces: Option<Pieces<std::io::BufReader<std::fs::File>>>,
    /// Why the file cannot be opened, given once.
    unopened: Option<Diagnostic>,
}

impl OrderChunks {
    fn new(path: &Path) -> Self {
        match std::fs::File::open(path) {
            Ok(file) => OrderChunks {
                path: path.to_owned(),
                pieces: Some(Pieces::new(std::io::BufReader::new(file), Framing::Lines)),
                unopened: None,
            },
            Err(e) => OrderChunks {
                path: path.to_owned(),
                pieces: None,
                unopened: Some(Diagnostic {
                    file: path.to_owned(),
                    line: 0,
                    column: 0,
                    message: format!("cannot read: {e}"),
                }),
            },
        }
    }
}

impl Iterator for OrderChunks {
    type Item = (Vec<ReadOrder>, Vec<Diagnostic>);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(problem) = self.unopened.take() {
            return Some((Vec::new(), vec![problem]));
        }
        let pieces = self.pieces.as_mut()?;
        let piece = match pieces.next()? {
            Ok(piece) => piece,
            Err(e) => {
                let problem = Diagnostic {
                    file: self.path.clone(),
                    line: 0,
                    column: 0,
                    message: format!("cannot read past byte {}: {e}", pieces.bytes_read()),
                };
                self.pieces = None;
                return Some((Vec::new(), vec![problem]));
            }
        };
        if piece.oversized_part.is_some() {
            let problem = Diagnostic {
                file: self.path.clone(),
                line: piece.first_line,
                column: 1,
                message: format!(
                    "the line is longer than the {} MiB one order may have",
                    MAX_RECORD_BYTES / (1024 * 1024)
                ),
            };
            // One problem for the line, not one for each of its parts.
            let first = piece.oversized_part == Some(1);
            return Some((Vec::new(), if first { vec![problem] } else { Vec::new() }));
        }
        Some(parse_lines(&self.path, &piece.bytes, piece.first_line))
    }
}

/// Checks the files without keeping their orders: how many orders they hold, or every problem
/// of every file.
pub fn check_orders(paths: &[PathBuf]) -> Result<usize, ImportError> {
    let mut count = 0;
    let mut problems = Vec::new();
    for path in paths {
        for (orders, found) in OrderChunks::new(path) {
            count += orders.len();
            problems.extend(found);
        }
    }
    if problems.is_empty() {
        Ok(count)
    } else {
        Err(ImportError::Problems(problems))
    }
}

/// Reads orders from files: all of them, or every problem of every file.
pub fn read_orders(paths: &[PathBuf]) -> Result<Vec<ReadOrder>, ImportError> {
    let mut orders = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        for (read, found) in OrderChunks::new(path) {
            orders.extend(read);
            problems.extend(found);
        }
    }
    if problems.is_empty() {
        Ok(orders)
    } else {
        Err(ImportError::Problems(problems))
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Imported {
    /// Orders queued as events.
    pub queued: usize,
    /// Orders skipped: imported before (by channel and order number), or repeated in the files.
    pub already: usize,
}

/// An order's key among imported orders: its channel in lower case and its canonical number
/// (`#1001` and `1001` are one order).
fn order_key(order: &Order) -> (String, String) {
    let number = weft_sdk::order::canonical_order(&order.number).unwrap_or_else(|| order.number.trim().to_owned());
    (order.channel.trim().to_lowercase(), number)
}

/// Queues orders as [`ORDER_PLACED`] events, oldest first, in one transaction. An order
/// imported before (same channel and order number), or repeated, is skipped: sellers import
/// overlapping order reports, and each order should be read once.
pub async fn queue_orders(store: &Store, orders: &[ReadOrder]) -> Result<Imported, StoreError> {
    let mut sorted: Vec<&ReadOrder> = orders.iter().collect();
    sorted.sort_by_key(|o| o.placed_at);
    let mut unit = store.unit().await?;
    let mut imported = Imported::default();
    for read in sorted {
        queue_order(&mut unit, read, &mut imported).await?;
    }
    unit.commit().await?;
    Ok(imported)
}

/// Queues one order unless it was imported before.
async fn queue_order(unit: &mut Unit, read: &ReadOrder, imported: &mut Imported) -> Result<(), StoreError> {
    let (channel, number) = order_key(&read.order);
    if unit.imported_order(&channel, &number).await?.is_some() {
        imported.already += 1;
        return Ok(());
    }
    // Kept as a connector's order is, so that tickets, `weft explain` and steps see it.
    let times = order_times(&read.order).map_err(StoreError::Invalid)?;
    unit.record_order(OrderChange::Placed, &read.order, times).await?;
    let payload = serde_json::to_value(&read.order).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let event = unit
        .enqueue_event(ORDER_PLACED, read.placed_at, None, None, &payload)
        .await?;
    unit.remember_imported_order(&channel, &number, event).await?;
    imported.queued += 1;
    Ok(())
}

/// Queues the orders of files checked with [`check_orders`], chunk by chunk in the order of
/// the files, in one transaction; if a file changed meanwhile and has a problem now, nothing
/// is queued.
pub async fn queue_order_files(store: &Store, paths: &[PathBuf]) -> Result<Imported, ImportError> {
    let mut unit = store.unit().await?;
    let mut imported = Imported::default();
    for path in paths {
        for (orders, problems) in OrderChunks::new(path) {
            if !problems.is_empty() {
                unit.rollback().await?;
                return Err(ImportError::Problems(problems));
            }
            for read in &orders {
                queue_order(&mut unit, read, &mut imported).await?;
            }
        }
    }
    unit.commit().await?;
    Ok(imported)
}

/// Checks the files, then queues their orders; nothing is queued when any line has a problem.
pub async fn import_orders(store: &Store, paths: &[PathBuf]) -> Result<Imported, ImportError> {
    check_orders(paths)?;
    queue_order_files(store, paths).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_of_every_line_with_its_place() {
        let text = [
            r##"{"number": "#1001", "channel": "shopify", "placed_at": "2026-11-20T10:00:00Z", "buyer": {"name": "Anna Müller", "email": "anna@example.de"}}"##,
            "",
            r##"{"number": "#1002", "channel": "shopify", "placed_at": "yesterday", "buyer": {"email": "b@example.de"}}"##,
            r##"{"number": "", "channel": "amazon", "placed_at": "2026-11-20T10:00:00Z"}"##,
            r##"{"number": "#1004", "channel": "shopify", "placed_at": "2026-11-20T10:00:00Z", "buyer": {"nom": "x"}}"##,
            r##"{"number": "#1005", "channel": "shopify""##,
            r##"{"number": "山田の注文", "channel": "rakuten", "placed_at": "2026-11-21T01:00:00+09:00", "buyer": {"name": "山田太郎"}, "shipping": {"line1": "千代田1-1-1", "postcode": "100-0001", "city": "千代田区", "country": "JP"}}"##,
        ]
        .join("\n");
        let (orders, problems) = parse_orders(Path::new("orders.jsonl"), &text);
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(orders.len(), 2, "{shown:#?}");
        assert_eq!(orders[0].order.number, "#1001");
        assert_eq!(orders[1].order.number, "山田の注文");
        assert_eq!(orders[1].placed_at, 1_795_190_400_000);
        assert_eq!(shown.len(), 5, "{shown:#?}");
        assert!(
            shown[0].starts_with("orders.jsonl:3:43: `placed_at` \"yesterday\""),
            "{}",
            shown[0]
        );
        assert!(
            shown[1].starts_with("orders.jsonl:4:2: `number` is empty"),
            "{}",
            shown[1]
        );
        assert!(
            shown[2].starts_with("orders.jsonl:4:1: the order names no buyer"),
            "{}",
            shown[2]
        );
        assert!(
            shown[3].starts_with("orders.jsonl:5:") && shown[3].contains("unknown field `nom`"),
            "{}",
            shown[3]
        );
        assert!(
            shown[4].starts_with("orders.jsonl:6:") && shown[4].contains("EOF"),
            "{}",
            shown[4]
        );
    }

    #[tokio::test]
    async fn nothing_is_queued_while_a_file_has_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("a.jsonl");
        let bad = dir.path().join("b.jsonl");
        std::fs::write(
            &good,
            r##"{"number": "#1001", "channel": "shopify", "placed_at": "2026-11-20T10:00:00Z", "buyer": {"email": "anna@example.de"}}"##,
        )
        .unwrap();
        std::fs::write(
            &bad,
            r##"{"number": "#1002", "channel": "shopify", "placed_at": "now"}"##,
        )
        .unwrap();
        let store = Store::open("sqlite::memory:").await.unwrap();
        let err = import_orders(&store, &[good.clone(), bad.clone(), dir.path().join("missing.jsonl")])
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("3 problem(s)"), "{text}");
        assert!(
            text.contains("b.jsonl:1:") && text.contains("missing.jsonl: cannot read"),
            "{text}"
        );
        assert_eq!(store.pending_events().await.unwrap(), 0);
        assert_eq!(import_orders(&store, &[good]).await.unwrap().queued, 1);
        assert_eq!(store.pending_events().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn an_order_imported_before_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let week1 = dir.path().join("week1.jsonl");
        let week2 = dir.path().join("week2.jsonl");
        let line = |number: &str, channel: &str, name: &str| {
            format!(
                r#"{{"number": "{number}", "channel": "{channel}", "placed_at": "2026-11-20T10:00:00Z", "buyer": {{"name": "{name}"}}}}"#
            )
        };
        std::fs::write(
            &week1,
            [
                line("#1001", "shopify", "Anna Müller"),
                line("250-1234567-7654321", "amazon", "山田太郎"),
                // The same order twice in one report.
                line("#1001", "Shopify", "Anna Müller"),
            ]
            .join("\n"),
        )
        .unwrap();
        std::fs::write(
            &week2,
            [
                // Overlaps week 1: the same numbers, written as another export writes them.
                line("1001", "shopify", "Anna Müller"),
                line("250-1234567-7654321", "amazon", "山田太郎"),
                // The same number at another shop is another order.
                line("#1001", "woocommerce", "Léa Dubois"),
                line("#1002", "shopify", "José García"),
            ]
            .join("\n"),
        )
        .unwrap();
        let store = Store::open("sqlite::memory:").await.unwrap();
        let first = import_orders(&store, std::slice::from_ref(&week1)).await.unwrap();
        assert_eq!(first, Imported { queued: 2, already: 1 });
        let second = import_orders(&store, &[week2, week1]).await.unwrap();
        assert_eq!(second, Imported { queued: 2, already: 5 });
        assert_eq!(store.pending_events().await.unwrap(), 4);
    }
}
