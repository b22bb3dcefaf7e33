//! Properties of the loader on mangled workflow files: it never panics, and every problem it
//! reports points inside the file, at the text it names.

use distributary::{
    workflow::{self, Vocabulary},
    FileKind, RulePack, SourceFile,
};
use proptest::prelude::*;

const ORDER: &str = include_str!("../../rules/workflows/distribution_order.yaml");

/// Characters that matter to YAML, plus a non-ASCII one to exercise character/byte offsets.
const ALPHABET: &[char] = &[
    ':', '-', '[', ']', '{', '}', ',', '"', '\'', '#', '&', '*', '!', '|', '>', '\n', ' ', 'a',
    'é', '~', '?',
];

/// One edit: at a fraction of the text, delete some characters and insert others.
fn edits() -> impl Strategy<Value = Vec<(f64, usize, Vec<char>)>> {
    let edit = (
        0.0..1.0f64,
        0usize..4,
        proptest::collection::vec(proptest::sample::select(ALPHABET), 0..4),
    );
    proptest::collection::vec(edit, 1..6)
}

fn apply(text: &str, edits: &[(f64, usize, Vec<char>)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (at, delete, insert) in edits {
        let start = ((chars.len() as f64) * at) as usize;
        let end = (start + delete).min(chars.len());
        chars.splice(start..end, insert.iter().copied());
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mangled_files_give_located_problems_and_never_panic(edits in edits()) {
        let text = apply(ORDER, &edits);
        let file = SourceFile {
            kind: FileKind::Workflow,
            path: "distribution_order.yaml".into(),
            stem: "distribution_order".into(),
            text: text.clone(),
        };
        let pack = RulePack::new("prop".into(), vec![file]);
        let vocab = Vocabulary::builtin(vec!["push_checks".into()]);
        if let Err(errors) = workflow::load(&pack, &vocab) {
            prop_assert!(!errors.problems().is_empty());
            let lines: Vec<&str> = text.split('\n').collect();
            for problem in errors.problems() {
                prop_assert!(problem.code().starts_with("workflow::"));
                let line = lines.get(problem.line() - 1).copied();
                prop_assert!(line.is_some(), "{problem:?} is past the end");
                let rest: String =
                    line.unwrap_or("").chars().skip(problem.column() - 1).collect();
                prop_assert!(
                    rest.starts_with(problem.culprit().split('\n').next().unwrap_or("")),
                    "{problem:?}: `{rest}` does not start with the culprit"
                );
            }
        }
    }
}
