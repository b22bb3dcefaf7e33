//! The workflow file as written: serde boundary types that keep every name's position, and the
//! JSON Schema generated from those same types.
//!
//! The schema is derived from the types that parse the files, so the two cannot drift apart; the
//! loader also reads the schema to find unknown and missing keys, which serde would report only
//! one at a time.

use std::{borrow::Cow, fmt};

use marked_yaml::{Span, Spanned};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{
    de::{self, MapAccess, SeqAccess, Visitor},
    Deserialize, Deserializer,
};

/// A workflow file: a state machine over the states of one kind of entity.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Distributary workflow")]
pub(crate) struct WorkflowFile {
    /// The workflow's name; it must match the file's name (`distribution_order.yaml` declares
    /// `distribution_order`).
    pub(crate) workflow: Name,
    /// The state a new entity starts in.
    pub(crate) initial: Name,
    /// The states no transition leaves.
    pub(crate) terminal: Vec<Name>,
    /// Every state of the workflow.
    pub(crate) states: Vec<Name>,
    /// The transitions; when several accept the same event from the same state, the first whose
    /// guards all pass wins.
    pub(crate) transitions: Vec<TransitionFile>,
    /// States this version of the workflow no longer declares, each mapped to the declared state
    /// its live entities move to when the pack is installed (`migrate: {on_hold: packed}`).
    #[serde(default)]
    pub(crate) migrate: Migrations,
}

/// `migrate:`: old state to new state, in the order written, with positions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Migrations(pub(crate) Vec<(Name, Name)>);

impl JsonSchema for Migrations {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Migrations".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "additionalProperties": { "type": "string" } })
    }
}

impl<'de> Deserialize<'de> for Migrations {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Migrations, D::Error> {
        struct MigrationsVisitor;

        impl<'de> Visitor<'de> for MigrationsVisitor {
            type Value = Migrations;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of old states to new states")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Migrations, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<Name, Name>()? {
                    pairs.push(pair);
                }
                Ok(Migrations(pairs))
            }
        }

        deserializer.deserialize_map(MigrationsVisitor)
    }
}

/// One transition as written in a workflow file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Transition")]
pub(crate) struct TransitionFile {
    /// The event that fires the transition (a command or a user-declared event).
    pub(crate) event: Name,
    /// The state, or list of states, the transition may fire from.
    pub(crate) from: StateNames,
    /// The state the transition leads to.
    pub(crate) to: Name,
    /// The only role that may fire it: `supplier`, `distributor` or `system`; any role when absent.
    #[serde(default)]
    pub(crate) by: Option<Name>,
    /// Guards evaluated in order: built-in names, or `rule:<script>` for a Rhai rule.
    #[serde(default)]
    pub(crate) guards: Vec<Name>,
    /// Built-in effects applied in order when the transition fires.
    #[serde(default)]
    pub(crate) effects: Vec<Name>,
}

/// A name (state, event, guard, effect, role) with the position it was written at.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct Name(Spanned<String>);

impl Name {
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub(crate) fn span(&self) -> &Span {
        self.0.span()
    }
}

impl JsonSchema for Name {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Name".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string" })
    }
}

/// `from:`: one state, or a list of states.
///
/// Serde's untagged enums buffer their input and so lose marked-yaml's positions; this type
/// reads the whole value with its position instead, and the positions of a list's items.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct StateNames(Spanned<OneOrMany>);

impl StateNames {
    /// The state names with their positions (a single name takes the value's position).
    pub(crate) fn names(&self) -> Vec<Name> {
        match &*self.0 {
            OneOrMany::One(name) => vec![Name(Spanned::new(*self.0.span(), name.clone()))],
            OneOrMany::Many(names) => names.clone(),
        }
    }
}

impl JsonSchema for StateNames {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "StateNames".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" } }
            ]
        })
    }
}

#[derive(Debug, Clone)]
enum OneOrMany {
    One(String),
    Many(Vec<Name>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OneOrMany, D::Error> {
        struct OneOrManyVisitor;

        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a state or a list of states")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(value.to_owned()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<Name>()? {
                    names.push(name);
                }
                Ok(OneOrMany::Many(names))
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// The JSON Schema of a workflow file (draft 2020-12), for editors and for checking files before
/// they are loaded. It rejects unknown keys (`additionalProperties: false`).
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(WorkflowFile).to_value()
}
