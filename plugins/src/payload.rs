//! Reading a marketplace's JSON answer field by field for adapters, so that every wrong shape
//! becomes an [`AdapterError`] of kind `marketplace` naming the path of the field at fault
//! (`$.response.order_list[1].item_list[0].model_quantity_purchased: expected an unsigned
//! integer, found the string "two"`), never a panic or a silent default.
//!
//! An answer is read from a [`Source`], which parses the body and words its errors, through
//! [`Node`]s: a value and the path that leads to it. Every accessor checks the type it needs and
//! says what it expected and what it found. What a marketplace means by its fields (envelopes,
//! status codes, which field holds the SKU) stays in its adapter.

use std::{rc::Rc, str::FromStr};

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::adapter::AdapterError;

/// The largest answer body an adapter parses, in bytes: a bound against a runaway answer.
pub const BODY_BYTES_MAX: usize = 32 * 1024 * 1024;

/// The longest string (in characters) an error quotes whole, so an error never echoes a long
/// payload.
pub const QUOTED_CHARS_MAX: usize = 40;

/// An answer being read: how its errors are worded.
///
/// - [`Source::named`] prefixes every error with the answer's name, roots paths at `$` and shows
///   the value found (`Shopee get_order_list answer: $.response.order_list[0].order_sn: expected
///   a non-empty string, found the number 5`).
/// - [`Source::ANSWER`] has no prefix, roots paths at the empty path (called `answer` when the
///   root itself is at fault) and shows only the kind of value found (`data.orders[0].id:
///   expected a string or an integer id, found an object`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The answer's name, the prefix of every error; `None` for [`Source::ANSWER`].
    name: Option<&'static str>,
}

impl Source {
    /// An unnamed answer, worded tersely: `a[0].b: expected a string, found a number`.
    pub const ANSWER: Source = Source { name: None };

    /// An answer called `name` (`Shopee get_order_detail answer`), worded in full: `Shopee
    /// get_order_detail answer: $.a[0].b: expected a string, found the number 5`.
    pub const fn named(name: &'static str) -> Source {
        Source { name: Some(name) }
    }

    /// Parses `body` as JSON; a body over [`BODY_BYTES_MAX`] is refused unread.
    pub fn parse(self, body: &str) -> Result<Value, AdapterError> {
        if body.len() > BODY_BYTES_MAX {
            return Err(AdapterError::marketplace(format!(
                "{}: {} bytes, more than the {BODY_BYTES_MAX} the adapter parses",
                self.name.unwrap_or("answer"),
                body.len()
            )));
        }
        serde_json::from_str(body).map_err(|err| {
            AdapterError::marketplace(match self.name {
                Some(name) => format!("{name}: not JSON: {err}"),
                None => format!("answer is not JSON: {err}"),
            })
        })
    }

    /// The root node of `value`, an answer of this source.
    pub fn root(self, value: &Value) -> Node<'_> {
        Node {
            value,
            path: Rc::new(Step::Root),
            source: self,
        }
    }

    fn root_path(self) -> &'static str {
        match self.name {
            Some(_) => "$",
            None => "",
        }
    }

    /// An error about the value at `path`: `{name}: {path}: {why}`.
    fn fail(self, path: &str, why: impl std::fmt::Display) -> AdapterError {
        AdapterError::marketplace(match self.name {
            Some(name) => format!("{name}: {path}: {why}"),
            None if path.is_empty() => format!("answer: {why}"),
            None => format!("{path}: {why}"),
        })
    }

    /// How an error shows the value it found.
    fn found(self, value: &Value) -> String {
        match self.name {
            Some(_) => describe(value),
            None => kind(value).to_owned(),
        }
    }
}

/// One value of an answer and the path that leads to it.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    value: &'a Value,
    /// Written out only for an error: reading a field costs a link, not a formatted string.
    path: Rc<Step<'a>>,
    source: Source,
}

