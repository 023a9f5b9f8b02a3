//! A bounded YAML reader for configuration files, and the canonical form their digests are
//! computed over.
//!
//! Built on yaml-rust2's event parser, pulled one event at a time, rather than its
//! `YamlLoader`, for two hostile-input reasons: the loader expands aliases by cloning (a
//! "billion laughs" file of a few KiB becomes gigabytes) and `Parser::load` recurses once per
//! nesting level (64 KiB of `[` overflows the stack, which aborts a release build). Here:
//! - nesting deeper than [`MAX_DEPTH`] is refused;
//! - every node costs about its size in memory, alias and anchor copies included, and a text
//!   costing more than [`MAX_COST`] is refused;
//! - at most [`MAX_EVENTS`] parser events are read.
//!
//! **Scalars are resolved as K3s's YAML library (gopkg.in/yaml.v2, YAML 1.1) resolves them
//! where it matters for a command-line flag**: plain `~`, `null`, `Null`, `NULL` and the empty
//! scalar are null; plain `y/yes/on/true` and `n/no/off/false` (in their three casings) are
//! booleans; every other scalar is kept as written. So quoting, indentation, comments, flow
//! versus block style and `True` versus `true` do not change a digest; `0644` versus `"0644"`
//! (an octal number versus a string for yaml.v2) does not either — numbers are compared as
//! written.
//!
//! **Canonical form**: compact JSON (serde_json) with object keys sorted; null, booleans,
//! strings and arrays map to themselves; a mapping key that is not a string is written as the
//! canonical JSON of the key.

use serde_json::{Map, Value};
use thiserror::Error;
use yaml_rust2::Event;
use yaml_rust2::parser::Parser;
use yaml_rust2::scanner::TScalarStyle;

/// Deepest nesting accepted (Kubernetes manifests rarely exceed 15).
pub(crate) const MAX_DEPTH: usize = 64;
/// What one node costs, about its size in memory (a `Node` is 32 bytes, a map entry 64).
const NODE_COST: usize = 64;
/// Largest total cost accepted, about the bytes held: every node, scalar byte, alias copy and
/// anchor copy counts. Any text under `HostRoot::READ_LIMIT` (64 KiB) without aliases fits.
pub(crate) const MAX_COST: usize = 4 << 20;
/// Most parser events read from one file.
pub(crate) const MAX_EVENTS: usize = 200_000;

/// A YAML node after scalar resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    /// Every other scalar, as written (after YAML unquoting and folding).
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order; a repeated key is kept twice (later entries win where it matters).
    Map(Vec<(Node, Node)>),
}

/// Why a YAML text was refused.
#[derive(Debug, Error)]
pub(crate) enum YamlError {
    #[error("invalid YAML: {0}")]
    Syntax(#[from] yaml_rust2::ScanError),
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("too large once aliases are expanded (cost limit {MAX_COST})")]
    TooLarge,
    #[error("an alias refers to an anchor that is not complete")]
    Alias,
}

impl Node {
    /// The canonical JSON value of this node.
    pub(crate) fn canonical(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Str(s) => Value::String(s.clone()),
            Node::Seq(items) => Value::Array(items.iter().map(Node::canonical).collect()),
            Node::Map(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    map.insert(key.key_text(), value.canonical());
                }
                Value::Object(map)
            }
        }
    }

    /// The node as a flag value, as K3s's `convert.ToString` gives it: strings as they are,
    /// booleans `true`/`false`, null empty, collections as canonical JSON.
    pub(crate) fn flag_text(&self) -> String {
        match self {
            Node::Null => String::new(),
            Node::Bool(b) => b.to_string(),
            Node::Str(s) => s.clone(),
            Node::Seq(_) | Node::Map(_) => self.canonical().to_string(),
        }
    }

    /// The node used as a mapping key.
    pub(crate) fn key_text(&self) -> String {
        self.flag_text()
    }

    /// [`NODE_COST`] per node plus scalar bytes.
    fn cost(&self) -> usize {
        match self {
            Node::Null | Node::Bool(_) => NODE_COST,
            Node::Str(s) => NODE_COST.saturating_add(s.len()),
            Node::Seq(items) => NODE_COST + items.iter().map(Node::cost).sum::<usize>(),
            Node::Map(entries) => {
                NODE_COST
                    + entries
                        .iter()
                        .map(|(k, v)| k.cost() + v.cost())
                        .sum::<usize>()
            }
        }
    }

    /// Nesting depth: 1 for a scalar.
    fn depth(&self) -> usize {
        match self {
            Node::Null | Node::Bool(_) | Node::Str(_) => 1,
            Node::Seq(items) => 1 + items.iter().map(Node::depth).max().unwrap_or(0),
            Node::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.depth().max(v.depth()))
                    .max()
                    .unwrap_or(0)
            }
        }
    }
}

