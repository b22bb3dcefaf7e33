//! The shape check: the YAML is walked against the JSON Schema generated from the boundary
//! types, so every unknown key, missing key and wrongly shaped value is reported with its
//! position (serde stops at the first).

use marked_yaml::Node;
use miette::SourceSpan;
use serde_json::Value;

use super::{
    diagnostic::{ProblemKind, WorkflowError},
    source::SourceText,
    suggest::suggest,
};

/// Walks the YAML against the JSON Schema of the boundary types: reports every unknown key (and
/// removes it, so the rest of the file can still be checked) and every missing required key.
pub(crate) struct ShapeCheck<'s> {
    pub(crate) source: &'s SourceText,
    pub(crate) root: &'s Value,
    pub(crate) problems: Vec<WorkflowError>,
    pub(crate) unknown_keys: usize,
    pub(crate) missing_keys: usize,
    pub(crate) invalid_values: usize,
}

impl ShapeCheck<'_> {
    pub(crate) fn check(&mut self, node: &mut Node, schema: &Value, what: &str) {
        let (schema, what) = match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap_or(reference);
                let target = reference
                    .strip_prefix('#')
                    .and_then(|pointer| self.root.pointer(pointer))
                    .unwrap_or(&Value::Null);
                (target, format!("a {}", name.to_lowercase()))
            }
            None => (schema, what.to_owned()),
        };
        if let Some(expected) = mismatch(node, schema) {
            let found = match node {
                Node::Scalar(_) => "a single value",
                Node::Sequence(_) => "a list",
                Node::Mapping(_) => "a mapping",
            };
            self.problems.push(WorkflowError::new(
                ProblemKind::InvalidValue,
                self.source,
                self.source.rest_of_line(node.span().start()),
                format!("expected {expected}"),
                format!("expected {expected} in {what}, found {found}"),
            ));
            self.invalid_values += 1;
            return;
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            let Some(mapping) = node.as_mapping_mut() else {
                return;
            };
            let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
            let unknown: Vec<_> = mapping
                .keys()
                .filter(|key| closed && !properties.contains_key(key.as_str()))
                .cloned()
                .collect();
            for key in unknown {
                let span = self.source.scalar(key.span(), key.as_str());
                let known = properties.keys().map(String::as_str);
                self.problems.push(
                    WorkflowError::new(
                        ProblemKind::UnknownKey,
                        self.source,
                        span,
                        "unknown key",
                        format!("unknown key `{}` in {what}", key.as_str()),
                    )
                    .with_help(suggest(key.as_str(), known, "keys")),
                );
                self.unknown_keys += 1;
                mapping.remove(&key);
            }
            let first_key = mapping
                .keys()
                .next()
                .map(|key| self.source.scalar(key.span(), key.as_str()));
            let required = schema.get("required").and_then(Value::as_array);
            for key in required.into_iter().flatten().filter_map(Value::as_str) {
                if mapping.get_node(key).is_some() {
                    continue;
                }
                let span = first_key.unwrap_or_else(|| SourceSpan::new(0.into(), 0));
                self.problems.push(WorkflowError::new(
                    ProblemKind::MissingKey,
                    self.source,
                    span,
                    format!("`{key}` is missing here"),
                    format!("{what} needs the key `{key}`"),
                ));
                self.missing_keys += 1;
            }
            for (key, value) in mapping.iter_mut() {
                if let Some(property) = properties.get(key.as_str()) {
                    self.check(value, property, &what);
                }
            }
        } else if let Some(items) = schema.get("items") {
            if let Some(sequence) = node.as_sequence_mut() {
                for item in sequence.iter_mut() {
                    self.check(item, items, &what);
                }
            }
        }
    }
}

/// What `schema` expects when `node` has another YAML type (`type` and `anyOf` are the only type
/// keywords the generated schema uses).
fn mismatch(node: &Node, schema: &Value) -> Option<String> {
    if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
        let expected: Vec<String> = alternatives
            .iter()
            .map(|alternative| mismatch(node, alternative))
            .collect::<Option<_>>()?;
        return Some(expected.join(" or "));
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let matches = |ty: &str| match node {
        Node::Scalar(_) => !matches!(ty, "array" | "object"),
        Node::Sequence(_) => ty == "array",
        Node::Mapping(_) => ty == "object",
    };
    if types.iter().any(|ty| matches(ty)) {
        return None;
    }
    let names: Vec<&str> = types
        .iter()
        .filter(|&&ty| ty != "null")
        .map(|&ty| match ty {
            "array" => "a list",
            "object" => "a mapping",
            _ => "a single value",
        })
        .collect();
    Some(names.join(" or "))
}
