//! Request lines of the host protocol, each parsed by `Envelope::parse` and then run by
//! `Engine::execute_line` on a fresh in-memory engine with the default rule pack, so parsing,
//! authorisation and dispatch into every handler are fuzzed. An input is up to `LINES_MAX`
//! lines run in order (a seed is a whole scenario), so later lines find what earlier ones made.
//! As with the scenario runner's `save`, `${N.name}` in a line stands for the string field `name`
//! of the ok answer to line `N` (counted from 0): an invitation link is random, so no input could
//! spell it.
//!
//! Besides panics, an answer must have the protocol's shape, and no input may make the engine
//! answer `internal`: that code is for failures no input causes (docs/protocol.md,
//! ARCHITECTURE.md). With `EXEC_LINE_ECHO=1` each line and its answer are printed (to replay a seed
//! or a crash).
#![no_main]

use std::{path::Path, sync::OnceLock};

use distributary::{Engine, EngineOptions, Envelope};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

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
    let mut results: Vec<Map<String, Value>> = Vec::new();
    for line in text.lines().take(LINES_MAX) {
        let line = substitute(line, &results);
        let line = line.as_str();
        let parsed = Envelope::parse(line);
        let answer = engine.execute_line(line);
        if echo() {
            eprintln!("> {line}\n< {answer}");
        }
        let ok = answer.get("ok").and_then(Value::as_bool);
        let mut fields = Map::new();
        match ok {
            Some(true) => {
                assert!(parsed.is_ok(), "{line}: answered ok but does not parse");
                match answer.get("result") {
                    Some(Value::Object(result)) => fields = result.clone(),
                    Some(_) => {}
                    None => panic!("{line}: an ok answer without `result`: {answer}"),
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
        results.push(fields);
    }
});

/// `line` with each `${N.name}` that names a string field of an earlier answer replaced by
/// that string, escaped for a JSON string; anything else is left as written.
fn substitute(line: &str, results: &[Map<String, Value>]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let Some(end) = rest.find('}') else {
            break;
        };
        let value = rest[2..end].split_once('.').and_then(|(index, name)| {
            let fields = results.get(index.parse::<usize>().ok()?)?;
            fields.get(name)?.as_str()
        });
        match value {
            Some(text) => {
                let quoted = Value::String(text.to_owned()).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            None => out.push_str(&rest[..=end]),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether `EXEC_LINE_ECHO` asks for every line and answer on stderr.
fn echo() -> bool {
    static ECHO: OnceLock<bool> = OnceLock::new();
    *ECHO.get_or_init(|| std::env::var_os("EXEC_LINE_ECHO").is_some())
}
