//! Drawing workflows (DOT, Mermaid) and the workflow file's JSON Schema.

use std::path::Path;

use distributary::{
    workflow::{self, Vocabulary, Workflow, WorkflowSet},
    FileKind, RulePack, SourceFile,
};
use serde_json::{json, Value};

fn vocabulary() -> Vocabulary {
    Vocabulary::builtin(vec!["push_checks".into()])
}

fn default_pack() -> (RulePack, WorkflowSet) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules");
    let pack = RulePack::from_dir(Path::new(dir)).unwrap();
    let set = workflow::load(&pack, &vocabulary()).unwrap();
    (pack, set)
}

/// How many (transition, from state) edges a workflow draws.
fn edge_count(workflow: &Workflow) -> usize {
    workflow.transitions().iter().map(|t| t.from().len()).sum()
}

#[test]
fn mermaid_draws_every_state_edge_start_and_end() {
    let (_, set) = default_pack();
    for workflow in set.iter() {
        let mermaid = workflow.to_mermaid();
        let lines: Vec<&str> = mermaid.lines().collect();
        assert_eq!(lines[0], "stateDiagram-v2");
        let id = |state: &str| {
            let index = workflow.states().iter().position(|s| s == state).unwrap();
            format!("s{index}")
        };
        for state in workflow.states() {
            let declaration = format!("    state \"{state}\" as {}", id(state));
            assert!(
                lines.contains(&declaration.as_str()),
                "{declaration}\n{mermaid}"
            );
        }
        let starts: Vec<&&str> = lines.iter().filter(|l| l.contains("[*] -->")).collect();
        assert_eq!(starts, [&format!("    [*] --> {}", id(workflow.initial()))]);
        let ends = lines.iter().filter(|l| l.ends_with("--> [*]")).count();
        assert_eq!(ends, workflow.terminal().len());
        let edges = lines.iter().filter(|l| l.contains(" : ")).count();
        assert_eq!(edges, edge_count(workflow), "{mermaid}");
    }
    let order = set.get("distribution_order").unwrap().to_mermaid();
    assert!(
        order.contains(" : push [rule:push_checks] / distributor\n"),
        "{order}"
    );
    assert!(order.contains(" : delivered / system\n"), "{order}");
}

#[test]
fn dot_draws_every_state_edge_start_and_end() {
    let (_, set) = default_pack();
    for workflow in set.iter() {
        let dot = workflow.to_dot();
        assert!(dot.starts_with(&format!("digraph \"{}\" {{\n", workflow.name())));
        assert!(dot.ends_with("}\n"));
        assert_eq!(dot.matches('{').count(), dot.matches('}').count());
        let edges = dot.lines().filter(|l| l.contains(" -> s")).count();
        assert_eq!(edges, edge_count(workflow) + 1, "{dot}");
        let terminal = dot.matches("peripheries=2").count();
        assert_eq!(terminal, workflow.terminal().len());
    }
    let order = set.get("distribution_order").unwrap().to_dot();
    assert!(
        order.contains("[label=\"push [rule:push_checks] / distributor\"]"),
        "{order}"
    );
}

