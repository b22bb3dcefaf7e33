//! The host protocol as one JSON Schema (`distributary schema --protocol`): a request line of any
//! command, and the answer line of each, derived from the command table (`dispatch`) and the
//! types of the arguments, answers and error codes. `docs/protocol.md` is its prose. Also the
//! shape the answers of every area share: [`Amount`].

use std::{borrow::Cow, fmt};

use rust_decimal::Decimal;
use schemars::{
    generate::SchemaSettings, json_schema, transform::transform_subschemas, JsonSchema, Schema,
    SchemaGenerator,
};
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};

use crate::{
    dispatch::{command_schemas, Generators},
    error::Code,
};

/// The schema of a request line of `cmd`, under `$defs`.
pub fn request_def(cmd: &str) -> String {
    format!("request.{cmd}")
}

/// The schema of the answer line to `cmd`, under `$defs`.
pub fn answer_def(cmd: &str) -> String {
    format!("answer.{cmd}")
}

/// The whole protocol: the root validates any request line; `$defs/answer.<cmd>` validates the
/// answer line to `<cmd>`; `x-commands` says each command's side (who may send it).
pub fn json_schema() -> Value {
    let mut generators = generators();
    let commands = command_schemas(&mut generators);
    let code = generators.answers.subschema_for::<Code>();
    let mut defs = definitions(&mut generators.requests);
    // A type both read and written keeps its reading's schema (`definitions_agree` checks that
    // none differs).
    for (name, schema) in definitions(&mut generators.answers) {
        defs.entry(name).or_insert(schema);
    }
    defs.insert("error".to_owned(), error_schema(code).to_value());
    defs.insert("failure".to_owned(), failure_schema().to_value());
    let mut requests = Vec::new();
    let mut sides = Map::new();
    for command in commands {
        let cmd = command.name.as_str();
        let request = request_schema(cmd, closed(command.args.to_value()));
        defs.insert(request_def(cmd), request.to_value());
        defs.insert(
            answer_def(cmd),
            answer_schema(closed(command.result.to_value())).to_value(),
        );
        requests.push(json!({"$ref": format!("#/$defs/{}", request_def(cmd))}));
        sides.insert(cmd.to_owned(), json!({"side": command.name.side()}));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Distributary host protocol",
        "description": "A request line validates against this schema; the answer line to command \
            C against #/$defs/answer.C. The prose is docs/protocol.md.",
        "oneOf": requests,
        "x-commands": sides,
        "$defs": defs,
    })
}

/// Arguments described as they are read, answers as they are written.
fn generators() -> Generators {
    Generators {
        requests: SchemaSettings::draft2020_12()
            .for_deserialize()
            .into_generator(),
        answers: SchemaSettings::draft2020_12()
            .for_serialize()
            .into_generator(),
    }
}

/// A generator's definitions, their objects closed.
fn definitions(generator: &mut SchemaGenerator) -> Map<String, Value> {
    generator
        .take_definitions(true)
        .into_iter()
        .map(|(name, schema)| (name, closed(schema)))
        .collect()
}

/// A schema whose objects admit only the properties they declare: the protocol documents every
/// key an answer carries, so a key that drifts fails validation instead of passing unseen.
fn closed(value: Value) -> Value {
    // Not a schema (schemars makes none such): left as it is, never loosened to "anything".
    let Ok(mut schema) = Schema::try_from(value.clone()) else {
        return value;
    };
    close_objects(&mut schema);
    schema.to_value()
}

fn close_objects(schema: &mut Schema) {
    if let Some(object) = schema.as_object_mut() {
        if object.contains_key("properties") && !object.contains_key("additionalProperties") {
            object.insert("additionalProperties".to_owned(), Value::Bool(false));
        }
    }
    transform_subschemas(&mut close_objects, schema);
}

fn request_schema(cmd: &str, args: Value) -> Schema {
    json_schema!({
        "type": "object",
        "properties": {
            "id": true,
            "as": {"type": "string"},
            "user": {"type": ["string", "null"]},
            "at": {"type": ["string", "null"]},
            "key": {"type": ["string", "null"]},
            "cmd": {"const": cmd},
            "args": args,
        },
        "required": ["as", "cmd"],
        "additionalProperties": false,
    })
}

fn answer_schema(result: Value) -> Schema {
    json_schema!({
        "oneOf": [
            {
                "type": "object",
                "properties": {"id": true, "ok": {"const": true}, "result": result},
                "required": ["id", "ok", "result"],
                "additionalProperties": false,
            },
            {"$ref": "#/$defs/failure"},
        ]
    })
}

fn failure_schema() -> Schema {
    json_schema!({
        "type": "object",
        "properties": {"id": true, "ok": {"const": false}, "error": {"$ref": "#/$defs/error"}},
        "required": ["id", "ok", "error"],
        "additionalProperties": false,
    })
}

/// An error: its stable code, a message for a person, and details a host can act on (the ids
/// and amounts involved), which vary by error.
fn error_schema(code: Schema) -> Schema {
    json_schema!({
        "type": "object",
        "properties": {"code": code, "message": {"type": "string"}},
        "required": ["code", "message"],
    })
}

/// An amount of money or a rate as every answer writes it: a JSON string holding the decimal
/// with the scale it was computed at (`"12.50"`, `"-10.00"`, `"1500"` in IDR, a rate `"0.2900"`),
/// never a JSON number, so no host reads money through a float. It is `Decimal`'s `Display`, the
/// text the answers wrote when they were `json!` literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl From<Decimal> for Amount {
    fn from(value: Decimal) -> Amount {
        Amount(value)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A decimal string: an amount in its currency's minor unit (`\"12.50\"`, \
                `\"-3.00\"`; no decimals in IDR, VND, JPY), or a rate as it was given.",
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `json_schema` keeps one schema per definition name: a type both read and written must
    /// have the same schema either way, or the answers would be checked against the reading.
    #[test]
    fn definitions_agree() {
        let mut generators = generators();
        command_schemas(&mut generators);
        let read = definitions(&mut generators.requests);
        for (name, written) in definitions(&mut generators.answers) {
            if let Some(read) = read.get(&name) {
                assert_eq!(read, &written, "{name} is read and written differently");
            }
        }
    }

    /// Answers are described as written: an `Option` is sent as `null`, so its key is required.
    #[test]
    fn an_answer_key_that_may_be_null_is_still_required() {
        let schema = json_schema();
        let row = &schema["$defs"]["SupplierRow"];
        let required: Vec<&str> = row["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(required.contains(&"note"), "{row}");
    }

    /// Every answer is typed: no command's `result` may be anything at all.
    #[test]
    fn every_answer_is_typed() {
        let schema = json_schema();
        let untyped: Vec<&str> = crate::command::names()
            .filter(|cmd| {
                schema["$defs"][answer_def(cmd)]["oneOf"][0]["properties"]["result"] == true
            })
            .collect();
        assert!(untyped.is_empty(), "answers without a type: {untyped:?}");
    }
}
