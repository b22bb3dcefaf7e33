//! Workflow diagnostics, driven by the cases in `tests/fixtures/workflows/<case>/*.yaml`.
//!
//! Each case folder is a rule pack's `workflows/` folder. A file's `# expect: <code> <line>:<col>
//! <culprit>` comments list exactly the problems it must produce; a case with no expectation must
//! load clean. The rendered report of every broken case is snapshotted.

use std::{fs, path::Path};

use distributary::{
    workflow::{self, Vocabulary, WorkflowErrors},
    FileKind, RulePack, SourceFile,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/workflows");

fn vocabulary() -> Vocabulary {
    Vocabulary::builtin(vec![
        "push_checks".into(),
        "fees".into(),
        "allocate_warehouse".into(),
    ])
}

/// One expected problem: (path, code, line, column, culprit).
type Expected = (String, String, usize, usize, String);

/// The pack of one case, with paths relative to the crate so snapshots do not depend on where the
/// checkout lives, and the problems its files expect.
fn case(name: &str) -> (RulePack, Vec<Expected>) {
    case_in(FIXTURES, "tests/fixtures/workflows", name)
}

/// [`case`] for the folder `name` of `fixtures`, its paths shown under `shown_dir`.
fn case_in(fixtures: &str, shown_dir: &str, name: &str) -> (RulePack, Vec<Expected>) {
    let dir = Path::new(fixtures).join(name);
    let mut files = Vec::new();
    let mut expected = Vec::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let shown = format!("{shown_dir}/{name}/{stem}.yaml");
        let text = fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("# expect: ") else {
                continue;
            };
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let [code, position, culprit] = parts[..] else {
                panic!("{shown}: malformed expectation `{line}`");
            };
            let (l, c) = position.split_once(':').unwrap();
            expected.push((
                shown.clone(),
                code.to_owned(),
                l.parse().unwrap(),
                c.parse().unwrap(),
                culprit.to_owned(),
            ));
        }
        files.push(SourceFile {
            kind: FileKind::Workflow,
            path: shown,
            stem,
            text,
        });
    }
    expected.sort();
    (RulePack::new(format!("fixture {name}"), files), expected)
}

fn render(errors: &WorkflowErrors) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    let mut out = String::new();
    handler.render_report(&mut out, errors).unwrap();
    out
}

fn case_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_default_pack_loads_clean() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules");
    let pack = RulePack::from_dir(Path::new(dir)).unwrap();
    let set = match workflow::load(&pack, &vocabulary()) {
        Ok(set) => set,
        Err(errors) => panic!("{}", render(&errors)),
    };
    let names: Vec<&str> = set.iter().map(|w| w.name()).collect();
    assert_eq!(
        names,
        ["distribution_order", "distribution_product", "partnership"]
    );
    let embedded = workflow::load(&RulePack::embedded(), &vocabulary()).unwrap();
    assert_eq!(embedded.len(), 3);
}

