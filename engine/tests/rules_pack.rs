//! The default rule pack: it compiles, and its own rule tests pass; a changed copy fails by name.

use distributary::rules::RuleSet;
use distributary::{FileKind, RulePack, SourceFile};

fn describe(report: &distributary::rules::TestReport) -> String {
    report
        .failures()
        .map(|c| {
            format!(
                "{} / {}: {}",
                c.file,
                c.name,
                c.detail.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_default_pack_compiles_and_its_rule_tests_pass() {
    let pack = RulePack::embedded();
    let rules = RuleSet::compile(&pack).expect("default scripts compile");
    assert_eq!(rules.version(), pack.version());
    let names: Vec<&str> = rules.script_names().collect();
    assert_eq!(names, ["allocate_warehouse", "fees", "push_checks"]);
    let report = rules.run_tests(&pack);
    assert_eq!(report.failed(), 0, "{}", describe(&report));
    // At least five cases per script, as the rule pack promises.
    for file in ["push_checks", "fees", "allocate_warehouse"] {
        let cases = report
            .cases
            .iter()
            .filter(|c| c.file.ends_with(&format!("tests/{file}.yaml")))
            .count();
        assert!(cases >= 5, "{file} has {cases} cases");
    }
}

#[test]
fn the_rules_folder_on_disk_matches_the_embedded_pack() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let on_disk = RulePack::from_dir(&dir).expect("rules folder reads");
    assert_eq!(on_disk.version(), RulePack::embedded().version());
}

/// The embedded pack with one file's text changed.
fn pack_with(kind: FileKind, stem: &str, edit: impl Fn(&str) -> String) -> RulePack {
    let pack = RulePack::embedded();
    let mut found = false;
    let files: Vec<SourceFile> = [FileKind::Workflow, FileKind::Script, FileKind::Test]
        .into_iter()
        .flat_map(|k| pack.files(k).cloned().collect::<Vec<_>>())
        .map(|mut file| {
            if file.kind == kind && file.stem == stem {
                found = true;
                file.text = edit(&file.text);
            }
            file
        })
        .collect();
    assert!(found, "{stem} is in the pack");
    RulePack::new("<edited pack>".to_owned(), files)
}

#[test]
fn charging_handling_per_line_fails_the_named_fee_case() {
    let pack = pack_with(FileKind::Script, "fees", |text| {
        let edited = text.replace(
            "goods += line.price * line.qty;",
            "goods += line.price * line.qty + settings.handling;",
        );
        assert_ne!(edited, text);
        edited
    });
    let rules = RuleSet::compile(&pack).expect("edited fees compile");
    assert_ne!(rules.version(), RulePack::embedded().version());
    let report = rules.run_tests(&pack);
    let failed: Vec<&str> = report.failures().map(|c| c.name.as_str()).collect();
    assert!(
        failed.contains(&"goods are price times qty over the lines, handling and shipping once"),
        "{failed:?}"
    );
    let case = report
        .failures()
        .find(|c| c.name == "a single line")
        .expect("the single-line case fails too");
    assert_eq!(
        case.detail.as_deref(),
        Some(
            "expected fees goods 29.97 handling 2 shipping 5, \
             got goods 31.97 handling 2 shipping 5"
        )
    );
    assert!(report.passed() > 0);
}

#[test]
fn a_malformed_test_file_is_one_failed_case_naming_the_file() {
    let pack = pack_with(FileKind::Test, "fees", |_| {
        "rule: fees\ncases: {not: a list}\n".to_owned()
    });
    let rules = RuleSet::compile(&pack).expect("scripts compile");
    let report = rules.run_tests(&pack);
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{}", describe(&report));
    assert_eq!(failures[0].file, "<default pack>/tests/fees.yaml");
    assert_eq!(failures[0].name, "<file>");
    assert!(failures[0]
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("not a valid test file"));
}

#[test]
fn a_case_with_a_misspelt_input_field_fails_alone() {
    let pack = pack_with(FileKind::Test, "fees", |text| {
        text.replacen(
            "settings: {handling: \"2\", shipping: \"5\"}",
            "settings: {handlng: \"2\", shipping: \"5\"}",
            1,
        )
    });
    let rules = RuleSet::compile(&pack).expect("scripts compile");
    let report = rules.run_tests(&pack);
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{}", describe(&report));
    assert_eq!(failures[0].name, "a single line");
    assert!(failures[0]
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("handlng"));
}