/// The last step of a path to a value, linked to the steps before it.
#[derive(Debug)]
enum Step<'a> {
    Root,
    /// A field, named by its key in the answer.
    Field(Rc<Step<'a>>, &'a str),
    Index(Rc<Step<'a>>, usize),
}

impl Step<'_> {
    /// Writes the path: `$.a[0].b` below a `$` root, `a[0].b` below an empty one.
    fn write(&self, root: &str, out: &mut String) {
        match self {
            Step::Root => out.push_str(root),
            Step::Field(parent, name) => {
                parent.write(root, out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Step::Index(parent, index) => {
                parent.write(root, out);
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
}

impl<'a> Node<'a> {
    /// The path of this value: `$.a[0].b` for a named source, `a[0].b` otherwise (the root is
    /// `$` or empty).
    pub fn path(&self) -> String {
        let mut out = String::new();
        self.path.write(self.source.root_path(), &mut out);
        out
    }

    /// The value itself, for shapes the accessors do not cover.
    pub fn value(&self) -> &'a Value {
        self.value
    }

    /// An error saying what was expected here and what was found: `expected {expected}, found
    /// the string "x"`.
    pub fn error(&self, expected: &str) -> AdapterError {
        self.fail(format!(
            "expected {expected}, found {}",
            self.source.found(self.value)
        ))
    }

    /// An error about this value that says `why` after its path.
    pub fn fail(&self, why: impl std::fmt::Display) -> AdapterError {
        self.source.fail(&self.path(), why)
    }

    fn child(&self, value: &'a Value, step: Step<'a>) -> Node<'a> {
        Node {
            value,
            path: Rc::new(step),
            source: self.source,
        }
    }

    fn field_path(&self, name: &str) -> String {
        let mut out = self.path();
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(name);
        out
    }

    /// This value as an object's fields.
    pub fn object(&self) -> Result<&'a Map<String, Value>, AdapterError> {
        self.value
            .as_object()
            .ok_or_else(|| self.error("an object"))
    }

    /// The field `name` of this object; `None` when it is absent or `null`.
    pub fn get(&self, name: &str) -> Result<Option<Node<'a>>, AdapterError> {
        Ok(self
            .object()?
            .get_key_value(name)
            .filter(|(_, value)| !value.is_null())
            .map(|(key, value)| self.child(value, Step::Field(self.path.clone(), key))))
    }

    /// The field `name` of this object, which must be present and not `null`.
    pub fn require(&self, name: &str) -> Result<Node<'a>, AdapterError> {
        self.get(name)?.ok_or_else(|| self.missing(name))
    }

    /// The error for a field `name` of this object that is absent: `{path}.{name}: missing`.
    pub fn missing(&self, name: &str) -> AdapterError {
        self.source.fail(&self.field_path(name), "missing")
    }

    /// The elements of this array.
    pub fn items(&self) -> Result<Vec<Node<'a>>, AdapterError> {
        let array = self
            .value
            .as_array()
            .ok_or_else(|| self.error("an array"))?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(index, value)| self.child(value, Step::Index(self.path.clone(), index)))
            .collect())
    }

    /// This value as a string.
    pub fn str(&self) -> Result<&'a str, AdapterError> {
        self.value.as_str().ok_or_else(|| self.error("a string"))
    }

    /// This value as a non-empty string; anything else is `expected a non-empty string`.
    pub fn non_empty_str(&self) -> Result<&'a str, AdapterError> {
        match self.value.as_str() {
            Some(text) if !text.is_empty() => Ok(text),
            _ => Err(self.error("a non-empty string")),
        }
    }

    /// This value as a string that must not be empty, telling the two faults apart: a value of
    /// another type is `expected a string`, an empty string is `empty`.
    pub fn filled_str(&self) -> Result<&'a str, AdapterError> {
        match self.str()? {
            "" => Err(self.fail("empty")),
            text => Ok(text),
        }
    }

    /// This value as a quantity of units: an integer from 1 to `u32::MAX`.
    pub fn quantity(&self) -> Result<u32, AdapterError> {
        u32::try_from(self.u64()?)
            .ok()
            .filter(|qty| *qty > 0)
            .ok_or_else(|| self.error("a quantity between 1 and 4294967295"))
    }

    /// This value if it is an array, else this value alone: for payloads that take one document
    /// or an array of them.
    pub fn one_or_many(&self) -> Vec<Node<'a>> {
        match self.items() {
            Ok(items) => items,
            Err(_) => vec![self.clone()],
        }
    }

    /// This value as a boolean.
    pub fn bool(&self) -> Result<bool, AdapterError> {
        self.value.as_bool().ok_or_else(|| self.error("a boolean"))
    }

    /// This value as an unsigned integer.
    pub fn u64(&self) -> Result<u64, AdapterError> {
        self.value
            .as_u64()
            .ok_or_else(|| self.error("an unsigned integer"))
    }

    /// An integer sent either as a JSON integer or as a string of digits.
    pub fn integer(&self) -> Result<i64, AdapterError> {
        match self.value {
            Value::Number(number) => number.as_i64().ok_or_else(|| self.error("an integer")),
            Value::String(text) => text
                .parse::<i64>()
                .map_err(|_| self.fail(format!("expected an integer, found {text:?}"))),
            _ => Err(self.error("an integer")),
        }
    }

    /// An identifier sent either as a non-empty string or as an integer, as a string.
    pub fn id(&self) -> Result<String, AdapterError> {
        match self.value {
            Value::String(text) if !text.is_empty() => Ok(text.clone()),
            Value::String(_) => Err(self.fail("empty")),
            Value::Number(number) if number.is_u64() || number.is_i64() => Ok(number.to_string()),
            _ => Err(self.error("a string or an integer id")),
        }
    }

    /// A non-negative amount sent either as a decimal string (`"12.50"`, `"1e3"`) or as a JSON
    /// number.
    pub fn amount(&self) -> Result<Decimal, AdapterError> {
        let text = match self.value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => return Err(self.error("a decimal amount")),
        };
        let parsed = if text.contains(['e', 'E']) {
            Decimal::from_scientific(&text)
        } else {
            Decimal::from_str(&text)
        };
        match parsed {
            Ok(amount) if amount.is_sign_negative() && !amount.is_zero() => {
                Err(self.fail(format!("negative amount {text:?}")))
            }
            Ok(amount) => Ok(amount),
            Err(_) => Err(self.fail(format!("expected a decimal amount, found {text:?}"))),
        }
    }

    /// This value as a price kept as written: a JSON number or a string spelling a plain
    /// non-negative decimal (`12`, `12.5`), returned as the decimal string (a float in the JSON
    /// is given in its shortest exact spelling, so `12.90` becomes `12.9`).
    pub fn decimal(&self) -> Result<String, AdapterError> {
        let text = match self.value {
            Value::Number(number) => number.to_string(),
            Value::String(text) => text.clone(),
            _ => return Err(self.error("a decimal number")),
        };
        if is_plain_decimal(&text) {
            Ok(text)
        } else {
            Err(self.error("a plain non-negative decimal number"))
        }
    }
}

