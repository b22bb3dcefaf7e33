//! Every request and every answer of the scenario files validates against the protocol's JSON
//! Schema (`distributary schema --protocol`), and the schema refuses what drifts from it.

use std::{collections::HashMap, path::Path};

use distributary::protocol::{answer_def, json_schema};
use distributary_tests::{repo_root, run_file_observed};
use jsonschema::Validator;
use serde_json::{json, Value};

/// A validator of the answer line to `cmd`: the answer's definition, with the schema's `$defs`
/// (a command the protocol lacks can only fail).
fn answer_validator(schema: &Value, cmd: &str) -> Validator {
    let def = match schema["$defs"].get(answer_def(cmd)) {
        Some(_) => answer_def(cmd),
        None => "failure".to_owned(),
    };
    let pointer = json!({"$defs": schema["$defs"], "$ref": format!("#/$defs/{def}")});
    jsonschema::draft202012::new(&pointer).expect("the answer schema compiles")
}

fn problems(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

#[test]
fn every_scenario_request_and_answer_validates() {
    let schema = json_schema();
    let requests = jsonschema::draft202012::new(&schema).expect("the protocol schema compiles");
    let mut answers: HashMap<String, Validator> = HashMap::new();
    let mut failures = Vec::new();
    let mut seen = 0;
    let mut dir: Vec<_> = std::fs::read_dir(repo_root().join("tests/scenarios"))
        .expect("scenarios")
        .map(|e| e.expect("entry").path())
        .collect();
    dir.sort();
    for path in dir
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        run_file_observed(Path::new(path), &mut |request, answer| {
            seen += 1;
            let cmd = request["cmd"].as_str().unwrap_or_default();
            // What the schema refuses, the engine refuses as bad input (the schema cannot say
            // every bound, so the engine may refuse more).
            let refused = ["bad_request", "unknown_command"]
                .map(|code| json!(code))
                .contains(&answer["error"]["code"]);
            if !refused {
                for problem in problems(&requests, request) {
                    failures.push(format!("{name:?} request {request}: {problem}\n  {answer}"));
                }
            }
            let validator = answers
                .entry(cmd.to_owned())
                .or_insert_with(|| answer_validator(&schema, cmd));
            for problem in problems(validator, answer) {
                failures.push(format!("{name:?} answer to {cmd}: {problem}\n  {answer}"));
            }
        })
        .expect("the scenario passes");
    }
    assert!(seen > 100, "only {seen} requests were seen");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_schema_refuses_what_drifts() {
    let schema = json_schema();
    let requests = jsonschema::draft202012::new(&schema).expect("compiles");
    for bad in [
        json!({"as": "acme", "cmd": "no_such_command"}),
        json!({"as": "acme", "cmd": "push", "args": {"order": 7}}),
        json!({"as": "acme", "cmd": "push", "args": {"order": "o", "extra": 1}}),
        json!({"cmd": "push", "args": {"order": "o"}}),
    ] {
        assert!(!requests.is_valid(&bad), "accepted {bad}");
    }
    assert!(
        requests.is_valid(&json!({"id": 1, "as": "acme", "cmd": "push", "args": {"order": "o"}}))
    );
    let answers = answer_validator(&schema, "balances");
    let failure = json!({"id": 1, "ok": false, "error": {"code": "not_found", "message": "m"}});
    assert!(answers.is_valid(&failure));
    let unknown_code = json!({"id": 1, "ok": false, "error": {"code": "oops", "message": "m"}});
    assert!(!answers.is_valid(&unknown_code));
}
