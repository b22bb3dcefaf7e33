//! A workflow file, loaded by `workflow::load` (marked-yaml parsing, the schema and graph checks)
//! exactly as `Engine::open` and `distributary check` load one; a workflow that validates is
//! drawn as DOT and Mermaid, and every diagnostic is rendered with its source snippets.
#![no_main]

use distributary::workflow::{self, Vocabulary};
use distributary::{FileKind, RulePack, SourceFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pack = RulePack::new(
        "fuzz".to_owned(),
        vec![SourceFile {
            kind: FileKind::Workflow,
            path: "workflows/fuzz.yaml".to_owned(),
            stem: "fuzz".to_owned(),
            text: text.to_owned(),
        }],
    );
    let vocabulary = Vocabulary::builtin(vec![
        "push_checks".to_owned(),
        "fees".to_owned(),
        "allocate_warehouse".to_owned(),
    ]);
    match workflow::load(&pack, &vocabulary) {
        Ok(set) => {
            for flow in set.iter() {
                let _ = flow.to_dot();
                let _ = flow.to_mermaid();
                for state in flow.states() {
                    let _ = flow.events_from(state);
                }
            }
        }
        Err(errors) => {
            distributary_fuzz::render(&errors, text);
        }
    }
});
