//! A small YAML tree that remembers where every node was written (line and column).
//!
//! `serde_yaml` forgets positions, so the loader parses with `yaml-rust2`'s marked event parser
//! into this tree, checks the tree, and only then builds runtime types.
//!
//! What a document may cost is bounded before it is built: its size ([`MAX_DOCUMENT_BYTES`]),
//! its nesting ([`MAX_DEPTH`]), and what its aliases expand to ([`MAX_NODES`] nodes,
//! [`MAX_TEXT_BYTES`] of text), so a few hundred bytes of nested aliases (a "billion laughs")
//! are refused at the alias that crosses the bound instead of filling the memory.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The largest YAML document read: 1 MiB, far more than any workflow needs.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// The most nodes a document may have, aliases expanded.
pub(crate) const MAX_NODES: usize = 100_000;
/// The most text (scalars, in bytes) a document may have, aliases expanded.
pub(crate) const MAX_TEXT_BYTES: usize = 16 * 1024 * 1024;
/// The deepest nesting of collections.
pub(crate) const MAX_DEPTH: usize = 128;

/// Reads a YAML file of at most [`MAX_DOCUMENT_BYTES`]; the problem as a message otherwise.
pub(crate) fn read_bounded(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "the file is larger than the {} MiB a YAML document may have",
            MAX_DOCUMENT_BYTES / (1024 * 1024)
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read the file: not UTF-8 at byte {}",
            e.utf8_error().valid_up_to() + 1
        )
    })
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn from_marker(mark: Marker) -> Self {
        Pos {
            line: mark.line(),
            column: mark.col() + 1,
        }
    }
}

/// How a scalar was written; quoted scalars are always strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Block,
}

/// One node of the document with its position.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// The shape of a node.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// A scalar as written, with its style and whether a `!!str` tag forced it to be a string.
    Scalar {
        text: String,
        style: Style,
        forced_string: bool,
    },
    Seq(Vec<Node>),
    /// Entries in the order written; duplicate keys are kept so the checker can report them.
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// The documents of one file (a workflow file should hold exactly one).
#[derive(Debug)]
pub(crate) struct Documents {
    pub docs: Vec<(Pos, Option<Node>)>,
}

/// Parses `text` into marked trees, one per document.
pub(crate) fn parse(text: &str) -> Result<Documents, SyntaxError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        let mut end = MAX_DOCUMENT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        return Err(SyntaxError {
            pos: Pos {
                line: before.matches('\n').count() + 1,
                column: before[line_start..].chars().count() + 1,
            },
            message: format!(
                "the document is longer than the {} MiB a YAML document may have",
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            ),
        });
    }
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| SyntaxError {
        pos: Pos::from_marker(*e.marker()),
        message: e.info().to_owned(),
    })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(Documents { docs: builder.docs })
}

/// What a node costs, its children and aliases expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cost {
    nodes: usize,
    text: usize,
}

/// Collects parser events into nodes.
#[derive(Default)]
struct Builder {
    /// Open collections: the node being filled, its anchor id, a pending key for maps, and the
    /// document's cost when it opened.
    stack: Vec<(Node, usize, Option<Node>, Cost)>,
    /// Anchored nodes with their cost.
    anchors: HashMap<usize, (Node, Cost)>,
    docs: Vec<(Pos, Option<Node>)>,
    error: Option<SyntaxError>,
    /// The cost of the current document so far.
    cost: Cost,
}

impl Builder {
    /// Adds `more` to the document's cost; false (with the error set) past a bound.
    fn spend(&mut self, more: Cost, pos: Pos, alias: bool) -> bool {
        self.cost.nodes += more.nodes;
        self.cost.text += more.text;
        let over = if self.cost.nodes > MAX_NODES {
            format!("more than {MAX_NODES} nodes")
        } else if self.cost.text > MAX_TEXT_BYTES {
            format!("more than {} MiB of text", MAX_TEXT_BYTES / (1024 * 1024))
        } else {
            return true;
        };
        let message = if alias {
            format!(
                "this alias expands the document to {over}, more than a workflow can need (nested aliases, a \"billion laughs\"?)"
            )
        } else {
            format!("the document has {over}, more than a workflow can need")
        };
        self.error.get_or_insert(SyntaxError { pos, message });
        false
    }

