//! A path-tracking reader over a parsed JSON answer, so that every shape error names the field at
//! fault (`$.result.pageItems[1].orderList[0].quantity`) and nothing panics.

use distributary_plugin::AdapterError;
use serde_json::Value;

/// The largest answer body the adapter parses, in bytes: a bound against a runaway answer.
pub const BODY_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Parses an answer body as JSON; `source` names the answer in the error (`Temu
/// bg.order.list.v2.get answer`).
pub(crate) fn parse_body(source: &'static str, body: &str) -> Result<Value, AdapterError> {
    if body.len() > BODY_BYTES_MAX {
        return Err(AdapterError::marketplace(format!(
            "{source}: {} bytes, more than the {BODY_BYTES_MAX} the adapter parses",
            body.len()
        )));
    }
    serde_json::from_str(body)
        .map_err(|err| AdapterError::marketplace(format!("{source}: not JSON: {err}")))
}

/// One value of an answer and the path that leads to it.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    value: &'a Value,
    path: String,
    source: &'static str,
}

impl<'a> Node<'a> {
    /// The root of an answer.
    pub(crate) fn root(source: &'static str, value: &'a Value) -> Node<'a> {
        Node {
            value,
            path: "$".to_owned(),
            source,
        }
    }

    /// An error about this value: what was expected here, and what was found.
    pub(crate) fn error(&self, expected: &str) -> AdapterError {
        AdapterError::marketplace(format!(
            "{}: {}: expected {expected}, found {}",
            self.source,
            self.path,
            describe(self.value)
        ))
    }

    /// The field `name` of this object; `None` when it is absent or `null`.
    pub(crate) fn get(&self, name: &str) -> Result<Option<Node<'a>>, AdapterError> {
        let object = self
            .value
            .as_object()
            .ok_or_else(|| self.error("an object"))?;
        Ok(object
            .get(name)
            .filter(|value| !value.is_null())
            .map(|value| Node {
                value,
                path: format!("{}.{name}", self.path),
                source: self.source,
            }))
    }

    /// The field `name` of this object, which must be present and not `null`.
    pub(crate) fn require(&self, name: &str) -> Result<Node<'a>, AdapterError> {
        self.get(name)?.ok_or_else(|| {
            AdapterError::marketplace(format!("{}: {}.{name}: missing", self.source, self.path))
        })
    }

    /// The elements of this array.
    pub(crate) fn items(&self) -> Result<Vec<Node<'a>>, AdapterError> {
        let array = self
            .value
            .as_array()
            .ok_or_else(|| self.error("an array"))?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(index, value)| Node {
                value,
                path: format!("{}[{index}]", self.path),
                source: self.source,
            })
            .collect())
    }

    /// This value as a string.
    pub(crate) fn str(&self) -> Result<&'a str, AdapterError> {
        self.value.as_str().ok_or_else(|| self.error("a string"))
    }

    /// This value as a non-empty string.
    pub(crate) fn non_empty_str(&self) -> Result<&'a str, AdapterError> {
        match self.value.as_str() {
            Some(text) if !text.is_empty() => Ok(text),
            _ => Err(self.error("a non-empty string")),
        }
    }

    /// This value as a boolean.
    pub(crate) fn bool(&self) -> Result<bool, AdapterError> {
        self.value.as_bool().ok_or_else(|| self.error("a boolean"))
    }

    /// This value as an unsigned integer.
    pub(crate) fn u64(&self) -> Result<u64, AdapterError> {
        self.value
            .as_u64()
            .ok_or_else(|| self.error("an unsigned integer"))
    }
}
/// A short description of a JSON value for an error message; strings are not quoted whole so
/// an error never echoes a long payload.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) if text.chars().count() <= 40 => format!("the string {text:?}"),
        Value::String(_) => "a long string".to_owned(),
        Value::Array(items) => format!("an array of {}", items.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_path_of_the_bad_field() {
        let value: Value = serde_json::from_str(r#"{"a": [{"b": "x"}]}"#).unwrap();
        let root = Node::root("test answer", &value);
        let b = root.require("a").unwrap().items().unwrap()[0]
            .require("b")
            .unwrap();
        let err = b.u64().unwrap_err();
        assert_eq!(
            err.message,
            r#"test answer: $.a[0].b: expected an unsigned integer, found the string "x""#
        );
        let missing = root.require("c").unwrap_err();
        assert_eq!(missing.message, "test answer: $.c: missing");
    }
}
