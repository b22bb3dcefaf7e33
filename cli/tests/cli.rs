//! The `distributary` binary as a newcomer uses it: `check` on good and broken rule packs (exit
//! codes and where the diagnostics point), `test`, `graph`, and `exec` over stdin/stdout.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_distributary");

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A copy of the default pack with one file edited.
fn broken_copy(file: &str, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["workflows", "scripts", "tests"] {
        fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in fs::read_dir(rules_dir().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap())).unwrap();
        }
    }
    let path = dir.path().join(file);
    let text = fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert_ne!(text, edited, "the edit of {file} changed nothing");
    fs::write(&path, edited).unwrap();
    dir
}

fn check(dir: &Path) -> (i32, String) {
    let out = run(&["check", "--rules", dir.to_str().unwrap()], "");
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_passes_on_the_default_pack() {
    let out = run(&["check", "--rules", rules_dir().to_str().unwrap()], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: 3 workflows, 3 scripts"));
}

#[test]
fn check_fails_on_each_broken_copy_and_points_at_the_culprit() {
    let order = "workflows/distribution_order.yaml";
    let cases: Vec<(&str, tempfile::TempDir, &str, &str)> = vec![
        (
            "unknown state",
            broken_copy(order, |t| t.replacen("to: shipped", "to: shiped", 1)),
            "distribution_order.yaml:",
            "shiped",
        ),
        (
            "misspelt script",
            broken_copy(order, |t| t.replace("rule:push_checks", "rule:push_chekcs")),
            "distribution_order.yaml:",
            "push_checks",
        ),
        (
            "rhai syntax",
            broken_copy("scripts/fees.rhai", |t| format!("{t}\nlet x = ;\n")),
            "fees.rhai:",
            "fees.rhai",
        ),
        (
            "unreachable state",
            broken_copy(order, |t| {
                t.replace("states: [pending,", "states: [limbo, pending,")
            }),
            "distribution_order.yaml:",
            "limbo",
        ),
        (
            "dead end",
            // `shipped` is not terminal; without the withdrawal out of it, it leads nowhere.
            broken_copy(order, |t| {
                t.replace(
                    "from: [pushed, to_pickup, shipped]",
                    "from: [pushed, to_pickup]",
                )
            }),
            "distribution_order.yaml:",
            "shipped",
        ),
        (
            "a transition the engine fires is gone (the contract)",
            broken_copy(order, |t| t.replace("event: delivered", "event: arrived")),
            "distribution_order.yaml:",
            "workflow::contract_transition",
        ),
        (
            "an order guard on a partnership (the contract)",
            broken_copy("workflows/partnership.yaml", |t| {
                t.replacen(
                    "    by: supplier\n",
                    "    by: supplier\n    guards: [stock_available]\n",
                    1,
                )
            }),
            "partnership.yaml:",
            "workflow::not_applicable",
        ),
        (
            "broken yaml",
            broken_copy("workflows/partnership.yaml", |t| {
                t.replace("transitions:", "transitions: [")
            }),
            "partnership.yaml:",
            "partnership.yaml",
        ),
    ];
    for (what, dir, file, culprit) in cases {
        let (code, stderr) = check(dir.path());
        assert_eq!(code, 1, "{what}: exit code, stderr:\n{stderr}");
        let located = stderr.lines().any(|l| {
            l.contains(file)
                && l.split(file).nth(1).is_some_and(|rest| {
                    let mut parts = rest.split(':');
                    parts.next().is_some_and(|n| {
                        n.trim_matches(|c: char| !c.is_ascii_digit())
                            .parse::<u32>()
                            .is_ok()
                    }) && parts.next().is_some_and(|n| {
                        n.trim_matches(|c: char| !c.is_ascii_digit())
                            .parse::<u32>()
                            .is_ok()
                    })
                })
        });
        assert!(located, "{what}: no `{file}line:column` in:\n{stderr}");
        assert!(
            stderr.contains(culprit),
            "{what}: `{culprit}` not named in:\n{stderr}"
        );
    }
}

#[test]
fn usage_errors_exit_with_two() {
    assert_eq!(run(&["check", "--no-such-flag"], "").status.code(), Some(2));
    assert_eq!(
        run(
            &[
                "graph",
                "no_such_workflow",
                "--rules",
                rules_dir().to_str().unwrap()
            ],
            ""
        )
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn test_command_counts_cases_and_fails_when_a_fee_changes() {
    let out = run(&["test", "--rules", rules_dir().to_str().unwrap()], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.trim_end().ends_with(" passed, 0 failed"), "{stdout}");

    let dir = broken_copy("scripts/fees.rhai", |t| {
        t.replace("settings.handling", "settings.handling * 2")
    });
    let out = run(&["test", "--rules", dir.path().to_str().unwrap()], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL ") && stdout.contains("fees.yaml"),
        "{stdout}"
    );
}

#[test]
fn graph_prints_dot_and_mermaid() {
    let rules = rules_dir();
    let dot = run(
        &[
            "graph",
            "distribution_order",
            "--format",
            "dot",
            "--rules",
            rules.to_str().unwrap(),
        ],
        "",
    );
    let dot = String::from_utf8_lossy(&dot.stdout);
    assert!(
        dot.starts_with("digraph") && dot.contains("push_failed") && dot.trim_end().ends_with('}')
    );
    let mermaid = run(
        &["graph", "partnership", "--rules", rules.to_str().unwrap()],
        "",
    );
    let mermaid = String::from_utf8_lossy(&mermaid.stdout);
    assert!(
        mermaid.starts_with("stateDiagram-v2") && mermaid.contains("[*] -->"),
        "{mermaid}"
    );
}

/// `check --db` runs the pack's rule tests as a reload does: a fee rule edited without its tests
/// is refused with every failing test located, and the store is left as it was.
#[test]
fn check_with_a_store_refuses_a_pack_failing_its_own_rule_tests() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let db = db.to_str().unwrap();
    let setup = r#"{"id": 1, "as": "system", "cmd": "create_account", "args": {"account": "dis", "plan": "V1", "inventory": true, "currency": "MYR"}}"#;
    let rules = rules_dir();
    let out = run(
        &["exec", "--db", db, "--rules", rules.to_str().unwrap()],
        setup,
    );
    assert!(out.status.success());
    let doubled = broken_copy("scripts/fees.rhai", |t| {
        t.replace("settings.handling", "settings.handling * 2")
    });
    let doubled_dir = doubled.path().to_str().unwrap();
    let before = fs::read(Path::new(db)).unwrap();

    let out = run(&["check", "--rules", doubled_dir, "--db", db], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rules_invalid") && stderr.contains("5 of its own rule tests"),
        "{stderr}"
    );
    let located = stderr
        .lines()
        .filter(|l| l.contains("fees.yaml:") && l.contains("rules::test_failed"))
        .count();
    assert_eq!(located, 5, "every failing test, located: {stderr}");
    assert_eq!(
        fs::read(Path::new(db)).unwrap(),
        before,
        "`check --db` wrote"
    );

    // Without a store, `check` compiles the pack and runs no tests (`distributary test` does).
    let out = run(&["check", "--rules", doubled_dir], "");
    assert_eq!(out.status.code(), Some(0));
}

/// `check --db`: what installing a pack in a live store would do, nothing written; and opening
/// the store with a pack that strands live orders is refused until the workflow migrates them.
#[test]
fn check_with_a_store_reports_the_migration_and_opening_applies_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let db = db.to_str().unwrap();
    let setup = concat!(
        r#"{"id": 1, "as": "system", "cmd": "create_account", "args": {"account": "dis", "plan": "V1", "inventory": true, "currency": "MYR"}}"#,
        "\n",
        r#"{"id": 2, "as": "dis", "cmd": "import_orders", "args": {"marketplace": "shopee", "format": "canonical", "payload": [{"marketplace": "shopee", "shop": "s1", "order_sn": "1", "status": "ready_to_ship", "lines": [{"store_sku": "X", "qty": 1, "unit_price": "9.90"}]}]}}"#,
        "\n",
    );
    let rules = rules_dir();
    let out = run(
        &["exec", "--db", db, "--rules", rules.to_str().unwrap()],
        setup,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The order waits in `pending`; the edited pack calls that state `waiting`.
    let rename = |t: String| {
        t.replace("initial: pending", "initial: waiting")
            .replace("[pending, ", "[waiting, ")
            .replace("from: pending", "from: waiting")
            .replace("to: pending", "to: waiting")
    };
    let renamed = broken_copy("workflows/distribution_order.yaml", rename);
    let renamed_dir = renamed.path().to_str().unwrap();
    let bytes = || fs::read(Path::new(db)).unwrap();
    let before = bytes();

    let out = run(&["check", "--rules", renamed_dir, "--db", db], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rules_invalid") && stderr.contains("1 distribution_order in `pending`"),
        "{stderr}"
    );
    let out = run(&["exec", "--db", db, "--rules", renamed_dir], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`pending`"));
    assert_eq!(bytes(), before, "a refused pack wrote to the store");

    let workflow = renamed.path().join("workflows/distribution_order.yaml");
    let text = fs::read_to_string(&workflow).unwrap();
    fs::write(&workflow, format!("{text}migrate: {{pending: waiting}}\n")).unwrap();
    let out = run(&["check", "--rules", renamed_dir, "--db", db], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("migrate 1 distribution_order from `pending` to `waiting`"),
        "{stdout}"
    );
    assert_eq!(bytes(), before, "`check --db` wrote to the store");

    let query = r#"{"id": 3, "as": "dis", "cmd": "order", "args": {"order": "shopee:1"}}"#;
    let out = run(&["exec", "--db", db, "--rules", renamed_dir], query);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["result"]["state"], "waiting", "{answer}");
    let history = answer["result"]["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (&last["event"], &last["from"], &last["by"]),
        (&"migrate".into(), &"pending".into(), &"system".into()),
        "{answer}"
    );
}

#[test]
fn exec_answers_every_line_and_keeps_what_it_answered() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let db = db.to_str().unwrap();
    let first = concat!(
        r#"{"id": 1, "as": "system", "cmd": "create_account", "args": {"account": "sup", "plan": "V3", "inventory": true, "currency": "MYR"}}"#,
        "\n",
        "this is not json\n",
        "\n",
        r#"{"id": 3, "as": "sup", "cmd": "create_warehouse", "args": {"warehouse": "KL", "name": "KL", "region": "Selangor"}}"#,
        "\n",
    );
    let out = run(&["exec", "--db", db], first);
    assert!(out.status.success());
    let answers: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 3, "one answer a non-empty line");
    assert_eq!(answers[0]["ok"], true);
    assert_eq!(answers[1]["error"]["code"], "bad_request");
    assert_eq!(answers[2]["id"], 3);
    // A second process sees what the first answered.
    let second = r#"{"id": "again", "as": "sup", "cmd": "create_warehouse", "args": {"warehouse": "KL", "name": "KL", "region": "Selangor"}}"#;
    let out = run(&["exec", "--db", db], second);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["error"]["code"], "bad_request", "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already exists"));
}