    fn push_value(&mut self, node: Node, anchor: usize, cost: Cost) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), cost));
        }
        match self.stack.last_mut() {
            None => {
                if let Some(doc) = self.docs.last_mut() {
                    doc.1 = Some(node);
                }
            }
            Some((parent, _, pending, _)) => match &mut parent.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match pending.take() {
                    None => *pending = Some(node),
                    Some(key) => {
                        let mut node = node;
                        // An omitted value (`if:`) is marked at the next token; point at its key.
                        if matches!(&node.value, Value::Scalar { text, style: Style::Plain, .. } if text.is_empty()) {
                            node.pos = key.pos;
                        }
                        entries.push((key, node));
                    }
                },
                Value::Scalar { .. } => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            // Past a bound or a bad alias: build nothing more.
            return;
        }
        let pos = Pos::from_marker(mark);
        match event {
            Event::DocumentStart => {
                self.cost = Cost::default();
                self.docs.push((pos, None));
            }
            Event::Scalar(text, style, anchor, tag) => {
                let cost = Cost {
                    nodes: 1,
                    text: text.len(),
                };
                if !self.spend(cost, pos, false) {
                    return;
                }
                let style = match style {
                    TScalarStyle::Plain => Style::Plain,
                    TScalarStyle::SingleQuoted => Style::SingleQuoted,
                    TScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    TScalarStyle::Literal | TScalarStyle::Folded => Style::Block,
                };
                let forced_string = tag.is_some_and(|t| t.suffix == "str");
                let node = Node {
                    pos,
                    value: Value::Scalar {
                        text,
                        style,
                        forced_string,
                    },
                };
                self.push_value(node, anchor, cost);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    self.error = Some(SyntaxError {
                        pos,
                        message: format!("collections are nested more than {MAX_DEPTH} deep"),
                    });
                    return;
                }
                let before = self.cost;
                if !self.spend(Cost { nodes: 1, text: 0 }, pos, false) {
                    return;
                }
                let value = if matches!(event, Event::SequenceStart(..)) {
                    Value::Seq(Vec::new())
                } else {
                    Value::Map(Vec::new())
                };
                self.stack.push((Node { pos, value }, anchor, None, before));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((mut node, anchor, _, before)) = self.stack.pop() {
                    // Block collections are marked after their first key; start at that key.
                    let first = match &node.value {
                        Value::Map(entries) => entries.first().map(|(key, _)| key.pos),
                        Value::Seq(items) => items.first().map(|item| item.pos),
                        Value::Scalar { .. } => None,
                    };
                    if let Some(first) = first {
                        node.pos = node.pos.min(first);
                    }
                    let cost = Cost {
                        nodes: self.cost.nodes - before.nodes,
                        text: self.cost.text - before.text,
                    };
                    self.push_value(node, anchor, cost);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).map(|(_, cost)| *cost) {
                Some(cost) => {
                    // Counted before it is copied: a copy past the bounds is never made.
                    if !self.spend(cost, pos, true) {
                        return;
                    }
                    let mut node = self.anchors[&id].0.clone();
                    node.pos = pos;
                    self.push_value(node, 0, cost);
                }
                None => {
                    self.error.get_or_insert(SyntaxError {
                        pos,
                        message: "alias to an unknown anchor".to_owned(),
                    });
                }
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

impl Node {
    /// The entries of a mapping, if this is one.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The text of a scalar, if this is one.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The text of a scalar that resolves to a string (not a number, bool or null).
    pub fn as_str(&self) -> Option<&str> {
        match self.to_json() {
            serde_json::Value::String(_) => self.as_scalar(),
            _ => None,
        }
    }

    /// The value looked up by key in a mapping (the first, if the key is repeated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.to_json() {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Array(_) => "a list",
            serde_json::Value::Object(_) => "a mapping",
        }
    }

    /// Converts the node to JSON, resolving plain scalars by the YAML 1.2 core schema.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Scalar {
                text,
                style,
                forced_string,
            } => {
                if *style != Style::Plain || *forced_string {
                    serde_json::Value::String(text.clone())
                } else {
                    resolve_plain(text)
                }
            }
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| (k.as_scalar().unwrap_or_default().to_owned(), v.to_json()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }
}