#[test]
fn odd_names_are_escaped() {
    let text = r#"
workflow: odd
initial: 'say "hi"'
terminal: ['semi;colon']
states: ['say "hi"', 'back\slash', 'semi;colon']
transitions:
  - event: 'go#1'
    from: 'say "hi"'
    to: 'back\slash'
  - event: stop
    from: 'back\slash'
    to: 'semi;colon'
"#;
    let file = SourceFile {
        kind: FileKind::Workflow,
        path: "odd.yaml".into(),
        stem: "odd".into(),
        text: text.into(),
    };
    let set = workflow::load(&RulePack::new("test".into(), vec![file]), &vocabulary()).unwrap();
    let odd = set.get("odd").unwrap();
    let dot = odd.to_dot();
    assert!(dot.contains(r#"s0 [label="say \"hi\""];"#), "{dot}");
    assert!(dot.contains(r#"s1 [label="back\\slash"];"#), "{dot}");
    let mermaid = odd.to_mermaid();
    assert!(
        mermaid.contains("state \"say #34;hi#34;\" as s0"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("state \"back#92;slash\" as s1"),
        "{mermaid}"
    );
    assert!(mermaid.contains("s0 --> s1 : go#35;1\n"), "{mermaid}");
    assert!(
        mermaid.contains("state \"semi#59;colon\" as s2"),
        "{mermaid}"
    );
    for line in mermaid.lines().skip(1) {
        // The only quotes Mermaid sees are the ones around state descriptions.
        assert!(
            line.matches('"').count() == 0 || line.starts_with("    state \""),
            "{line}"
        );
        assert!(!line.contains(';') || line.contains('#'), "{line}");
    }
}

/// A small validator for the keywords the generated schema uses. It refuses any other keyword,
/// so a schema it does not understand fails the test instead of passing unchecked.
fn validate(root: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        panic!("schema at {at} is not an object: {schema}");
    };
    const ANNOTATIONS: &[&str] = &["$schema", "title", "description", "$defs", "default"];
    for keyword in schema.keys() {
        let known = [
            "type",
            "properties",
            "required",
            "additionalProperties",
            "items",
            "anyOf",
            "$ref",
        ];
        assert!(
            known.contains(&keyword.as_str()) || ANNOTATIONS.contains(&keyword.as_str()),
            "the test validator does not know `{keyword}`"
        );
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = root.pointer(reference.strip_prefix('#').unwrap()).unwrap();
        validate(root, target, value, at, errors);
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
            other => panic!("bad type {other}"),
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !types.contains(&actual) {
            errors.push(format!("{at}: {actual} is not {types:?}"));
            return;
        }
    }
    if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
        let any = alternatives.iter().any(|alternative| {
            let mut inner = Vec::new();
            validate(root, alternative, value, at, &mut inner);
            inner.is_empty()
        });
        if !any {
            errors.push(format!("{at}: matches no alternative"));
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(root, items, item, &format!("{at}/{i}"), errors);
        }
    }
    let Some(object) = value.as_object() else {
        return;
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    for required in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !object.contains_key(required.as_str().unwrap()) {
            errors.push(format!("{at}: missing {required}"));
        }
    }
    for (key, item) in object {
        match properties.and_then(|p| p.get(key)) {
            Some(property) => validate(root, property, item, &format!("{at}/{key}"), errors),
            None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                errors.push(format!("{at}: unknown key {key}"));
            }
            None => {}
        }
    }
}

fn check(value: &Value) -> Vec<String> {
    let schema = workflow::json_schema();
    let mut errors = Vec::new();
    validate(&schema, &schema, value, "", &mut errors);
    errors
}

fn default_files_as_json() -> Vec<(String, Value)> {
    let (pack, _) = default_pack();
    pack.files(FileKind::Workflow)
        .map(|f| (f.stem.clone(), marked_yaml::from_yaml(0, &f.text).unwrap()))
        .collect()
}

#[test]
fn the_schema_accepts_the_default_pack() {
    let files = default_files_as_json();
    assert_eq!(files.len(), 3);
    for (stem, value) in files {
        assert_eq!(check(&value), Vec::<String>::new(), "{stem}");
    }
}

#[test]
fn the_schema_rejects_misspelt_keys_and_wrong_shapes() {
    let schema = workflow::json_schema();
    assert_eq!(schema["additionalProperties"], json!(false));
    let (_, partnership) = default_files_as_json()
        .into_iter()
        .find(|(stem, _)| stem == "partnership")
        .unwrap();
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut copy = partnership.clone();
        f(&mut copy);
        check(&copy)
    };
    let top = mutate(&|v| {
        let states = v.as_object_mut().unwrap().remove("states").unwrap();
        v["staets"] = states;
    });
    assert_eq!(top, [": missing \"states\"", ": unknown key staets"]);
    let nested = mutate(&|v| {
        let t = v["transitions"][0].as_object_mut().unwrap();
        let effects = t.remove("effects").unwrap();
        t.insert("efects".into(), effects);
    });
    assert_eq!(nested, ["/transitions/0: unknown key efects"]);
    let shape = mutate(&|v| v["transitions"][1]["from"] = json!(7));
    assert_eq!(shape, ["/transitions/1/from: matches no alternative"]);
    let list = mutate(&|v| v["transitions"][1]["from"] = json!(["partnered", "rejected"]));
    assert_eq!(list, Vec::<String>::new());
}