#[test]
fn every_fixture_reports_exactly_its_expected_problems() {
    let names = case_names();
    assert!(names.len() >= 10, "fixtures missing: {names:?}");
    let mut mismatches = Vec::new();
    for name in names {
        if let Err(mismatch) = check_case(&name) {
            mismatches.push(mismatch);
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

/// Loads one case and compares its problems with its expectations; snapshots the report.
fn check_case(name: &str) -> Result<(), String> {
    let (pack, expected) = case(name);
    let result = workflow::load(&pack, &vocabulary());
    if expected.is_empty() {
        return match result {
            Ok(_) => Ok(()),
            Err(errors) => Err(format!(
                "case {name} should load clean:\n{}",
                render(&errors)
            )),
        };
    }
    let errors = match result {
        Ok(_) => return Err(format!("case {name} loaded, but expects {expected:?}")),
        Err(errors) => errors,
    };
    let rendered = render(&errors);
    let mut found: Vec<Expected> = errors
        .problems()
        .iter()
        .map(|p| {
            let at = (p.line(), p.column(), p.culprit().to_owned());
            (p.path().to_owned(), p.code().to_owned(), at.0, at.1, at.2)
        })
        .collect();
    found.sort();
    if found != expected {
        return Err(format!(
            "case {name}:\n found {found:?}\nexpected {expected:?}\n{rendered}"
        ));
    }
    for (path, code, line, column, _) in &expected {
        let location = format!("{path}:{line}:{column}");
        if !rendered.contains(&location) || !rendered.contains(code.as_str()) {
            return Err(format!(
                "case {name}: no {location} or {code} in\n{rendered}"
            ));
        }
    }
    insta::assert_snapshot!(name.to_owned(), rendered);
    Ok(())
}

/// The engine's contract (`Vocabulary::engine`): a pack without a workflow the engine drives,
/// without a state its code relies on, with a built-in on a workflow it does not apply to, or with
/// a migration onto an undeclared state is refused, each problem located.
#[test]
fn a_pack_that_breaks_the_engine_contract_is_refused_with_located_diagnostics() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let (pack, mut expected) = case_in(fixtures, "tests/fixtures", "contract");
    // The pack has no `distribution_product` workflow: a problem with no text to point at.
    expected.push((
        "fixture contract/workflows/distribution_product.yaml".to_owned(),
        "workflow::contract_workflow".to_owned(),
        1,
        1,
        String::new(),
    ));
    expected.sort();
    let scripts = vec![
        "push_checks".into(),
        "fees".into(),
        "allocate_warehouse".into(),
    ];
    // Without the contract only the migration is wrong: the rest is the contract's alone.
    let alone = workflow::load(&pack, &Vocabulary::builtin(scripts.clone())).unwrap_err();
    let codes: Vec<&str> = alone.problems().iter().map(|p| p.code()).collect();
    assert_eq!(codes, ["workflow::bad_migration"], "{}", render(&alone));
    let errors = workflow::load(&pack, &Vocabulary::engine(scripts)).unwrap_err();
    let mut found: Vec<Expected> = errors
        .problems()
        .iter()
        .map(|p| {
            (
                p.path().to_owned(),
                p.code().to_owned(),
                p.line(),
                p.column(),
                p.culprit().to_owned(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(found, expected, "{}", render(&errors));
    insta::assert_snapshot!(render(&errors));
}

#[test]
fn a_misspelt_script_suggests_the_right_one() {
    let (pack, _) = case("unknown_script");
    let errors = workflow::load(&pack, &vocabulary()).unwrap_err();
    let [problem] = errors.problems() else {
        panic!("expected one problem, got {errors:?}");
    };
    assert_eq!(problem.help_text(), Some("did you mean `push_checks`?"));
}

#[test]
fn the_summary_counts_the_problems() {
    let (pack, expected) = case("many_problems");
    let errors = workflow::load(&pack, &vocabulary()).unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!("{} problems in workflows", expected.len())
    );
    let (pack, _) = case("dead_end");
    let errors = workflow::load(&pack, &vocabulary()).unwrap_err();
    assert_eq!(errors.to_string(), "1 problem in workflows");
}

#[test]
fn odd_inputs_are_diagnostics_not_panics() {
    #[rustfmt::skip]
    let cases: &[(&str, &[&str])] = &[
        ("", &["workflow::missing_key"; 5]),
        ("# only a comment\n", &["workflow::missing_key"; 5]),
        ("- a list\n", &["workflow::syntax"]),
        ("workflow: &a partnership\ninitial: *a\n", &["workflow::syntax"]),
        ("workflow: !!str partnership\n", &["workflow::syntax"]),
        ("? [a]\n: b\n", &["workflow::syntax"]),
        ("workflow: [\n", &["workflow::syntax"]),
        ("workflow: {a: b}\ninitial: x\nterminal: x\nstates: []\ntransitions: {}\n",
         &["workflow::invalid_value"; 3]),
    ];
    for (text, codes) in cases {
        let file = SourceFile {
            kind: FileKind::Workflow,
            path: "partnership.yaml".into(),
            stem: "partnership".into(),
            text: (*text).into(),
        };
        let pack = RulePack::new("odd".into(), vec![file]);
        let errors = workflow::load(&pack, &vocabulary()).unwrap_err();
        let found: Vec<&str> = errors.problems().iter().map(|p| p.code()).collect();
        assert_eq!(&found, codes, "{text:?}:\n{}", render(&errors));
    }
}

/// Found by fuzzing (`fuzz/`, target `workflow_yaml`): a syntax problem's label was one byte
/// long, so at a multi-byte character it cut the character in two, and `culprit()` was empty.
#[test]
fn a_syntax_problem_labels_a_whole_multibyte_character() {
    for (text, culprit) in [
        ("\u{693}", "\u{693}"),
        ("é", "é"),
        ("- a\n", "-"),
        ("€: [\n", ""),
    ] {
        let file = SourceFile {
            kind: FileKind::Workflow,
            path: "partnership.yaml".into(),
            stem: "partnership".into(),
            text: text.into(),
        };
        let pack = RulePack::new("odd".into(), vec![file]);
        let errors = workflow::load(&pack, &vocabulary()).unwrap_err();
        let [problem] = errors.problems() else {
            panic!("{text:?}: {}", render(&errors));
        };
        assert_eq!(problem.code(), "workflow::syntax", "{text:?}");
        assert_eq!(problem.culprit(), culprit, "{text:?}");
        for label in miette::Diagnostic::labels(problem).into_iter().flatten() {
            let end = label.offset() + label.len();
            assert!(
                text.is_char_boundary(label.offset()) && text.is_char_boundary(end),
                "{text:?}: label {}..{end} cuts a character",
                label.offset()
            );
        }
    }
}
