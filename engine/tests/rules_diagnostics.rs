//! A script that does not compile is a diagnostic naming the file, line and column; every broken
//! script of a pack is reported at once.

use distributary::rules::RuleSet;
use distributary::{FileKind, RulePack, SourceFile};

/// Rewrites a script's text.
type Edit<'a> = &'a dyn Fn(&str) -> String;

/// The embedded pack with some scripts' text replaced.
fn pack_with(edits: &[(&str, Edit<'_>)]) -> RulePack {
    let pack = RulePack::embedded();
    let files = [FileKind::Workflow, FileKind::Script, FileKind::Test]
        .into_iter()
        .flat_map(|k| pack.files(k).cloned().collect::<Vec<_>>())
        .map(|mut file: SourceFile| {
            for (stem, edit) in edits {
                if file.kind == FileKind::Script && file.stem == *stem {
                    file.text = edit(&file.text);
                }
            }
            file
        })
        .collect();
    RulePack::new("rules".to_owned(), files)
}

fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, diagnostic)
        .unwrap();
    out
}

fn break_fees(text: &str) -> String {
    let edited = text.replace("goods += line.price * line.qty;", "goods += line.price * ;");
    assert_ne!(edited, text);
    edited
}

#[test]
fn a_syntax_error_in_fees_points_at_the_file_line_and_column() {
    let pack = pack_with(&[("fees", &break_fees)]);
    let errors = RuleSet::compile(&pack).unwrap_err();
    assert_eq!(errors.errors.len(), 1);
    let error = &errors.errors[0];
    assert_eq!(error.path, "<default pack>/scripts/fees.rhai");
    let line = pack
        .files(FileKind::Script)
        .find(|f| f.stem == "fees")
        .unwrap()
        .text
        .lines()
        .position(|l| l.contains("goods += line.price * ;"))
        .unwrap()
        + 1;
    assert_eq!(error.line, line);
    assert_eq!(
        miette::Diagnostic::code(error).unwrap().to_string(),
        "rules::syntax"
    );
    insta::assert_snapshot!(render(error));
}

#[test]
fn every_broken_script_is_reported_at_once() {
    let pack = pack_with(&[
        ("fees", &break_fees),
        ("push_checks", &|text: &str| {
            text.replacen("let failures = [];", "let failures = [;", 1)
        }),
    ]);
    let errors = RuleSet::compile(&pack).unwrap_err();
    let paths: Vec<&str> = errors.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "<default pack>/scripts/fees.rhai",
            "<default pack>/scripts/push_checks.rhai"
        ]
    );
    insta::assert_snapshot!(render(&errors));
}