/// Whether `text` is digits with at most one decimal point between digits (`12`, `12.5`), the
/// only spelling a canonical order's price takes.
pub fn is_plain_decimal(text: &str) -> bool {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// A JSON value for an error message in full: its kind and, for a scalar, its value (a string
/// only up to [`QUOTED_CHARS_MAX`] characters).
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) if text.chars().count() <= QUOTED_CHARS_MAX => {
            format!("the string {text:?}")
        }
        Value::String(_) => "a long string".to_owned(),
        Value::Array(items) => format!("an array of {}", items.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// The kind of a JSON value for a terse error message.
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::adapter::ErrorKind;

    const NAMED: Source = Source::named("test answer");

    /// The message of a marketplace error.
    fn message<T: std::fmt::Debug>(result: Result<T, AdapterError>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Marketplace, "{err}");
        err.message
    }

    #[test]
    fn named_errors_name_the_answer_the_path_and_the_value_found() {
        let value = json!({"a": [{"b": "x"}], "n": null});
        let root = NAMED.root(&value);
        let b = root.require("a").unwrap().items().unwrap()[0]
            .require("b")
            .unwrap();
        assert_eq!(b.path(), "$.a[0].b");
        assert_eq!(
            message(b.u64()),
            r#"test answer: $.a[0].b: expected an unsigned integer, found the string "x""#
        );
        assert_eq!(message(root.require("c")), "test answer: $.c: missing");
        assert_eq!(message(root.require("n")), "test answer: $.n: missing");
        assert_eq!(
            message(root.require("a").unwrap().require("b")),
            "test answer: $.a: expected an object, found an array of 1"
        );
        assert_eq!(
            message(root.items()),
            "test answer: $: expected an array, found an object"
        );
        assert_eq!(
            message(Err::<(), _>(b.fail("why"))),
            "test answer: $.a[0].b: why"
        );
    }

    #[test]
    fn terse_errors_name_the_path_and_the_kind_found() {
        let value = json!([{"data": {"id": {}}}]);
        let root = Source::ANSWER.root(&value);
        assert_eq!(root.path(), "");
        let first = root.items().unwrap().remove(0);
        let id = first.require("data").unwrap().require("id").unwrap();
        assert_eq!(id.path(), "[0].data.id");
        assert_eq!(
            message(id.id()),
            "[0].data.id: expected a string or an integer id, found an object"
        );
        assert_eq!(message(first.require("x")), "[0].x: missing");
        assert_eq!(
            message(root.get("x")),
            "answer: expected an object, found an array"
        );
        let object = json!({"k": 1});
        assert_eq!(
            message(Source::ANSWER.root(&object).require("k").unwrap().str()),
            "k: expected a string, found a number"
        );
    }

    #[test]
    fn long_strings_are_not_quoted_whole() {
        let long = "y".repeat(QUOTED_CHARS_MAX + 1);
        let exact = "z".repeat(QUOTED_CHARS_MAX);
        let value = json!({"long": long, "exact": exact});
        let root = NAMED.root(&value);
        let err = message(root.require("long").unwrap().bool());
        assert_eq!(
            err,
            "test answer: $.long: expected a boolean, found a long string"
        );
        let err = message(root.require("exact").unwrap().bool());
        assert!(
            err.ends_with(&format!("found the string \"{exact}\"")),
            "{err}"
        );
    }

    #[test]
    fn bodies_are_parsed_within_the_bound() {
        assert_eq!(NAMED.parse(r#"{"a": 1}"#).unwrap(), json!({"a": 1}));
        let named = message(NAMED.parse("<html>"));
        assert!(named.starts_with("test answer: not JSON: "), "{named}");
        let terse = message(Source::ANSWER.parse("{"));
        assert!(terse.starts_with("answer is not JSON: "), "{terse}");
        let huge = " ".repeat(BODY_BYTES_MAX + 1);
        assert_eq!(
            message(NAMED.parse(&huge)),
            format!(
                "test answer: {} bytes, more than the {BODY_BYTES_MAX} the adapter parses",
                BODY_BYTES_MAX + 1
            )
        );
    }

    #[test]
    fn strings_empty_or_not() {
        let value = json!({"empty": "", "text": "t", "number": 5});
        let root = Source::ANSWER.root(&value);
        let field = |name: &str| root.require(name).unwrap();
        assert_eq!(field("text").non_empty_str().unwrap(), "t");
        assert_eq!(field("text").filled_str().unwrap(), "t");
        assert_eq!(
            message(field("empty").non_empty_str()),
            "empty: expected a non-empty string, found a string"
        );
        assert_eq!(message(field("empty").filled_str()), "empty: empty");
        assert_eq!(
            message(field("number").filled_str()),
            "number: expected a string, found a number"
        );
    }

    #[test]
    fn quantities_are_positive_and_fit_u32() {
        let value =
            json!({"one": 1, "max": 4_294_967_295_u64, "zero": 0, "big": 4_294_967_296_u64});
        let root = NAMED.root(&value);
        let field = |name: &str| root.require(name).unwrap();
        assert_eq!(field("one").quantity().unwrap(), 1);
        assert_eq!(field("max").quantity().unwrap(), u32::MAX);
        for bad in ["zero", "big"] {
            let err = message(field(bad).quantity());
            assert!(
                err.starts_with(&format!(
                    "test answer: $.{bad}: expected a quantity between 1 and 4294967295, found"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn one_document_or_an_array_of_them() {
        let many = json!([{"a": 1}, {"a": 2}]);
        let nodes = Source::ANSWER.root(&many).one_or_many();
        let paths: Vec<String> = nodes.iter().map(Node::path).collect();
        assert_eq!(paths, ["[0]", "[1]"]);
        let one = json!({"a": 1});
        let nodes = Source::ANSWER.root(&one).one_or_many();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].value(), &one);
    }

    #[test]
    fn ids_and_integers_take_numbers_or_strings() {
        let value = json!({"n": 42, "s": "42", "neg": -7, "bad": "4x", "frac": 1.5, "empty": ""});
        let root = Source::ANSWER.root(&value);
        let field = |name: &str| root.require(name).unwrap();
        assert_eq!(field("n").id().unwrap(), "42");
        assert_eq!(field("s").id().unwrap(), "42");
        assert_eq!(field("neg").id().unwrap(), "-7");
        assert_eq!(message(field("empty").id()), "empty: empty");
        assert_eq!(
            message(field("frac").id()),
            "frac: expected a string or an integer id, found a number"
        );
        assert_eq!(field("n").integer().unwrap(), 42);
        assert_eq!(field("s").integer().unwrap(), 42);
        assert_eq!(field("neg").integer().unwrap(), -7);
        assert_eq!(
            message(field("bad").integer()),
            r#"bad: expected an integer, found "4x""#
        );
        assert_eq!(
            message(field("frac").integer()),
            "frac: expected an integer, found a number"
        );
    }

    #[test]
    fn amounts_are_non_negative_decimals() {
        let value = json!({
            "s": "12.50", "n": 3.25, "sci": "1.5e2", "zero": "-0", "neg": "-3.00",
            "comma": "12,00", "bool": true
        });
        let root = Source::ANSWER.root(&value);
        let field = |name: &str| root.require(name).unwrap();
        assert_eq!(field("s").amount().unwrap().to_string(), "12.50");
        assert_eq!(field("n").amount().unwrap().to_string(), "3.25");
        assert_eq!(field("sci").amount().unwrap(), Decimal::from(150));
        assert!(field("zero").amount().unwrap().is_zero());
        assert_eq!(
            message(field("neg").amount()),
            r#"neg: negative amount "-3.00""#
        );
        assert_eq!(
            message(field("comma").amount()),
            r#"comma: expected a decimal amount, found "12,00""#
        );
        assert_eq!(
            message(field("bool").amount()),
            "bool: expected a decimal amount, found a boolean"
        );
    }

    #[test]
    fn plain_decimals_are_digits_with_one_inner_point() {
        for good in ["0", "12", "12.5", "1500.0", "0.01"] {
            assert!(is_plain_decimal(good), "{good}");
        }
        for bad in ["", ".5", "5.", "-1", "1e21", "1.2.3", "NaN", " 1"] {
            assert!(!is_plain_decimal(bad), "{bad}");
        }
        let value = json!({"f": 12.90, "s": "7.25", "neg": "-1"});
        let root = NAMED.root(&value);
        assert_eq!(root.require("f").unwrap().decimal().unwrap(), "12.9");
        assert_eq!(root.require("s").unwrap().decimal().unwrap(), "7.25");
        assert_eq!(
            message(root.require("neg").unwrap().decimal()),
            r#"test answer: $.neg: expected a plain non-negative decimal number, found the string "-1""#
        );
    }
}
