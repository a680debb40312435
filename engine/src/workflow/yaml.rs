//! A small YAML tree that remembers where every node was written (line and column).
//!
//! `serde_yaml` forgets positions, so the loader parses with `yaml-rust2`'s marked event parser
//! into this tree, checks the tree, and only then builds runtime types.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

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

/// Collects parser events into nodes.
#[derive(Default)]
struct Builder {
    /// Open collections: the node being filled, its anchor id, and a pending key for maps.
    stack: Vec<(Node, usize, Option<Node>)>,
    anchors: HashMap<usize, Node>,
    docs: Vec<(Pos, Option<Node>)>,
    error: Option<SyntaxError>,
}

impl Builder {
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if let Some(doc) = self.docs.last_mut() {
                    doc.1 = Some(node);
                }
            }
            Some((parent, _, pending)) => match &mut parent.value {
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
        let pos = Pos::from_marker(mark);
        match event {
            Event::DocumentStart => self.docs.push((pos, None)),
            Event::Scalar(text, style, anchor, tag) => {
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
                self.push_value(node, anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push((
                    Node {
                        pos,
                        value: Value::Seq(Vec::new()),
                    },
                    anchor,
                    None,
                ));
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push((
                    Node {
                        pos,
                        value: Value::Map(Vec::new()),
                    },
                    anchor,
                    None,
                ));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((mut node, anchor, _)) = self.stack.pop() {
                    // Block collections are marked after their first key; start at that key.
                    let first = match &node.value {
                        Value::Map(entries) => entries.first().map(|(key, _)| key.pos),
                        Value::Seq(items) => items.first().map(|item| item.pos),
                        Value::Scalar { .. } => None,
                    };
                    if let Some(first) = first {
                        node.pos = node.pos.min(first);
                    }
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(node) => {
                    let mut node = node.clone();
                    node.pos = pos;
                    self.push_value(node, 0);
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
    fn syntax_errors_carry_a_position() {
        let error = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.pos.line >= 1, "{error:?}");
    }
}
