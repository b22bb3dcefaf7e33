//! A rule-test file's text as marked-yaml nodes, every node with its position.
//!
//! marked-yaml's own loader refuses anchors, and test files reuse fixtures through anchors,
//! aliases and merge keys (`<<: *order`). This builds the same nodes from the events of the
//! parser marked-yaml itself runs on (yaml-rust2): an alias is a copy of its anchor's node
//! (keeping the anchor's positions), and a merge key adds the keys a mapping does not set
//! itself, as YAML's merge key type says. As with serde_yaml before, a duplicate key and a YAML
//! tag are errors, and only the first document is read.

use std::collections::HashMap;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{Marker, Node, Span};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker as ParserMarker, TScalarStyle};

/// The most nodes a file may hold once its aliases are expanded: a few aliases of aliases make
/// an exponential tree ("billion laughs"), and test files are small.
pub(super) const NODES_MAX: usize = 100_000;
/// The deepest nesting of mappings and sequences (deserializing recurses once per level).
pub(super) const DEPTH_MAX: usize = 64;
/// The merge key.
const MERGE_KEY: &str = "<<";

/// Why a text is not a YAML mapping this module reads, and where (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses the first document of `text`: anchors, aliases and merge keys resolved.
pub(super) fn parse(text: &str) -> Result<Node, YamlError> {
    let mut loader = Loader::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(error) = parser.load(&mut loader, false) {
        return Err(YamlError {
            line: error.marker().line(),
            column: error.marker().col() + 1,
            message: format!("invalid YAML: {}", error.info()),
        });
    }
    match (loader.error, loader.root) {
        (Some(error), _) => Err(error),
        (None, Some(root)) => Ok(root),
        (None, None) => Err(YamlError {
            line: 1,
            column: 1,
            message: "the file holds no YAML document".to_owned(),
        }),
    }
}

/// A mapping or sequence whose end has not been read yet.
enum Open {
    Mapping {
        node: MarkedMappingNode,
        key: Option<MarkedScalarNode>,
        anchor: usize,
        size: usize,
    },
    Sequence {
        node: MarkedSequenceNode,
        anchor: usize,
        size: usize,
    },
}

#[derive(Default)]
struct Loader {
    open: Vec<Open>,
    /// Each anchored node, and how many nodes it holds.
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    root: Option<Node>,
    error: Option<YamlError>,
}

impl MarkedEventReceiver for Loader {
    fn on_event(&mut self, event: Event, mark: ParserMarker) {
        if self.error.is_some() {
            return;
        }
        let at = Marker::new(0, mark.index(), mark.line(), mark.col() + 1);
        if let Err(error) = self.event(event, at) {
            self.error = Some(error);
        }
    }
}

/// A problem found at `at`.
fn problem(at: &Marker, message: impl Into<String>) -> YamlError {
    YamlError {
        line: at.line(),
        column: at.column(),
        message: message.into(),
    }
}

