//! The scenario runner: YAML files of host-protocol steps, each sent as one request line to an
//! engine exactly as `distributary exec` receives it, with the answer checked against what the
//! step expects.
//!
//! A step is `{as, cmd, args?, user?, at?, key?}` plus at most one expectation:
//! `result: {...}` (the answer is ok and contains this subset; arrays must match in length),
//! `error: code` (the answer fails with this code; `details: {...}` is then a subset of the
//! error object, and `message: text` asks that its message contain `text`), or nothing (the
//! answer must be ok).
//! `save: {name: path.in.result}` keeps a value for later steps, written `${name}` in any string.
//! A step `{write_rules: folder}` copies a folder's pack files over the engine's pack directory
//! (a copy of the scenario's pack, made for the run), as a rule author's edit before
//! `reload_rules`.

pub mod pg;
pub mod workload;

use std::{collections::BTreeMap, path::Path};

use distributary::{Engine, EngineOptions, FileKind, RulePack};
use marked_yaml::{parse_yaml_with_options, LoaderOptions, Node};
use serde::Deserialize;
use serde_json::{json, Value};

/// One scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows.
    pub name: String,
    /// The rule pack to run with, relative to the repository root (default: `rules`).
    #[serde(default)]
    pub rules: Option<String>,
    /// A folder (relative to the repository root) whose files replace or join the pack's files
    /// of the same kind and name: how a rule author's edit is tested.
    #[serde(default)]
    pub rules_overlay: Option<String>,
    /// Deliver pushed orders after each command (default); `false` leaves them queued until a
    /// `drain: true` step.
    #[serde(default = "yes")]
    pub auto_deliver: bool,
    /// Load the marketplace adapters built in `target/` (the workspace build makes them).
    #[serde(default)]
    pub plugins: bool,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

fn yes() -> bool {
    true
}

/// One request and what its answer must be, or (`drain: true`) a delivery drain.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub drain: bool,
    /// A folder (relative to the repository root) whose files are written over the engine's
    /// pack directory.
    #[serde(default)]
    pub write_rules: Option<String>,
    #[serde(rename = "as", default)]
    pub actor: String,
    #[serde(default)]
    pub cmd: String,
    #[serde(default)]
    pub args: Option<Value>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(default)]
    pub error: Option<String>,
    /// With `error`: what the error object must contain besides its code.
    #[serde(default)]
    pub details: Option<Value>,
    /// With `error`: text the error's message must contain.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub save: BTreeMap<String, String>,
}

/// The repository root (the parent of this crate).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs a scenario file against a fresh in-memory store; the error names the step that failed.
pub fn run_file(path: &Path) -> Result<usize, String> {
    run_file_observed(path, &mut |_, _| {})
}

/// [`run_file`] against the store at `db`, which must be fresh (a PostgreSQL database made for
/// the run, [`pg::Database`]).
pub fn run_file_on(path: &Path, db: &Path) -> Result<usize, String> {
    run_file_in(path, db, &mut |_, _| {})
}

/// [`run_file`], showing `observe` every request line sent and the answer line it got.
pub fn run_file_observed(
    path: &Path,
    observe: &mut dyn FnMut(&Value, &Value),
) -> Result<usize, String> {
    run_file_in(path, Path::new(":memory:"), observe)
}

