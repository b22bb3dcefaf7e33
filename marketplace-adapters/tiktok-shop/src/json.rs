//! Reading a marketplace answer field by field, so that every wrong shape becomes an
//! [`AdapterError`] naming the path of the bad field instead of a panic or a silent default.

use std::str::FromStr;

use distributary_plugin::AdapterError;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// A JSON object.
pub(crate) type Object = Map<String, Value>;

/// Parses a raw answer as JSON.
pub(crate) fn parse_body(body: &str) -> Result<Value, AdapterError> {
    serde_json::from_str(body)
        .map_err(|error| AdapterError::marketplace(format!("answer is not JSON: {error}")))
}

/// The path of `key` inside the value at `path`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The path of element `index` of the array at `path`.
pub(crate) fn at(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The error for a value of the wrong type at `path`.
pub(crate) fn wrong(path: &str, expected: &str, found: &Value) -> AdapterError {
    let path = if path.is_empty() { "answer" } else { path };
    AdapterError::marketplace(format!(
        "{path}: expected {expected}, found {}",
        kind(found)
    ))
}

/// An error about the value at `path`.
pub(crate) fn bad(path: &str, why: impl std::fmt::Display) -> AdapterError {
    let path = if path.is_empty() { "answer" } else { path };
    AdapterError::marketplace(format!("{path}: {why}"))
}

/// The value at `path` as an object.
pub(crate) fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Object, AdapterError> {
    value
        .as_object()
        .ok_or_else(|| wrong(path, "an object", value))
}

/// The value at `path` as an array.
pub(crate) fn array<'a>(value: &'a Value, path: &str) -> Result<&'a [Value], AdapterError> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(wrong(path, "an array", other)),
    }
}

/// Field `key` of `object`, `None` when absent or null.
pub(crate) fn optional<'a>(object: &'a Object, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

/// Field `key` of the object at `path`; absent or null is an error.
pub(crate) fn required<'a>(
    object: &'a Object,
    path: &str,
    key: &str,
) -> Result<&'a Value, AdapterError> {
    optional(object, key).ok_or_else(|| bad(&join(path, key), "missing"))
}

/// The value at `path` as a string.
pub(crate) fn string<'a>(value: &'a Value, path: &str) -> Result<&'a str, AdapterError> {
    value.as_str().ok_or_else(|| wrong(path, "a string", value))
}

/// The value at `path` as a non-empty string.
pub(crate) fn non_empty<'a>(value: &'a Value, path: &str) -> Result<&'a str, AdapterError> {
    match string(value, path)? {
        "" => Err(bad(path, "empty")),
        text => Ok(text),
    }
}

/// An identifier sent either as a non-empty string or as an integer.
pub(crate) fn id(value: &Value, path: &str) -> Result<String, AdapterError> {
    match value {
        Value::String(text) if !text.is_empty() => Ok(text.clone()),
        Value::String(_) => Err(bad(path, "empty")),
        Value::Number(number) if number.is_u64() || number.is_i64() => Ok(number.to_string()),
        other => Err(wrong(path, "a string or an integer id", other)),
    }
}

/// A non-negative amount sent either as a decimal string or as a JSON number.
pub(crate) fn amount(value: &Value, path: &str) -> Result<Decimal, AdapterError> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => return Err(wrong(path, "a decimal amount", other)),
    };
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(&text)
    } else {
        Decimal::from_str(&text)
    };
    match parsed {
        Ok(amount) if amount.is_sign_negative() && !amount.is_zero() => {
            Err(bad(path, format!("negative amount {text:?}")))
        }
        Ok(amount) => Ok(amount),
        Err(_) => Err(bad(
            path,
            format!("expected a decimal amount, found {text:?}"),
        )),
    }
}