impl Loader {
    fn event(&mut self, event: Event, at: Marker) -> Result<(), YamlError> {
        match event {
            Event::Scalar(_, _, _, Some(_))
            | Event::SequenceStart(_, Some(_))
            | Event::MappingStart(_, Some(_)) => Err(problem(&at, "YAML tags are not supported")),
            Event::Scalar(value, style, anchor, None) => {
                let mut scalar = MarkedScalarNode::new(Span::new_start(at), value);
                // A quoted or block scalar is text: `"5"` is not a number, `"true"` no boolean.
                scalar.set_coerce(style == TScalarStyle::Plain);
                self.close(Node::Scalar(scalar), anchor, 1, &at)
            }
            Event::Alias(anchor) => {
                let (node, size) = self
                    .anchors
                    .get(&anchor)
                    .cloned()
                    .ok_or_else(|| problem(&at, "an alias names no anchor"))?;
                self.close(node, 0, size, &at)
            }
            Event::SequenceStart(anchor, None) => self.start(
                Open::Sequence {
                    node: MarkedSequenceNode::new_empty(Span::new_start(at)),
                    anchor,
                    size: 1,
                },
                &at,
            ),
            Event::MappingStart(anchor, None) => self.start(
                Open::Mapping {
                    node: MarkedMappingNode::new_empty(Span::new_start(at)),
                    key: None,
                    anchor,
                    size: 1,
                },
                &at,
            ),
            Event::SequenceEnd | Event::MappingEnd => match self.open.pop() {
                Some(Open::Sequence {
                    mut node,
                    anchor,
                    size,
                }) => {
                    node.span_mut().set_end(Some(at));
                    self.close(Node::Sequence(node), anchor, size, &at)
                }
                Some(Open::Mapping {
                    mut node,
                    anchor,
                    size,
                    ..
                }) => {
                    node.span_mut().set_end(Some(at));
                    merge(&mut node)?;
                    self.close(Node::Mapping(node), anchor, size, &at)
                }
                None => Err(problem(&at, "a collection ends that never started")),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => Ok(()),
        }
    }

    fn start(&mut self, open: Open, at: &Marker) -> Result<(), YamlError> {
        if self.open.len() == DEPTH_MAX {
            return Err(problem(
                at,
                format!("nested deeper than {DEPTH_MAX} levels"),
            ));
        }
        self.open.push(open);
        Ok(())
    }

    /// Places a finished node (`size` nodes in all, read up to `at`) in the collection it
    /// belongs to.
    fn close(
        &mut self,
        node: Node,
        anchor: usize,
        size: usize,
        at: &Marker,
    ) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(size);
        if self.nodes > NODES_MAX {
            return Err(problem(
                at,
                format!("the file expands to more than {NODES_MAX} nodes through its aliases"),
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.open.last_mut() {
            None => self.root = Some(node),
            Some(Open::Sequence {
                node: parent,
                size: parent_size,
                ..
            }) => {
                parent.push(node);
                *parent_size = parent_size.saturating_add(size);
            }
            Some(Open::Mapping {
                node: parent,
                key,
                size: parent_size,
                ..
            }) => {
                *parent_size = parent_size.saturating_add(size);
                match (key.take(), node) {
                    (None, Node::Scalar(name)) if parent.contains_key(&name) => {
                        return Err(problem(at, format!("duplicate key `{}`", name.as_str())));
                    }
                    (None, Node::Scalar(name)) => *key = Some(name),
                    (None, _) => return Err(problem(at, "a mapping key must be a scalar")),
                    (Some(name), value) => {
                        parent.insert(name, value);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Resolves a mapping's merge key: the keys of the merged mapping (or of each mapping of a
/// list, the first first) that the mapping does not set itself are added to it.
fn merge(mapping: &mut MarkedMappingNode) -> Result<(), YamlError> {
    let Some(key) = mapping.keys().find(|k| k.as_str() == MERGE_KEY).cloned() else {
        return Ok(());
    };
    let wrong = || {
        let at = key
            .span()
            .start()
            .copied()
            .unwrap_or_else(|| Marker::new(0, 0, 1, 1));
        problem(
            &at,
            "a merge key (`<<`) takes a mapping or a list of mappings",
        )
    };
    let sources = match mapping.remove(&key) {
        Some(Node::Mapping(source)) => vec![source],
        Some(Node::Sequence(list)) => list
            .iter()
            .map(|item| item.as_mapping().cloned())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(wrong)?,
        Some(Node::Scalar(_)) | None => return Err(wrong()),
    };
    for source in sources {
        for (name, value) in source.iter() {
            if !mapping.contains_key(name) {
                mapping.insert(name.clone(), value.clone());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(node: &Node) -> (usize, usize) {
        let start = node.span().start().unwrap();
        (start.line(), start.column())
    }

    #[test]
    fn aliases_copy_their_anchor_and_merge_keys_fill_what_is_not_set() {
        let text = "base: &b {a: 1, b: 2}\nuse:\n  <<: *b\n  b: 3\nagain: *b\n";
        let root = parse(text).unwrap();
        let root = root.as_mapping().unwrap();
        let merged = root.get_mapping("use").unwrap();
        let pairs: Vec<(&str, &str)> = merged
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_scalar().unwrap().as_str()))
            .collect();
        assert_eq!(pairs, [("b", "3"), ("a", "1")]);
        // The copy keeps the anchor's positions.
        assert_eq!(at(root.get_node("again").unwrap()), (1, 10));
    }

    #[test]
    fn quoted_scalars_are_text() {
        let root = parse("n: 5\ns: \"5\"\n").unwrap();
        let root = root.as_mapping().unwrap();
        assert!(root.get_scalar("n").unwrap().may_coerce());
        assert!(!root.get_scalar("s").unwrap().may_coerce());
    }

    #[test]
    fn problems_name_their_line_and_column() {
        let error = |text: &str| parse(text).unwrap_err();
        let duplicate = error("a: 1\nb:\n  c: 1\n  c: 2\n");
        assert_eq!((duplicate.line, duplicate.column), (4, 3));
        assert_eq!(duplicate.message, "duplicate key `c`");
        assert!(error("a: !tag 1\n").message.contains("tags"));
        assert!(error("a: [1\n").message.starts_with("invalid YAML"));
        let merge = error("a:\n  <<: 1\n");
        assert_eq!((merge.line, merge.column), (2, 3));
        assert!(merge.message.contains("merge key"));
        assert!(error("").message.contains("no YAML document"));
    }

    #[test]
    fn aliases_of_aliases_stop_at_the_node_limit() {
        let mut text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_owned();
        for level in 1..8 {
            let previous = level - 1;
            text.push_str(&format!(
                "a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, \
                 *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, \
                 *a{previous}]\n"
            ));
        }
        assert!(parse(&text).unwrap_err().message.contains("more than"));
    }

    #[test]
    fn nesting_stops_at_the_depth_limit() {
        let text = format!(
            "a: {}{}\n",
            "[".repeat(DEPTH_MAX + 1),
            "]".repeat(DEPTH_MAX + 1)
        );
        assert!(parse(&text).unwrap_err().message.contains("nested deeper"));
    }
}