fn run_file_in(
    path: &Path,
    db: &Path,
    observe: &mut dyn FnMut(&Value, &Value),
) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let scenario = read_scenario(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let rules_dir = repo_root().join(scenario.rules.as_deref().unwrap_or("rules"));
    let mut rules = RulePack::from_dir(&rules_dir).map_err(|e| e.to_string())?;
    if let Some(overlay) = &scenario.rules_overlay {
        let overlay = RulePack::from_dir(&repo_root().join(overlay)).map_err(|e| e.to_string())?;
        let mut files: Vec<_> = rules
            .files_all()
            .filter(|f| {
                !overlay
                    .files_all()
                    .any(|o| o.kind == f.kind && o.stem == f.stem)
            })
            .cloned()
            .collect();
        files.extend(overlay.files_all().cloned());
        rules = RulePack::new(format!("{} + {}", rules.origin(), overlay.origin()), files);
    }
    // The engine reads its pack from a directory of its own, which `write_rules` steps edit.
    let pack_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    write_pack(&rules, pack_dir.path())?;
    let rules = RulePack::from_dir(pack_dir.path()).map_err(|e| e.to_string())?;
    let plugins_dir = scenario.plugins.then(plugin_dir);
    if let Some(dir) = &plugins_dir {
        if !dir
            .join(format!(
                "{}distributary_adapter_shopee{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ))
            .exists()
        {
            return Err(format!(
                "{}: the adapters are not built in {}: run `cargo build --workspace` first",
                path.display(),
                dir.display()
            ));
        }
    }
    let options = EngineOptions {
        rules,
        plugins_dir,
        auto_deliver: scenario.auto_deliver,
        ..EngineOptions::default()
    };
    let engine = Engine::open(db, options).map_err(|e| format!("{e:?}"))?;
    let mut vars = BTreeMap::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        if let Some(folder) = &step.write_rules {
            let edit = RulePack::from_dir(&repo_root().join(folder))
                .map_err(|e| format!("step {}: {e}", index + 1))?;
            write_pack(&edit, pack_dir.path())?;
            continue;
        }
        run_step(&engine, step, &mut vars, observe).map_err(|e| {
            format!(
                "{} step {} (`{}` as {}): {e}",
                path.display(),
                index + 1,
                step.cmd,
                step.actor
            )
        })?;
    }
    Ok(scenario.steps.len())
}

/// Writes a pack's files under `dir` (`workflows/`, `scripts/`, `tests/`), replacing files of
/// the same name.
fn write_pack(pack: &RulePack, dir: &Path) -> Result<(), String> {
    for file in pack.files_all() {
        let (folder, extension) = match file.kind {
            FileKind::Workflow => ("workflows", "yaml"),
            FileKind::Script => ("scripts", "rhai"),
            FileKind::Test => ("tests", "yaml"),
        };
        let folder = dir.join(folder);
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        std::fs::write(
            folder.join(format!("{}.{extension}", file.stem)),
            &file.text,
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A scenario file's text as a [`Scenario`]; an error names the line and column to blame.
fn read_scenario(text: &str) -> Result<Scenario, String> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let node = parse_yaml_with_options(0, text, options).map_err(|e| e.to_string())?;
    serde_json::from_value(to_json(&node)).map_err(|error| {
        let steps = node.as_mapping().and_then(|m| m.get_sequence("steps"));
        for (index, step) in steps.iter().flat_map(|s| s.iter()).enumerate() {
            if let Err(error) = serde_json::from_value::<Step>(to_json(step)) {
                // A block mapping is marked where its first `:` is; its first key is the step's.
                let first_key = step.as_mapping().and_then(|m| m.keys().next());
                let span = first_key.map_or(step.span(), |key| key.span());
                let at = span.start().map(|m| (m.line(), m.column()));
                let (line, column) = at.unwrap_or((1, 1));
                return format!("step {} at line {line} column {column}: {error}", index + 1);
            }
        }
        error.to_string()
    })
}

/// A YAML node as JSON, as serde_yaml read scenario files: a quoted scalar is text, and a plain
/// one is resolved as YAML 1.2's core schema does (null, booleans, decimal integers, floats;
/// hexadecimal and octal integers stay text, which no scenario writes).
fn to_json(node: &Node) -> Value {
    match node {
        Node::Mapping(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.as_str().to_owned(), to_json(value)))
                .collect(),
        ),
        Node::Sequence(list) => Value::Array(list.iter().map(to_json).collect()),
        Node::Scalar(scalar) if !scalar.may_coerce() => Value::String(scalar.as_str().to_owned()),
        Node::Scalar(scalar) => plain_scalar(scalar.as_str()),
    }
}

fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(integer) = text.parse::<i64>() {
        return Value::from(integer);
    }
    if let Ok(integer) = text.parse::<u64>() {
        return Value::from(integer);
    }
    let numeric = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    match text.parse::<f64>().ok().filter(|_| numeric) {
        Some(float) => serde_json::Number::from_f64(float).map_or(Value::Null, Value::Number),
        None => Value::String(text.to_owned()),
    }
}

/// Where the workspace build puts the adapters' libraries.
pub fn plugin_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::path::PathBuf::from(dir).join("debug"),
        None => repo_root().join("target/debug"),
    }
}