/// Resolves a plain scalar: null, booleans, integers and floats of the YAML 1.2 core schema;
/// everything else is a string.
fn resolve_plain(text: &str) -> serde_json::Value {
    use serde_json::Value as J;
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return J::Null,
        "true" | "True" | "TRUE" => return J::Bool(true),
        "false" | "False" | "FALSE" => return J::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let integer = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        text.trim_start_matches('+').parse::<i64>().ok()
    } else if let Some(hex) = text.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = text.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else {
        None
    };
    if let Some(n) = integer {
        return J::from(n);
    }
    let looks_float = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if looks_float && let Some(n) = text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        return J::Number(n);
    }
    J::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let docs = parse("name: 日本\nsteps:\n  - id: a\n    uses: b\n").unwrap();
        let root = docs.docs[0].1.as_ref().unwrap();
        let name = root.get("name").unwrap();
        assert_eq!(name.pos, Pos { line: 1, column: 7 });
        let step = &match &root.get("steps").unwrap().value {
            Value::Seq(items) => items.clone(),
            _ => panic!("not a list"),
        }[0];
        assert_eq!(step.get("uses").unwrap().pos, Pos { line: 4, column: 11 });
        assert_eq!(step.as_map().unwrap()[0].0.pos, Pos { line: 3, column: 5 });
    }

    #[test]
    fn plain_scalars_resolve_by_the_core_schema() {
        let table = [
            ("1", serde_json::json!(1)),
            ("-3", serde_json::json!(-3)),
            ("0.9", serde_json::json!(0.9)),
            ("1e3", serde_json::json!(1000.0)),
            ("true", serde_json::json!(true)),
            ("~", serde_json::Value::Null),
            ("72h", serde_json::json!("72h")),
            ("yes", serde_json::json!("yes")),
            ("1.2.3", serde_json::json!("1.2.3")),
        ];
        for (text, expected) in table {
            assert_eq!(resolve_plain(text), expected, "{text}");
        }
    }

    #[test]
    fn an_alias_bomb_is_refused_at_the_alias_that_crosses_the_bound() {
        let mut text = String::from(
            "version: 1\na0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
        );
        for level in 1..=9 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 9].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let error = parse(&text).unwrap_err();
        assert!(
            error
                .message
                .contains("this alias expands the document to more than 100000 nodes"),
            "{error:?}"
        );
        // Level 5 holds 9^5 + ... nodes: its aliases cross the bound on line 7.
        assert_eq!(error.pos.line, 7, "{error:?}");
    }

    #[test]
    fn deep_nesting_and_large_documents_are_refused_with_a_place() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let error = parse(&deep).unwrap_err();
        assert_eq!(
            error.pos,
            Pos {
                line: 1,
                column: MAX_DEPTH + 1
            }
        );
        assert!(error.message.contains("nested more than 128 deep"), "{error:?}");
        let large = "# Grüße, こんにちは, مرحبا\n".repeat(MAX_DOCUMENT_BYTES / 20);
        let error = parse(&large).unwrap_err();
        assert!(error.message.contains("longer than the 1 MiB"), "{error:?}");
        assert!(error.pos.line > 1, "{error:?}");
        // Aliases used within the bounds still work.
        let docs = parse("base: &b {timeout: 1s}\nother: *b\n").unwrap();
        let root = docs.docs[0].1.as_ref().unwrap();
        assert_eq!(
            root.get("other").unwrap().get("timeout").unwrap().as_scalar(),
            Some("1s")
        );
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let error = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.pos.line >= 1, "{error:?}");
    }
}