/// One open collection while building.
struct Frame {
    node: Node,
    anchor: usize,
    /// For a mapping: the key read, waiting for its value.
    key: Option<Node>,
}

/// Parses every document of `text`; an empty document is `Null`, an empty text has none.
pub(crate) fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Node)> = Vec::new();
    let mut cost = 0_usize;
    for _ in 0..MAX_EVENTS {
        let (event, _) = parser.next_token()?;
        // Each node costs once: a collection when it opens, a scalar or an alias copy whole.
        let (node, anchor, added) = match event {
            Event::StreamEnd => return Ok(docs),
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {
                continue;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError::TooDeep);
                }
                cost = add_cost(cost, NODE_COST)?;
                let node = if matches!(event, Event::SequenceStart(..)) {
                    Node::Seq(Vec::new())
                } else {
                    Node::Map(Vec::new())
                };
                stack.push(Frame {
                    node,
                    anchor,
                    key: None,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(frame) => (frame.node, frame.anchor, 0),
                None => continue,
            },
            Event::Scalar(value, style, anchor, tag) => {
                let explicit_str = tag
                    .as_ref()
                    .is_some_and(|t| t.handle == "tag:yaml.org,2002:" && t.suffix == "str");
                let node = if style == TScalarStyle::Plain && !explicit_str {
                    resolve_plain(value)
                } else {
                    Node::Str(value)
                };
                let added = node.cost();
                (node, anchor, added)
            }
            Event::Alias(id) => {
                let (_, node) = anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .ok_or(YamlError::Alias)?;
                let added = node.cost();
                // Checked before cloning, so a refused copy is never made.
                add_cost(cost, added)?;
                if stack.len() + node.depth() > MAX_DEPTH {
                    return Err(YamlError::TooDeep);
                }
                (node.clone(), 0, added)
            }
        };
        cost = add_cost(cost, added)?;
        if anchor > 0 {
            cost = add_cost(cost, node.cost())?;
            anchors.push((anchor, node.clone()));
        }
        insert(&mut stack, &mut docs, node);
    }
    Err(YamlError::TooLarge)
}

fn add_cost(cost: usize, added: usize) -> Result<usize, YamlError> {
    match cost.checked_add(added) {
        Some(total) if total <= MAX_COST => Ok(total),
        _ => Err(YamlError::TooLarge),
    }
}

/// Adds a finished node to the open collection, or as a document.
fn insert(stack: &mut [Frame], docs: &mut Vec<Node>, node: Node) {
    let Some(frame) = stack.last_mut() else {
        docs.push(node);
        return;
    };
    match &mut frame.node {
        Node::Seq(items) => items.push(node),
        Node::Map(entries) => match frame.key.take() {
            None => frame.key = Some(node),
            Some(key) => entries.push((key, node)),
        },
        Node::Null | Node::Bool(_) | Node::Str(_) => {}
    }
}

/// A plain scalar's type as yaml.v2 resolves nulls and booleans (YAML 1.1).
fn resolve_plain(value: String) -> Node {
    match value.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Node::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            Node::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            Node::Bool(false)
        }
        _ => Node::Str(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text).expect("parses");
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs.remove(0)
    }

    #[test]
    fn formatting_does_not_change_the_canonical_form() {
        let block = "# comment\nb: [x, 'y']\na:\n  - \"1\"\n  - True\n";
        let flow = r#"{a: [1, true], b: ["x", 'y']}"#;
        assert_eq!(one(block).canonical(), one(flow).canonical());
        assert_eq!(
            one(block).canonical().to_string(),
            r#"{"a":["1",true],"b":["x","y"]}"#
        );
    }

    #[test]
    fn yaml_1_1_booleans_and_nulls_resolve_only_when_plain() {
        assert_eq!(one("on"), Node::Bool(true));
        assert_eq!(one("'on'"), Node::Str("on".into()));
        assert_eq!(one("~"), Node::Null);
        assert_eq!(one("!!str true"), Node::Str("true".into()));
        assert_eq!(one("0644"), Node::Str("0644".into()));
    }

    #[test]
    fn alias_bombs_are_refused_not_expanded() {
        let mut text = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        let mut prev = 'a';
        for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
            let refs = vec![format!("*{prev}"); 10].join(",");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
            prev = name;
        }
        assert!(matches!(parse_documents(&text), Err(YamlError::TooLarge)));
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let text = "[".repeat(60_000);
        assert!(parse_documents(&text).is_err());
        let ok = format!("{}{}", "[".repeat(10), "]".repeat(10));
        assert!(parse_documents(&ok).is_ok());
    }

    #[test]
    fn multiple_documents_are_all_returned() {
        let docs = parse_documents("a: 1\n---\nb: 2\n").expect("parses");
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in ["a: [", "{a: b", "\t- x\n  y: : :", "*unknown", "- &a [*a]"] {
            let _ = parse_documents(text);
        }
    }
}