#[test]
fn the_demo_runs_to_the_end_and_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    // The adapters are loaded from beside the binary: the workspace build puts them there.
    let out = run(&["demo", "--db", db.to_str().unwrap()], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("adapters loaded: lazada, shopee, temu, tiktok_shop"),
        "{stdout}"
    );
    assert!(stdout.contains("refused before any charge"), "{stdout}");
    assert!(stdout.contains(": reconciled"), "{stdout}");
    for workflow in ["partnership", "distribution_product", "distribution_order"] {
        let graph = fs::read_to_string(dir.path().join(format!("{workflow}.mmd"))).unwrap();
        assert!(graph.starts_with("stateDiagram-v2"));
    }
    // A second run refuses to reuse the store.
    let again = run(&["demo", "--db", db.to_str().unwrap()], "");
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn schema_prints_the_workflow_or_the_protocol_schema() {
    let workflow = run(&["schema"], "");
    assert!(workflow.status.success());
    let workflow: serde_json::Value = serde_json::from_slice(&workflow.stdout).expect("JSON");
    assert_eq!(workflow["title"], "Distributary workflow");
    let protocol = run(&["schema", "--protocol"], "");
    assert!(protocol.status.success());
    let protocol: serde_json::Value = serde_json::from_slice(&protocol.stdout).expect("JSON");
    assert_eq!(protocol, distributary::protocol::json_schema());
    for cmd in distributary::command::names() {
        assert!(
            protocol["$defs"][format!("answer.{cmd}")].is_object(),
            "{cmd}"
        );
    }
}

#[test]
fn exec_loads_the_adapters_beside_it_by_default() {
    let lines = concat!(
        r#"{"id": 1, "as": "system", "cmd": "create_account", "args": {"account": "acme", "plan": "V3", "inventory": true, "currency": "MYR"}}"#,
        "\n",
        r#"{"id": 2, "as": "acme", "cmd": "plugins"}"#,
        "\n",
    );
    let out = run(&["exec", "--db", ":memory:"], lines);
    assert!(out.status.success());
    let answers: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let plugins = answers[1]["result"]["plugins"].as_array().expect("plugins");
    assert_eq!(plugins.len(), 4, "{}", answers[1]);
}