fn run_step(
    engine: &Engine,
    step: &Step,
    vars: &mut BTreeMap<String, Value>,
    observe: &mut dyn FnMut(&Value, &Value),
) -> Result<(), String> {
    if step.drain {
        engine
            .drain_deliveries()
            .map_err(|e| format!("drain: {e}"))?;
        return Ok(());
    }
    let mut request = json!({"id": "s", "as": step.actor, "cmd": step.cmd});
    for (field, value) in [("user", &step.user), ("at", &step.at), ("key", &step.key)] {
        if let Some(value) = value {
            request[field] = json!(value);
        }
    }
    if let Some(args) = &step.args {
        request["args"] = substitute(args, vars)?;
    }
    let answer = engine.execute_line(&request.to_string());
    observe(&request, &answer);
    let ok = answer["ok"] == json!(true);
    match (&step.error, &step.result) {
        (Some(code), _) => {
            if ok || answer["error"]["code"] != json!(code) {
                return Err(format!("expected error `{code}`, got {answer}"));
            }
            if let Some(details) = &step.details {
                let details = substitute(details, vars)?;
                contains(&answer["error"], &details, "error")
                    .map_err(|e| format!("{e}\n  error: {}", answer["error"]))?;
            }
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            if let Some(expected) = step.message.as_deref().filter(|m| !message.contains(m)) {
                return Err(format!(
                    "expected a message containing {expected:?}, got {answer}"
                ));
            }
        }
        (None, expected) => {
            if !ok {
                return Err(format!("expected ok, got {answer}"));
            }
            if let Some(expected) = expected {
                let expected = substitute(expected, vars)?;
                contains(&answer["result"], &expected, "result")
                    .map_err(|e| format!("{e}\n  answer: {}", answer["result"]))?;
            }
        }
    }
    for (name, path) in &step.save {
        let value = path
            .split('.')
            .try_fold(&answer["result"], |v, key| v.get(key))
            .ok_or_else(|| format!("no `{path}` in the answer to save as `{name}`"))?;
        vars.insert(name.clone(), value.clone());
    }
    Ok(())
}

/// Replaces `${name}` in every string with a saved value.
fn substitute(value: &Value, vars: &BTreeMap<String, Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => {
            let mut out = text.clone();
            for (name, saved) in vars {
                let rendered = saved
                    .as_str()
                    .map_or_else(|| saved.to_string(), str::to_owned);
                out = out.replace(&format!("${{{name}}}"), &rendered);
            }
            if out.contains("${") {
                return Err(format!("unknown variable in {text:?}"));
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute(v, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Whether `actual` contains `expected`: objects by subset, arrays element by element with the
/// same length, scalars equal.
pub fn contains(actual: &Value, expected: &Value, at: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (key, value) in e {
                let inner = a.get(key).ok_or_else(|| format!("{at}.{key} is missing"))?;
                contains(inner, value, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Err(format!("{at} has {} items, expected {}", a.len(), e.len()));
            }
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                contains(x, y, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (a, e) if a == e => Ok(()),
        (a, e) => Err(format!("{at} is {a}, expected {e}")),
    }
}

/// Builds one marketplace adapter with cargo (`cargo build -p <package>`) and copies its
/// library into `into`, a folder for the plugin host to load: how suites outside the workspace
/// build get an adapter.
pub fn build_adapter(package: &str, into: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--message-format=json",
            "--manifest-path",
        ])
        .arg(repo_root().join("Cargo.toml"))
        .args(["-p", package])
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {package}: {e}"));
    assert!(
        output.status.success(),
        "building {package} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let target = package.replace('-', "_");
    let mut copied = 0;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" || message["target"]["name"] != target {
            continue;
        }
        for file in message["filenames"].as_array().into_iter().flatten() {
            let file = Path::new(file.as_str().unwrap_or_default());
            if let (true, Some(name)) = (
                file.to_string_lossy()
                    .ends_with(std::env::consts::DLL_SUFFIX),
                file.file_name(),
            ) {
                std::fs::copy(file, into.join(name))
                    .unwrap_or_else(|e| panic!("copying {}: {e}", file.display()));
                copied += 1;
            }
        }
    }
    assert_eq!(
        copied, 1,
        "expected one {package} library in cargo's report"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_are_typed_and_quoted_ones_text() {
        let node = parse_yaml_with_options(
            0,
            "a: [5, -3, 1.5, 1e3, true, False, ~, null, \"5\", 'true', yes, 0x1F, 18446744073709551615]\n",
            LoaderOptions::default().prevent_coercion(true),
        )
        .unwrap();
        assert_eq!(
            to_json(&node),
            json!({"a": [5, -3, 1.5, 1000.0, true, false, null, null, "5", "true", "yes", "0x1F",
                         18446744073709551615u64]})
        );
    }

    #[test]
    fn a_malformed_step_is_named_with_its_line() {
        let text =
            "name: x\nsteps:\n  - {as: system, cmd: plans}\n  - as: system\n    cmdd: plans\n";
        let error = read_scenario(text).unwrap_err();
        assert!(
            error.starts_with("step 2 at line 4 column 5: unknown field `cmdd`"),
            "{error}"
        );
        let error = read_scenario("name: x\nname: y\nsteps: []\n").unwrap_err();
        assert!(error.contains("Duplicate key"), "{error}");
    }
}
