//! Request lines of the host protocol, each parsed by `Envelope::parse` and then run by
//! `Engine::execute_line` on a fresh in-memory engine with the default rule pack, so parsing,
//! authorisation and dispatch into every handler are fuzzed. An input is up to `LINES_MAX`
//! lines run in order (a seed is a whole scenario), so later lines find what earlier ones made.
//! As in the scenario runner's `save`, `${name}` in a line stands for the field `name` of the
//! latest ok answer that had one (an invitation link is random, so no input could spell it).
//!
//! Besides panics, an answer must have the protocol's shape, and no input may make the engine
//! answer `internal`: that code is for failures no input causes (DESIGN.md 7, ARCHITECTURE.md).
#![no_main]

use std::{collections::BTreeMap, path::Path};

use distributary::{Engine, EngineOptions, Envelope};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The most request lines one input runs: a bound on one execution's time.
const LINES_MAX: usize = 256;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let options = EngineOptions::default();
    let engine = match Engine::open(Path::new(":memory:"), options) {
        Ok(engine) => engine,
        Err(error) => panic!("the default pack does not open: {error}"),
    };
    let mut saved: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines().take(LINES_MAX) {
        let line = substitute(line, &saved);
        let line = line.as_str();
        let parsed = Envelope::parse(line);
        let answer = engine.execute_line(line);
        let ok = answer.get("ok").and_then(Value::as_bool);
        match ok {
            Some(true) => {
                assert!(parsed.is_ok(), "{line}: answered ok but does not parse");
                let result = answer.get("result");
                assert!(result.is_some(), "{line}: {answer}");
                if let Some(Value::Object(fields)) = result {
                    for (name, value) in fields {
                        if let Value::String(text) = value {
                            saved.insert(name.clone(), text.clone());
                        }
                    }
                }
            }
            Some(false) => {
                let code = answer
                    .pointer("/error/code")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{line}: an error without a code: {answer}"));
                assert_ne!(code, "internal", "{line}: {answer}");
            }
            None => panic!("{line}: an answer without `ok`: {answer}"),
        }
    }
});

/// `line` with each `${name}` replaced by the saved value, escaped for a JSON string.
fn substitute(line: &str, saved: &BTreeMap<String, String>) -> String {
    let mut line = line.to_owned();
    if !line.contains("${") {
        return line;
    }
    for (name, value) in saved {
        let escaped = Value::String(value.clone()).to_string();
        let escaped = &escaped[1..escaped.len() - 1];
        line = line.replace(&format!("${{{name}}}"), escaped);
    }
    line
}
